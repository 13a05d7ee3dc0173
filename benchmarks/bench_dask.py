"""--engine dask against the local engine on the same CSV: wall time, training time,
per-epoch overhead, and how far apart the two codebooks are.

    python benchmarks/bench_dask.py                      # 1,000,000 x 10, 10 epochs
    python benchmarks/bench_dask.py --rows 100000 --out benchmarks/results_dask.json

The Dask runs start their own LocalCluster on 127.0.0.1 (as `somcli ... --engine dask`
does without --scheduler): its start-up is part of the wall time, not of training.
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

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_end_to_end import emit  # noqa: E402


def run(cmd: list[str]) -> tuple[float, dict, str]:
    out = tempfile.mkdtemp(prefix="somcli-dask-bench-")
    shutil.rmtree(out)
    t = time.perf_counter()
    subprocess.run(cmd + ["-o", out, "-q", "--no-plots"], check=True)
    wall = time.perf_counter() - t
    with open(os.path.join(out, "report.json")) as fh:
        report = json.load(fh)
    return wall, report, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--blocksize", default="16MB")
    ap.add_argument("--out")
    args = ap.parse_args()
    py = sys.executable
    made = subprocess.run([py, os.path.join(HERE, "bench_end_to_end.py"), "--make-only",
                           "--rows", str(args.rows)], capture_output=True, text=True, check=True)
    csv = made.stdout.strip().splitlines()[-1].split("\t")[0]
    base = [py, "-m", "somcli", "som", csv, "--map", "20x20", "--epochs", str(args.epochs),
            "--dtype", "float64"]
    local_wall, local_report, local_out = run(base)
    dask_wall, dask_report, dask_out = run(base + ["--engine", "dask", "--blocksize",
                                                   args.blocksize, "--single-file"])
    a = pd.read_csv(os.path.join(local_out, "codebook.csv"))
    b = pd.read_csv(os.path.join(dask_out, "codebook.csv"))
    scaled = [c for c in a.columns if c.endswith("[scaled]")]
    same = bool((pd.read_csv(os.path.join(local_out, "assignments.csv"))["cluster"].to_numpy()
                 == pd.read_csv(os.path.join(dask_out, "assignments.csv"))["cluster"].to_numpy()
                 ).all())
    lf, df = local_report["runtime_seconds"]["fit"], dask_report["runtime_seconds"]["fit"]
    res = {"rows": args.rows, "epochs": args.epochs, "map": "20x20", "dtype": "float64",
           "partitions": dask_report["parameters"]["partitions"], "blocksize": args.blocksize,
           "local_wall_s": local_wall, "dask_wall_s": dask_wall,
           "local_fit_s": lf, "dask_fit_s": df,
           "overhead_per_epoch_s": (df - lf) / args.epochs,
           "codebook_max_abs_difference": float(np.abs(a[scaled].to_numpy()
                                                       - b[scaled].to_numpy()).max()),
           "same_assignments": same,
           "cpus": len(os.sched_getaffinity(0))}
    for folder in (local_out, dask_out):
        shutil.rmtree(folder)
    emit(res, args.out)


if __name__ == "__main__":
    main()
