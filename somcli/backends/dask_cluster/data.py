"""The input on a Dask cluster: partitions read with dask.dataframe, column roles decided
on a sample, cleaning statistics computed exactly over every partition, and the
cleaned feature blocks kept on the workers (as futures with their lineage, so a lost
worker's blocks are recomputed).

Functions whose names start with ``_on_`` run on the workers; everything else runs
on the client and moves only small arrays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from somcli.algorithms.blocks import Block, carried_name
from somcli.backends.dask_cluster import partitions as P
from somcli.backends.dask_cluster.client import PATH_COLUMN, map_on
from somcli.backends.dask_cluster.order_stats import quantiles
from somcli.config import FILLS, CleanOptions, ColumnOptions, ReadOptions
from somcli.errors import DataError, UsageError, brief
from somcli.io.aside import without_headers
from somcli.io.read import Dialect, header_names, read_table, sniff
from somcli.io.sources import resolve
from somcli.prep import roles as R
from somcli.prep import statistics as S
from somcli.prep.clean import (
    HUGE,
    MAX_NAMED_ROWS,
    Preprocessor,
    gap_outcome,
    refuse_huge,
    weight_indicators,
)
from somcli.prep.column_totals import CAP
from somcli.prep.quotes import build as build_quotes
from somcli.prep.units import apply_rule, source_of
from somcli.runtime.parallel import ordered

SAMPLE_ROWS = 10_000  # rows read first: the roles are decided on them, then on every row
SAMPLE_BYTES = 256_000  # Dask's read_csv reads a file's header from its first bytes


@dataclass
class DistTable:
    """The partitions on the cluster and what the client knows about them."""

    client: object
    dialect: Dialect
    inputs: list[str]
    roles: R.Roles
    sample: pd.DataFrame
    parts: list  # futures: pandas partitions (raw, as read)
    lengths: np.ndarray  # rows per partition (each row's line: P.lines)
    files: list[str]  # file of each partition
    notes: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(self.lengths.sum())

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)])


def load(client, read: ReadOptions, cols: ColumnOptions | None, blocksize: str | int | None,
         roles_fn=None) -> DistTable:
    """Read the inputs on the cluster. The column roles come from ``cols`` decided on a
    sample, or from ``roles_fn(sample)`` (a saved model's schema)."""
    import dask.dataframe as dd

    sources = resolve(read.inputs)
    if any(s.path is None for s in sources):
        raise UsageError("--engine dask reads files (paths or globs), not stdin",
                         "save the data to a file the workers can read")
    paths = [os.path.abspath(s.path) for s in sources]
    dialect = sniff(sources[0], read)
    notes: list[str] = []
    columnar = dialect.format != "csv"
    names = None if columnar else header_names(sources[0], dialect, notes)
    for s in sources[1:] if not columnar else ():
        other = header_names(s, dialect, [])
        if other != names:
            raise DataError(f"{s.label}: its header differs from {sources[0].label}",
                            "all files of one run must have the same header")
    # the rows as the partitions read them: notes (rows without values) and totals rows
    # kept (set aside below: :mod:`.ends`); a repeated header left out here without a note
    # (the partitions leave out and count every one: partitions.on_rows_read); its file
    # named as the user named it, as in the partitions' warnings
    first = read_table(ReadOptions(**{**read.__dict__, "inputs": (sources[0].path,),
                                      "keep_totals": True}), nrows=SAMPLE_ROWS, headers=False)
    sample = without_headers(first.frame)
    if first.dialect.encoding != dialect.encoding:  # Windows-1252 found past the first 64 KiB
        dialect = first.dialect
    roles = (roles_fn(sample) if roles_fn is not None
             else R.decide(sample, np.arange(len(sample)) + 2, cols, dialect.decimal))
    roles.every = [str(c) for c in sample.columns] if read.all_columns else None
    dtypes = {}
    for d in roles.decisions:
        if d.role == R.FEATURE and d.rule is None:
            dtypes[d.name] = "float64"
        else:
            dtypes[d.name] = "object"
    columns = list(sample.columns)
    labels = {p: s.label for p, s in zip(paths, sources, strict=True)}  # as the user named them
    named = [] if columnar else P.named_floats(dtypes)
    texts = [] if columnar else [c for c in columns if c not in named]
    if columnar:
        parts = P.columnar_parts(client, paths, dialect, roles)
    else:
        # compressed as the local reader finds it (by name, else by content): Dask only
        # looked at names, and warned in its own words before reading whole files
        kinds = {s.compression for s in sources}
        compression = "infer" if len(kinds) > 1 else kinds.pop()
        if compression is not None:
            blocksize = None
            notes.append("compressed input: one partition per file (a compressed file "
                         "cannot be split)")
        gaps = sorted(set(dialect.na_values) | {""})
        # a repeated header's names in the numeric columns read as gaps (a partition read
        # them as numbers and stopped there); P.on_rows_read leaves out the rows that are one
        kwargs = dict(sep=dialect.delimiter, encoding=dialect.encoding, decimal=dialect.decimal,
                      quotechar=dialect.quotechar, keep_default_na=False,
                      na_values={c: gaps + ([c] if c in named else []) for c in columns},
                      header=0 if dialect.header else None, names=columns,
                      dtype=dtypes, skiprows=dialect.skip_lines or None, skip_blank_lines=False,
                      include_path_column=PATH_COLUMN, blocksize=blocksize,
                      compression=compression)
        if blocksize and dialect.skip_lines:  # (the lines skipped are read from the first
            kwargs["sample"] = min(int(blocksize), SAMPLE_BYTES)  # block: Dask warned)
        try:
            ddf = dd.read_csv(paths, **kwargs)
        except (ValueError, OSError) as exc:
            raise DataError(f"dask could not read the input ({brief(exc, 160)})") from None
        parts = client.compute(ddf.to_delayed())
    # each row's line, as the local reader numbers them (blank lines read as rows of
    # empty fields); such a row is an empty line, as the local reader has it, and a row
    # that repeats the header is left out (and counted) too
    header = 1 if columnar else dialect.skip_lines + (2 if dialect.header else 1)
    parts = map_on(client, P.on_rows_read, parts, P.first_lines(client, parts, header),
                   named=named, texts=texts)
    aside: list[str] = []  # the notes and totals set aside, and the warnings that say so
    if not read.keep_totals:
        from somcli.backends.dask_cluster import ends

        parts, aside = ends.set_aside(client, parts, ends.number_and_text_columns(sample),
                                      dialect.decimal, labels)
    if roles_fn is None:  # every column decided on every row, not only the sample's
        from somcli.backends.dask_cluster import levels

        every = roles.every
        totals = levels.totals(client, parts, roles, len(sample), dialect.decimal)
        roles = R.decide(sample, np.arange(len(sample)) + 2, cols, dialect.decimal,
                         totals=totals)
        found = levels.levels(totals, roles)
        if found is not None:  # the same decision, its one-hot values from every row
            roles = R.decide(sample, np.arange(len(sample)) + 2, cols, dialect.decimal,
                             levels=found, totals=totals)
        roles.every = every
    info = client.gather(map_on(client, P.on_describe, parts))
    lengths = np.array([i[0] for i in info], dtype=np.int64)
    files = [i[1] or paths[0] for i in info]
    # the encoding guessed, the repeated headers, the notes and totals set aside
    roles.warnings[:0] = first.warnings + P.header_notes(info, files, labels) + aside
    empty = sum(i[2] for i in info)
    if empty:  # (in a table of numbers alone a repeated header reads as a row of gaps)
        notes.append(f"{empty} empty line(s), or lines that repeat the header, skipped"
                     if named and not texts else f"{empty} empty line(s) skipped")
    notes.append(f"read on a Dask cluster: {len(parts)} partition{'s' * (len(parts) != 1)} of "
                 f"{len(paths)} file(s); "
                 "column roles decided on every row (distinct values counted up to "
                 f"{CAP:,} per column; a date's format and a unit from the "
                 f"first {len(sample):,} rows)")
    return DistTable(client, dialect, paths, roles, sample, parts, lengths, files, notes)


def on_raw(part: pd.DataFrame, feats: list[str], rules: dict,
            strict: bool = True) -> np.ndarray:
    """The features of one partition as float64, units parsed. Text that is not a number
    is refused (training) or, with ``strict=False`` (assign), read as missing."""
    raw = np.empty((len(part), len(feats)))
    for j, name in enumerate(feats):
        series = part[source_of(name, rules)]
        if name in rules:
            values = apply_rule(series, rules[name])
        else:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
            bad = np.isnan(values) & series.notna().to_numpy()
            if bad.any() and strict:
                raise DataError(f"column '{name}' holds '{series[bad].iloc[0]}', not a number",
                                f"mark such values missing with --na-values, or -C '{name}'")
        raw[:, j] = values
    return raw


def on_stats(raw: np.ndarray, part: pd.DataFrame, drop: bool):
    """The partition's partial sums (:mod:`somcli.prep.statistics`): the moments of every
    column over all rows (what the report describes) and over the fitting rows (with
    --missing drop, the rows without gaps); infinite and missing counts, the gap rows
    (first few), rows left for fitting, and the first value too large to scale (``part``:
    the partition ``raw`` was read from, for its lines)."""
    lines = P.lines(part)
    huge_at = None
    for j in range(raw.shape[1]):
        col = raw[:, j]
        big = np.isfinite(col) & (np.abs(col) > HUGE)
        if big.any() and huge_at is None:
            i = int(np.argmax(big))
            huge_at = (j, float(col[i]), int(lines[i]))
    inf = np.isinf(raw)
    values = np.where(inf, np.nan, raw)
    gaps = np.isnan(values)
    gappy = gaps.any(axis=1)
    everything = S.moments(values)
    return {"all": everything, "fit": S.moments(values[~gappy]) if drop else everything,
            "inf": inf.sum(axis=0), "missing": gaps.sum(axis=0), "rows": len(values),
            "gap_rows": lines[np.flatnonzero(gappy)[:MAX_NAMED_ROWS]].tolist(),
            "n_gap_rows": int(gappy.sum()),
            "fit_rows": int((~gappy).sum()) if drop else int((~gaps.all(axis=1)).sum()),
            "huge": huge_at}


def combine_stats(parts: list[dict]) -> dict:
    """The partitions' statistics together, in partition order."""
    return {"all": S.combine([p["all"] for p in parts]),
            "fit": S.combine([p["fit"] for p in parts]),
            "inf": np.sum([p["inf"] for p in parts], axis=0),
            "missing": np.sum([p["missing"] for p in parts], axis=0),
            "rows": sum(p["rows"] for p in parts),
            "fit_rows": sum(p["fit_rows"] for p in parts),
            "n_gap_rows": sum(p["n_gap_rows"] for p in parts)}


# ---------------------------------------------------------------- exact order statistics

def _on_column(raw: np.ndarray, j: int, drop: bool) -> np.ndarray:
    values = np.where(np.isinf(raw), np.nan, raw)
    if drop:
        values = values[~np.isnan(values).any(axis=1)]
    col = values[:, j]
    return col[~np.isnan(col)]


# ---------------------------------------------------------------- fitting the cleaning

def fit_cleaning(table: DistTable, cleaning: CleanOptions) -> tuple:
    """(Preprocessor, raw-block futures, cleaning report), every statistic exact."""
    from somcli.backends.dask_cluster import report_rows

    client, roles = table.client, table.roles
    if cleaning.missing == "knn":
        raise UsageError("--missing knn is not available with --engine dask",
                         "use median, mean, most-frequent, drop or mask")
    if cleaning.dedupe != "none":
        raise UsageError("--dedupe is not available with --engine dask")
    feats = roles.features
    rules = roles.rules
    raw = map_on(client, on_raw, table.parts, feats=feats, rules=rules)
    drop = cleaning.missing == "drop"
    stats = client.gather(map_on(client, on_stats, raw, table.parts, drop=drop))
    for s in stats:
        if s["huge"] is not None:
            j, value, line = s["huge"]
            refuse_huge(np.array([value]), feats[j], np.array([line]))
    total = combine_stats(stats)
    n_rows = total["rows"]
    if total["fit_rows"] == 0:
        raise DataError("every row has a missing feature value, so --missing drop leaves none",
                        "use --missing median (or mean)")
    d = len(feats)
    fill = None
    if cleaning.missing in FILLS:
        fill = np.array(_per_column(lambda j: _fill_value(client, raw, j, total["fit"],
                                                          cleaning.missing), d),
                        dtype=np.float64)
    center, scale = _scaler(client, raw, total, fill, cleaning, drop)
    scale = weight_indicators(feats, rules, scale)
    prep = Preprocessor(feats, rules, cleaning.missing, cleaning.scale, center, scale, fill=fill)
    missing = {f: int(k) for f, k in zip(feats, total["missing"], strict=True) if k}
    report = {
        "missing_method": cleaning.missing,
        "infinite_values": {f: int(k) for f, k in zip(feats, total["inf"], strict=True) if k},
        "missing_cells": missing, "rows_with_gaps": int(total["n_gap_rows"]),
        "rows_with_gaps_named": report_rows.name_gap_rows(table, stats),
        "feature_stats": {f: S.describe(total["all"], j, n_rows) for j, f in enumerate(feats)},
        "duplicates": report_rows.find(table, cleaning.dedupe_by),
        "scale": cleaning.scale,
        "rows_used_for_fitting": int(total["fit_rows"]),
    }
    report |= gap_outcome(cleaning.missing, missing, int(total["n_gap_rows"]),
                          n_rows - int(total["fit_rows"]))
    if fill is not None:
        report["fill_values"] = {f: float(v) for f, v in zip(feats, fill, strict=True)}
    return prep, raw, report


def _fill_value(client, raw, j, total, method) -> float:
    """:func:`somcli.prep.statistics.fill_value` of column ``j`` over the partitions: the
    median by exact distributed quantiles, the modes by merged value counts."""
    def median() -> float:
        cols = map_on(client, _on_column, raw, j=j, drop=False)
        return quantiles(client, cols, int(total["n"][j]), [0.5], float(total["min"][j]),
                         float(total["max"][j]))[0]

    def modes():
        cols = map_on(client, _on_column, raw, j=j, drop=False)
        counts = client.gather(map_on(client, _on_value_counts, cols))
        merged = pd.concat(counts).groupby(level=0).sum()
        return merged.index.to_numpy(dtype=np.float64), merged.to_numpy()

    return S.fill_value(method, total, j, median, modes)


def _on_value_counts(values: np.ndarray) -> pd.Series:
    return pd.Series(values).value_counts()


def _scaler(client, raw, total, fill, cleaning, drop):
    """:func:`somcli.prep.statistics.scaler` over the imputed values of the fitting rows,
    exactly: the gaps a fill value takes are counted, not materialised."""
    fit = total["fit"]
    filled = None if (drop or fill is None) else total["fit_rows"] - fit["n"]

    def quartiles(j: int) -> list[float]:
        gaps = 0 if filled is None else int(filled[j])
        f = 0.0 if fill is None else float(fill[j])
        lo, hi = float(fit["min"][j]), float(fit["max"][j])
        if gaps:
            lo, hi = min(lo, f), max(hi, f)
        cols = map_on(client, _on_column, raw, j=j, drop=drop)
        return quantiles(client, cols, int(fit["n"][j] + gaps), list(S.QUARTILES), lo, hi,
                         extra=(gaps, f))

    found = (_per_column(quartiles, len(fit["n"])) if cleaning.scale == "robust" else [])
    return S.scaler(cleaning.scale, fit, found.__getitem__, filled, fill)


def _per_column(fn, d: int) -> list:
    """``[fn(j) for j in range(d)]``, the columns side by side: each exact order statistic
    takes several rounds over the partitions, and one column's round leaves the workers
    idle while the client waits (median fills of 10 columns on 1M rows: 1.7 s in turn)."""
    return list(ordered(fn, range(d), min(d, 8)))


# ---------------------------------------------------------------- cleaned blocks

CLEAN_ROWS = 65_536  # rows cleaned at a time: the float64 temporaries stay small


def on_clean(raw: np.ndarray, prep: Preprocessor, dtype) -> Block:
    """The partition's block: scaled features, usable rows, the input values quoted. Made
    a slice of rows at a time into the block's own array (the same arithmetic on each row):
    whole-partition float64 temporaries took 10M-row runs' workers past their limit."""
    X = np.empty(raw.shape, dtype=dtype)
    usable = np.empty(len(raw), dtype=bool)
    filled = np.zeros(len(raw), dtype=bool)
    for start in range(0, len(raw), CLEAN_ROWS):
        part = raw[start:start + CLEAN_ROWS]
        values = np.where(np.isinf(part), np.nan, part)
        usable[start:start + len(part)] = prep.usable(values)
        filled[start:start + len(part)] = np.isnan(values).any(axis=1)
        X[start:start + len(part)] = prep.to_scaled(prep.impute(values))
    return Block(X, usable, build_quotes(lambda j: raw[:, j], X, prep.center, prep.scale),
                 prep.filled(filled))


def on_ids(part: pd.DataFrame, path: str, columns: list[str], several: bool):
    out = pd.DataFrame({"line": P.lines(part)})
    if several:
        out["source"] = path
    for col in columns:
        out[carried_name(col)] = part[col].to_numpy()
    return out
