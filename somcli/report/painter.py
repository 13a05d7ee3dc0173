"""Draw a run's pictures in a helper process, so that they cost little wall time.

Matplotlib is pure Python for the most part: drawn on a thread, the pictures hold the
GIL against the scores and the CSV writing (about a second on a million rows, measured:
benchmarks/README.md), and importing it takes a quarter of a second, a quarter of a small
table's whole run. A helper process started by the command imports matplotlib while this
process imports its own libraries (one core is idle then) and reads, waits while the model
trains, and draws the pictures beside the scores and the CSV writing.

What to draw is a list of requests, each a kind of :data:`KINDS` (the map's pictures, the
clusters' projection and profiles, the k choice) with its JSON header and arrays; the same
builders give the drawing functions here when there is no helper (:func:`pictures`).

Only small arrays and JSON cross the pipe (no pickle): each request a length-prefixed
JSON header, then an ``.npz`` read with ``allow_pickle=False``; a map's pictures that do
not show its clusters are asked for as soon as it is trained, the rest once its clusters
are known. The helper answers with one JSON line per picture followed by its PNG bytes.
Whatever goes wrong with the helper (it cannot start, dies, or a picture fails there), the
pictures it did not deliver are drawn here on a thread instead, as for small inputs: the
run's outputs never depend on it.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from somcli.report import helper_process, twin


def _map_jobs(header: dict, arrays: dict) -> dict[str, Callable]:
    from somcli.report import plots
    from somcli.report.map_facts import MapFacts

    facts = {k: v for k, v in header.items() if k not in ("only", "skip")}
    return _chosen(plots.jobs(MapFacts.unwire(facts, arrays)), header)


def _cluster_jobs(header: dict, arrays: dict) -> dict[str, Callable]:
    from somcli.report import cluster_plots

    return _chosen(cluster_plots.jobs(arrays["rows"], arrays["labels"], arrays["centres"],
                                      header["features"], arrays["sizes"], header["what"],
                                      differences=arrays.get("differences")), header)


def _chosen(jobs: dict[str, Callable], header: dict) -> dict[str, Callable]:
    """The jobs a request names: ``only`` those, and none of ``skip``."""
    only, skip = header.get("only"), set(header.get("skip", ()))
    return {name: draw for name, draw in jobs.items()
            if (only is None or name in only) and name not in skip}


def _k_jobs(header: dict, arrays: dict) -> dict[str, Callable]:
    from somcli.report import k_plots

    return k_plots.jobs(header["selection"])


#: kind -> builder(header, arrays) -> {picture name: draw(file)}; the helper runs the same
#: builders (each imports its drawing module when called)
KINDS = {"map": _map_jobs, "clusters": _cluster_jobs, "k_choice": _k_jobs}
#: "auto": a helper when a core is idle; "always", "never": what tests compare
MODE = "auto"
TWIN_ROWS = 100_000  # tables up to this many rows have their pictures drawn by two processes


def pictures(requests: list[tuple[str, dict, dict]], painter: Painter | None = None,
             last: bool = True) -> dict[str, Future]:
    """Start drawing every picture of ``requests`` ((kind, header, arrays)): by the
    helper ``painter`` when there is one (``last``: nothing more will be asked of it),
    else on a thread. Name -> future PNG bytes."""
    from somcli.report import figure

    jobs: dict[str, Callable] = {}
    for kind, header, arrays in requests:
        jobs |= KINDS[kind](header, arrays)
    if not jobs:
        return {}
    if painter is None:
        return figure.start(jobs)
    return painter.paint(requests, fallback=jobs, last=last)


def map_request(facts, only=None, skip=()) -> tuple[str, dict, dict]:
    """A map's pictures (:func:`somcli.report.plots.jobs`), or ``only`` those named, or
    all but those in ``skip``."""
    header, arrays = facts.wire()
    return "map", header | ({"only": list(only)} if only is not None else {}) | \
        ({"skip": list(skip)} if skip else {}), arrays


def cluster_request(rows, labels, centres, features, sizes, what: str, differences=None,
                    only=None) -> tuple[str, dict, dict]:
    """The projection and profiles of clusters in feature space (:mod:`cluster_plots`), or
    ``only`` those named (without the projection, none of the rows: they can be megabytes)."""
    if only is not None and "projection.png" not in only:
        rows, labels = np.empty((0, len(features))), np.empty(0, dtype=np.int64)
    arrays = {"rows": rows, "labels": labels, "centres": centres, "sizes": np.asarray(sizes)}
    if differences is not None:
        arrays["differences"] = differences
    header = {"features": list(features), "what": what}
    return "clusters", header | ({"only": list(only)} if only is not None else {}), arrays


def k_request(selection: dict | None) -> list[tuple[str, dict, dict]]:
    """k_choice.png, when k was chosen (:mod:`k_plots`)."""
    return [] if selection is None else [("k_choice", {"selection": selection}, {})]


def message(requests: list[tuple[str, dict, dict]]) -> tuple[dict, dict]:
    """Requests ((kind, header, arrays)) as one message's JSON header and arrays (each
    request's arrays under a prefix of its own), as the helper's :func:`_jobs` reads them."""
    header = {"requests": [{"kind": kind, "header": head, "prefix": f"r{i}_"}
                           for i, (kind, head, _) in enumerate(requests)]}
    arrays = {f"r{i}_{name}": value for i, (_, _, arrs) in enumerate(requests)
              for name, value in arrs.items()}
    return header, arrays


class Painter:
    """The parent's end: a helper started early, handed requests as they become known (a
    map's component planes once it is trained, the rest once its clusters are), which it
    draws in turn. Each request is a message: a length-prefixed JSON header that gives the
    length of the ``.npz`` after it; the last one closes the pipe, and the helper ends once
    it has drawn it."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.sent = False  # the last request went
        self._lock = threading.Lock()
        self._futures: dict[str, Future] = {}
        self._fallback: dict[str, Callable] = {}
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._ended = False  # the helper's answers ended
        self._abandoned = False  # the run stopped: nothing more is drawn
        self._talking = False
        self._here: ThreadPoolExecutor | None = None  # draws what the helper did not
        self.twin = True  # the helper forks a twin at the first request (:meth:`sized`)

    @classmethod
    def start(cls) -> Painter | None:
        """A helper (the one the console script started early, else a new one) when a
        core is idle, else None (:mod:`somcli.report.helper_process`)."""
        if MODE == "never":
            helper_process.discard()
            return None
        proc = helper_process.take() or helper_process.spawn(when_idle=MODE == "auto")
        return cls(proc) if proc is not None else None

    def sized(self, rows: int) -> None:
        """The run's table has ``rows`` rows: a twin drawer only for a small one (the run
        is done while its pictures are drawn; on 1M x 10 `som` a twin only competed with
        the run's threads: 8.16-8.79 s with it, 8.19-8.53 s without)."""
        self.twin = rows <= TWIN_ROWS

    def close(self) -> None:
        """Stop a helper that was not handed its last request (the run failed or drew
        nothing)."""
        if not self.sent and self.proc.poll() is None:
            self._abandoned = True
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Painter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def paint(self, requests: list[tuple[str, dict, dict]], fallback: dict[str, Callable],
              last: bool = True) -> dict[str, Future]:
        """Send the requests; one future of PNG bytes per picture of ``fallback`` (name ->
        draw), filled by the helper or, for what it does not deliver, by drawing here."""
        with self._lock:
            gone = self._ended or self.sent
            if not gone:
                futures = {name: Future() for name in fallback}
                self._futures |= futures
                self._fallback |= fallback
                self.sent = last
                start, self._talking = not self._talking, True
        if gone:  # the helper is gone: drawn here
            futures = {name: Future() for name in fallback}
            for name, future in futures.items():
                self._draw_here(future, fallback[name])
            return futures
        header, arrays = message(requests)
        self._outbox.put((header | {"twin": self.twin}, arrays, last))
        if start:
            for target, name in ((self._write, "somcli-painter-in"),
                                 (self._read, "somcli-painter")):
                threading.Thread(target=target, name=name, daemon=True).start()
        return futures

    def _write(self) -> None:
        """Send each request as it comes; close the pipe after the last."""
        try:
            while True:
                header, arrays, last = self._outbox.get()
                self.proc.stdin.write(twin.request(header, arrays))
                self.proc.stdin.flush()
                if last:
                    self.proc.stdin.close()
                    return
        except (OSError, ValueError):
            pass  # the helper is gone: _read draws what it did not deliver

    def _read(self) -> None:
        """Fill the futures from the helper's answers; once they end, draw here whatever
        it did not deliver."""
        try:
            for line in self.proc.stdout:
                answer = json.loads(line)
                if "size" not in answer:
                    continue  # a picture the helper could not draw: drawn below
                data = self.proc.stdout.read(answer["size"])
                with self._lock:
                    future = self._futures.get(answer["name"])
                if future is not None and len(data) == answer["size"] and not future.done():
                    future.set_result(data)
        except (OSError, ValueError):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        with self._lock:
            self._ended = True
            left = [(name, f) for name, f in self._futures.items() if not f.done()]
        for name, future in left:
            if self._abandoned:
                future.cancel()
            else:
                self._draw_here(future, self._fallback[name])

    def _draw_here(self, future: Future, draw: Callable) -> None:
        """Draw a picture in this process, on the one thread that draws here (two threads
        importing matplotlib at once can meet a module half initialised: ImportError)."""
        from somcli.report import figure

        def fill() -> None:
            try:
                future.set_result(figure.render(draw))
            except Exception as exc:  # noqa: BLE001 - raised where the bytes are used
                future.set_exception(exc)

        with self._lock:
            if self._here is None:
                self._here = ThreadPoolExecutor(1, thread_name_prefix="somcli-plots")
            self._here.submit(fill)


def main() -> None:
    """The helper's end: import matplotlib now, draw when the requests arrive (with a
    twin: :mod:`somcli.report.twin`), then exit."""
    _after_the_run()
    import matplotlib.backends.backend_agg  # noqa: F401 - the slow part, done while waiting
    import matplotlib.figure  # noqa: F401

    from somcli.report import figure

    twin.serve(sys.stdin.buffer, sys.stdout.buffer, _jobs, figure.render)


NICE = 10  # the helper's nice value, and its scheduling group's


def _after_the_run() -> None:
    """The run first: on a big table the pictures take what its threads leave. The helper
    is niced, and so is its autogroup: the helper has a session of its own, which Linux
    schedules as a group of its own where autogrouping is on (most desktops and many
    servers), so that its nice value alone ranked it only against itself and its twin (1M x
    10 `som`, four rounds: 17.0 -> 14.7 s of CPU, the run's threads spinning less; the
    earlier 8.98 against 9.39 s for the nice value alone was within the spread:
    benchmarks/README.md). Only when the session is the helper's own (it leads it): a
    helper started in a shell's session would nice the shell's group."""
    try:
        os.nice(NICE)
    except (AttributeError, OSError):
        pass
    try:
        if os.getsid(0) == os.getpid():
            with open("/proc/self/autogroup", "w", encoding="ascii") as fh:
                fh.write(str(NICE))
    except (AttributeError, OSError):
        pass  # no autogrouping here


def _jobs(header: dict, arrays: dict) -> dict[str, Callable]:
    """A request's pictures: name -> draw(file)."""
    jobs: dict[str, Callable] = {}
    for r in header["requests"]:
        mine = {k[len(r["prefix"]):]: v for k, v in arrays.items() if k.startswith(r["prefix"])}
        jobs |= KINDS[r["kind"]](r["header"], mine)
    return jobs


if __name__ == "__main__":
    main()
