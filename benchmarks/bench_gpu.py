"""Seconds per epoch on a GPU: somcli ``--device cuda`` against fastersom (PyTorch, CUDA),
xpysom (CuPy) and somcli on the CPU, with the data and schedule of bench_engines.py (20x20
rect map, PCA start, radius 5 -> 1 linear, float32) and QE/TE by the same float64
evaluator; and how far the GPU map is from the CPU map (max |W_gpu - W_cpu|).

    pip install 'somcli[gpu]' fastersom xpysom     # on the GPU machine
    python benchmarks/bench_gpu.py                 # 100k x 10, 1M x 10, 1M x 50, 10M x 10
    python benchmarks/bench_gpu.py --n 1000000 --d 10 --out benchmarks/results_gpu.json

Every measurement runs in a fresh process; a GPU timing synchronises the device before the
clock stops, and a warm-up epoch (kernel compilation, cuBLAS handles) is run and not
counted. Without a usable GPU it says why and exits 69. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import (  # noqa: E402
    COLS,
    ROWS,
    SIGMA,
    SIGMA_END,
    make_data,
    quality,
    run_child,
)

TRAINERS = ["somcli-cuda", "fastersom-cuda", "xpysom-cupy", "somcli-cpu"]
CELLS = [(100_000, 10), (1_000_000, 10), (1_000_000, 50), (10_000_000, 10)]


def child(trainer: str, n: int, d: int, epochs: int) -> dict:
    import numpy as np

    from somcli.algorithms import som
    from somcli.algorithms.grid import Grid, radius_schedule

    X = make_data(n, d)
    grid = Grid(ROWS, COLS, "rect")
    W0 = som.pca_init(X, grid)
    X32 = X.astype(np.float32)
    radii = radius_schedule(SIGMA, SIGMA_END, epochs)
    train = _trainer(trainer, X32, W0, grid, d)
    train(radii[:1])  # warm-up: compilation, handles, the copy to the device
    t0 = time.perf_counter()
    W = train(radii)
    seconds = time.perf_counter() - t0
    cpu, _ = som.train(X32, W0, grid, radii) if trainer != "somcli-cpu" else (W, None)
    qe, te = quality(X, W)
    return {"trainer": trainer, "n": n, "d": d, "epochs": epochs, "seconds": seconds,
            "seconds_per_epoch": seconds / epochs, "qe": qe, "te": te,
            "max_diff_to_cpu_map": float(np.abs(np.asarray(W) - cpu).max())}


def _trainer(name, X32, W0, grid, d):
    import numpy as np

    from somcli.algorithms import som

    if name == "somcli-cpu":
        return lambda radii: som.train(X32, W0, grid, radii)[0]
    if name == "somcli-cuda":
        import cupy

        from somcli.algorithms import device as G
        from somcli.backends.gpu import find

        dev = find("cuda")
        rows = G.place(cupy, X32, dev.free, grid.units)

        def run(radii):
            W, _ = som.train(X32, W0, grid, radii, sums_fn=lambda W: som.epoch_sums(rows, W))
            cupy.cuda.Device().synchronize()
            return W
        return run
    if name == "xpysom-cupy":
        import cupy
        from xpysom import XPySom

        def run(radii):
            m = XPySom(ROWS, COLS, d, sigma=SIGMA, sigmaN=SIGMA_END, decay_function="linear",
                       std_coeff=1.0, random_seed=0, xp=cupy)
            m._weights = cupy.asarray(W0.reshape(ROWS, COLS, d).astype(np.float32))
            m.train(X32, len(radii))
            cupy.cuda.Device().synchronize()
            return cupy.asnumpy(m._weights).reshape(-1, d)
        return run
    if name == "fastersom-cuda":
        import torch
        from fastersom import SOM

        data = torch.as_tensor(X32, device="cuda")

        def run(radii):  # its own schedule (exponential width decay): timed, not compared
            m = SOM(n_rows=ROWS, n_cols=COLS, n_epochs=len(radii), random_state=0,
                    device="cuda")
            m.fit(data)
            torch.cuda.synchronize()
            return np.asarray(m.weights_.cpu() if hasattr(m.weights_, "cpu") else m.weights_)
        return run
    raise SystemExit(f"unknown trainer {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child")
    ap.add_argument("--n", type=int)
    ap.add_argument("--d", type=int)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.n, a.d, a.epochs)))
        return
    from somcli.backends.gpu import find, why_not

    if find("auto") is None:
        print(f"no usable GPU: {why_not()}", file=sys.stderr)
        raise SystemExit(69)
    cells = [(a.n, a.d)] if a.n else CELLS
    results = []
    for n, d in cells:
        for trainer in TRAINERS:
            r = run_child(trainer, n, d, a.epochs, script=__file__)
            results.append(r)
            print(json.dumps(r), flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
