"""``somcli.cluster``: the CLI's run from Python, on a DataFrame, an array or files.

    import somcli

    result = somcli.cluster(df, method="som", k=4, map="10x8", seed=7)
    result.assignments          # one row per input row: cluster, distance (BMU, QE, ...)
    result.report.clusters      # the typed report (result.report.to_dict() for JSON)
    result.model.save("model/") # model.json + model.npz, for `somcli assign`
    result.write("out/")        # every file `somcli som -o out/` writes

The rows go through the same reading rules, column roles, cleaning, fit and evaluation as
on the command line (a DataFrame is read as a Parquet file would be: ``line`` is the row
number); options are the command's long option names with underscores (``missing="mask"``,
``columns=["a", "b"]``, ``id_column="name"``). Failures raise :class:`somcli.errors.SomcliError`
subclasses, whose ``exit_code`` is the CLI's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from somcli import config as C
from somcli.errors import UsageError
from somcli.pipeline.common import RunResult, clustering

METHODS = C.CLUSTERINGS


@dataclass
class Result:
    """What a run produced: the assignments, the typed report and the model."""

    run: RunResult

    @property
    def assignments(self) -> pd.DataFrame:
        return self.run.assignments

    @property
    def report(self):
        return self.run.report

    @property
    def model(self):
        return self.run.model

    def write(self, folder: str, *, force: bool = False, fmt: str = "csv",
              precision: int | None = None) -> dict:
        """Write every output into ``folder`` as ``-o folder`` does (staged, then published in
        one step; an existing folder is replaced only with ``force``). Returns report.json's
        contents. Pictures are written when the run drew them (``plots=True``)."""
        from somcli.io.lock import locked
        from somcli.pipeline.common import write
        from somcli.report.markdown import render

        out = C.OutputOptions(out=os.fspath(folder), force=force, format=fmt,
                              plots=bool(self.run.plots), precision=precision)
        with locked(out.out, 0.0):
            return write(self.run, out, render)


def cluster(data, method: str = "kmeans", k: int | str | None = "auto", *,
            plots: bool = False, **options) -> Result:
    """Cluster ``data`` (a pandas DataFrame, a 2-d numpy array, a path or a list of paths)
    with ``method`` ("kmeans" or "som") into ``k`` clusters ("auto": chosen as the CLI
    chooses; for "som", "units" or None: every map unit is a cluster). ``plots``: draw the
    pictures too (for :meth:`Result.write`). Other options are the command's long options
    with underscores: ``map="12x10"``, ``missing="mask"``, ``seed=3``, ``columns=[...]``."""
    pipe = clustering(method)  # refuses an unknown method
    frame, inputs = _rows(data)
    from somcli.runtime.memory import parse_limit

    read = _build(C.ReadOptions, options, inputs=inputs,
                  memory_limit=parse_limit(options.pop("max_memory", None)))
    cols = _build(C.ColumnOptions, options, **_column_names(options))
    cleaning = _build(C.CleanOptions, options)
    exe = _build(C.Execution, options, dtype=options.pop("dtype", pipe.DTYPE))
    settings = pipe.from_options(options, k, plots, exe, _build)
    if options:
        raise UsageError(f"unknown option(s) {', '.join(sorted(options))} for "
                         f"somcli.cluster(method={method!r})")
    from somcli.backends import open_backend

    with open_backend(exe.engine, exe) as be:
        if frame is not None and exe.engine != "local":
            raise UsageError("a DataFrame or array runs on the local engine",
                             "pass file paths for engine='dask'")
        result = pipe.run(be, read, cols, cleaning, **settings, stdin=frame)
    return Result(result)


def _rows(data) -> tuple[pd.DataFrame | None, tuple[str, ...]]:
    """(the rows as a DataFrame, or None for files; the input names)."""
    if isinstance(data, pd.DataFrame):
        return data, ("DataFrame",)
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise UsageError(f"an array of {data.ndim} dimensions: give rows x columns")
        names = [f"column_{j + 1}" for j in range(data.shape[1])]  # as -H names them
        return pd.DataFrame(data, columns=names), ("array",)
    if isinstance(data, (str, os.PathLike)):
        return None, (os.fspath(data),)
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(p, (str, os.PathLike)) for p in data):
        return None, tuple(os.fspath(p) for p in data)
    raise UsageError(f"cannot cluster a {type(data).__name__}",
                     "give a pandas DataFrame, a 2-d numpy array or file paths")


def _build(cls, options: dict, **given):
    """``cls`` from ``given`` (None: the default) and the options named like its fields
    (taken out of ``options``)."""
    names = {f.name for f in fields(cls)}
    taken = {name: options.pop(name) for name in list(options)
             if name in names and name not in given}
    return cls(**{k: v for k, v in given.items() if v is not None or k == "k"}, **taken)


def _column_names(options: dict) -> dict:
    """-c/-C as lists or text; --id-column as one name or several."""
    out = {}
    for name in ("columns", "not_columns"):
        value = options.pop(name, None)
        if value is not None:
            out[name] = value if isinstance(value, str) else ",".join(map(str, value))
    ids = options.pop("id_column", options.pop("id_columns", None))
    if ids is not None:
        out["id_columns"] = (ids,) if isinstance(ids, str) else tuple(ids)
    label = options.pop("label", None)
    if label is not None:
        out["label_column"] = label
    return out
