"""The share of a training epoch during which some thread holds the GIL (what stops the
epoch from scaling with threads), by sampling with py-spy:

    pip install py-spy
    py-spy record -r 250 --gil -f raw -o /tmp/gil.txt -- python benchmarks/gil_share.py 2
    python benchmarks/gil_share.py --count /tmp/gil.txt

The first command trains a 20x20 map on 1M x 10 float32 rows for 10 epochs on the given
threads (and prints the training seconds); ``--gil`` keeps only the samples of the thread
holding the GIL, so the training's samples / rate is the time the GIL was held (imports
made during the first epoch, a fixed cost of the run, are left out).
Not a test: it measures.
"""

import sys
import time
from pathlib import Path

RATE = 250  # samples per second, as in the command above


def train(threads: int) -> None:
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_engines import make_data

    from somcli.algorithms import som
    from somcli.algorithms.grid import Grid, radius_schedule

    X = make_data(1_000_000, 10).astype(np.float32)
    grid = Grid(20, 20, "rect")
    W0 = som.pca_init(X.astype(np.float64), grid)
    t0 = time.perf_counter()
    som.train(X, W0, grid, radius_schedule(5, 1, 10), threads=threads)
    print(f"train_seconds {time.perf_counter() - t0:.3f}", file=sys.stderr)


def count(path: str) -> None:
    held, leaves = 0, {}
    for line in open(path):
        stack, n = line.rsplit(" ", 1)
        if any(k in stack for k in ("som.py", "nearest.py", "parallel.py")) \
                and "pca_init" not in stack and "importlib" not in stack:
            held += int(n)
            leaf = stack.split(";")[-1]
            leaves[leaf] = leaves.get(leaf, 0) + int(n)
    print(f"GIL held in training: {held / RATE:.2f} s")
    for leaf, n in sorted(leaves.items(), key=lambda kv: -kv[1])[:10]:
        print(f"{n / RATE:6.2f} s  {leaf}")


if __name__ == "__main__":
    if sys.argv[1] == "--count":
        count(sys.argv[2])
    else:
        train(int(sys.argv[1]))
