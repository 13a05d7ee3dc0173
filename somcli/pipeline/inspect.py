"""somcli inspect: the profile of a table and what cleaning would do; no clustering."""

from __future__ import annotations

import numpy as np

from somcli.algorithms import blocks as B
from somcli.backends.base import Backend, Progress, quiet
from somcli.config import CleanOptions, ColumnOptions, ReadOptions
from somcli.errors import DataError
from somcli.io.read import read_table
from somcli.pipeline.common import versions
from somcli.prep import roles as R
from somcli.prep.clean import clean


def run(read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions, stdin=None) -> dict:
    table = read_table(read, stdin=stdin)
    roles = R.decide(table.frame, table.lines, cols, table.dialect.decimal, strict=False)
    roles.warnings[:0] = table.warnings
    columns = []
    for d in roles.decisions:
        entry = d.to_dict()
        series = table.frame[d.name]
        if d.name in roles.values or d.kind in ("integer", "number", "boolean"):
            v = (roles.values[d.name] if d.name in roles.values
                 else series.to_numpy(dtype=float, na_value=np.nan))
            v = v[np.isfinite(v)]
            if v.size:
                entry.update(min=float(v.min()), max=float(v.max()), mean=float(v.mean()))
            if entry.get("unique") is None:  # not counted for the roles (a big float column)
                entry["unique"] = int(np.unique(v).size)
        else:
            entry["examples"] = [str(x) for x in series.dropna().unique()[:3]]
        columns.append(entry)
    profile = {
        "input": {"files": table.inputs, "rows": table.n_rows, "columns": int(table.frame.shape[1]),
                  "dialect": table.dialect.to_dict(), "notes": table.notes,
                  "empty_lines_skipped": table.blank_lines},
        "columns": columns,
        "features": roles.features, "identifiers": roles.ids, "label_column": roles.label,
        "categories": roles.categories, "warnings": roles.warnings, "versions": versions(),
    }
    if not roles.features:
        profile["cleaning"] = None
        profile["problem"] = ("no numeric column to cluster: kmeans and som would stop with "
                              "exit 65; choose columns with -c or check the delimiter (-d)")
        return profile
    try:
        cleaned = clean(table.frame, table.lines, roles, cleaning, allow_mask=True)
    except DataError as exc:
        profile["cleaning"] = None
        profile["problem"] = exc.one_line()
        return profile
    profile["cleaning"] = cleaned.report | {"rows_used_for_fitting": len(cleaned.fit_X)}
    return profile


def on_backend(be: Backend, read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions,
               progress: Progress = quiet) -> dict:
    """The profile as a backend that reads in partitions makes it (``inspect --engine
    dask``): the column roles as that engine decides them, and the features' missing
    counts, minimum, maximum and mean, and the cleaning, over every row. A table the run
    could not cluster is an error here too (exit 65), as the run would be."""
    data = be.load(read, cols, cleaning, dtype=np.float64, allow_mask=True, progress=progress)
    d = data.described
    roles = d.roles
    ranges = be.reduce(B.column_ranges, data.blocks, center=d.prep.center, scale=d.prep.scale)
    lo = np.fmin.reduce([r[0] for r in ranges])
    hi = np.fmax.reduce([r[1] for r in ranges])
    stats = d.cleaning.get("feature_stats", {})
    first = be.gather(data.ids[:1])[0] if data.ids else None
    columns = []
    for decision in roles.decisions:
        entry = decision.to_dict()
        if decision.name in roles.features:
            j = roles.features.index(decision.name)
            entry.update(min=float(lo[j]), max=float(hi[j]),
                         mean=stats.get(decision.name, {}).get("mean"),
                         missing=int(d.cleaning.get("missing_cells", {}).get(decision.name, 0)))
        elif first is not None and B.carried_name(decision.name) in first:
            shown = first[B.carried_name(decision.name)].dropna().unique()[:3]
            entry["examples"] = [str(x) for x in shown]
        columns.append(entry)
    return {
        "input": {"files": d.inputs, "rows": d.rows, "columns": len(roles.decisions),
                  "dialect": d.dialect.to_dict(), "notes": d.notes,
                  "empty_lines_skipped": d.blank_lines},
        "columns": columns,
        "features": roles.features, "identifiers": roles.ids, "label_column": roles.label,
        "categories": roles.categories, "warnings": roles.warnings, "versions": versions(),
        "cleaning": d.cleaning | {"rows_used_for_fitting": data.n_fit},
    }

