"""The README's shell blocks as commands: read, joined, placeholders filled, alternatives
expanded (tests/test_readme.py parses every one; tests/integration/test_readme_commands.py runs
the ones that can run here)."""

import itertools
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

PLACEHOLDERS = {
    "FILE": "tools/examples/vendor-export.csv",
    "FILE...": "alerts/reference/watchlist_default.jsonl",
    "PATH": "tools/examples/vendor-export.csv",
    "FILE@TIME": "alerts/reference/watchlist_default.jsonl@2026-01-01T00:00:00Z",
    "N": "3",
    "S": "3",
    "D": "3",
    "R": "3",
    "P": "8080",
    "H": "127.0.0.1",
    "URL": "http://127.0.0.1:9093",
    "TEXT": "a reason",
    "NAME": "destinations",
    "VERSION": "2026.12.1",
    "CASE_ID": "0" * 32,
    "DECISION_ID": "0" * 32,
    "YYYY-MM-DD": "2026-01-01",
}


@dataclass(frozen=True)
class Command:
    line: int
    """Where it starts in README.md."""
    text: str
    """As written, comments dropped and continuation lines joined."""
    block: int
    """Which sh block it is in (0, 1, ...)."""

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text)

    @property
    def env(self) -> dict[str, str]:
        """The VAR=value words before the program."""
        out = {}
        for word in self.words:
            if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", word):
                break
            key, _, value = word.partition("=")
            out[key] = value
        return out

    @property
    def argv(self) -> list[str]:
        return self.words[len(self.env) :]


def _uncomment(text: str) -> str:
    return re.split(r"\s+#(?:\s|$)", text, maxsplit=1)[0].rstrip()


def commands() -> list[Command]:
    """Every command of every ```sh block (lines of output in a block are left out: they do
    not start with a program or a VAR=value)."""
    text = README.read_text(encoding="utf-8")
    found: list[Command] = []
    for block, match in enumerate(re.finditer(r"^```sh\n(.*?)^```", text, re.S | re.M)):
        first = text[: match.start(1)].count("\n") + 1
        pending: Command | None = None
        for offset, raw in enumerate(match.group(1).splitlines()):
            body = _uncomment(raw)
            if not body.strip():
                continue
            if pending is not None and (
                raw.startswith(" ") or pending.text.endswith("\\")
            ):  # a continuation
                joined = pending.text.removesuffix("\\").rstrip() + " " + body.strip()
                pending = Command(pending.line, joined, block)
                found[-1] = pending
                continue
            word = body.split()[0]
            if not (
                word in {"tradewatch", "make", "export", "kafka-topics.sh", "kafka-acls.sh"}
                or word.startswith(("scripts/", ".venv/", "TRADEWATCH_"))
            ):
                continue  # output shown under its command
            pending = Command(first + offset, body.strip(), block)
            found.append(pending)
    return found


def _fill(word: str) -> str:
    if "…" in word:
        return "0" * 32  # an abbreviated case or decision id
    if word in PLACEHOLDERS:
        return PLACEHOLDERS[word]
    if "=" in word and word.startswith("--"):
        flag, _, value = word.partition("=")
        return f"{flag}={_fill(value)}"
    return word


def _options(words: list[str]) -> Iterator[list[str]]:
    """Optional groups [ ... ] all in, then all out; `...` repeats dropped."""
    inside = False
    marked: list[tuple[bool, str]] = []
    for word in words:
        opens, closes = word.startswith("["), word.endswith("]")
        if opens:
            inside = True
        marked.append((inside, word.removeprefix("[").removesuffix("]")))
        if closes:
            inside = False
    kept = [w for _, w in marked if w != "..."]
    bare = [w for grouped, w in marked if not grouped and w != "..."]
    yield kept
    if bare != kept:
        yield bare


def variants(command: Command) -> list[list[str]]:
    """The argument lists a synopsis line stands for: each `a|b` alternative, optional groups
    in and out, placeholders filled with values that parse."""
    out: list[list[str]] = []
    for words in _options(command.argv):
        choices = [
            word.split("|") if "|" in word and not word.startswith("http") else [word]
            for word in words
        ]
        # One alternative at a time, the others at their first: n choices give n variants.
        picks = {tuple(c[0] for c in choices)}
        for i, options in enumerate(choices):
            for option in options[1:]:
                picks.add(tuple(option if j == i else c[0] for j, c in enumerate(choices)))
        for pick in sorted(picks):
            filled = [_fill(w) for w in pick]
            if filled not in out:
                out.append(filled)
    return out


def blocks() -> dict[int, list[Command]]:
    return {
        block: list(group) for block, group in itertools.groupby(commands(), key=lambda c: c.block)
    }
