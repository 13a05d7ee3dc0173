"""Draw a map's pictures in a helper process, so that on big inputs they cost no wall time.

Matplotlib is pure Python for the most part: drawn on a thread, the pictures hold the
GIL against the scores and the CSV writing (about a second on a million rows, measured:
benchmarks/README.md). A helper process started by the command imports matplotlib while
this process imports its own libraries (one core is idle then) and parses the CSV, waits
while the map trains, and draws the pictures beside the scores and the CSV writing.

Only small arrays and JSON cross the pipe (no pickle): a length-prefixed JSON header,
then an ``.npz`` read with ``allow_pickle=False``. The helper answers with one JSON line
per picture followed by its PNG bytes. Whatever goes wrong with the helper (it cannot
start, dies, or a picture fails there), the pictures it did not deliver are drawn here
on a thread instead, as for small inputs: the run's outputs never depend on it.
"""

from __future__ import annotations

import glob
import io
import json
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future

MIN_BYTES = 16 * 2**20  # below this much input, a thread is enough (and a process not free)


def input_bytes(inputs: tuple[str, ...]) -> int:
    """Total size of the input files (globs expanded); stdin and missing files count 0."""
    total = 0
    for spec in inputs:
        for path in (glob.glob(spec) if not os.path.lexists(spec) else [spec]):
            try:
                total += os.path.getsize(path)
            except OSError:
                pass
    return total


class Painter:
    """The parent's end: a helper started early, handed the map once it is trained."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.sent = False

    @classmethod
    def start(cls, inputs: tuple[str, ...]) -> Painter | None:
        """A helper when the inputs are big enough and a second core is there, else None."""
        if not sys.executable or (os.cpu_count() or 1) < 2 or input_bytes(inputs) < MIN_BYTES:
            return None
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        env.setdefault("MPLBACKEND", "Agg")
        try:
            # -P: the working folder is not put on sys.path, so a somcli/ planted there is
            # never imported; the helper finds this very package through PYTHONPATH
            proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "somcli.report.painter"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                start_new_session=True)  # Ctrl-C reaches the run, which closes the helper
        except (OSError, ValueError):
            return None
        return cls(proc)

    def close(self) -> None:
        """Stop a helper that was never handed a map (the run failed or drew nothing)."""
        if not self.sent and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Painter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def paint(self, header: dict, arrays: dict,
              fallback: dict[str, Callable]) -> dict[str, Future]:
        """Send the map; one future of PNG bytes per picture of ``fallback`` (name -> draw),
        filled by the helper or, for what it does not deliver, by drawing here."""
        self.sent = True
        futures = {name: Future() for name in fallback}
        threading.Thread(target=self._talk, args=(header, arrays, futures, fallback),
                         name="somcli-painter", daemon=True).start()
        return futures

    def _talk(self, header, arrays, futures, fallback) -> None:
        import numpy as np

        from somcli.report import figure

        try:
            payload = io.BytesIO()
            np.savez(payload, **arrays)
            blob = json.dumps(header).encode()
            self.proc.stdin.write(struct.pack("<I", len(blob)) + blob + payload.getvalue())
            self.proc.stdin.close()
            for line in self.proc.stdout:
                answer = json.loads(line)
                if "size" not in answer:
                    continue  # a picture the helper could not draw: drawn below
                data = self.proc.stdout.read(answer["size"])
                if answer["name"] in futures and len(data) == answer["size"]:
                    futures[answer["name"]].set_result(data)
        except (OSError, ValueError):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        for name, future in futures.items():
            if not future.done():
                try:
                    future.set_result(figure.render(fallback[name]))
                except Exception as exc:  # noqa: BLE001 - raised where the bytes are used
                    future.set_exception(exc)


def request(facts) -> tuple[dict, dict]:
    """The header and arrays the helper draws from (:class:`map_facts.MapFacts`)."""
    return facts.wire()


def main() -> None:
    """The helper's end: import matplotlib now, draw when the map arrives, then exit."""
    import matplotlib.backends.backend_agg  # noqa: F401 - the slow part, done while waiting
    import matplotlib.figure  # noqa: F401
    import numpy as np

    from somcli.report import figure, plots
    from somcli.report.map_facts import MapFacts

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    size = stdin.read(4)
    if len(size) < 4:
        return  # the run ended without a map
    header = json.loads(stdin.read(struct.unpack("<I", size)[0]))
    with np.load(io.BytesIO(stdin.read()), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    jobs = plots.jobs(MapFacts.unwire(header, arrays))
    for name, draw in jobs.items():
        try:
            png = figure.render(draw)
        except Exception as exc:  # noqa: BLE001 - the parent draws it and reports the error
            stdout.write((json.dumps({"name": name, "error": str(exc)}) + "\n").encode())
            continue
        stdout.write((json.dumps({"name": name, "size": len(png)}) + "\n").encode())
        stdout.write(png)
        stdout.flush()


if __name__ == "__main__":
    main()
