"""Rows through a saved model's cleaning, the parts every backend shares: the reading
options, the features as numbers, the raw statistics drift compares, and the column
roles the model fixes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from somcli.errors import DataError
from somcli.prep import roles as R
from somcli.prep.clean import Preprocessor, gap_outcome
from somcli.prep.units import apply_rule, category_text, source_of


def reading(read, model, explicit) -> object:
    """The reading options: those given on the command line, else the model's."""
    stored = model.meta["schema"]["reading"]
    if stored.get("format", "csv") != "csv":
        return read  # a Parquet or Arrow model: how a text file is read is found anew
    changes = {}
    if "delimiter" not in explicit and "tabs" not in explicit and read.delimiter is None:
        changes["delimiter"] = stored["delimiter"]
    if "decimal" not in explicit and read.decimal is None:
        changes["decimal"] = stored["decimal"]
    if "encoding" not in explicit:
        changes["encoding"] = stored["encoding"]
    return replace(read, **changes)


def roles(model, frame: pd.DataFrame, where: str | None = None) -> R.Roles:
    """The roles of ``frame``'s columns as the model fixes them; its features must be there."""
    feats, schema = model.features, model.meta["schema"]
    sources = model_sources(model)
    missing = [f for f in sources if f not in frame.columns]
    if missing:
        raise DataError(f"{where + ': ' if where else ''}feature column(s) "
                        f"{', '.join(map(repr, missing))} of the model are missing",
                        "the columns are: " + ", ".join(map(repr, frame.columns)))
    ids = [c for c in schema["identifiers"] if c in frame.columns]
    carried = [c for c in schema.get("carried", schema["identifiers"]) if c in frame.columns]
    label = schema["label"] if schema["label"] in frame.columns else None
    return R.Roles(decisions(frame, sources, ids, label, carried), feats, ids, label, {},
                   names=R.naming(frame, ids))


def model_sources(model) -> list[str]:
    """The input columns a model's features are read from (a one-hot category once)."""
    return list(dict.fromkeys((f.get("unit_rule") or {}).get("source") or f["name"]
                              for f in model.meta["schema"]["features"]))


def ignored_note(model, frame: pd.DataFrame) -> list[str]:
    schema = model.meta["schema"]
    carried = schema.get("carried", schema["identifiers"])
    used = set(model_sources(model))
    extra = [c for c in frame.columns if c not in used
             and c not in carried and c != schema["label"]]
    return [f"column(s) not in the model, ignored: {', '.join(map(repr, extra))}"] if extra \
        else []


def features(frame: pd.DataFrame, feats, rules, lines: np.ndarray):
    """Feature values as float64 (infinities as gaps); values that are not numbers become
    NaN and are counted: ``{column: (count, line of the first, the first value)}``."""
    raw = np.empty((len(frame), len(feats)))
    bad = {}
    levels: dict[str, set] = {}
    for name in feats:
        if name in rules and rules[name].source:
            levels.setdefault(rules[name].source, set()).add(rules[name].level)
    for j, name in enumerate(feats):
        series = frame[source_of(name, rules)]
        if name in rules and rules[name].source:
            raw[:, j] = apply_rule(series, rules[name])
            continue
        if name in rules:
            values = apply_rule(series, rules[name])
        elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        lost = np.flatnonzero(np.isnan(values) & series.notna().to_numpy())
        if len(lost):
            bad[name] = (len(lost), int(lines[lost[0]]), str(series.iloc[lost[0]])[:40])
        raw[:, j] = np.where(np.isinf(values), np.nan, values)
    for source, known in levels.items():
        text = category_text(frame[source])
        new = np.flatnonzero(text.notna().to_numpy() & ~text.isin(known).to_numpy())
        if len(new):
            bad[source] = (len(new), int(lines[new[0]]), str(text.iloc[new[0]])[:40], "unseen")
    return raw, bad


def unreadable_warnings(bad: dict) -> list[str]:
    out = []
    for c, (n, line, ex, *kind) in bad.items():
        if kind:  # a category value the model was not trained on
            out.append(f"column '{c}': {n} value(s) not seen in training (e.g. '{ex}' on line "
                       f"{line}); no indicator of the category is set for those rows")
        else:
            out.append(f"column '{c}': {n} value(s) could not be read as numbers (e.g. '{ex}' "
                       f"on line {line}); counted as missing")
    return out


def merge_unreadable(parts: list[dict]) -> dict:
    """Per-block counts of :func:`features` added up (the first example kept)."""
    out: dict = {}
    for part in parts:
        for c, (n, *rest) in part.items():
            out[c] = (out[c][0] + n, *out[c][1:]) if c in out else (n, *rest)
    return out


def stats(n: int, missing: np.ndarray, sums: np.ndarray, present: np.ndarray, feats) -> dict:
    """Share missing and mean of each raw feature (what drift compares with training)."""
    return {f: {"missing_share": float(missing[j] / n) if n else 0.0,
                "mean": float(sums[j] / present[j]) if present[j] else None}
            for j, f in enumerate(feats)}


def raw_sums(raw: np.ndarray):
    """Per column: gaps, sum of present values, present count (for :func:`stats`)."""
    gaps = np.isnan(raw)
    return gaps.sum(axis=0), np.where(gaps, 0.0, raw).sum(axis=0), (~gaps).sum(axis=0)


def decisions(frame, feats, ids, label, carried=()):
    """Each column's role as the model fixes it (for the report's columns section)."""
    out = []
    for pos, name in enumerate(frame.columns, start=1):
        if name in feats and name not in carried:
            role, reason = R.FEATURE, "a feature of the model"
        elif name in ids:
            role, reason = R.IDENTIFIER, "an identifier of the model"
        elif name in carried:
            role, reason = R.CATEGORY, "a category or date column of the model: carried"
        elif name == label:
            role, reason = R.LABEL, "the model's label column: used only to score"
        else:
            role, reason = R.EXCLUDED, "not in the model: ignored"
        series = frame[name]
        out.append(R.ColumnDecision(pos, name, _kind(series), role, reason,
                                    int(series.isna().sum()), None))
    return out


def _kind(series: pd.Series) -> str:
    """A column's type as the roles name it, whatever precision it was read in."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "number" if series.notna().any() else "empty"
    return "text"


def replay_report(prep: Preprocessor, cells: dict[str, int], gap_rows: int,
                  named: list[str], rows: int, usable: int) -> dict:
    """The cleaning section of rows run through a saved model's cleaning (both engines):
    the gaps found, what the stored method did with them, nothing refitted."""
    return {"missing_method": prep.missing, "replayed": True, "missing_cells": cells,
            "rows_with_gaps": gap_rows, "rows_with_gaps_named": named,
            "scale": prep.scale_method, "rows_used_for_fitting": usable
            } | gap_outcome(prep.missing, cells, gap_rows, rows - usable)
