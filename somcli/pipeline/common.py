"""Steps every command shares: read + roles + cleaning, the report skeleton, writing.

Knows nothing of Click or rich: progress goes through a callback.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from somcli import __version__
from somcli.config import CleanOptions, ColumnOptions, OutputOptions, ReadOptions
from somcli.errors import DataError, UsageError
from somcli.io import write as w
from somcli.io.read import Table, read_table
from somcli.prep import roles as R
from somcli.prep.clean import Cleaned, clean, row_labels

Progress = Callable[[str], None]
MAX_LISTED = 50


def _quiet(_msg: str) -> None:
    return None


@dataclass
class Prepared:
    table: Table
    roles: R.Roles
    cleaned: Cleaned
    labels: list[str]  # how the report names each row
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_fit(self) -> int:
        return len(self.cleaned.fit_X)


def prepare(read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions, *,
            allow_mask: bool = False, stdin=None, progress: Progress = _quiet) -> Prepared:
    t0 = time.perf_counter()
    progress("reading")
    table = read_table(read, stdin=stdin)
    t1 = time.perf_counter()
    progress("profiling and cleaning")
    roles = R.decide(table.frame, table.lines, cols, table.dialect.decimal)
    cleaned = clean(table.frame, table.lines, roles, cleaning, allow_mask=allow_mask)
    labels = row_labels(table.frame, roles.ids, table.lines)
    t2 = time.perf_counter()
    return Prepared(table, roles, cleaned, labels, {"read": t1 - t0, "clean": t2 - t1})


def check_clusterable(prep: Prepared, k: int | None, what: str = "clusters") -> None:
    n = prep.n_fit
    if n < 2:
        raise DataError(f"only {n} usable row(s) after cleaning; clustering needs at least 2")
    if k is not None:
        if k < 2:
            raise UsageError(f"-k {k}: ask for at least 2 {what}")
        distinct = len(np.unique(np.round(prep.cleaned.fit_X, 12), axis=0))
        if k > distinct:
            raise DataError(
                f"-k {k} {what} asked for, but the data has only {distinct} distinct row(s)"
                + (f" ({n} rows after cleaning)" if distinct != n else ""),
                f"use -k {max(2, min(distinct, n - 1))} or fewer")


def base_assignments(prep: Prepared) -> pd.DataFrame:
    """line, [source], identifier and label columns: the left side of every assignment table."""
    t = prep.table
    out = pd.DataFrame({"line": t.lines})
    if t.sources is not None:
        out["source"] = t.sources
    for col in prep.roles.ids + ([prep.roles.label] if prep.roles.label else []):
        name = col if col not in ("line", "source") else f"{col}_"
        out[name] = t.frame[col].to_numpy()
    return out


def base_report(command: str, prep: Prepared, parameters: dict, warnings: list[str]) -> dict:
    t, roles, c = prep.table, prep.roles, prep.cleaned
    notes = list(t.notes)
    return {
        "somcli_version": __version__,
        "command": command,
        "input": {
            "files": t.inputs, "rows": t.n_rows, "columns": int(t.frame.shape[1]),
            "dialect": t.dialect.to_dict(), "notes": notes, "empty_lines_skipped": t.blank_lines,
        },
        "columns": [d.to_dict() for d in roles.decisions],
        "features": roles.features,
        "identifiers": roles.ids,
        "label_column": roles.label,
        "cleaning": c.report | {"rows_used_for_fitting": prep.n_fit},
        "parameters": parameters,
        "warnings": warnings,
        "versions": versions(),
    }


def cluster_profiles(prep: Prepared, clusters: np.ndarray, k: int) -> list[dict]:
    """Size, share and per-feature means (original units) of every cluster."""
    valid = clusters >= 0
    values = prep.cleaned.original[valid]
    lab = clusters[valid]
    total = int(valid.sum())
    out = []
    for j in range(k):
        members = values[lab == j]
        size = len(members)
        means = (np.nanmean(members, axis=0) if size else np.full(values.shape[1], np.nan))
        out.append({
            "cluster": j, "size": size, "share": size / total if total else 0.0,
            "means": {f: _num(v) for f, v in zip(prep.roles.features, means, strict=True)},
        })
    return out


def external_scores(prep: Prepared, clusters: np.ndarray) -> dict | None:
    from somcli import metrics

    if not prep.roles.label:
        return None
    truth = prep.table.frame[prep.roles.label].to_numpy(dtype=object)
    valid = clusters >= 0
    return metrics.external(clusters[valid], truth[valid])


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    def ver(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "unknown"

    return {"somcli": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "pandas": pd.__version__,
            **{name: ver(name) for name in ("scikit-learn", "minisom", "click", "matplotlib")}}


def _num(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


@dataclass
class RunResult:
    """What a run produced; ``write`` puts it on disk or stdout."""

    command: str
    assignments: pd.DataFrame
    report: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # name -> table (CSV)
    texts: dict[str, str] = field(default_factory=dict)  # name -> text (e.g. report.md)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)  # name -> grid of numbers
    plots: dict[str, Callable[[str], None]] = field(default_factory=dict)  # name -> draw(path)
    state: object | None = None  # algorithm state (the SOM) for models and plots
    model: object | None = None  # somcli.model.Model, written as model.json + model.npz


def write(result: RunResult, out: OutputOptions, render_markdown: Callable[[dict], str]) -> list[str]:
    """Write a run's outputs: a folder with everything, or the assignments on stdout."""
    ext = {"csv": "csv", "tsv": "tsv", "json": "json", "ndjson": "ndjson"}[out.format]
    if out.out is None:
        w.write_table(result.assignments, "-", out.format, out.safe_csv)
        return []
    names = [f"assignments.{ext}", *result.tables, *result.matrices, "report.md", "report.json"]
    plots = list(result.plots) if out.plots else []
    model_files = ["model.json", "model.npz"] if result.model is not None else []
    result.report["files"] = names + plots + model_files
    with w.OutputFolder(out.out, out.force) as folder:
        w.write_table(result.assignments, folder.path(f"assignments.{ext}"), out.format,
                      out.safe_csv)
        for name, table in result.tables.items():
            w.write_table(table, folder.path(name), "csv", out.safe_csv)
        for name, matrix in result.matrices.items():
            w.write_matrix(matrix, folder.path(name))
        for name in plots:
            try:
                result.plots[name](folder.path(name))
            except OSError as exc:
                raise w.io_error(exc, name) from None
        if result.model is not None:
            result.model.save(folder.path("model.json"), folder.path("model.npz"))
        w.write_text(render_markdown(result.report), folder.path("report.md"))
        w.write_json(result.report, folder.path("report.json"))
        folder.commit()
    return result.report["files"]
