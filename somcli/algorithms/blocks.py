"""The work done on one block of cleaned rows, whichever backend holds it.

A block is ``(X, usable, quotes)``: the scaled features of some rows, which of them get an
assignment, and the input values the outputs quote. The local backend has one block (the
whole table, ``threads`` threads per call); the Dask backend has one per partition and runs
these on its workers. The pipeline maps them over the blocks through the backend's
primitives (``map``, ``reduce``, ``take``) and adds the results up in block order, so every
backend computes the same figures. Pure numpy and pandas, below the backends: nothing here
knows which backend called it, and no backend method is named after what is here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from somcli.algorithms import som as batch
from somcli.algorithms.evaluation import evaluate as evaluate_rows
from somcli.algorithms.grid import Grid
from somcli.algorithms.group_sums import group_sums
from somcli.algorithms.nearest import nearest
from somcli.prep.clean import row_labels
from somcli.prep.quotes import Quotes, exact
from somcli.runtime.parallel import map_chunks

CHUNK = 65536  # rows per step where a block is copied to float64


class Block(NamedTuple):
    """One block of cleaned rows."""

    X: np.ndarray  # n x d scaled features (the model's precision)
    usable: np.ndarray  # bool per row: gets an assignment
    quotes: Quotes | None = None  # the input values, exactly (prep.quotes)
    filled: np.ndarray | None = None  # bool per row: a gap of it was filled (None: none)


#: the columns somcli writes into the assignments under these names, whatever the input has
OWN_COLUMNS = ("line", "source", "cluster", "distance", "bmu_row", "bmu_col", "qe",
               "outlier_score", "is_outlier")


def carried_name(column: str) -> str:
    """The name an input column carried into the assignments has (every backend): its
    own, or ``input_NAME`` when somcli writes a column of that name."""
    return column if column not in OWN_COLUMNS else f"input_{column}"


def gap_free(X: np.ndarray) -> np.ndarray:
    """Which rows of ``X`` hold no gap. A block without any is told by its least value
    (NaN propagates through ``min``: one pass, no n x d mask; 1M x 10, 18 -> 2 ms)."""
    if not X.size or not np.isnan(np.min(X)):
        return np.ones(len(X), dtype=bool)
    return ~np.isnan(X).any(axis=1)


def observed(block) -> np.ndarray:
    """The rows as they were read: no gap left, none filled by the cleaning. A filled gap
    puts a row where none was seen (a bimodal column's median between its two groups):
    a few such rows made a cluster of their own, and -k auto chose it."""
    return _unfilled(block, gap_free(block.X))


def _unfilled(block, rows: np.ndarray) -> np.ndarray:
    """``rows`` (a mask) without the block's rows whose gaps were filled."""
    return rows if block.filled is None else rows & ~block.filled


def _complete(block, as_read: bool) -> np.ndarray:
    """The rows without a gap: left (and, ``as_read``, filled: :func:`observed`)."""
    return observed(block) if as_read else gap_free(block.X)


def fit_rows(block) -> np.ndarray:
    X, usable = block.X, block.usable
    return X if usable.all() else X[usable]


def usable_count(block) -> int:
    return int(block.usable.sum())


def moments(X: np.ndarray):
    """Per column: the sum and the count of the present values; and the rows."""
    d = X.shape[1]
    sums, counts = np.zeros(d), np.zeros(d)
    for start in range(0, len(X), CHUNK):  # nansum would copy the whole block first
        part = np.asarray(X[start:start + CHUNK], dtype=np.float64)
        present = ~np.isnan(part)
        sums += np.where(present, part, 0.0).sum(axis=0)
        counts += present.sum(axis=0)
    return sums, counts, len(X)


def squares(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->j", X, X, dtype=np.float64)


def scatter(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return batch.scatter(X, mean)


def evaluate(block, W: np.ndarray, grid: Grid, chunk: int | None = None, threads: int = 1,
             search=nearest):
    """(bmu, qe) per row (-1/NaN where unusable) and the block's hits, QE and TE sums,
    and which rows are complete (a unit and no gap: the rows scores are computed on)."""
    X, usable = block.X, block.usable
    ev = evaluate_rows(X, usable, W, grid, chunk, threads, search)
    found = ev.bmu >= 0
    complete = found & gap_free(X)
    return ev.bmu, ev.qe, {"hits": ev.hits, "qe_sum": float(ev.qe[found].sum()),
                           "found": int(found.sum()), "te_errors": ev.te_errors,
                           "complete": complete, "observed": _unfilled(block, complete)}


def info(ev) -> dict:
    """An evaluation's sums, small enough to travel (the complete-row mask counted)."""
    return ev[2] | {"complete": int(ev[2]["complete"].sum()),
                    "observed": int(ev[2]["observed"].sum())}


def found_qe(ev) -> np.ndarray:
    bmu, qe, _ = ev
    return qe[bmu >= 0]


def outlier_scores(ev, rule, U: np.ndarray) -> np.ndarray:
    """Each row's outlier score under ``rule`` (NaN without a unit)."""
    bmu, qe, _ = ev
    return rule.scores(bmu, qe, U)


def log_positive(score: np.ndarray) -> np.ndarray:
    """ln of the positive scores (rows on a unit and rows without one left out)."""
    ok = score > 0
    return np.log(score[ok])


def distance_to(values: np.ndarray, center: float) -> np.ndarray:
    return np.abs(values - center)


def present(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def count_above(values: np.ndarray, threshold: float) -> int:
    return int((values > threshold).sum())


def column_ranges(block, center: np.ndarray, scale: np.ndarray):
    """Per column: the smallest and largest input value of the block's rows, exactly as
    read (NaN: none). The extremes are found in the scaled matrix (scale > 0 keeps the
    order) and quoted from the input (:func:`somcli.prep.quotes.exact`)."""
    X = block.X
    d = X.shape[1]
    lo, hi = np.full(d, np.nan), np.full(d, np.nan)
    for j in range(d):
        col = np.asarray(X[:, j], dtype=np.float64)
        seen = np.flatnonzero(~np.isnan(col))
        if block.quotes is not None and j in block.quotes.gaps:
            seen = np.setdiff1d(seen, block.quotes.gaps[j])  # a filled gap is no value
        if len(seen):
            ends = seen[[np.argmin(col[seen]), np.argmax(col[seen])]]
            lo[j], hi[j] = exact(X, block.quotes, center, scale, ends)[:, j]
    return lo, hi


def value_range(values: np.ndarray):
    return (float(values.min()), float(values.max())) if len(values) else None


def unit_labels(ev, unit_cluster: np.ndarray) -> np.ndarray:
    bmu = ev[0]
    return np.where(bmu >= 0, unit_cluster[np.maximum(bmu, 0)], -1)


def label_counts(labels: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(labels[labels >= 0], minlength=k)


def cluster_sums(block, labels: np.ndarray, k: int, center: np.ndarray, scale: np.ndarray,
                 threads: int = 1):
    """Per-cluster sums, counts and sums of squares of the scaled features (gaps skipped),
    the sizes, and the sums and counts of the input values (gaps skipped: the means the
    report gives are those of the values in the file). CHUNK rows at a time on ``threads``
    threads, each of a chunk's five sums a GIL-free product
    (:func:`somcli.algorithms.group_sums.group_sums`), added in chunk order."""
    X = block.X
    d = X.shape[1]

    def chunk_sums(start: int) -> np.ndarray:
        lab = labels[start:start + CHUNK]
        ok = lab >= 0
        every = bool(ok.all())  # (most chunks: slices, not index arrays)
        rows = slice(start, start + len(lab)) if every else start + np.flatnonzero(ok)
        values = np.array(X[rows], dtype=np.float64)  # a copy, squared below
        lab = lab if every else lab[ok]
        sizes = None  # each cluster's rows, as the counts of a column without a gap

        def counts(there: np.ndarray) -> np.ndarray:
            nonlocal sizes
            if not there.all():
                return group_sums(lab, there.astype(float), k)
            if sizes is None:  # the same sums of ones, to the bit
                sizes = np.bincount(lab, minlength=k).astype(float)[:, None]
            return np.repeat(sizes, d, axis=1)

        there = ~np.isnan(values)
        values[~there] = 0.0
        out = [group_sums(lab, values, k), counts(there)]
        values *= values
        out.append(group_sums(lab, values, k))
        del values
        given = exact(X, block.quotes, center, scale, rows)
        known = ~np.isnan(given)
        given[~known] = 0.0
        out += [group_sums(lab, given, k), counts(known)]
        return np.hstack(out)  # (no stacked copy of the chunk's five inputs)

    total = np.zeros((k, 5 * d))
    for part in map_chunks(chunk_sums, len(X), CHUNK, threads):
        total += part
    sums, counts, squares, quoted, present = np.split(total, 5, axis=1)
    return sums, counts, label_counts(labels, k), squares, quoted, present


def typical_rows(block, ids: pd.DataFrame, labels: np.ndarray, means: np.ndarray,
                 id_columns: list[str], how_many: int, threads: int = 1):
    """Per cluster, the ``how_many`` rows nearest its mean (scaled units, gaps skipped):
    (distance, name) pairs, nearest first. The distances CHUNK rows at a time on
    ``threads`` threads."""
    X = block.X
    out: dict[int, list] = {}
    ok = np.flatnonzero(labels >= 0)
    if not len(ok):
        return out
    dist = np.empty(len(ok))

    def distances(start: int) -> None:  # bounded memory: a float64 copy of every row had
        part = ok[start:start + CHUNK]  # peaked at 4x X
        diff = np.asarray(X[part], dtype=np.float64) - means[labels[part]]
        diff *= diff
        gaps = np.isnan(diff).any()
        dist[start:start + len(part)] = np.sqrt(np.nanmean(diff, axis=1) if gaps
                                                else diff.mean(axis=1))

    map_chunks(distances, len(ok), CHUNK, threads)
    mine_labels = labels[ok]
    for j in np.flatnonzero(np.bincount(mine_labels)):
        mine = np.flatnonzero(mine_labels == j)
        mine = mine[~np.isnan(dist[mine])]
        if len(mine) > how_many:  # the nearest few without sorting the cluster: the rows
            kth = np.partition(dist[mine], how_many - 1)[how_many - 1]  # up to the k-th
            mine = mine[dist[mine] <= kth]  # distance (ties included), then sorted
        best = mine[np.argsort(dist[mine], kind="stable")[:how_many]]
        names = row_names(ids, id_columns, ok[best])
        out[int(j)] = [(float(dist[i]), name) for i, name in zip(best, names, strict=True)]
    return out


def category_counts(ids: pd.DataFrame, labels: np.ndarray, columns: list[str]) -> dict:
    """(column, value, cluster) -> rows, for the carried category columns."""
    from collections import Counter

    out: Counter = Counter()
    ok = labels >= 0
    for col in columns:
        values = ids[col].astype(object).where(ids[col].notna(), "(missing)").astype(str)
        frame = pd.DataFrame({"v": values.to_numpy()[ok], "c": labels[ok]})
        for (value, cluster), n in frame.value_counts().items():
            out[(col, value, int(cluster))] += int(n)
    return dict(out)


def assign(block, centers: np.ndarray, threads: int = 1, search=nearest):
    """Nearest centre and its distance for the usable rows (-1/NaN for the others)."""
    X, usable = block.X, block.usable
    labels = np.full(len(X), -1, dtype=np.int32)
    dist = np.full(len(X), np.nan)
    if usable.all():
        labels[:], dist[:], _ = search(X, centers, threads=threads)
    elif usable.any():
        idx = np.flatnonzero(usable)
        labels[idx], dist[idx], _ = search(X[idx], centers, threads=threads)
    return labels, dist


def renumber(assigned, perm: np.ndarray):
    labels, dist = assigned
    return np.where(labels >= 0, perm[np.maximum(labels, 0)], -1).astype(np.int32), dist


def first(pair):
    return pair[0]


def distance_sum(assigned) -> float:
    return float(np.nansum(assigned[1]))


def take(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.asarray(values[positions])


def complete_labels(block, labels: np.ndarray, as_read: bool = False):
    """How many rows have a cluster and no gap (the rows internal scores use; ``as_read``:
    no gap filled either, :func:`observed`), and which clusters they are in."""
    ok = (labels >= 0) & _complete(block, as_read)
    return int(ok.sum()), set(np.unique(labels[ok]).tolist())


def as_block(X: np.ndarray):
    """Rows that are all usable, as a block."""
    return Block(X, np.ones(len(X), dtype=bool))


def observed_count(block) -> int:
    """How many of the block's fit rows are as read (:func:`observed`)."""
    return int((block.usable & observed(block)).sum())


def observed_rows(block, positions: np.ndarray) -> np.ndarray:
    """Fit rows as read at ``positions`` (among the block's), float64."""
    where = np.flatnonzero(block.usable & observed(block))[positions]
    return np.asarray(block.X[where], dtype=np.float64)


def labelled_rows(pair, positions: np.ndarray, as_read: bool = False) -> np.ndarray:
    """Complete rows at ``positions`` (among the block's complete rows, as
    :func:`complete_labels` counts them), label last."""
    block, labels = pair
    where = np.flatnonzero((labels >= 0) & _complete(block, as_read))[positions]
    return np.column_stack([np.asarray(block.X[where], dtype=np.float64), labels[where]])


def class_counts(ids: pd.DataFrame, labels: np.ndarray, column: str):
    from somcli.algorithms import metrics

    return metrics.class_counts(labels, ids[column].to_numpy(dtype=object))


def frame(ids: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """The identifier columns (line, [source], identifiers, label), then the algorithm's
    ``columns`` (renamed ``name_`` where they clash). Built without copying the arrays."""
    out = {name: ids[name] for name in ids.columns}
    for name, values in columns.items():
        out[name if name not in out else f"{name}_"] = values
    return pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v)
                         for k, v in out.items()}, copy=False)


def row_names(ids: pd.DataFrame, id_columns: list[str], rows: np.ndarray) -> list[str]:
    """How the report names rows of an identifier frame (see prep.clean.row_labels)."""
    return row_labels(ids, [carried_name(c) for c in id_columns], ids["line"].to_numpy(), rows)


def unit_rows(ev, ids: pd.DataFrame, id_columns: list[str], limit: int) -> dict[int, list[str]]:
    """The names of the first ``limit`` rows on each unit (in row order): the first naming
    identifier's value, else ``line N``. Read CHUNK rows at a time, until every unit has
    its names: most units are named within the first rows (1M rows on 400 units: 55 -> 3
    ms; the whole table's sort made six row-long temporaries, 46 MB)."""
    bmu = ev[0]
    hits = ev[2]["hits"]
    want = np.minimum(hits, limit)  # the names each unit can have
    have = np.zeros(len(hits), dtype=np.int64)  # rows seen on each unit so far
    kept = []
    for start in range(0, len(bmu), CHUNK):
        part = bmu[start:start + CHUNK]
        found = np.flatnonzero(part >= 0)
        keys = part[found]
        if len(keys) and keys.max() < np.iinfo(np.int16).max:  # a map's units: numpy's
            keys = keys.astype(np.int16)  # stable sort of 16-bit keys is a radix sort
        order = found[np.argsort(keys, kind="stable")]
        units = part[order]
        rank = np.arange(len(units)) - np.searchsorted(units, units, side="left") + have[units]
        kept.append(start + order[rank < limit])
        have += np.bincount(units, minlength=len(hits))
        if (have >= want).all():
            break
    keep = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    if id_columns:
        values = ids[carried_name(id_columns[0])].iloc[keep]
        names = values.astype(str).where(values.notna(), "?").tolist()
    else:
        names = [f"line {int(v)}" for v in ids["line"].to_numpy()[keep]]
    out: dict[int, list[str]] = {}
    for u, name in zip(bmu[keep].tolist(), names, strict=True):
        out.setdefault(u, []).append(name)
    return out
