"""Progress reporting: a rich bar on an interactive terminal, silence elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichBar

from .errors import one_line

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
        self._progress = RichBar(
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


class BatchProgress:
    """One bar for a whole batch with counts of done, failed and skipped clips.

    On a terminal it is a rich bar on stderr; elsewhere (a CI log, a file) one
    line per finished clip; with ``enabled=False`` nothing.
    """

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total = total
        self.counts = {"done": 0, "failed": 0, "skipped": 0}
        self.enabled = enabled
        self._bar = None
        if enabled and sys.stderr.isatty():
            self._bar = RichBar(
                TextColumn("batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task(self._text(), total=total)

    def _text(self) -> str:
        c = self.counts
        return f"done {c['done']}  failed {c['failed']}  skipped {c['skipped']}"

    def __enter__(self) -> "BatchProgress":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, kind: str, name: str, detail: str = "") -> None:
        """Count one finished clip; ``kind`` is done, failed or skipped."""
        self.counts[kind] += 1
        finished = sum(self.counts.values())
        if self._bar is not None:
            self._bar.update(self._task, completed=finished, description=self._text())
            if kind == "failed":
                self._bar.console.print(one_line(f"failed: {name}: {detail}"), markup=False, highlight=False)
        elif self.enabled:
            print(one_line(f"[{finished}/{self.total}] {kind} {name}" + (f": {detail}" if detail else "")),
                  file=sys.stderr, flush=True)
