"""Duplicate rows: find them (always, for the report) and, on request, merge them for fitting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from somcli.errors import UsageError

MAX_LISTED = 20


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


def find(frame: pd.DataFrame, lines: np.ndarray, ids: list[str], features: np.ndarray
         ) -> DuplicateReport:
    identical = _groups(frame.duplicated(keep=False).to_numpy(), frame, lines)
    shared: dict[str, dict[str, list[int]]] = {}
    for col in ids:
        values = frame[col]
        dup = values.duplicated(keep=False).to_numpy() & values.notna().to_numpy()
        if dup.any():
            groups: dict[str, list[int]] = {}
            for value, line in zip(values[dup].astype(str), lines[dup], strict=True):
                groups.setdefault(value, []).append(int(line))
            shared[col] = groups
    feat = pd.DataFrame(features)
    repeated = int(feat.duplicated(keep="first").sum()) if len(feat) else 0
    return DuplicateReport(identical, shared, repeated)


def _groups(mask: np.ndarray, frame: pd.DataFrame, lines: np.ndarray) -> list[list[int]]:
    if not mask.any():
        return []
    sub = frame.loc[mask].astype(str)
    keys = sub.apply(lambda r: "\x1f".join(r), axis=1)
    out: dict[str, list[int]] = {}
    for key, line in zip(keys, lines[mask], strict=True):
        out.setdefault(key, []).append(int(line))
    return list(out.values())


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
          ) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows to fit on after de-duplication.

    Returns (fit matrix, index of the row each fit row stands for, rows merged away).
    ``keys`` groups rows (an id column); without keys, rows with identical values group.
    """
    idx = np.flatnonzero(usable)
    if method == "none" or len(idx) == 0:
        return X[idx], idx, 0
    if keys is None:
        keys = pd.DataFrame(X).round(12).astype(str).agg("\x1f".join, axis=1).to_numpy()
    codes, _ = pd.factorize(pd.Series(keys[idx]).astype(str))
    if method in ("first", "last"):
        keep = ~pd.Series(codes).duplicated(keep=method).to_numpy()
        return X[idx[keep]], idx[keep], int((~keep).sum())
    # mean: one row per group, the mean of its members, standing for its first member
    groups = pd.DataFrame(X[idx]).groupby(codes, sort=True)
    means = groups.mean().to_numpy()
    first = pd.Series(idx).groupby(codes, sort=True).first().to_numpy()
    order = np.argsort(first)
    return means[order], first[order], len(idx) - len(first)
