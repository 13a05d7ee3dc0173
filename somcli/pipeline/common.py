"""Steps every command shares: read + roles + cleaning, the report skeleton, writing.

Knows nothing of Click or rich: progress goes through a callback.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from somcli import __version__, memory
from somcli.config import CleanOptions, ColumnOptions, OutputOptions, ReadOptions
from somcli.errors import DataError, UsageError
from somcli.io import write as w
from somcli.io.folder import OutputFolder
from somcli.io.read import Dialect, Table, read_table
from somcli.prep import roles as R
from somcli.prep.clean import Cleaned, Preprocessor, clean, row_labels

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    return None


@dataclass
class Described:
    """What reports, models, tables and pictures say about a run's input, whichever
    engine read and cleaned it (the local engine from a :class:`Prepared`, the Dask
    engine from its partitions)."""

    inputs: list[str]
    rows: int
    dialect: Dialect
    notes: list[str]
    blank_lines: int
    roles: R.Roles
    prep: Preprocessor  # the fitted cleaning
    cleaning: dict  # the report's cleaning section
    n_fit: int  # rows the model was fitted on
    timings: dict[str, float] = field(default_factory=dict)
    fingerprint: str | None = None  # of the cleaned matrix (None: computed from ``matrix``)
    matrix: np.ndarray | None = None


@dataclass
class Prepared:
    table: Table
    roles: R.Roles
    cleaned: Cleaned
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_fit(self) -> int:
        return len(self.cleaned.fit_X)

    def described(self) -> Described:
        t = self.table
        return Described(t.inputs, t.n_rows, t.dialect, t.notes, t.blank_lines, self.roles,
                         self.cleaned.prep, self.cleaned.report, self.n_fit, self.timings,
                         matrix=self.cleaned.X)

    def labels(self, rows) -> list[str]:
        """How the report names these rows (identifier values and line)."""
        return row_labels(self.table.frame, self.roles.ids, self.table.lines, rows)


def prepare(read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions, *,
            allow_mask: bool = False, stdin=None, progress: Progress = _quiet,
            dtype=np.float64) -> Prepared:
    t0 = time.perf_counter()
    progress("reading")
    table = read_table(read, stdin=stdin, float_dtype=dtype)
    memory.release()  # the parser's chunks
    if table.n_rows < 2:
        raise DataError(f"{', '.join(table.inputs)}: only {table.n_rows} data row; clustering "
                        "needs at least 2")
    t1 = time.perf_counter()
    progress("profiling and cleaning")
    roles = R.decide(table.frame, table.lines, cols, table.dialect.decimal)
    cleaned = clean(table.frame, table.lines, roles, cleaning, allow_mask=allow_mask,
                    dtype=dtype)
    # the features now live in cleaned.X only: free the parsed columns
    keep = roles.ids + ([roles.label] if roles.label else [])
    table.frame = table.frame[keep]
    roles.values.clear()
    memory.release()  # the parsed features, hashes and column copies
    t2 = time.perf_counter()
    return Prepared(table, roles, cleaned, {"read": t1 - t0, "clean": t2 - t1})


def check_clusterable(prep: Prepared, k: int | None, what: str = "clusters") -> None:
    n = prep.n_fit
    if n < 2:
        raise DataError(f"only {n} usable row(s) after cleaning; clustering needs at least 2")
    if k is not None:
        if k < 2:
            raise UsageError(f"-k {k}: ask for at least 2 {what}")
        distinct = len(np.unique(np.round(prep.cleaned.fit_X, 12), axis=0))
        if distinct < 2:
            raise DataError(f"-k {k} {what} asked for, but every row is the same after "
                            f"cleaning ({n} rows)", "there is nothing to cluster: check the "
                            "columns with `somcli inspect`")
        if k > distinct:
            raise DataError(
                f"-k {k} {what} asked for, but the data has only {distinct} distinct row(s)"
                + (f" ({n} rows after cleaning)" if distinct != n else ""),
                f"use -k {min(distinct, n - 1)} or fewer")


def int_column(values: np.ndarray, valid: np.ndarray | None = None):
    """Small integers for an output column; nullable only when some rows have none."""
    values = np.asarray(values, dtype=np.int32)
    if valid is None or valid.all():
        return values
    return pd.arrays.IntegerArray(np.where(valid, values, 0).astype(np.int32), ~valid)


def carried_name(column: str) -> str:
    """The name an identifier or label column has in the assignments (both engines):
    its own, unless it clashes with somcli's ``line`` or ``source``."""
    return column if column not in ("line", "source") else f"{column}_"


def assignment_table(prep: Prepared, columns: dict) -> pd.DataFrame:
    """line, [source], identifier and label columns, then the algorithm's ``columns``.

    Built in one go without copying the arrays (a million rows, several columns)."""
    t = prep.table
    out: dict = {"line": t.lines}
    if t.sources is not None:
        out["source"] = t.sources
    for col in prep.roles.ids + ([prep.roles.label] if prep.roles.label else []):
        out[carried_name(col)] = t.frame[col]
    for name, values in columns.items():
        out[name if name not in out else f"{name}_"] = values
    frame = pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v)
                          for k, v in out.items()}, copy=False)
    return frame


def base_report(command: str, d: Described, parameters: dict, warnings: list[str]) -> dict:
    """The sections every report has (both engines): input, columns, cleaning, ..."""
    roles = d.roles
    return {
        "somcli_version": __version__,
        "command": command,
        "input": {
            "files": d.inputs, "rows": d.rows, "columns": len(roles.decisions),
            "dialect": d.dialect.to_dict(), "notes": list(d.notes),
            "empty_lines_skipped": d.blank_lines,
        },
        "columns": [c.to_dict() for c in roles.decisions],
        "features": roles.features,
        "identifiers": roles.ids,
        "label_column": roles.label,
        "cleaning": d.cleaning | {"rows_used_for_fitting": d.n_fit},
        "parameters": parameters,
        "warnings": warnings,
        "versions": versions(),
    }


def cluster_profiles(prep: Prepared, clusters: np.ndarray, k: int) -> list[dict]:
    """Size, share and per-feature means (original units) of every cluster."""
    valid = clusters >= 0
    total = int(valid.sum())
    d = prep.cleaned.X.shape[1]
    sums = np.zeros((k, d))
    counts = np.zeros((k, d))
    X = prep.cleaned.X
    for start in range(0, len(X), 65536):  # means in scaled units, chunk by chunk
        block = np.asarray(X[start:start + 65536], dtype=np.float64)
        lab = clusters[start:start + 65536]
        ok = lab >= 0
        present = ~np.isnan(block[ok])
        np.add.at(sums, lab[ok], np.where(present, block[ok], 0.0))
        np.add.at(counts, lab[ok], present)
    sizes = np.bincount(clusters[valid], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = prep.cleaned.prep.to_original(sums / counts)
    return [{"cluster": j, "size": int(sizes[j]), "share": sizes[j] / total if total else 0.0,
             "means": {f: _num(v) for f, v in zip(prep.roles.features, means[j], strict=True)}}
            for j in range(k)]


def external_scores(prep: Prepared, clusters: np.ndarray, warnings: list[str] | None = None
                    ) -> dict | None:
    """ARI, NMI and purity against the label column (a warning when it has one class)."""
    from somcli import metrics

    if not prep.roles.label:
        return None
    truth = prep.table.frame[prep.roles.label].to_numpy(dtype=object)
    return label_scores(metrics.class_counts(clusters, truth), prep.roles.label, warnings)


def label_scores(counts: dict, label: str, warnings: list[str] | None = None) -> dict:
    """ARI, NMI and purity from (class, cluster) counts (every engine adds these up its own
    way); a warning when the label column has one class."""
    from somcli import metrics

    scores = metrics.external_from_counts(counts)
    if "ari" not in scores and warnings is not None:
        warnings.append(f"label column '{label}' has only one class: ARI, NMI and "
                        "purity are not computed")
    return scores


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
    plots: dict[str, Future] = field(default_factory=dict)  # name -> PNG bytes being rendered
    state: object | None = None  # algorithm state (the SOM) for models and plots
    model: object | None = None  # somcli.model.Model, written as model.json + model.npz
    parts: Callable | None = None  # distributed runs: write(folder, fmt, safe) -> part names


def write(result: RunResult, out: OutputOptions, render_markdown: Callable[[dict], str]
          ) -> list[str]:
    """Write a run's outputs: a folder with everything, or the assignments on stdout;
    and the model to ``--model-out`` when asked."""
    files: list[str] = []
    if out.out is None and result.parts is not None:
        _stream_parts(result, out)
    elif out.out is None:
        w.write_table(result.assignments, "-", out.format, out.safe_csv)
    else:
        files = _write_folder(result, out, render_markdown)
    if out.model_out and result.model is not None:
        from somcli.model import model_paths

        result.model.save(*model_paths(out.model_out))
    return files


def _stream_parts(result: RunResult, out: OutputOptions) -> None:
    """Distributed assignments on stdout: parts written to a scratch folder, then copied
    to stdout one at a time (never all rows in memory)."""
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="somcli-parts-") as scratch:
        w.join_parts(result.parts, None, out.format, out.safe_csv, scratch=scratch,
                     sink=sys.stdout.buffer)
        sys.stdout.flush()


def _write_folder(result: RunResult, out: OutputOptions, render_markdown) -> list[str]:
    ext = {"csv": "csv", "tsv": "tsv", "json": "json", "ndjson": "ndjson"}[out.format]
    parted = result.parts is not None and not out.single_file
    first = "assignments/" if parted else f"assignments.{ext}"
    names = [first, *result.tables, *result.matrices, "report.md", "report.json"]
    plots = list(result.plots) if out.plots else []
    model_files = ["model.json", "model.npz"] if result.model is not None else []
    result.report["files"] = names + plots + model_files
    with OutputFolder(out.out, out.force) as folder:
        if parted:
            parts = result.parts(folder.path("assignments"), ext, out.safe_csv)
            result.report["assignment_parts"] = len(parts)
        elif result.parts is not None:
            w.join_parts(result.parts, folder.path(f"assignments.{ext}"), ext, out.safe_csv)
        else:
            w.write_table(result.assignments, folder.path(f"assignments.{ext}"), out.format,
                          out.safe_csv)
        for name, table in result.tables.items():
            w.write_table(table, folder.path(name), "csv", out.safe_csv)
        for name, matrix in result.matrices.items():
            w.write_matrix(matrix, folder.path(name))
        for name in plots:
            w.write_bytes(result.plots[name].result(), folder.path(name))
        if result.model is not None:
            result.model.save(folder.path("model.json"), folder.path("model.npz"))
        w.write_text(render_markdown(result.report), folder.path("report.md"))
        # what --force may later remove: these files, as somcli wrote them
        result.report["file_stats"] = folder.stamps()
        w.write_json(result.report, folder.path("report.json"))
        folder.commit()
    return result.report["files"]
