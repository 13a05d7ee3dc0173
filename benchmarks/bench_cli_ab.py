"""Whole commands of two versions of somcli, interleaved, on the same generated data.

Extract the earlier version's package somewhere, then compare:

    git archive 5c7beb6 somcli | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python benchmarks/bench_cli_ab.py --before /tmp/before --rounds 3

Each cell runs `python -m somcli ...` in a fresh process, "before" with the extracted
package first on PYTHONPATH and "after" with this checkout, alternating; the figure is
the best wall time over the rounds (the machine is shared: the best is the least noisy),
with every round's. ``--command 'ARGS'`` times one command line of your own instead (a 1M
run: ``--command 'som /abs/blobs_1000000x10.csv --map 20x20'``). `--cells small` times
the small tables with their pictures (issue 30, item 2: the seed table's `som -k 3`, a
1,000-row `kmeans`); `--compile` compiles both packages first, as an installed package is
(a machine that sets PYTHONDONTWRITEBYTECODE compiles an uncompiled checkout on every run).

The commands run in a temporary folder, never in the repository: `python -m` puts the
current folder first on sys.path, so run from the checkout, "before" would import the
checkout too (benchmarks/README.md, "Issue 30, fourth round").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CELLS = {
    "som local 200k x 10, 20x20, -k 5": "som big.csv --map 20x20 -k 5 --no-plots",
    "kmeans local 200k x 10, -k 5": "kmeans big.csv -k 5",
    "som dask 50k x 10, 10x10, -k 4": "som mid.csv --map 10x10 -k 4 --no-plots --engine dask "
                                      "--blocksize 1MB",
    "assign local 200k x 10": "assign model/model.json big.csv",
}
SMALL = {
    "som seed table, -k 3, pictures": "som seed.csv -k 3",
    "kmeans 1,000 x 5, -k auto, pictures": "kmeans small.csv",
}


def make_data(folder: str) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 200_000
    centres = rng.normal(size=(6, 10)) * 3
    X = centres[rng.integers(0, 6, n)] + rng.normal(size=(n, 10))
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    frame.insert(0, "id", [f"r{i}" for i in range(n)])
    frame.to_csv(os.path.join(folder, "big.csv"), index=False, float_format="%.5f")
    frame.iloc[:50_000].to_csv(os.path.join(folder, "mid.csv"), index=False,
                               float_format="%.5f")
    blobs = np.array([[0, 0, 0, 0, 0], [5, 5, 0, 0, 0], [0, 5, 5, 5, 0]])
    small = blobs[np.arange(1000) % 3] + rng.normal(size=(1000, 5))
    pd.DataFrame(small, columns=[f"x{i}" for i in range(5)]).round(4).to_csv(
        os.path.join(folder, "small.csv"), index=False)
    shutil.copy(os.path.join(ROOT, "sample_data", "countries_health_inflation.csv"),
                os.path.join(folder, "seed.csv"))


def once(args: str, folder: str, path: str | None) -> float:
    env = dict(os.environ, PYTHONPATH=path or "")
    out = os.path.join(folder, "out")
    subprocess.run(["rm", "-rf", out], check=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "somcli", *args.split(), "-o", out, "-q"], cwd=folder,
                   env=env, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="folder holding the earlier somcli/")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cells", choices=("big", "small"), default="big")
    ap.add_argument("--compile", action="store_true", help="compileall both packages first")
    ap.add_argument("--command", help="time this command line instead (its files given by "
                    "absolute path; `-o out -q` is added), e.g. 'som /data/big.csv --map 20x20'")
    a = ap.parse_args()
    cells = {a.command: a.command} if a.command else CELLS if a.cells == "big" else SMALL
    if a.compile:
        for package in (os.path.join(a.before, "somcli"), os.path.join(ROOT, "somcli")):
            subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
    with tempfile.TemporaryDirectory() as folder:
        if not a.command:
            make_data(folder)
        if a.cells == "big" and not a.command:
            subprocess.run([sys.executable, "-m", "somcli", "som", "big.csv", "--map", "20x20",
                            "-k", "5", "--no-plots", "-o", "model", "-q"], cwd=folder,
                           check=True)
        times: dict[str, dict[str, list[float]]] = {c: {} for c in cells}
        sides = [("before", a.before), ("after", None)]
        for r in range(a.rounds):
            for cell, args in cells.items():
                for version, path in sides if r % 2 == 0 else sides[::-1]:  # alternating
                    times[cell].setdefault(version, []).append(once(args, folder, path))
        for cell, got in times.items():
            print(cell, json.dumps({k: {"best": round(min(v), 2),
                                        "rounds": [round(x, 2) for x in v]}
                                    for k, v in got.items()}))


if __name__ == "__main__":
    main()
