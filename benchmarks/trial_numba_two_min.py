"""A second Numba trial, kept for the record (issue 17): can a compiled pass find each row's
best unit and runner-up faster than NumPy's two argmins over a 4,096 x 400 float32 score
block? Three shapes, each checked equal to NumPy's answer:

- rows: one row at a time, a branch per unit (the first trial's shape);
- transposed: the block as units x rows, a branch-free update of all rows per unit;
- transposed tiles: the same over tiles of 256 rows held in local arrays, fastmath.

    pip install numba
    python benchmarks/trial_numba_two_min.py

Not adopted: on the 2-core development machine all three were slower (benchmarks/README.md).
Not a test: it measures.
"""

import timeit

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def rows(S, b, v1, v2):
    k, m = S.shape
    for i in range(k):
        lo, hi, bi = S[i, 0], np.inf, 0
        for j in range(1, m):
            x = S[i, j]
            hi = min(hi, max(lo, x))
            if x < lo:
                lo, bi = x, j
        b[i], v1[i], v2[i] = bi, lo, hi


@njit(nogil=True, cache=True)
def transposed(ST, b, v1, v2):
    m, k = ST.shape
    for i in range(k):
        v1[i], v2[i], b[i] = ST[0, i], np.inf, 0
    for j in range(1, m):
        for i in range(k):
            x, lo = ST[j, i], v1[i]
            v2[i] = min(v2[i], max(lo, x))
            take = x < lo
            b[i] = j if take else b[i]
            v1[i] = x if take else lo


@njit(nogil=True, cache=True, fastmath=True)
def tiles(ST, b, v1, v2):
    m, k = ST.shape
    for s in range(0, k, 256):
        e = min(k, s + 256)
        lo = ST[0, s:e].copy()
        hi = np.full(e - s, np.inf, dtype=ST.dtype)
        bi = np.zeros(e - s, dtype=np.int64)
        for j in range(1, m):
            row = ST[j, s:e]
            for i in range(e - s):
                x, low = row[i], lo[i]
                hi[i] = min(hi[i], max(low, x))
                take = x < low
                bi[i] = j if take else bi[i]
                lo[i] = x if take else low
        b[s:e], v1[s:e], v2[s:e] = bi, lo, hi


def main() -> None:
    k, m = 4096, 400
    S = np.random.default_rng(0).normal(size=(k, m)).astype(np.float32)
    ST = np.ascontiguousarray(S.T)
    at = np.arange(0, k * m, m)

    def numpy_two_argmins(scores):  # what nearest._settle does (on a copy here)
        flat = scores.reshape(-1)
        best = np.argmin(scores, axis=1)
        low = flat.take(at + best)
        flat.put(at + best, np.inf)
        return best, low, flat.take(at + np.argmin(scores, axis=1))

    want = numpy_two_argmins(S.copy())
    copy = timeit.timeit(lambda: S.copy(), number=200) / 200
    base = timeit.timeit(lambda: numpy_two_argmins(S.copy()), number=200) / 200 - copy
    print(f"numpy, two argmins: {base * 1e3:.3f} ms per block")
    b, v1, v2 = np.empty(k, np.int64), np.empty(k, np.float32), np.empty(k, np.float32)
    for name, fn, block in (("rows", rows, S), ("transposed", transposed, ST),
                            ("transposed tiles", tiles, ST)):
        fn(block, b, v1, v2)  # compile (cached on disk)
        same = all(np.array_equal(x, y) for x, y in zip((b, v1, v2), want, strict=True))
        t = timeit.timeit(lambda fn=fn, block=block: fn(block, b, v1, v2), number=200) / 200
        print(f"numba, {name}: {t * 1e3:.3f} ms per block ({t / base:.1f}x numpy), equal: {same}")


if __name__ == "__main__":
    main()
