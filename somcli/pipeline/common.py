"""What every command shares: the report skeleton, the checks before fitting, the
result of a run and how it is written. Knows nothing of Click, rich or the backend.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from somcli.algorithms.blocks import OWN_COLUMNS, carried_name
from somcli.backends.base import Described
from somcli.config import OutputOptions
from somcli.errors import DataError, UsageError
from somcli.io import write as w
from somcli.io.folder import OutputFolder
from somcli.report.sections import Input, Report
from somcli.runtime import interrupts
from somcli.version import __version__


def check_clusterable(n: int, k: int | None, distinct: Callable[[], int],
                      what: str = "clusters") -> None:
    """At least 2 fit rows, and as many distinct rows as the ``k`` asked for."""
    if n < 2:
        raise DataError(f"only {n} usable row(s) after cleaning; clustering needs at least 2")
    if k is not None:
        if k < 2:
            raise UsageError(f"-k {k}: ask for at least 2 {what}")
        found = distinct()
        if found < 2:
            raise DataError(f"-k {k} {what} asked for, but every row is the same after "
                            f"cleaning ({n:,} rows)", "there is nothing to cluster: check the "
                            "columns with `somcli inspect`")
        if k > found:
            raise DataError(
                f"-k {k} {what} asked for, but the data has only {found:,} distinct row(s)"
                + (f" ({n:,} rows after cleaning)" if found != n else ""),
                f"use -k {min(found, n - 1)} or fewer")


@dataclass(frozen=True)
class Assigner:
    """How a kind of model (``config.CLUSTERINGS``) assigns new rows (``somcli assign``):
    declared as ``ASSIGNER`` by the kind's pipeline module, found by :func:`clustering`."""

    assign: Callable  # (backend, data, model) -> (per-block handles, labels, quality,
    #                    outlier share or None)
    columns: Callable  # (model, data) -> (per-block handles -> the assignment columns)
    pictures: Callable  # (backend, data, model, per-block handles, report, sizes, colour
    #                      scale) -> name -> future PNG bytes
    quality_key: str  # in the model's training quality
    quality_name: str  # in the drift flags
    quality_short: str  # in the drift summary


def clustering(kind: str):
    """The pipeline module of a clustering kind (``config.CLUSTERINGS``): its ``run``, its
    ``ASSIGNER``, and ``DTYPE`` and ``from_options`` for :func:`somcli.cluster`."""
    import importlib

    from somcli.config import CLUSTERINGS

    if kind not in CLUSTERINGS:
        raise UsageError(f"{kind!r} is not a clustering method: one of {', '.join(CLUSTERINGS)}")
    return importlib.import_module(f"somcli.pipeline.{kind}")


def int_column(values: np.ndarray, valid: np.ndarray | None = None):
    """Small integers for an output column; nullable only when some rows have none."""
    values = np.asarray(values, dtype=np.int32)
    if valid is None or valid.all():
        return values
    return pd.arrays.IntegerArray(np.where(valid, values, 0).astype(np.int32), ~valid)


def base_report(command: str, d: Described, parameters: dict, warnings: list[str]) -> Report:
    """A report with the sections every command has: input, columns, cleaning, ..."""
    roles = d.roles
    renamed = [c for c in dict.fromkeys(roles.shown + roles.features) if carried_name(c) != c]
    if renamed:
        warnings = [f"input column(s) {', '.join(map(repr, renamed))} written as "
                    f"{', '.join(repr(carried_name(c)) for c in renamed)}: somcli's own "
                    "columns keep their names"] + warnings
    return Report(
        command=command,
        input=Input(d.inputs, d.rows, len(roles.decisions), d.dialect.to_dict(),
                    list(d.notes), d.blank_lines),
        columns=[c.to_dict() for c in roles.decisions], features=roles.features,
        identifiers=roles.ids, label_column=roles.label,
        cleaning=d.cleaning | {"rows_used_for_fitting": d.n_fit},
        parameters=parameters, warnings=list(roles.warnings) + warnings, versions=versions())


def label_scores(counts: dict, label: str, warnings: list[str] | None = None) -> dict:
    """ARI, NMI and purity from (class, cluster) counts (every engine adds these up its own
    way); a warning when the label column has one class."""
    from somcli.algorithms import metrics

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
    report: Report
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # name -> table (CSV)
    texts: dict[str, str] = field(default_factory=dict)  # name -> text (e.g. report.md)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)  # name -> grid of numbers
    plots: dict[str, Future] = field(default_factory=dict)  # name -> PNG bytes being rendered
    state: object | None = None  # algorithm state (the SOM) for models and plots
    model: object | None = None  # somcli.models.model.Model, written as model.json + model.npz
    parts: Callable | None = None  # distributed runs: write(folder, fmt, safe) -> part names
    table_parts: dict[str, Callable] = field(default_factory=dict)  # name -> parts, as above:
    #                                  a per-row table written by the workers, joined in order
    main_name: str = "assignments"  # the per-row table's file name (embed: embeddings)
    computed: tuple = OWN_COLUMNS  # its columns somcli computes (--precision rounds them)


def write(result: RunResult, out: OutputOptions, render_markdown: Callable[[dict], str]
          ) -> dict:
    """Write a run's outputs: a folder with everything, or the assignments on stdout;
    and the model to ``--model-out`` when asked. Returns the report as written."""
    interrupts.check()  # an interrupted run writes nothing, even if the interrupt was dropped
    report = result.report.to_dict()
    if out.output_file is not None:
        _write_file(result, out)
    elif out.out is None and result.parts is not None:
        _stream_parts(result, out)
    elif out.out is None:  # a pipe gets the values as they came (quoting is for files)
        w.write_table(result.assignments, "-", out.format, False, out.precision,
                      result.computed)
    else:
        _write_folder(result, report, out, render_markdown)
    if out.model_out and result.model is not None:
        from somcli.models.model import model_paths

        result.model.save(*model_paths(out.model_out))
    return report


def _write_file(result: RunResult, out: OutputOptions) -> None:
    """-O FILE: the assignments alone (:mod:`somcli.io.output_file`: a regular file
    replaced in one step keeping its mode, a device or FIFO written in place)."""
    from somcli.io import output_file

    def fill(dest) -> None:
        if result.parts is not None:
            if isinstance(dest, str):
                w.join_parts(result.parts, dest, out.format, out.safe_csv, out.precision)
            else:
                import tempfile

                with tempfile.TemporaryDirectory(prefix="somcli-parts-") as scratch:
                    w.join_parts(result.parts, None, out.format, out.safe_csv, out.precision,
                                 scratch=scratch, sink=dest)
        else:
            w.write_table(result.assignments, dest, out.format, out.safe_csv, out.precision,
                          result.computed)

    output_file.write(output_file.check(out.output_file), fill)


def _stream_parts(result: RunResult, out: OutputOptions) -> None:
    """Distributed assignments on stdout: parts written to a scratch folder, then copied
    to stdout one at a time (never all rows in memory)."""
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="somcli-parts-") as scratch:
        w.join_parts(result.parts, None, out.format, False, out.precision, scratch=scratch,
                     sink=sys.stdout.buffer)
        sys.stdout.flush()


def _write_folder(result: RunResult, report: dict, out: OutputOptions, render_markdown) -> None:
    ext = {"csv": "csv", "tsv": "tsv", "json": "json", "ndjson": "ndjson"}[out.format]
    parted = result.parts is not None and not out.single_file
    main = result.main_name
    first = f"{main}/" if parted else f"{main}.{ext}"
    names = [first, *result.tables, *result.table_parts, *result.matrices, "report.md",
             "report.json",
             *(["report.html"] if out.html else [])]
    plots = list(result.plots) if out.plots else []
    model_files = ["model.json", "model.npz"] if result.model is not None else []
    report["files"] = names + plots + model_files
    with OutputFolder(out.out, out.force) as folder:
        if parted:
            parts = result.parts(folder.path(main), ext, out.safe_csv, out.precision)
            report["assignment_parts"] = len(parts)
        elif result.parts is not None:
            w.join_parts(result.parts, folder.path(f"{main}.{ext}"), ext, out.safe_csv,
                         out.precision)
        else:
            w.write_table(result.assignments, folder.path(f"{main}.{ext}"), out.format,
                          out.safe_csv, out.precision, result.computed)
        for name, table in result.tables.items():  # outliers.csv quotes the input beside
            w.write_table(table, folder.path(name), "csv", out.safe_csv, out.precision,
                          OWN_COLUMNS if name == "outliers.csv" else None)
        for name, parts in result.table_parts.items():
            w.join_parts(parts, folder.path(name), "csv", out.safe_csv, out.precision)
        for name, matrix in result.matrices.items():
            w.write_matrix(matrix, folder.path(name), out.precision)
        markdown = render_markdown(report)  # (the pictures may still be drawn meanwhile)
        if out.html:
            from somcli.report import html

            parsed = html.parse(markdown)
        pictures = {name: result.plots[name].result() for name in plots}
        for name, data in pictures.items():
            w.write_bytes(data, folder.path(name))
        if result.model is not None:
            result.model.save(folder.path("model.json"), folder.path("model.npz"))
        w.write_text(markdown, folder.path("report.md"))
        if out.html:
            from somcli.report.captions import CAPTIONS

            w.write_text(html.render(parsed, pictures, CAPTIONS,
                                     f"somcli {result.command} report", report),
                         folder.path("report.html"))
        # what --force may later remove: these files, as somcli wrote them
        report["file_stats"] = folder.stamps()
        w.write_json(report, folder.path("report.json"))
        folder.commit()
