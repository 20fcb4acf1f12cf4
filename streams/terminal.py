"""What the command line draws on a terminal: progress while a file is read or written.

Only on a terminal: piped into a file or a CI log, a progress bar is noise.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def update(self, advance: int) -> None: ...


class _Silent:
    def update(self, advance: int) -> None:
        pass


class _Bar:
    def __init__(self, progress: object, task: object) -> None:
        self._progress = progress
        self._task = task

    def update(self, advance: int) -> None:
        self._progress.advance(self._task, advance)  # type: ignore[attr-defined]


@contextmanager
def progress(
    description: str, total: int | None = None, enabled: bool = True
) -> Iterator[Progress]:
    """A progress bar on stderr, drawn only when stderr is a terminal (and `enabled`)."""
    if not enabled or not sys.stderr.isatty():
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with RichProgress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _Bar(bar, bar.add_task(description, total=total))
