"""Progress of long commands (``report``, ``claims``, ``selfcheck``, ``bench``) on stderr.

On a terminal: a ``rich`` progress bar with the count, the elapsed time and an ETA, and the item in
hand. Elsewhere (a pipe, a CI log): one plain line per finished item,
``[k/n] label: outcome (seconds, ETA s)``, so logs stay readable and greppable.

>>> import io
>>> out = io.StringIO()
>>> with Progress(2, "checks", stream=out) as progress:
...     progress.start("a")
...     progress.done("a", "ok")
...     progress.start("b")
...     progress.done("b", "ok")
>>> [line.split(" (")[0] for line in out.getvalue().splitlines()]
['[1/2] a: ok', '[2/2] b: ok']
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Progress over ``total`` items; ``start(label)`` then ``done(label, outcome)`` for each.

    ``stream`` defaults to ``sys.stderr``; ``enabled=False`` prints nothing. The bar is drawn only when
    ``stream`` is a terminal; the ETA is the mean time per finished item times the items left.
    """

    def __init__(self, total: int, description: str, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        if not isinstance(total, int) or total < 0:
            raise ValueError(f"total must be an integer >= 0; got {total!r}")
        self.total = total
        self.description = description
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.finished = 0
        self._began = time.perf_counter()
        self._item_began = self._began
        self._bar = None
        self._task = None

    def __enter__(self) -> Progress:
        self._began = time.perf_counter()
        if self.enabled and _is_terminal(self.stream):
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[item]}"),
                console=Console(file=self.stream), transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total, item="")
        return self

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)
            self._bar = None

    def start(self, label: str) -> None:
        """Say that ``label`` is being worked on."""
        self._item_began = time.perf_counter()
        if self._bar is not None:
            self._bar.update(self._task, item=label)

    def done(self, label: str, outcome: str = "", *, seconds: float | None = None) -> None:
        """Count ``label`` as finished, with a short ``outcome`` (a verdict, a time). ``seconds``: how long it
        took, when it was done elsewhere (another process); by default the time since ``start(label)``."""
        self.finished += 1
        if seconds is None:
            seconds = time.perf_counter() - self._item_began
        if self._bar is not None:
            self._bar.update(self._task, advance=1, item=f"{label}: {outcome}" if outcome else label)
            return
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self._began
        left = max(self.total - self.finished, 0)
        eta = elapsed / self.finished * left
        tail = f": {outcome}" if outcome else ""
        self.stream.write(f"[{self.finished}/{self.total}] {label}{tail} ({seconds:.2f} s, ETA {eta:.0f} s)\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """A line that is not an item (a warning, a phase), printed above the bar."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            self.stream.write(message + "\n")
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
