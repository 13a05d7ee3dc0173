"""Seconds per epoch of two versions of somcli's engine, alternating, on the same data.

Extract the earlier version's package somewhere, then compare:

    git archive 8d91f98 somcli | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python benchmarks/bench_ab.py --before /tmp/before --rounds 3

"after" is this checkout; "after, float32 ties" is this checkout with the float64
settling of near ties switched off (float64 sums kept). Each figure is the best of
--rounds x 3 runs, each round a fresh process per version (20x20 rect map, 10 epochs,
float32, the data of bench_engines.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = """
import json, sys, time
import numpy as np
sys.path.insert(0, {here!r})
from bench_engines import make_data
from somcli.algorithms import nearest, som
from somcli.algorithms.grid import Grid, radius_schedule
if {plain}:
    init = nearest.Units.__init__
    def plain(self, W, dtype=None):
        init(self, W, dtype)
        self.exact = None
    nearest.Units.__init__ = plain
n, d = {n}, {d}
X = make_data(n, d).astype(np.float32)
grid = Grid(20, 20, "rect")
W0 = som.pca_init(X, grid)
radii = radius_schedule(5.0, 1.0, 10)
best = 1e9
for _ in range(3):
    t = time.perf_counter()
    som.train(X, W0, grid, radii, threads={threads})
    best = min(best, time.perf_counter() - t)
import somcli
print(somcli.__file__, best / 10)
"""


def run(root: str, n: int, d: int, plain: bool) -> float:
    from somcli.runtime.parallel import default_threads

    code = CHILD.format(here=HERE, plain=plain, n=n, d=d, threads=default_threads())
    env = dict(os.environ, PYTHONPATH=root)
    # run from this folder: from the checkout, `python -c` would import its somcli first
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=HERE)
    path, seconds = out.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    if not os.path.abspath(path).startswith(os.path.abspath(root) + os.sep):
        raise SystemExit(f"{root}: the child imported {path} instead")
    return float(seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="folder holding the earlier somcli package")
    ap.add_argument("--cells", nargs="+", default=["100000x10", "100000x50", "1000000x10"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    versions = {"before": (args.before, False), "after, float32 ties": (ROOT, True),
                "after": (ROOT, False)}
    res: dict = {}
    for cell in args.cells:
        n, d = map(int, cell.split("x"))
        for _ in range(args.rounds):
            for name, (root, plain) in versions.items():
                t = run(root, n, d, plain)
                res.setdefault(cell, {})[name] = min(res.get(cell, {}).get(name, 1e9), t)
        print(cell, json.dumps(res[cell]), flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
