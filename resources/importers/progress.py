"""Progress of a long import, shown on stderr only when a person is watching a terminal.

The importer reports stages ("reading", "writing service", "classifying services", ...) and how far
each has got; it never reports row contents, so nothing about a service or a survivor reaches a log.
"""
from __future__ import annotations

import sys
from typing import Protocol, TextIO

from tqdm import tqdm


class Progress(Protocol):
    def stage(self, label: str, total: int | None = None) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """Reports nothing (tests, scripts, output that is not a terminal)."""

    def stage(self, label: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class TerminalProgress:
    """One tqdm bar per stage on `stream`, replaced by the next stage."""

    MIN_TOTAL = 2000  # stages smaller than this finish too fast for a bar to help

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self.bar = None

    def stage(self, label: str, total: int | None = None) -> None:
        self.close()
        if total is None or total >= self.MIN_TOTAL:
            self.bar = tqdm(total=total, desc=f"import: {label}", unit=" rows", file=self.stream, leave=False,
                            dynamic_ncols=True, mininterval=0.3)

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_for(stream: TextIO = sys.stderr, enabled: bool | None = None) -> Progress:
    """A terminal progress bar when `stream` is a terminal (or `enabled`), else nothing."""
    if enabled is None:
        enabled = hasattr(stream, "isatty") and stream.isatty()
    return TerminalProgress(stream) if enabled else NoProgress()
