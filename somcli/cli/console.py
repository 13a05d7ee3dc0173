"""Everything somcli says to a person goes to stderr, through here.

stdout carries data only. Colour, tables and progress appear only when stderr
is a terminal; in a pipe or cron job the messages are plain lines; ``--quiet``
silences all but errors.
"""

from __future__ import annotations

import sys
from typing import TextIO


class Console:
    def __init__(self, quiet: bool = False, verbose: bool = False, stream: TextIO | None = None):
        self.quiet = quiet
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        self.is_terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self._status = None
        self._rich = None

    @property
    def rich(self):
        if self._rich is None:
            from rich.console import Console as RichConsole

            self._rich = RichConsole(file=self.stream, stderr=self.stream is sys.stderr,
                                     highlight=False, soft_wrap=False)
        return self._rich

    def line(self, text: str) -> None:
        if not self.quiet:
            self._pause()
            print(text, file=self.stream, flush=True)

    def warn(self, text: str) -> None:
        self.line(f"somcli: warning: {text}")

    def progress(self, text: str) -> None:
        """A transient status line, on a terminal only."""
        if self.verbose and not self.is_terminal:
            self.line(f"somcli: {text}")
        if self.quiet or not self.is_terminal:
            return
        if self._status is None:
            self._status = self.rich.status(text, spinner="dots")
            self._status.start()
        else:
            self._status.update(text)

    def done(self) -> None:
        self._pause()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc) -> None:
        """Whatever ends the block (an error, Ctrl-C), the spinner stops: rich clears its
        line and shows the cursor again, so an error message starts on a fresh line."""
        self._pause()

    def _pause(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def summary(self, report: dict, files: list[str], out: str | None) -> None:
        self.done()
        if self.quiet:
            return
        if self.is_terminal:
            from somcli.report.terminal import show

            show(self.rich, report, files, out)
        else:
            from somcli.report.terminal import one_line

            print(one_line(report, out), file=self.stream, flush=True)
