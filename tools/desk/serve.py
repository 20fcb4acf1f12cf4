"""`tradewatch desk` and `tradewatch desk-user`: serve the case desk; keep its users file."""

import getpass
import logging
import sys
from pathlib import Path

from streams.errors import StreamsError
from streams.settings import Settings
from tools.desk.auth import DeskRole, UsersFileError, write_user

log = logging.getLogger("tradewatch.desk")


class DeskError(StreamsError):
    """The desk cannot start, or a users file cannot be written (the reason in one line)."""


def serve_desk(settings: Settings) -> int:
    import uvicorn

    from tools.desk.app import Desk

    try:
        desk = Desk(settings)
    except (UsersFileError, ValueError) as exc:
        raise DeskError(str(exc)) from None
    log.info(
        "case desk on http://%s:%d (store %s)",
        settings.desk_host, settings.desk_port, settings.desk_database,
    )  # fmt: skip
    config = uvicorn.Config(
        desk.app(),
        host=settings.desk_host,
        port=settings.desk_port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    uvicorn.Server(config).run()
    return 0


def add_user(settings: Settings, name: str, role: str, users: Path | None) -> int:
    path = users or settings.desk_users
    if path is None:
        raise DeskError("say which users file: --users FILE, or TRADEWATCH_DESK_USERS")
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            raise DeskError("the two passwords differ; nothing was written")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        raise DeskError("a desk password has at least 12 characters; nothing was written")
    try:
        write_user(path, name, DeskRole(role), password)
    except (UsersFileError, OSError) as exc:
        raise DeskError(str(exc)) from None
    print(f"tradewatch: {name} is a desk {role} in {path}", file=sys.stderr)
    return 0
