"""Whole commands of two versions of somcli, interleaved, on the same generated data.

Extract the earlier version's package somewhere, then compare:

    git archive 5c7beb6 somcli | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python benchmarks/bench_cli_ab.py --before /tmp/before --rounds 3

Each cell runs `python -m somcli ...` in a fresh process, "before" with the extracted
package first on PYTHONPATH and "after" with this checkout, alternating; the figure is
the best wall time over the rounds (the machine is shared: the best is the least noisy).
"""

from __future__ import annotations

import argparse
import json
import os
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
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        make_data(folder)
        subprocess.run([sys.executable, "-m", "somcli", "som", "big.csv", "--map", "20x20", "-k",
                        "5", "--no-plots", "-o", "model", "-q"], cwd=folder, check=True)
        best: dict[str, dict[str, float]] = {c: {} for c in CELLS}
        for _ in range(a.rounds):
            for cell, args in CELLS.items():
                for version, path in (("before", a.before), ("after", None)):
                    t = once(args, folder, path)
                    best[cell][version] = min(best[cell].get(version, t), t)
        for cell, times in best.items():
            print(cell, json.dumps({k: round(v, 2) for k, v in times.items()}))


if __name__ == "__main__":
    main()
