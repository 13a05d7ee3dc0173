"""Connecting to a Dask scheduler, or starting a local cluster on 127.0.0.1."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import warnings

from somcli.errors import IOFailure, Unavailable, UsageError


def _imports():
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError:
        raise UsageError("--engine dask needs dask and distributed",
                         "install them with: pip install 'somcli[dask]'") from None
    return distributed


def _quiet_logs() -> None:
    """Dask's recoveries (a lost worker, a rescheduled gather) are not our user's business:
    its loggers (each configured with its own level) print only errors."""
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("distributed", "tornado", "dask"):
            logging.getLogger(name).setLevel(logging.ERROR)
    for name in ("distributed", "distributed.client", "distributed.worker", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # on Ctrl-C the event loop's pending tasks end with "Task exception was never
    # retrieved" and a traceback: the run already says it was interrupted
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def connect(opts, progress=lambda msg: None):
    """A Client: to --scheduler / --scheduler-file / DASK_SCHEDULER_ADDRESS, or to a
    LocalCluster bound to 127.0.0.1 (dashboard there too) that is closed at the end."""
    distributed = _imports()
    _quiet_logs()
    warnings.filterwarnings("ignore", message=FRAGMENTED)  # (see _quiet_resource_tracker)
    address = opts.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    previous = signal.getsignal(signal.SIGPIPE) if hasattr(signal, "SIGPIPE") else None
    if previous is not None:  # sockets must not kill the process on a closed peer
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    cluster = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if opts.scheduler_file or address:
                where = opts.scheduler_file or address
                progress(f"connecting to the Dask scheduler at {where}")
                timeout = os.environ.get("SOMCLI_DASK_TIMEOUT", "10s")
                if opts.scheduler_file:
                    _wait_for_file(opts.scheduler_file, timeout)
                try:
                    client = distributed.Client(address=address, timeout=timeout,
                                                scheduler_file=opts.scheduler_file,
                                                set_as_default=False)
                except (OSError, TimeoutError, ValueError) as exc:
                    raise Unavailable(f"cannot reach the Dask scheduler at {where} ({exc})",
                                    "check the address and that the scheduler runs") from None
            else:
                progress("starting a local Dask cluster on 127.0.0.1")
                _quiet_resource_tracker()
                cluster = distributed.LocalCluster(
                    host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=50)
                client = distributed.Client(cluster, set_as_default=False)
        try:
            yield client
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("distributed", "tornado", "dask"):
                raise IOFailure(f"the Dask cluster failed: {type(exc).__name__}: "
                                f"{' '.join(str(exc).split())[:200]}",
                                "check the workers (memory, logs) and run again") from None
            raise
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        if previous is not None:
            signal.signal(signal.SIGPIPE, previous)


def _quiet_resource_tracker() -> None:
    """After a Ctrl-C the local cluster's worker queues are not closed, and
    multiprocessing's resource tracker (a helper process writing to our stderr) warns at
    exit that it cleans up their semaphores: two lines after the run's one. The tracker
    and the workers take their warning filters from ``sys.warnoptions`` when started.
    Dask's CSV reader adds its path column to a frame of thousands of columns one by one,
    and pandas warns, here and on every worker, that the frame is fragmented: Dask's
    business, not our user's."""
    for quiet in ("ignore::UserWarning:multiprocessing.resource_tracker",
                  f"ignore:{FRAGMENTED}"):
        if quiet not in sys.warnoptions:
            sys.warnoptions.append(quiet)


FRAGMENTED = "DataFrame is highly fragmented"


def _wait_for_file(path: str, timeout: str) -> None:
    """Wait up to SOMCLI_DASK_TIMEOUT for a scheduler file (a scheduler starting beside
    this run writes it soon); Dask's own client would wait for ever."""
    import time

    from dask.utils import parse_timedelta

    deadline = time.monotonic() + parse_timedelta(timeout)
    while not os.path.isfile(path):
        if time.monotonic() >= deadline:
            raise Unavailable(f"--scheduler-file {path}: no such file after "
                              f"{parse_timedelta(timeout):g} s",
                              "start the scheduler with --scheduler-file, or check the path "
                              "(SOMCLI_DASK_TIMEOUT sets the wait)")
        time.sleep(0.1)


def parse_size(text: str) -> int:
    """A size in Dask's syntax (64MB, 100KB); ImportError without dask."""
    from dask.utils import parse_bytes

    return parse_bytes(text)


PATH_COLUMN = "__somcli_path__"  # the file a partition's rows came from (a column of it)
LINE_COLUMN = "__somcli_line__"  # each row's line in its file (a column of every partition)
NOT_DATA = [PATH_COLUMN, LINE_COLUMN]  # the columns somcli adds to a partition
BIG_ARGUMENT = 50_000  # bytes: below Dask's own 100 kB threshold for keyword arguments


def map_on(client, fn, *iterables, **kw) -> list:
    """``client.map(fn, *iterables, **kw, pure=False)``, every task of its own.

    Dask makes a keyword argument over 100 kB a node keyed by its *name* alone: the next
    map with such a keyword ("W" of the next epoch; a wide table's column list, "columns")
    then met the last one's still in flight, and the scheduler failed on an assertion
    (maps of 50x50 and up; any table of a few thousand columns). Each such value goes as a
    task of its own, with a key of its own; a task (not a scatter) keeps its lineage, so a
    lost worker is recovered."""
    import uuid

    from dask.sizeof import sizeof

    kw = {name: client.submit(_same, value, key=f"somcli-{name}-{uuid.uuid4().hex}",
                              pure=False) if sizeof(value) > BIG_ARGUMENT else value
          for name, value in kw.items()}
    return client.map(fn, *iterables, **kw, pure=False)


def _same(value):
    return value

