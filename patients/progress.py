"""A plain progress bar for long imports on a terminal (stderr, carriage returns).

Drawn only when stderr is a TTY, so logs, pipes and CI output stay clean.
"""

from __future__ import annotations

import sys
from typing import TextIO


class TerminalProgress:
    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last: tuple[str, int] | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        percent = done * 100 // total
        if self._last == (phase, percent):
            return
        self._last = (phase, percent)
        filled = self.width * done // total
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{phase:<9} [{bar}] {percent:3d}% ({done}/{total})")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
