"""`embed --engine dask` against the local engine on the same ratings table: wall time,
training time, this process's peak memory (the client's, on Dask), and how far apart the
two models are.

    python benchmarks/bench_dask_embed.py                    # 200,000 x 20, 5 epochs
    python benchmarks/bench_dask_embed.py --rows 1000000 --out benchmarks/results_dask_embed.json

The table (generated, not committed): three groups of users, 1..5 stars, 30% of cells
missing. The Dask run uses a LocalCluster this script starts (2 worker processes,
`--scheduler`), so the peak memory of the somcli process is the client's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_end_to_end import emit, peak_of  # noqa: E402


def make(rows: int, cols: int) -> str:
    path = os.path.join(HERE, "data", f"ratings_{rows}x{cols}.csv")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        rng = np.random.default_rng(0)
        base = rng.random((3, cols))
        X = ((base[rng.integers(0, 3, rows)] + rng.normal(0, 0.15, (rows, cols))).clip(0, 1)
             * 4 + 1).round()
        X[rng.random(X.shape) < 0.3] = np.nan
        pd.DataFrame(X, columns=[f"item{j}" for j in range(cols)]).to_csv(path, index=False)
    return path


def run(cmd: list[str]) -> tuple[float, float, dict, str]:
    """(wall s, peak RSS of the somcli process in MB, report, output folder)."""
    out = tempfile.mkdtemp(prefix="somcli-embed-bench-")
    shutil.rmtree(out)
    wall, peak, _ = peak_of([*cmd, "-o", out, "-q"])
    with open(os.path.join(out, "report.json")) as fh:
        return wall, peak, json.load(fh), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--blocksize", default="4MB")
    ap.add_argument("--out")
    args = ap.parse_args()
    csv = make(args.rows, args.cols)
    base = [sys.executable, "-m", "somcli", "embed", csv, "--epochs", str(args.epochs)]
    from distributed import LocalCluster

    lw, lp, lr, lo = run(base)
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        dw, dp, dr, do = run(base + ["--engine", "dask", "--blocksize", args.blocksize,
                                     "--scheduler", cluster.scheduler_address])
    a, b = np.load(os.path.join(lo, "model.npz")), np.load(os.path.join(do, "model.npz"))
    res = {"rows": args.rows, "cols": args.cols, "epochs": args.epochs,
           "csv_mb": os.path.getsize(csv) / 2**20,
           "partitions": dr["parameters"]["partitions"], "blocksize": args.blocksize,
           "local_wall_s": lw, "dask_wall_s": dw,
           "local_fit_s": lr["runtime_seconds"]["fit"], "dask_fit_s": dr["runtime_seconds"]["fit"],
           "local_peak_rss_mb": lp, "dask_client_peak_rss_mb": dp,
           "model_max_abs_difference": max(float(np.abs(a[k] - b[k]).max()) for k in a.files),
           "cpus": len(os.sched_getaffinity(0))}
    for folder in (lo, do):
        shutil.rmtree(folder)
    emit(res, args.out)


if __name__ == "__main__":
    main()
