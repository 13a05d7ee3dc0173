"""The picture helper's end (:mod:`somcli.report.painter`): the run's requests read from
its pipe and drawn by two processes, the helper and its twin, forked from it at the first
request when the run asks for one (a small table; matplotlib is imported by then, so not
twice). A small run's own work ends while the pictures are still being drawn, one after
another: half a second for a map's seven pictures, the longest part of the run. Both
processes see every request and each draws its share, chosen by the
same rule on both sides (:func:`shares`), so no job is handed over: the twin's answers go
back through the helper, which writes them to the run with its own.

Without ``os.fork`` (or one core), or if the fork fails, the helper draws everything. If
the twin dies, the pictures it did not deliver are drawn by the run itself, as for any
picture the helper does not deliver.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import queue
import struct
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np

#: what a picture costs to draw, against a PNG's 1 (an SVG is written from the PNG's data)
COSTS = {".svg": 0.05}


def shares(names: list[str], load: list[float]) -> list[int]:
    """Which process draws each picture (0: the helper, 1: its twin): each goes to the one
    with less to draw so far (``load``, updated; a tie to the helper)."""
    sides = []
    for name in names:
        side = 0 if load[0] <= load[1] else 1
        load[side] += COSTS.get(os.path.splitext(name)[1], 1.0)
        sides.append(side)
    return sides


def serve(stdin: BinaryIO, stdout: BinaryIO,
          jobs_of: Callable[[dict, dict], dict[str, Callable]],
          render: Callable[[Callable], bytes]) -> None:
    """Answer each request on ``stdin`` (``jobs_of(header, arrays)``: picture name ->
    draw) with its pictures on ``stdout``, until the run closes the pipe. The twin is
    forked when the first request comes, if it asks for one (``"twin": true``: a small
    table, whose run is done while its pictures are drawn; on a big one the run's own
    threads still work, and a second drawer only competes with them)."""
    messages = _messages(stdin, raw=True)
    first = next(messages, None)
    if first is None:
        return  # the run ended without a picture to draw
    twin = _fork() if first[1].get("twin") and _cores() >= 2 else None
    if twin is not None and twin[0] == 0:  # the twin: later requests come from the helper
        _, requests, answers = twin
        try:  # whatever happens here, the twin ends here (never in the helper's code)
            _draw(itertools.chain([first[1:]], _messages(requests)), answers, jobs_of, render,
                  1, threading.Lock())
            answers.close()
        finally:
            os._exit(0)
    lock = threading.Lock()  # one answer at a time on stdout
    if twin is None:
        _draw((m[1:] for m in itertools.chain([first], messages)), stdout, jobs_of, render,
              None, lock)
        return
    pid, requests_out, answers_in = twin
    relay = threading.Thread(target=_relay, args=(answers_in, stdout, lock), daemon=True)
    relay.start()
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    inbox.put(first[1:])
    # each later request is passed on as soon as it is read, whatever this side is drawing
    threading.Thread(target=_read, args=(messages, requests_out, inbox), daemon=True).start()
    _draw(iter(inbox.get, None), stdout, jobs_of, render, 0, lock)
    relay.join()
    os.waitpid(pid, 0)


def _read(messages: Iterator[tuple], twin: BinaryIO | None, inbox: queue.SimpleQueue) -> None:
    """Each request to the twin (while it takes them) and to ``inbox``; None at the end."""
    try:
        for raw, header, arrays in messages:
            if twin is not None:
                try:
                    twin.write(raw)
                    twin.flush()
                except OSError:  # the twin is gone: its pictures are drawn by the run
                    twin = None
            inbox.put((header, arrays))
    finally:
        inbox.put(None)
        if twin is not None:
            twin.close()


def _draw(requests: Iterator[tuple[dict, dict]], out: BinaryIO, jobs_of, render,
          side: int | None, lock: threading.Lock) -> None:
    """Draw this side's share of each request's pictures (every picture when ``side`` is
    None) and answer on ``out``."""
    load = [0.0, 0.0]
    for header, arrays in requests:
        jobs = jobs_of(header, arrays)
        for (name, draw), who in zip(jobs.items(), shares(list(jobs), load), strict=True):
            if side is not None and who != side:
                continue
            try:
                png = render(draw)
            except Exception as exc:  # noqa: BLE001 - the run draws it and reports it
                _answer(out, lock, {"name": name, "error": str(exc)}, b"")
                continue
            _answer(out, lock, {"name": name, "size": len(png)}, png)


def request(header: dict, arrays: dict) -> bytes:
    """One request as the run sends it and :func:`_messages` reads it: the length of the
    JSON header (4 bytes, little-endian), the header (which gives the ``.npz``'s length),
    then the arrays as an ``.npz`` (read back with ``allow_pickle=False``)."""
    payload = io.BytesIO()
    np.savez(payload, **arrays)
    blob = json.dumps(header | {"npz": payload.tell()}).encode()
    return struct.pack("<I", len(blob)) + blob + payload.getvalue()


def _messages(source: BinaryIO, raw: bool = False) -> Iterator[tuple]:
    """The requests on ``source``: (header, arrays), or (its bytes, header, arrays), until
    the stream ends (the run ended, without a picture to draw or after its last request)."""
    while True:
        size = source.read(4)
        if len(size) < 4:
            return
        head = source.read(struct.unpack("<I", size)[0])
        header = json.loads(head)
        blob = source.read(header["npz"])
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        yield (size + head + blob, header, arrays) if raw else (header, arrays)


def _answer(out: BinaryIO, lock: threading.Lock, head: dict, png: bytes) -> None:
    with lock:
        out.write((json.dumps(head) + "\n").encode() + png)
        out.flush()


def _relay(answers: BinaryIO, stdout: BinaryIO, lock: threading.Lock) -> None:
    """Pass the twin's answers on to the run, whole, until the twin ends."""
    try:
        for line in answers:
            head = json.loads(line)
            png = answers.read(head.get("size", 0))
            _answer(stdout, lock, head, png)
    except (OSError, ValueError):
        pass  # the twin died: what it did not deliver is drawn by the run


def _fork():
    """(0, requests, answers) in the twin, (pid, requests, answers) in the helper, or None."""
    if not hasattr(os, "fork"):
        return None
    req_r, req_w = os.pipe()
    ans_r, ans_w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        for fd in (req_r, req_w, ans_r, ans_w):
            os.close(fd)
        return None
    if pid == 0:
        os.close(req_w)
        os.close(ans_r)
        # the run's pipes are the helper's alone: if the helper dies, the run sees them
        # end at once (the twin holding them open would keep the run waiting)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        return 0, os.fdopen(req_r, "rb"), os.fdopen(ans_w, "wb")
    os.close(req_r)
    os.close(ans_w)
    return pid, os.fdopen(req_w, "wb"), os.fdopen(ans_r, "rb")


def _cores() -> int:
    from somcli.runtime.parallel import cpus

    return cpus()
