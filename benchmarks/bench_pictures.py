"""What each picture of a run costs to draw, warm (matplotlib imported, the first drawing
of each done and thrown away): the map's pictures of a 20x20 hex map with 10 features and
8 clusters, and the clusters' projection and profiles, as the picture helper draws them.

    python benchmarks/bench_pictures.py                          # this checkout
    python benchmarks/bench_pictures.py --package /tmp/old --package /tmp/new --rounds 4

Each ``--package`` is a folder holding a ``somcli`` package (``git archive REV somcli | tar
-x -C DIR``); each round runs every package once, in a fresh process started in that folder
(so that ``-c`` finds no other somcli first), in turn and the order alternating, so that a
slow spell of a shared machine hits them alike. A figure is the best of a picture's
drawings over all rounds, in milliseconds.

A real run's pictures instead of the generated map: capture what a command asks to be
drawn (its requests in the picture helper's own format, JSON and ``.npz``: no pickle), then
draw those:

    python benchmarks/bench_pictures.py --capture /tmp/run.req -- som big.csv --map 20x20 -o /tmp/o -q
    python benchmarks/bench_pictures.py --requests /tmp/run.req --package /tmp/old --package /tmp/new
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ONE = """
import io, json, sys, time
import numpy as np
from somcli.algorithms.grid import Grid
from somcli.report import cluster_plots, plots
from somcli.report.map_facts import MapFacts

rng = np.random.default_rng(0)
d, k = 10, 8
W = rng.normal(size=(400, d))
X = rng.normal(size=(2000, d))
facts = MapFacts(Grid(20, 20, "hex"), W, rng.random((20, 20)), rng.integers(0, 9, 400),
                 np.arange(400) % k, W * 3 + 10, [f"feature_{i}" for i in range(d)],
                 {"quantization_error": 0.5, "topographic_error": 0.1}, rows=1_000_000,
                 sample=X, units=np.vstack([np.full(d, 3.0), np.full(d, 10.0)]),
                 sample_cluster=rng.integers(0, k, 2000), centres=rng.normal(size=(k, d)),
                 sizes=np.full(k, 100))
jobs = plots.jobs(facts) | cluster_plots.jobs(X, rng.integers(0, k, 2000),
                                              rng.normal(size=(k, d)), facts.features,
                                              np.full(k, 250), "SOM")
if len(sys.argv) > 2:  # a captured run's requests instead
    from somcli.report import painter, twin
    jobs = {}
    with open(sys.argv[2], "rb") as fh:
        for header, arrays in twin._messages(fh):
            jobs |= painter._jobs(header, arrays)
best = {}
for name, draw in jobs.items():
    draw(io.BytesIO())  # warm
    times = []
    for _ in range(int(sys.argv[1])):
        t = time.perf_counter()
        draw(io.BytesIO())
        times.append(time.perf_counter() - t)
    best[name] = min(times)
print(json.dumps(best))
"""


def capture(path: str, command: list[str]) -> None:
    """Run ``somcli COMMAND`` here with its pictures drawn in this process, and write every
    picture request it made to ``path`` (the helper's message format)."""
    from somcli.cli import main as somcli_main
    from somcli.report import painter, twin

    painter.MODE = "never"  # the requests come whole at the end, all in this process
    made = []
    asked = painter.pictures

    def pictures(requests, helper=None, last=True):
        made.extend(requests)
        return asked(requests, helper, last)

    painter.pictures = pictures

    def save() -> None:
        with open(path, "wb") as fh:
            for one in made:
                fh.write(twin.request(*painter.message([one])))

    exit_ = os._exit

    def at_exit(code):  # (the console script ends with os._exit)
        save()
        exit_(code)

    os._exit = at_exit
    somcli_main(command)


def main() -> None:
    if "--capture" in sys.argv:
        at = sys.argv.index("--capture")
        rest = sys.argv[at + 2:]
        capture(sys.argv[at + 1], rest[1:] if rest[:1] == ["--"] else rest)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", action="append", default=[],
                    help="a folder holding a somcli package (repeatable; default: this one)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=4, help="drawings per picture per round")
    ap.add_argument("--requests", help="a captured run's requests (--capture FILE -- ARGS)")
    ap.add_argument("--out")
    args = ap.parse_args()
    requests = [os.path.abspath(args.requests)] if args.requests else []
    packages = args.package or [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    best: dict[str, dict[str, float]] = {p: {} for p in packages}
    for r in range(args.rounds):
        for p in packages if r % 2 == 0 else packages[::-1]:
            env = dict(os.environ, PYTHONPATH=p)
            out = subprocess.run([sys.executable, "-c", ONE, str(args.repeat), *requests],
                                 env=env, cwd=p,
                                 capture_output=True, text=True, check=True).stdout
            for name, seconds in json.loads(out).items():
                best[p][name] = min(best[p].get(name, seconds), seconds)
    table = {p: {name: round(s * 1e3, 1) for name, s in times.items()}
             | {"all": round(sum(times.values()) * 1e3, 1)} for p, times in best.items()}
    print(json.dumps(table, indent=1))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(table, fh, indent=1)


if __name__ == "__main__":
    main()
