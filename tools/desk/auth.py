"""Who may use the desk, and as what: viewer, analyst or supervisor.

Users come from a TOML file (`TRADEWATCH_DESK_USERS`), one table per user, with a role and a
salted scrypt hash of the password (`tradewatch desk-user NAME --role analyst` writes it):

    [users.jdoe]
    role = "analyst"
    password = "scrypt$16384$8$1$<salt>$<hash>"

Teams with single sign-on put the desk behind their reverse proxy and name the header it sets
(`TRADEWATCH_DESK_AUTH_HEADER=X-Forwarded-User`): the header's user is signed in, with the
role the file gives them (no password needed there), and a user the file does not name is a
viewer. The desk must then be reachable only through the proxy.
"""

import base64
import hashlib
import hmac
import os
import secrets
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from schemas.feedback import Role

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
LOCKOUT_SECONDS = 300.0


class DeskRole(StrEnum):
    VIEWER = "viewer"
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"

    @property
    def decides(self) -> bool:
        return self is not DeskRole.VIEWER

    @property
    def feedback_role(self) -> Role:
        return Role.SUPERVISOR if self is DeskRole.SUPERVISOR else Role.ANALYST


class UsersFileError(ValueError):
    """The users file cannot be read (the reason in one line)."""


@dataclass(frozen=True)
class User:
    name: str
    role: DeskRole
    password: str | None = None
    """The scrypt hash; None for a user who signs in only through the proxy's header."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    salt64, digest64 = (base64.b64encode(b).decode() for b in (salt, digest))
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt64}${digest64}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(base64.b64decode(digest)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


def load_users(path: Path | None) -> dict[str, User]:
    if path is None:
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsersFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsersFileError(f"{path}: {exc}") from None
    users: dict[str, User] = {}
    for name, entry in (document.get("users") or {}).items():
        if not isinstance(entry, dict):
            raise UsersFileError(f"{path}: users.{name} is not a table")
        try:
            role = DeskRole(entry.get("role", "viewer"))
        except ValueError:
            raise UsersFileError(
                f"{path}: users.{name}: role must be viewer, analyst or supervisor"
            ) from None
        password = entry.get("password")
        if password is not None and not str(password).startswith("scrypt$"):
            raise UsersFileError(f"{path}: users.{name}: password must be a scrypt hash")
        users[name] = User(name, role, password)
    return users


def write_user(path: Path, name: str, role: DeskRole, password: str) -> None:
    """Add or replace one user in the file (made readable by its owner only)."""
    users = load_users(path) if path.exists() else {}
    users[name] = User(name, role, hash_password(password))
    lines = ["# tradewatch desk users: `tradewatch desk-user NAME --role ROLE` writes this file"]
    for user in sorted(users.values(), key=lambda u: u.name):
        lines += ["", f"[users.{_toml_key(user.name)}]", f'role = "{user.role.value}"']
        if user.password:
            lines.append(f'password = "{user.password}"')
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    temporary.replace(path)


def _toml_key(name: str) -> str:
    bare = name.replace("-", "").replace("_", "").isalnum() and name.isascii()
    return name if bare else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Throttle:
    """Refuses sign-ins for a name after MAX_FAILURES wrong passwords, for LOCKOUT_SECONDS."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[str, list[float]] = {}

    def locked(self, name: str) -> bool:
        now = self.clock()
        recent = [t for t in self.failures.get(name, []) if now - t < LOCKOUT_SECONDS]
        self.failures[name] = recent
        return len(recent) >= MAX_FAILURES

    def failed(self, name: str) -> None:
        self.failures.setdefault(name, []).append(self.clock())

    def passed(self, name: str) -> None:
        self.failures.pop(name, None)
