"""Exact order statistics (medians, quantiles) of values spread over a cluster's
partitions, without gathering them: histogram refinement narrows the rank's bin pass by
pass, then the few values left are fetched and sorted."""

from __future__ import annotations

import numpy as np

from somcli.backends.dask_cluster.client import map_on

SELECT_BINS = 4096  # histogram bins per pass of the exact order-statistic search
SELECT_GATHER = 50_000  # values fetched to finish the search


def _on_count(values: np.ndarray, lo: float, hi: float, edges: np.ndarray | None):
    below = int((values < lo).sum())
    inside = values[(values >= lo) & (values <= hi)]
    if edges is None:
        return below, inside
    idx = np.clip(np.searchsorted(edges, inside, side="right") - 1, 0, len(edges) - 2)
    return below, np.bincount(idx, minlength=len(edges) - 1)


def select(client, value_futures: list, ranks: list[int], lo: float, hi: float,
           extra: tuple[int, float] = (0, 0.0)) -> list[float]:
    """The values at 0-based ``ranks`` among all values of ``value_futures`` plus
    ``extra = (count, value)`` copies of one value (imputed gaps), exactly.

    Histogram refinement: each pass counts the values in SELECT_BINS bins of the
    current interval and keeps the bin that holds the rank, until few enough values
    remain to fetch and sort. Float values make this end in a few passes.
    """
    found: dict[int, float] = {}
    count, value = extra
    for rank in ranks:
        if rank in found:  # answered by an earlier rank's fetched bin (a median's pair)
            continue
        a, b = lo, hi
        while True:
            edges = np.linspace(a, b, SELECT_BINS + 1) if b > a else None
            parts = client.gather(map_on(client, _on_count, value_futures, lo=a, hi=b, edges=edges))
            below = sum(p[0] for p in parts) + (count if value < a else 0)
            if edges is None:
                found[rank] = a
                break
            hist = np.sum([p[1] for p in parts], axis=0)
            if count and a <= value <= b:
                hist[min(np.searchsorted(edges, value, side="right") - 1, SELECT_BINS - 1)] += count
            cum = below + np.cumsum(hist)
            bin_ = int(np.searchsorted(cum, rank, side="right"))
            in_bin = hist[bin_]
            new_a, new_b = edges[bin_], edges[bin_ + 1]
            if in_bin <= SELECT_GATHER or new_b <= new_a or (new_a, new_b) == (a, b):
                below_bin = below + (cum[bin_ - 1] - below if bin_ > 0 else 0)
                values = _gather_between(client, value_futures, new_a, new_b,
                                         last=bin_ == SELECT_BINS - 1)
                if count and new_a <= value and (value < new_b or
                                                 (bin_ == SELECT_BINS - 1 and value <= new_b)):
                    values = np.concatenate([values, np.full(count, value)])
                values.sort(kind="stable")
                for other in ranks:  # every rank the fetched bin holds, this one among them
                    if below_bin <= other < below_bin + len(values):
                        found[other] = float(values[other - below_bin])
                break
            a, b = new_a, new_b
    return [found[rank] for rank in ranks]


def _gather_between(client, futures, a, b, last):
    parts = client.gather(map_on(client, _on_between, futures, a=a, b=b, last=last))
    return np.concatenate(parts) if parts else np.empty(0)


def _on_between(values: np.ndarray, a: float, b: float, last: bool) -> np.ndarray:
    upper = values <= b if last else values < b
    return values[(values >= a) & upper]


def quantiles(client, value_futures, n: int, qs: list[float], lo: float, hi: float,
              extra=(0, 0.0)) -> list[float]:
    """numpy's default (linear) quantiles, exactly, over distributed values."""
    need = sorted({int(np.floor(q * (n - 1))) for q in qs} | {int(np.ceil(q * (n - 1)))
                                                             for q in qs})
    found = dict(zip(need, select(client, value_futures, need, lo, hi, extra), strict=True))
    out = []
    for q in qs:
        pos = q * (n - 1)
        f, c = int(np.floor(pos)), int(np.ceil(pos))
        out.append(found[f] + (found[c] - found[f]) * (pos - f))
    return out
