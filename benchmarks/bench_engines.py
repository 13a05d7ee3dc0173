"""Seconds per epoch, peak memory, final QE and TE: somcli's batch engine against
MiniSom (online `train` and `train_batch_offline`), xpysom (numpy backend), somoclu
(C++/OpenMP) and fastersom (PyTorch, CPU path), and against a plain float64 reference
batch SOM.

Every measurement runs in a fresh process on the same seeded data (blobs,
standardised), the same 20x20 rectangular map, PCA initialisation where the
trainer accepts a codebook, and the same radius schedule (5 -> 1, linear).
QE and TE are computed for every trainer by the same chunked float64 evaluator.

    python benchmarks/bench_engines.py                    # the full grid (about 15 min)
    python benchmarks/bench_engines.py --n 100000 --d 10  # one cell
    python benchmarks/bench_engines.py --out benchmarks/results_engines.json
    python benchmarks/bench_engines.py --n 1000000 --d 10 --trainers somcli,fastersom-cpu,gemm \
        --threads 1,2                                     # a thread-scaling table

"gemm" is the bound: the bare NumPy float32 product of the rows by the codebook, once per
epoch, on the BLAS threads the thread count allows.

Not a test: it measures. Results and the commands that produced them are in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROWS, COLS = 20, 20
SIGMA, SIGMA_END = 5.0, 1.0
TRAINERS = ["somcli", "somcli-f64", "reference-f64", "xpysom", "somoclu", "fastersom-cpu",
            "minisom-train", "minisom-batch-offline", "gemm"]
SLOW = {"minisom-train", "minisom-batch-offline"}  # one pass above 10,000 rows (minutes each)


def make_data(n: int, d: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (8, d))
    X = centers[rng.integers(0, 8, n)] + rng.normal(0, 1, (n, d))
    X = (X - X.mean(0)) / X.std(0)
    return X


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def reset_peak() -> None:
    """Reset the kernel's high-water mark of this process (Linux: VmHWM)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def quality(X, W):
    """QE and TE (rectangular 4-neighbourhood) by somcli's chunked evaluator, float64."""
    import numpy as np

    from somcli.algorithms.evaluation import evaluate
    from somcli.algorithms.grid import Grid

    ev = evaluate(np.asarray(X, np.float64), np.ones(len(X), bool), np.asarray(W, np.float64),
                  Grid(ROWS, COLS, "rect"), threads=1)
    return ev.qe_mean, ev.te


def reference_batch(X, W0, radii):
    """A plain float64 batch SOM: full distances per 64k rows, np.add.at sums."""
    import numpy as np

    from somcli.algorithms.grid import Grid

    W = W0.copy()
    d2grid = Grid(ROWS, COLS, "rect").sq_distances
    for sigma in radii:
        sums = np.zeros_like(W)
        counts = np.zeros(len(W))
        for s in range(0, len(X), 65536):
            block = X[s:s + 65536]
            dist = ((block[:, None, :] - W[None, :, :]) ** 2).sum(-1) if len(W) * len(block) < 5e6 \
                else (block ** 2).sum(1)[:, None] - 2 * block @ W.T + (W ** 2).sum(1)[None, :]
            b = dist.argmin(1)
            np.add.at(sums, b, block)
            np.add.at(counts, b, 1)
        H = np.exp(-d2grid / (2 * sigma * sigma))
        den = H @ counts
        W = np.where(den[:, None] > 0, (H @ sums) / np.maximum(den, 1e-300)[:, None], W)
    return W


def child(trainer: str, n: int, d: int, epochs: int) -> dict:
    """One measurement, in this (fresh) process."""
    import numpy as np

    from somcli.algorithms import som
    from somcli.algorithms.grid import Grid, radius_schedule

    X = make_data(n, d)
    grid = Grid(ROWS, COLS, "rect")
    W0 = som.pca_init(X, grid)
    X32 = X.astype(np.float32)
    base = rss_mb()
    reset_peak()
    ep = 1 if trainer in SLOW and n > 10_000 else epochs
    radii = radius_schedule(SIGMA, SIGMA_END, ep)
    if trainer == "fastersom-cpu":  # PyTorch's first call sets up its kernels: not counted
        from fastersom import SOM

        SOM(n_rows=ROWS, n_cols=COLS, n_epochs=1, init=W0.astype(np.float32),
            device="cpu").fit(X32[:4096])
    t0 = time.perf_counter()
    if trainer == "somcli":
        W, _ = som.train(X32, W0, grid, radii, threads=_threads())
    elif trainer == "somcli-f64":
        W, _ = som.train(X, W0, grid, radii, threads=_threads())
    elif trainer == "reference-f64":
        W = reference_batch(X, W0, radii)
    elif trainer == "gemm":  # the bound: an epoch's rows-by-units product and nothing else
        Wt = np.ascontiguousarray(W0.T.astype(np.float32))
        scores = np.matmul(X32, Wt)  # (written once before the clock: no page faults timed)
        t0 = time.perf_counter()
        for _ in radii:
            np.matmul(X32, Wt, out=scores)
        W = None
    elif trainer == "xpysom":
        from xpysom import XPySom

        m = XPySom(ROWS, COLS, d, sigma=SIGMA, sigmaN=SIGMA_END, decay_function="linear",
                   std_coeff=1.0, random_seed=0, xp=np)  # std_coeff 1: exp(-d^2 / 2 sigma^2)
        m._weights = W0.reshape(ROWS, COLS, d).astype(np.float32)
        m.train(X32, ep)
        W = np.asarray(m._weights).reshape(-1, d)
    elif trainer == "fastersom-cpu":
        import torch
        from fastersom import SOM

        torch.set_num_threads(_threads())  # its exponential sigma schedule: 5 -> 1 all the same
        m = SOM(n_rows=ROWS, n_cols=COLS, n_epochs=ep, sigma_initial=SIGMA,
                sigma_final=SIGMA_END, init=W0.astype(np.float32), random_state=0,
                device="cpu")
        m.fit(X32)
        W = np.asarray(m.weights_, dtype=np.float64).reshape(-1, d)
    elif trainer == "somoclu":
        import somoclu

        m = somoclu.Somoclu(COLS, ROWS, initialcodebook=W0.astype(np.float32).copy(),
                            compactsupport=False, std_coeff=1.0)
        m.train(X32, epochs=ep, radius0=SIGMA, radiusN=SIGMA_END, radiuscooling="linear")
        W = m.codebook.reshape(-1, d)
    elif trainer.startswith("minisom"):
        from minisom import MiniSom

        m = MiniSom(ROWS, COLS, d, sigma=SIGMA, learning_rate=0.5, random_seed=0,
                    sigma_decay_function="linear_decay_to_one")
        m._weights = W0.reshape(ROWS, COLS, d).copy()
        if trainer == "minisom-train":
            m.train(X, ep, random_order=True, use_epochs=True)
        else:
            m.train_batch_offline(X, ep)
        W = m.get_weights().reshape(-1, d)
    else:
        raise SystemExit(f"unknown trainer {trainer}")
    seconds = time.perf_counter() - t0
    peak = peak_mb()
    qe, te = quality(X, W) if W is not None else (None, None)
    return {"trainer": trainer, "n": n, "d": d, "epochs": ep, "seconds": seconds,
            "seconds_per_epoch": seconds / ep, "peak_mb_above_data": peak - base,
            "qe": qe, "te": te}


def _threads() -> int:
    from somcli.runtime.parallel import default_threads

    return default_threads()


def run_child(trainer, n, d, epochs, script=__file__, threads=None):
    """One measurement in a fresh process running ``script --child`` (this file's, or
    another benchmark's with the same arguments), on ``threads`` threads when given."""
    env = dict(os.environ)
    if threads:
        env |= {"SOMCLI_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, script, "--child", trainer, "--n", str(n),
                          "--d", str(d), "--epochs", str(epochs)],
                         capture_output=True, text=True, timeout=3600, env=env)
    if out.returncode != 0:
        return {"trainer": trainer, "n": n, "d": d, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1]) | ({"threads": threads} if threads
                                                              else {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child")
    ap.add_argument("--n", type=int, action="append")
    ap.add_argument("--d", type=int, action="append")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--trainers", default=",".join(TRAINERS))
    ap.add_argument("--threads", help="comma-separated thread counts (default: the machine's)")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n[0], args.d[0], args.epochs)))
        return
    results = []
    counts = [int(t) for t in args.threads.split(",")] if args.threads else [None]
    for n in args.n or [10_000, 100_000, 1_000_000]:
        for d in args.d or [10, 50]:
            for threads in counts:
                for trainer in args.trainers.split(","):
                    r = run_child(trainer, n, d, args.epochs, threads=threads)
                    results.append(r)
                    print(json.dumps(r), flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"machine": machine(), "epochs": args.epochs, "results": results}, fh,
                      indent=1)


def machine() -> dict:
    import platform

    import numpy as np

    return {"python": platform.python_version(), "numpy": np.__version__,
            "cpus": len(os.sched_getaffinity(0)), "platform": platform.platform()}


if __name__ == "__main__":
    main()
