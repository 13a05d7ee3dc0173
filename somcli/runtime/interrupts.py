"""Ctrl-C (SIGINT) and SIGTERM as ``KeyboardInterrupt``, and a record that one came.

Python raises ``KeyboardInterrupt`` wherever the main thread is when the signal arrives. If
that is inside a garbage-collector callback or a finaliser, the exception is printed
("Exception ignored in ...") and dropped, and the run goes on: Dask's client installs such a
callback, so about one Ctrl-C in thirty on a busy machine was lost during Dask training.
The handler here also sets a flag; :func:`check` raises ``KeyboardInterrupt`` for an
interrupt that was dropped, and the dropped exception is not printed (the run says
"interrupted" once). It is called after every reduction over a backend's blocks (a Dask run
waits for its workers there), after every training epoch and before anything is written.
"""

from __future__ import annotations

import signal
import sys
import threading

_came = threading.Event()
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _handler(signum, frame):
    _came.set()
    raise KeyboardInterrupt


def _unraisable(previous):
    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return  # recorded by the handler: check() raises it where it counts
        previous(unraisable)
    return hook


def install() -> tuple:
    """Handle SIGINT and SIGTERM here; returns what :func:`restore` puts back."""
    previous = []
    for sig in SIGNALS:
        try:
            previous.append((sig, signal.signal(sig, _handler)))
        except ValueError:  # not the main thread: leave the signals alone
            pass
    hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(hook)
    return tuple(previous), hook


def restore(saved: tuple) -> None:
    handlers, hook = saved
    for sig, handler in handlers:
        signal.signal(sig, handler)
    sys.unraisablehook = hook
    _came.clear()


def check() -> None:
    """Raise ``KeyboardInterrupt`` when an interrupt came (even one that was dropped)."""
    if _came.is_set():
        raise KeyboardInterrupt
