"""Threads for somcli: how many, pools with single-threaded BLAS, ordered maps, imports
started early.

A leaf module (numpy and the standard library only) that reading, cleaning, the
nearest-unit search, the metrics and the writers all use.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import itertools
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

#: somcli's own knob; OMP_NUM_THREADS and the BLAS variables stay the libraries' (a cron job
#: that sets OMP_NUM_THREADS=1 to tame scikit-learn no longer runs the map on one thread)
_THREAD_ENV = ("SOMCLI_THREADS",)


def default_threads() -> int:
    """Worker threads: SOMCLI_THREADS, else the CPUs this process may use."""
    for name in _THREAD_ENV:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return cpus()


def cpus() -> int:
    """The CPUs this process may use (its affinity, else the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def io_threads() -> int:
    """Threads for parsing and formatting CSV: the worker threads, at most 4 (more gain
    nothing on a file read and written in order)."""
    return min(default_threads(), 4)


@contextlib.contextmanager
def workers(threads: int):
    """A thread pool whose threads run single-threaded BLAS (None for one thread).

    Measured on 2 cores: two chunks at once with 1-thread BLAS beat one chunk at a
    time with 2-thread BLAS (the argmin, the larger cost, is not threaded by BLAS).
    """
    if threads <= 1:
        yield None
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        yield pool


def map_chunks(fn: Callable[[int], object], n: int, chunk: int, threads: int = 1,
               pool: Executor | None = None) -> list:
    """``[fn(start) for start in range(0, n, chunk)]``, on ``pool`` (of ``threads`` threads)
    or on ``threads`` threads of its own.

    Results come back in chunk order, so sums over them do not depend on timing. Each
    thread takes the next chunk as it finishes one (one task per thread, not one per
    chunk: this thread then waits on ``threads`` futures, not on every chunk's).
    """
    starts = range(0, n, chunk)
    if len(starts) < 2 or (pool is None and threads <= 1):
        return [fn(s) for s in starts]
    if pool is None:
        with workers(threads) as own:
            return map_chunks(fn, n, chunk, threads, own)
    results: list = [None] * len(starts)
    taken = itertools.count()  # its next() is atomic: each chunk goes to one thread

    def work() -> None:
        for i in taken:
            if i >= len(starts):
                return
            results[i] = fn(starts[i])

    for future in [pool.submit(work) for _ in range(min(max(threads, 1), len(starts)))]:
        future.result()
    return results


def in_order(calls: dict, name: str) -> dict:
    """Start ``calls`` (key -> a function of no arguments) one after another on a thread of
    their own, which ends after the last; the caller goes on at once and collects each
    result from its future (key -> Future)."""
    pool = ThreadPoolExecutor(1, thread_name_prefix=f"somcli-{name}")
    futures = {key: pool.submit(call) for key, call in calls.items()}
    pool.shutdown(wait=False)  # (the thread ends with its last task; nobody waits for it)
    return futures


def ordered(fn: Callable, items, threads: int):
    """``fn`` over ``items`` on ``threads`` threads, results yielded in order, with at most
    two items per thread in flight (results that are big arrays stay bounded)."""
    if threads <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="somcli") as pool:
        pending: collections.deque = collections.deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


_IMPORTS: dict[str, threading.Thread] = {}  # module -> the thread importing it


def import_soon(name: str) -> None:
    """Start importing module ``name`` on a thread: a pure-Python import (scikit-learn's
    k-means, 0.7 s) then overlaps the cleaning's NumPy work, which releases the GIL. Whoever
    imports from that package calls :func:`imported` first: two threads importing one
    package at once can meet a module half initialised."""
    if name in sys.modules or name in _IMPORTS:
        return

    def load() -> None:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S110 - imported again, and reported, where used
            pass

    _IMPORTS[name] = threading.Thread(target=load, name=f"somcli-import-{name}", daemon=True)
    _IMPORTS[name].start()


def imported() -> None:
    """Wait for the imports :func:`import_soon` started."""
    for thread in list(_IMPORTS.values()):
        thread.join()
