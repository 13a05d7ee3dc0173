"""Errors somcli reports to its users, each with its exit code (BSD sysexits).

Every failure a user can cause or meet maps to one of these classes; the CLI
prints ``somcli: error: <message>`` on one line and exits with ``exit_code``.
Anything else that escapes is a bug and exits with ``INTERNAL``.
"""

from __future__ import annotations

OK = 0
DRIFTED = 1  # assign --fail-on-drift: the results are written, and the input drifted
USAGE = 64  # EX_USAGE
DATA = 65  # EX_DATAERR
NO_INPUT = 66  # EX_NOINPUT
UNAVAILABLE = 69  # EX_UNAVAILABLE
INTERNAL = 70  # EX_SOFTWARE
CANT_CREATE = 73  # EX_CANTCREAT
IO_ERROR = 74  # EX_IOERR
TEMP_FAIL = 75  # EX_TEMPFAIL
INTERRUPTED = 130  # 128 + SIGINT

#: The exit-code table as documented in README.md and docs/operations.md (a test keeps
#: the README's equal).
EXIT_CODES: dict[int, str] = {
    OK: "success",
    DRIFTED: "assign --fail-on-drift: the input drifted beyond the thresholds (results written)",
    USAGE: "bad or conflicting options (usage)",
    DATA: "the data cannot be clustered as asked, or a model file is invalid",
    NO_INPUT: "input missing, unreadable or empty",
    UNAVAILABLE: "a requested service is unavailable (a Dask scheduler that cannot be reached "
                 "or whose file never appears, --device cuda without a usable GPU)",
    INTERNAL: "unexpected internal error (a bug: run again with -v and report it)",
    CANT_CREATE: "output cannot be created (folder missing, not writable, exists without --force)",
    IO_ERROR: "I/O error during the run (disk full, broken or truncated file)",
    TEMP_FAIL: "the output folder is locked by another run (try again later)",
    INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); nothing half-written is left behind",
}


def brief(exc: BaseException, width: int = 120) -> str:
    """An exception's text on one line, cut to ``width`` characters (for error messages
    that quote a library's own message)."""
    text = " ".join(str(exc).split())
    text = "".join(c if c.isprintable() else "?" for c in text)  # a file's bytes, quoted
    return text if len(text) <= width else text[:width - 3] + "..."


class SomcliError(Exception):
    """Base class: a failure with a one-line message for the user."""

    exit_code = INTERNAL

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message}; {self.hint}"
        return " ".join(text.split())


class UsageError(SomcliError):
    exit_code = USAGE


class DataError(SomcliError):
    exit_code = DATA


class InputError(SomcliError):
    exit_code = NO_INPUT


class OutputError(SomcliError):
    exit_code = CANT_CREATE


class IOFailure(SomcliError):
    exit_code = IO_ERROR


class Busy(SomcliError):
    exit_code = TEMP_FAIL


class Unavailable(SomcliError):
    exit_code = UNAVAILABLE


class Drifted(SomcliError):
    exit_code = DRIFTED


class Interrupted(SomcliError):
    exit_code = INTERRUPTED
