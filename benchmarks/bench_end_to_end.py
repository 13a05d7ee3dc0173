"""End to end on a generated CSV: `somcli som big.csv --map 20x20 -o out` against the sum
of "read the CSV" and "train" alone, its peak memory against the float64 feature matrix,
the reader engines, and `somcli --help` start-up time.

    python benchmarks/bench_end_to_end.py                      # 1,000,000 x 10
    python benchmarks/bench_end_to_end.py --rows 100000 --out benchmarks/results_e2e.json

Every timing is the best of --repeat runs, each in a fresh process. Memory is the
peak RSS of the somcli process minus the peak RSS of a process that only imports what
that run imports (the interpreter and libraries are not the run's data).
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

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

READ = """
import sys, time, pandas as pd
t = time.perf_counter(); pd.read_csv(sys.argv[1], engine=sys.argv[2])
print(time.perf_counter() - t)
"""

TRAIN = """
import sys, time, numpy as np
from somcli.algorithms import som
from somcli.algorithms.grid import Grid, radius_schedule
from somcli.runtime.parallel import default_threads
X = np.load(sys.argv[1])
grid = Grid(20, 20, "hex")
W0 = som.pca_init(X, grid)
t = time.perf_counter()
som.train(X, W0, grid, radius_schedule(5.0, 1.0, 20), threads=default_threads())
print(time.perf_counter() - t)
"""

# what the somcli process imports (matplotlib is imported by the helper process that draws)
IMPORTS = ("import somcli.cli, somcli.pipeline.som, somcli.report.plots, somcli.report.painter, "
           "somcli.io.write, somcli.models.model, pandas, pyarrow.csv, scipy.sparse, threadpoolctl, "
           "jsonschema, sklearn.cluster, sklearn.metrics")  # (k-means of the units, scores)

# the helper process that draws the pictures: its imports, and drawing a 20x20 map's pictures
PAINTER = """
import numpy as np, matplotlib.figure, matplotlib.backends.backend_agg
from somcli.algorithms.grid import Grid
from somcli.report import figure, plots
from somcli.report.map_facts import MapFacts
rng = np.random.default_rng(0)
W = rng.normal(size=(400, 10))
X = rng.normal(size=(5000, 10))
facts = MapFacts(Grid(20, 20, "hex"), W, rng.random((20, 20)), rng.integers(0, 9, 400),
                 np.arange(400) % 6, W, [f"f{i}" for i in range(10)], sample=X,
                 units=np.vstack([np.ones(10), np.zeros(10)]),
                 sample_cluster=rng.integers(0, 6, 5000), centres=rng.normal(size=(6, 10)),
                 sizes=np.full(6, 100))
jobs = plots.jobs(facts)
for draw in jobs.values():
    figure.render(draw)
"""

# a minimal program doing only what the comparison counts: read the CSV, standardise, train
MINIMAL = """
import sys, numpy as np, pandas as pd
from somcli.algorithms import som
from somcli.algorithms.grid import Grid, radius_schedule
from somcli.runtime.parallel import default_threads
X = pd.read_csv(sys.argv[1]).to_numpy()
X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
grid = Grid(20, 20, "hex")
som.train(X, som.pca_init(X, grid), grid, radius_schedule(5.0, 1.0, 20), threads=default_threads())
"""


def make_csv(rows: int, d: int = 10) -> tuple[str, str]:
    """The CSV and the float32 standardised matrix training alone starts from."""
    import numpy as np

    os.makedirs(DATA, exist_ok=True)
    csv = os.path.join(DATA, f"blobs_{rows}x{d}.csv")
    npy = os.path.join(DATA, f"blobs_{rows}x{d}.npy")
    if not (os.path.exists(csv) and os.path.exists(npy)):
        rng = np.random.default_rng(0)
        centers = rng.normal(0, 5, (8, d))
        X = centers[rng.integers(0, 8, rows)] + rng.normal(0, 1, (rows, d))
        header = ",".join(f"f{i}" for i in range(d))
        np.savetxt(csv, X, delimiter=",", fmt="%.6f", header=header, comments="")
        Z = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
        np.save(npy, Z)
    return csv, npy


def peak_of(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of a fresh process, via wait4's rusage."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err.decode()[-500:]}")
    return wall, usage.ru_maxrss / 1e3, out.decode()


def emit(result: dict, path: str | None) -> None:
    """Print a benchmark's result as JSON, and write it to ``path`` when given."""
    print(json.dumps(result, indent=1))
    if path:
        with open(path, "w") as fh:
            json.dump(result, fh, indent=1)


def best(values) -> float:
    return min(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--make-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_only:
        print("\t".join(make_csv(args.rows)))
        return
    py = sys.executable
    # the data is made in a child process: a child's peak RSS counts the parent's pages
    # copied at fork, so the measuring process must stay small
    made = peak_of([py, __file__, "--make-only", "--rows", str(args.rows)])[2]
    csv, npy = made.strip().splitlines()[-1].split("\t")
    res: dict = {"rows": args.rows, "features": 10, "csv_mb": os.path.getsize(csv) / 1e6,
                 "float64_matrix_mb": args.rows * 10 * 8 / 1e6, "repeat": args.repeat}
    # the measures are interleaved, one of each per round, so that a slow spell of a shared
    # machine hits all of them alike; each figure is the best of its rounds
    rounds: dict[str, list] = {}
    for _ in range(args.repeat):
        for engine in ("c", "pyarrow"):
            rounds.setdefault(f"read_{engine}", []).append(
                float(peak_of([py, "-c", READ, csv, engine])[2]))
        rounds.setdefault("train", []).append(float(peak_of([py, "-c", TRAIN, npy])[2]))
        rounds.setdefault("minimal", []).append(peak_of([py, "-c", MINIMAL, csv])[0])
        rounds.setdefault("run", []).append(_run(py, csv))
        rounds.setdefault("no_plots", []).append(_run(py, csv, "--no-plots"))
    res["read_c_s"] = best(rounds["read_c"])
    res["read_pyarrow_s"] = best(rounds["read_pyarrow"])
    res["train_20_epochs_s"] = best(rounds["train"])
    res["read_plus_train_s"] = res["read_c_s"] + res["train_20_epochs_s"]
    fastest = min(rounds["run"], key=lambda r: r[0])
    res["end_to_end_s"] = fastest[0]
    res["end_to_end_stages_s"] = fastest[3]
    res["end_to_end_ratio"] = res["end_to_end_s"] / res["read_plus_train_s"]
    res["no_plots_end_to_end_s"] = best(r[0] for r in rounds["no_plots"])
    res["no_plots_ratio"] = res["no_plots_end_to_end_s"] / res["read_plus_train_s"]
    res["minimal_read_train_process_s"] = best(rounds["minimal"])
    res["process_ratio"] = res["end_to_end_s"] / res["minimal_read_train_process_s"]
    res["no_plots_process_ratio"] = (res["no_plots_end_to_end_s"]
                                     / res["minimal_read_train_process_s"])
    res["all_rounds_s"] = {k: [round(v[0] if isinstance(v, tuple) else v, 3) for v in vals]
                           for k, vals in rounds.items()}
    res["end_to_end_peak_rss_mb"] = max(r[1] for r in rounds["run"] + rounds["no_plots"])
    res["imports_peak_rss_mb"] = max(peak_of([py, "-c", IMPORTS])[1] for _ in range(2))
    res["run_memory_mb"] = res["end_to_end_peak_rss_mb"] - res["imports_peak_rss_mb"]
    res["memory_ratio"] = res["run_memory_mb"] / res["float64_matrix_mb"]
    res["painter_peak_rss_mb"] = max(peak_of([py, "-c", PAINTER])[1] for _ in range(2))
    res["help_startup_s"] = best(peak_of([py, "-m", "somcli", "--help"])[0] for _ in range(10))
    emit(res, args.out)


def _run(py, csv, *extra) -> tuple[float, float, str, dict]:
    """``somcli som`` on the CSV: (wall, peak RSS MB, stdout, the report's stage timings)."""
    out = tempfile.mkdtemp(prefix="somcli-e2e-")
    shutil.rmtree(out)
    wall, rss, stdout = peak_of([py, "-m", "somcli", "som", csv, "--map", "20x20", "-o", out,
                                 "-q", *extra])
    with open(os.path.join(out, "report.json")) as fh:
        stages = json.load(fh)["runtime_seconds"]
    shutil.rmtree(out)
    return wall, rss, stdout, stages


if __name__ == "__main__":
    main()
