"""A SOM on 10,000,000 rows on a local Dask cluster whose workers each have less memory
than the table (issue 26): what the Dask engine is for.

    python benchmarks/bench_dask_10m.py [--rows 10000000] [--memory-limit 700MB]

Writes the CSV under benchmarks/data/ (not committed; 10 columns of blobs, chunk by chunk,
so the generator never holds the table), starts `LocalCluster(n_workers=2,
threads_per_worker=1, memory_limit=...)` on 127.0.0.1, runs `somcli som CSV --engine dask
--scheduler ADDR --map 20x20 --epochs 10 --blocksize 64MB --single-file -o OUT -q
--no-plots`, samples each worker process's resident memory every half second, and prints
the wall time, the report's stage seconds, the peak per worker and the table's size (its
float64 matrix and its CSV). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_end_to_end import emit  # noqa: E402

D = 10


def make_csv(rows: int) -> str:
    import pandas as pd

    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    path = os.path.join(HERE, "data", f"blobs_{rows}x{D}_chunked.csv")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, (8, D))
    tmp = path + ".part"
    with open(tmp, "w") as fh:
        fh.write(",".join(f"f{i}" for i in range(D)) + "\n")
        for start in range(0, rows, 500_000):
            n = min(500_000, rows - start)
            X = centres[rng.integers(0, 8, n)] + rng.normal(0, 1, (n, D))
            pd.DataFrame(X).to_csv(fh, header=False, index=False, float_format="%.6f")
    os.replace(tmp, path)
    return path


def main() -> None:
    import psutil
    from distributed import LocalCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--memory-limit", default="700MB")
    ap.add_argument("--out")
    args = ap.parse_args()
    csv = make_csv(args.rows)
    out = tempfile.mkdtemp(prefix="somcli-10m-")
    shutil.rmtree(out)
    peaks: dict[int, float] = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=args.memory_limit,
                      host="127.0.0.1", dashboard_address=None) as cluster:
        pids = [w.process.pid for w in cluster.workers.values()]
        done = threading.Event()

        def sample():
            while not done.is_set():
                for pid in pids:
                    try:
                        rss = psutil.Process(pid).memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    peaks[pid] = max(peaks.get(pid, 0.0), rss)
                time.sleep(0.5)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "somcli", "som", csv, "--engine", "dask",
                        "--scheduler", cluster.scheduler_address, "--map", "20x20",
                        "--epochs", "10", "--blocksize", "64MB", "--single-file", "-o", out,
                        "-q", "--no-plots"], check=True)
        wall = time.perf_counter() - t
        done.set()
        watcher.join()
    with open(os.path.join(out, "report.json")) as fh:
        report = json.load(fh)
    res = {"rows": args.rows, "memory_limit_per_worker": args.memory_limit,
           "table_float64_mb": round(args.rows * D * 8 / 2**20),
           "csv_mb": round(os.path.getsize(csv) / 2**20),
           "wall_s": round(wall, 1), "stages_s": report["runtime_seconds"],
           "partitions": report["parameters"].get("partitions"),
           "peak_rss_per_worker_mb": [round(v) for v in peaks.values()],
           "clusters": len(report.get("clusters") or []), "cpus": len(os.sched_getaffinity(0))}
    shutil.rmtree(out)
    emit(res, args.out)


if __name__ == "__main__":
    main()
