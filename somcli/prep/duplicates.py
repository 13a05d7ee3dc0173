"""Duplicate rows: find them (always, for the report) and, on request, merge them for fitting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from somcli.errors import UsageError
from somcli.runtime.parallel import map_chunks

MAX_LISTED = 20
KEY_LIKE = 0.5  # an identifier with at least this share of distinct values names entities


@dataclass
class DuplicateReport:
    identical_rows: list[list[int]]  # groups of line numbers of fully identical rows
    shared_ids: dict[str, dict[str, list[int]]]  # id column -> value -> lines
    identical_features: int  # rows whose feature values repeat an earlier row

    def to_dict(self) -> dict:
        return {
            "identical_rows": self.identical_rows[:MAX_LISTED],
            "identical_row_groups": len(self.identical_rows),
            "shared_ids": {c: dict(list(v.items())[:MAX_LISTED]) for c, v in self.shared_ids.items()},
            "shared_id_values": {c: len(v) for c, v in self.shared_ids.items()},
            "identical_feature_rows": self.identical_features,
        }


WIDE = 64  # from this many columns of a short table, those of one NumPy dtype are
SHORT = 16_384  # hashed a block at a time (10,000 columns x 6 rows: 0.7 s column by column)
BLOCK_CELLS = 1 << 20  # cells per block (an 8 MB copy at most)
HASH_ROWS = 1 << 16  # rows of a long table hashed at a time on threads


def row_hashes(columns, start=None, threads: int = 1) -> np.ndarray:
    """One 64-bit hash per row from a list of columns (arrays or Series), column by column,
    continuing from the hashes ``start`` when given. Each column's hash is pandas'
    ``hash_pandas_object``; a wide, short table's numeric columns are hashed in blocks by
    ``hash_array`` (element by element, the same values: a test holds them equal). A long
    table is hashed HASH_ROWS rows at a time on ``threads`` threads (a value's hash does not
    depend on its neighbours: the same hashes; 1M x 10, 0.10 -> 0.05 s)."""
    columns = list(columns)
    n = len(columns[0]) if columns else 0
    if threads > 1 and n >= 2 * HASH_ROWS:
        def block(a: int) -> np.ndarray:
            rows = slice(a, a + HASH_ROWS)
            return _hashes([c.iloc[rows] if isinstance(c, pd.Series) else c[rows]
                            for c in columns], None if start is None else start[rows])

        return np.concatenate(map_chunks(block, n, HASH_ROWS, threads))
    return _hashes(columns, start)


def _hashes(columns: list, start) -> np.ndarray:
    blocked = _block_hashes(columns) if len(columns) >= WIDE else {}
    h = start
    for i, col in enumerate(columns):
        ch = blocked.get(i)
        if ch is None:
            values = col if isinstance(col, pd.Series) else pd.Series(np.asarray(col))
            ch = pd.util.hash_pandas_object(values, index=False).to_numpy()
        h = ch if h is None else (h * np.uint64(0x9E3779B97F4A7C15)) ^ ch
    return h if h is not None else np.zeros(0, dtype=np.uint64)


def _block_hashes(columns: list) -> dict[int, np.ndarray]:
    """Column position -> its hashes, for the numeric NumPy columns of a short table."""
    groups: dict[np.dtype, list[tuple[int, np.ndarray]]] = {}
    for i, col in enumerate(columns):
        if isinstance(col, pd.Series) and not isinstance(col.dtype, np.dtype):
            continue  # an extension dtype: hashed as a Series
        values = col.to_numpy() if isinstance(col, pd.Series) else np.asarray(col)
        if values.ndim == 1 and len(values) <= SHORT and values.dtype.kind in "iuf":
            groups.setdefault(values.dtype, []).append((i, values))
    out: dict[int, np.ndarray] = {}
    for members in groups.values():
        step = max(1, BLOCK_CELLS // max(len(members[0][1]), 1))
        for a in range(0, len(members), step):
            part = members[a:a + step]
            hashed = pd.util.hash_array(np.column_stack([v for _, v in part]))
            out |= {i: hashed[:, k] for k, (i, _) in enumerate(part)}
    return out


def find(frame: pd.DataFrame, lines: np.ndarray, ids: list[str], features: list[str],
         threads: int = 1) -> DuplicateReport:
    """Fully identical rows, shared id values and repeated feature values (as read).

    Rows are compared by hash first, then the candidates exactly, so this stays
    linear in memory on big tables; the feature columns are hashed once for both, on
    ``threads`` threads.
    """
    feature_hash = row_hashes((frame[c] for c in features), threads=threads)
    # only rows whose feature hash repeats can repeat another row, wholly or in features
    maybe = repeats(feature_hash)
    identical: list[list[int]] = []
    repeated = np.zeros(len(frame), dtype=bool)
    if maybe.any():
        sub = frame.loc[maybe]
        others = [c for c in frame.columns if c not in set(features)]
        full_hash = row_hashes((sub[c] for c in others), start=feature_hash[maybe].copy())
        same = np.zeros(len(frame), dtype=bool)
        same[maybe] = _exact_duplicates(sub, full_hash)
        identical = _groups(same, frame, lines)
        repeated[maybe] = _exact_duplicates(sub[features], feature_hash[maybe], keep="first")
    shared: dict[str, dict[str, list[int]]] = {}
    for col in ids:
        values = frame[col]
        if values.nunique() < KEY_LIKE * len(values):
            continue  # a category (a region, a colour): shared values are its nature
        dup = values.duplicated(keep=False).to_numpy() & values.notna().to_numpy()
        if dup.any():
            groups: dict[str, list[int]] = {}
            for value, line in zip(values[dup].astype(str), lines[dup], strict=True):
                groups.setdefault(value, []).append(int(line))
            shared[col] = groups
    return DuplicateReport(identical, shared, int(repeated.sum()))


def repeats(hashes: np.ndarray) -> np.ndarray:
    """Which values occur more than once: the values found twice in a sorted copy (a
    SIMD sort, 13x faster than the stable argsort this was on 1M rows; a hash table of 4M
    rows took about twice the memory at the run's peak), then the rows that hold them."""
    if len(hashes) < 2:
        return np.zeros(len(hashes), dtype=bool)
    ordered = np.sort(hashes)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(twice):
        return np.zeros(len(hashes), dtype=bool)
    return np.isin(hashes, np.unique(twice))


def _exact_duplicates(frame: pd.DataFrame, hashes: np.ndarray, keep=False) -> np.ndarray:
    candidates = repeats(hashes)
    out = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        out[candidates] = frame.loc[candidates].duplicated(keep=keep).to_numpy()
    return out


def _groups(mask: np.ndarray, frame: pd.DataFrame, lines: np.ndarray) -> list[list[int]]:
    """Line numbers of each group of equal rows among ``mask``, groups in order of first
    appearance (pandas' groupby: missing values group together, as in ``duplicated``; a
    row-by-row key took 30 us a row, a minute on a file exported three times)."""
    if not mask.any():
        return []
    sub = frame.loc[mask]
    at = lines[mask]
    groups = sub.groupby([sub[c] for c in sub.columns], dropna=False, sort=False).indices
    return [at[rows].tolist() for rows in groups.values()]


def primary_id(frame: pd.DataFrame, ids: list[str], asked: str | None) -> str | None:
    """The id column that names an entity: the one asked for, else the most distinct one."""
    if asked is not None:
        if asked not in frame.columns:
            raise UsageError(f"--dedupe-by: no column '{asked}'",
                             "the columns are: " + ", ".join(map(repr, frame.columns)))
        return asked
    if not ids:
        return None
    return max(ids, key=lambda c: (frame[c].nunique(), -ids.index(c)))


def merge(method: str, X: np.ndarray, keys: np.ndarray | None, usable: np.ndarray
          ) -> tuple[np.ndarray | None, np.ndarray, int]:
    """Which rows to fit on after de-duplication.

    Returns (group means or None, index of the row each fit row stands for, rows
    merged away). ``keys`` groups rows (an id column); without keys, rows with
    identical feature values group.
    """
    idx = np.flatnonzero(usable)
    if method == "none" or len(idx) == 0:
        return None, idx, 0
    if keys is None:
        codes = pd.factorize(row_hashes(X[idx, j] for j in range(X.shape[1])))[0]
    else:
        named = pd.Series(keys[idx], dtype=object)
        missing = named.isna().to_numpy()
        named[missing] = [f"\x00row{i}" for i in idx[missing]]  # a row without an id is its own
        codes = pd.factorize(named.astype(str))[0]
    if method in ("first", "last"):
        keep = ~pd.Series(codes).duplicated(keep=method).to_numpy()
        return None, idx[keep], int((~keep).sum())
    # mean: one row per group, the mean of its members, standing for its first member
    means = pd.DataFrame(X[idx]).groupby(codes, sort=True).mean().to_numpy()
    first = pd.Series(idx).groupby(codes, sort=True).first().to_numpy()
    order = np.argsort(first)
    return means[order], first[order], len(idx) - len(first)
