"""The local backend: the whole table in this process as one block, numpy on threads."""

from __future__ import annotations

import contextlib
import hashlib
import time

import numpy as np
import pandas as pd

from somcli.algorithms import blocks as B
from somcli.algorithms.blocks import Block, carried_name
from somcli.backends.base import (
    Backend,
    Data,
    Described,
    Replayed,
    fingerprint_header,
    model_dtype,
    quiet,
)
from somcli.errors import DataError
from somcli.io.read import read_table
from somcli.prep import replay as RP
from somcli.prep import roles as R
from somcli.prep.clean import MAX_NAMED_ROWS, Cleaned, row_labels
from somcli.prep.quotes import build as build_quotes
from somcli.runtime import memory
from somcli.runtime.parallel import default_threads, workers


class LocalBackend(Backend):
    name = "local"

    def __init__(self, threads: int | None = None):
        self.threads = threads or default_threads()

    @classmethod
    def open(cls, options=None, progress=quiet):
        return contextlib.nullcontext(cls(options.threads if options else None))

    # ------------------------------------------------------------ input
    def load(self, read, cols, cleaning, *, dtype=np.float64, allow_mask=False,
             progress=quiet, stdin=None, on_read=None) -> Data:
        from somcli.prep.clean import clean

        t0 = time.perf_counter()
        progress("reading")
        table = read_table(read, stdin=stdin)  # float64: the outputs quote the input exactly
        memory.release()  # the parser's chunks
        if table.n_rows < 2:
            raise DataError(f"{', '.join(table.inputs)}: only {table.n_rows} data row; "
                            "clustering needs at least 2")
        t1 = time.perf_counter()
        if on_read is not None:
            on_read(table.n_rows)
        progress("profiling and cleaning")
        roles = R.decide(table.frame, table.lines, cols, table.dialect.decimal)
        roles.warnings[:0] = table.warnings
        roles.every = list(table.frame.columns) if read.all_columns else None
        cleaned = clean(table.frame, table.lines, roles, cleaning, allow_mask=allow_mask,
                        dtype=dtype)
        ids = _ids(table, roles)  # the features now live in cleaned.X only
        roles.values.clear()
        table.frame = None
        if cleaned.quotes is not None:  # the kept columns as read go now, one by one
            cleaned.quotes.compact()
        memory.release()  # the parsed features, hashes and column copies
        timings = {"read": t1 - t0, "clean": time.perf_counter() - t1}
        return _data(table, roles, cleaned, ids, timings, dtype)

    def replay(self, model, read, explicit, *, progress=quiet, stdin=None) -> Replayed:
        t0 = time.perf_counter()
        progress("reading")
        table = read_table(RP.reading(read, model, explicit), stdin=stdin)
        frame = table.frame
        roles = RP.roles(model, frame, table.inputs[0])
        roles.warnings[:0] = table.warnings
        roles.every = list(frame.columns) if read.all_columns else None
        t1 = time.perf_counter()
        progress("replaying the cleaning")
        prep = model.preprocessor()
        raw, bad = RP.features(frame, roles.features, prep.rules, table.lines)
        stats = RP.stats(len(raw), *RP.raw_sums(raw), roles.features)
        gaps = np.isnan(raw)
        usable = prep.usable(raw)
        X = prep.to_scaled(prep.impute(raw)).astype(model_dtype(model))
        quotes = build_quotes(lambda j, raw=raw: raw[:, j], X, prep.center,
                              prep.scale)
        del raw
        cells = {f: int(k) for f, k in zip(roles.features, gaps.sum(0), strict=True) if k}
        gap_rows = np.flatnonzero(gaps.any(axis=1))
        named = row_labels(frame, roles.names, table.lines, gap_rows[:MAX_NAMED_ROWS])
        report = RP.replay_report(prep, cells, len(gap_rows), named, len(usable),
                               int(usable.sum()))
        ids = _ids(table, roles)
        table.frame = None
        cleaned = Cleaned(prep, X, usable, np.flatnonzero(usable), report, quotes=quotes,
                          filled=prep.filled(gaps.any(axis=1)))
        timings = {"read": t1 - t0, "clean": time.perf_counter() - t1}
        data = _data(table, roles, cleaned, ids, timings, X.dtype)
        return Replayed(data, stats, RP.unreadable_warnings(bad), RP.ignored_note(model, frame))

    # ------------------------------------------------------------ map-reduce
    def map(self, fn, *per_block, **kw) -> list:
        return [fn(*items, **kw) for items in zip(*per_block, strict=True)]

    def gather(self, handles) -> list:
        return list(handles)

    def quantiles(self, values, n, qs, lo, hi) -> list[float]:
        joined = values[0] if len(values) == 1 else np.concatenate(values)
        return [float(v) for v in np.quantile(joined, qs)] if len(joined) else [0.0] * len(qs)

    # ------------------------------------------------------------ whole-input facts
    def fingerprint(self, data: Data) -> str:
        h = hashlib.sha256()
        X = data.blocks[0][0]
        h.update(fingerprint_header(len(X), X.shape[1], X.dtype))
        h.update(memoryview(np.ascontiguousarray(X).reshape(-1).view(np.uint8)))
        return h.hexdigest()

    def distinct_rows(self, data: Data, enough: int) -> int:
        X = data.fit[0]
        # the first rows nearly always hold enough: sorting a million rows took 1.5 s
        head = min(len(X), max(1_000, 64 * enough))
        first = len(np.unique(np.round(X[:head], 12), axis=0))
        if first >= enough or head == len(X):
            return first
        return len(np.unique(np.round(X, 12), axis=0))

    # ------------------------------------------------------------ where the work runs
    def here(self, handles) -> np.ndarray:
        return handles[0] if len(handles) == 1 else np.concatenate(handles)

    @contextlib.contextmanager
    def workers(self):
        with workers(self.threads) as pool:
            yield pool

    # ------------------------------------------------------------ output
    def rows_out(self, data: Data, columns, *per_block):
        return B.frame(data.ids[0], columns(*(items[0] for items in per_block))), None


def _ids(table, roles) -> pd.DataFrame:
    """line, [source], then the input columns the assignments carry (``Roles.shown``)
    under their carried names."""
    out: dict = {"line": table.lines}
    if table.sources is not None:
        out["source"] = table.sources
    for col in roles.shown:
        out[carried_name(col)] = table.frame[col].reset_index(drop=True)
    return pd.DataFrame(out, copy=False)


def _data(table, roles, cleaned: Cleaned, ids, timings, dtype) -> Data:
    d = Described(table.inputs, len(ids), table.dialect, table.notes, table.blank_lines,
                  roles, cleaned.prep, cleaned.report, len(cleaned.fit_X), timings)
    fit = cleaned.fit_X
    same = cleaned.merged is None and len(cleaned.fit_index) == int(cleaned.usable.sum())
    return Data([Block(cleaned.X, cleaned.usable, cleaned.quotes, cleaned.filled)], [ids], [fit],
                np.array([len(fit)]), d, dtype,
                fit_is_usable=same, rows_here=len(cleaned.X))

