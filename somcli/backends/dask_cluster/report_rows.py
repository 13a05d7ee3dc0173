"""The rows a cleaning report names, found on a Dask cluster: duplicates (the local report
of :mod:`somcli.prep.duplicates`) and the first rows with gaps, computed without bringing
the table to the client.

Rows are hashed on the workers; a hash shuffle (each partition splits its hashes into
buckets, one task per bucket finds the repeated ones) yields the few hashes that occur
more than once and the number of distinct ones. Only rows whose hash repeats travel
to the client, where the local code decides exactly (hashes only nominate). So the
client holds the duplicated rows, never the table, and the report equals the local one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from somcli.backends.dask_cluster import partitions as P
from somcli.backends.dask_cluster.client import map_on
from somcli.prep import duplicates as DUP

BUCKETS = 16


def find(table, dedupe_by: str | None = None) -> dict:
    """The duplicates section of the cleaning report, as the local engine writes it."""
    client, roles = table.client, table.roles
    feats, ids = roles.sources, roles.ids
    hashes = map_on(client, _on_feature_hash, table.parts, feats=feats)
    twice, _ = repeated(client, hashes)
    rows = client.gather(map_on(client, _on_rows_with, table.parts, hashes, wanted=twice))
    frame = pd.concat([r[0] for r in rows], ignore_index=True)
    lines = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, np.int64)
    report = DUP.find(frame, lines, [], feats)
    shared, distinct = {}, {}
    for col in ids:
        col_hashes = map_on(client, _on_column_hash, table.parts, col=col)
        twice, distinct[col] = repeated(client, col_hashes)
        if distinct[col] < DUP.KEY_LIKE * table.n_rows or not twice:
            continue  # a category: shared values are its nature (as the local rule)
        found = client.gather(map_on(client, _on_values_with, table.parts, col_hashes,
                                     col=col, wanted=twice))
        groups: dict[str, list[int]] = {}
        for values, at in found:
            for value, line in zip(values, at, strict=True):
                groups.setdefault(value, []).append(int(line))
        shared[col] = {v: lines for v, lines in groups.items() if len(lines) > 1}
    report.shared_ids = {c: g for c, g in shared.items() if g}
    key = dedupe_by if dedupe_by is not None else (
        max(ids, key=lambda c: (distinct[c], -ids.index(c))) if ids else None)
    return report.to_dict() | {"dedupe": "none", "dedupe_key": key, "rows_merged": 0}


def repeated(client, hashes) -> tuple[set[int], int]:
    """The hashes that occur more than once over all partitions, and how many distinct."""
    split = map_on(client, _on_split, hashes)
    results = client.gather([client.submit(_on_bucket, b, *split, pure=False)
                             for b in range(BUCKETS)])
    return {h for r in results for h in r[0]}, sum(r[1] for r in results)


def _on_feature_hash(part: pd.DataFrame, feats: list[str]) -> np.ndarray:
    return DUP.row_hashes(part[c] for c in feats)


def _on_column_hash(part: pd.DataFrame, col: str) -> np.ndarray:
    values = part[col]
    h = DUP.row_hashes([values.astype(str)])
    return np.where(values.notna().to_numpy(), h, np.uint64(0))  # 0: no value


def _on_split(h: np.ndarray) -> list[np.ndarray]:
    bucket = (h % np.uint64(BUCKETS)).astype(np.int64)
    return [h[bucket == b] for b in range(BUCKETS)]


def _on_bucket(b: int, *splits) -> tuple[list[int], int]:
    h = pd.Series(np.concatenate([s[b] for s in splits]))
    h = h[h != 0]
    counts = h.value_counts()
    return counts.index[counts.to_numpy() > 1].tolist(), len(counts)


def _on_rows_with(part: pd.DataFrame, h: np.ndarray, wanted: set[int]):
    keep = np.isin(h, np.fromiter(wanted, dtype=np.uint64, count=len(wanted)))
    return P.cells(part.loc[keep]).reset_index(drop=True), P.lines(part)[keep]


def _on_values_with(part: pd.DataFrame, h: np.ndarray, col: str, wanted: set[int]):
    keep = np.isin(h, np.fromiter(wanted, dtype=np.uint64, count=len(wanted)))
    return part.loc[keep, col].astype(str).tolist(), P.lines(part)[keep].tolist()


def name_gap_rows(table, stats: list[dict]) -> list[str]:
    """The first rows with gaps, named as the local engine names them (identifier values
    and line), from the few partitions that hold them."""
    from somcli.prep.clean import MAX_NAMED_ROWS

    wanted, left = [], MAX_NAMED_ROWS
    for p, s in enumerate(stats):
        if left <= 0:
            break
        lines = s["gap_rows"][:left]
        if lines:
            wanted.append((p, np.asarray(lines, dtype=np.int64)))
            left -= len(lines)
    futures = [table.client.submit(_on_row_labels, table.parts[p], lines, table.roles.names,
                                   pure=False) for p, lines in wanted]
    return [name for names in table.client.gather(futures) for name in names]


def _on_row_labels(part: pd.DataFrame, lines: np.ndarray, ids: list[str]):
    from somcli.prep.clean import row_labels

    at = P.lines(part)
    return row_labels(part, ids, at, np.searchsorted(at, lines))
