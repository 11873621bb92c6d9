"""Progress reporting: a rich bar on an interactive terminal, silence elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Update = Callable[[float], None]


class Progress(Protocol):
    def task(self, description: str, total: float | None) -> AbstractContextManager[Update]:
        """A stage of work; the context value takes how much of ``total`` is done."""


class NoProgress:
    @contextmanager
    def task(self, description: str, total: float | None) -> Iterator[Update]:
        yield lambda done: None


class RichProgress:
    """One bar per stage (transcribing, burning), in seconds of media, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )

    @contextmanager
    def task(self, description: str, total: float | None) -> Iterator[Update]:
        with self._progress:
            task_id = self._progress.add_task(description, total=total)
            yield lambda done: self._progress.update(task_id, completed=done)
            self._progress.update(task_id, completed=total)


def default_progress(enabled: bool = True) -> Progress:
    return RichProgress() if enabled and sys.stderr.isatty() else NoProgress()
