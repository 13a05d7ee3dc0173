"""The Dask backend: one block per partition, kept on the workers as futures (with their
lineage, so a lost worker's blocks are recomputed); the client adds up small results.

Install with ``pip install 'somcli[dask]'``; the same somcli version must be installed
on the scheduler's workers, and the input files must be readable by the workers at the
same path. The cluster-side pieces live in :mod:`somcli.backends.dask_cluster`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os

import numpy as np
import pandas as pd

from somcli.algorithms import blocks as B
from somcli.algorithms.blocks import OWN_COLUMNS
from somcli.backends.base import (
    Backend,
    Data,
    Described,
    Replayed,
    fingerprint_header,
    model_dtype,
    quiet,
)
from somcli.backends.dask_cluster import data as D
from somcli.backends.dask_cluster import partitions as P
from somcli.backends.dask_cluster import report_rows
from somcli.backends.dask_cluster.client import map_on
from somcli.backends.dask_cluster.diagnose import diagnosed
from somcli.backends.dask_cluster.order_stats import quantiles
from somcli.config import DaskOptions
from somcli.prep import replay as RP
from somcli.prep.clean import MAX_NAMED_ROWS, check_missing


class DaskBackend(Backend):
    name = "dask"
    threads = 1  # per task: the workers' threads run the blocks side by side
    where = "on Dask"

    def __init__(self, client, options):
        self.client, self.options = client, options

    @classmethod
    @contextlib.contextmanager
    def open(cls, options, progress=quiet):
        from somcli.backends.dask_cluster.client import connect

        dask = options.dask or DaskOptions()
        with connect(dask, progress) as client:
            yield cls(client, dask)

    def parameters(self, data: Data) -> dict:
        return {"engine": "dask", "partitions": len(data.blocks)}

    # ------------------------------------------------------------ input
    def load(self, read, cols, cleaning, *, dtype=np.float64, allow_mask=False,
             progress=quiet, stdin=None, on_read=None) -> Data:
        check_missing(cleaning, allow_mask)
        with diagnosed(read, cols):
            progress("reading on the cluster")
            table = D.load(self.client, read, cols, self.options.blocksize)
            if on_read is not None:
                on_read(None)
            ids = self._ids(table)
            progress("cleaning statistics over every partition")
            prep, raw, report = D.fit_cleaning(table, cleaning)
            table.parts = None  # the frames as read go once nothing needs them (memory)
            blocks = self.map(D.on_clean, raw, prep=prep, dtype=dtype)
            del raw  # likewise the float64 features, once their blocks are made
            return self._data(table, prep, blocks, ids, report, dtype)

    def replay(self, model, read, explicit, *, progress=quiet, stdin=None) -> Replayed:
        read = RP.reading(read, model, explicit)
        prep = model.preprocessor()
        dtype = model_dtype(model)
        with diagnosed(read, None, roles=False):
            progress("reading on the cluster")
            table = D.load(self.client, read, None, self.options.blocksize,
                           roles_fn=lambda sample: RP.roles(model, sample))
            feats = table.roles.features
            ids = self._ids(table)
            pairs = self.map(_on_replay_raw, table.parts, feats=feats, rules=prep.rules)
            raw = self.map(B.first, pairs)
            facts = self.reduce(_on_replay_facts, pairs, table.parts)
        gaps, sums, present = (np.sum([f[i] for f in facts], axis=0) for i in range(3))
        stats = RP.stats(table.n_rows, gaps, sums, present, feats)
        gap_stats = [{"gap_rows": f[3]} for f in facts]
        n_gap_rows = sum(f[4] for f in facts)
        named = report_rows.name_gap_rows(table, gap_stats)
        table.parts = None  # the frames as read go once nothing needs them (memory)
        blocks = self.map(D.on_clean, raw, prep=prep, dtype=dtype)
        del raw, pairs
        data = self._data(table, prep, blocks, ids, {}, dtype)
        cells = {f: int(k) for f, k in zip(feats, gaps, strict=True) if k}
        data.described.cleaning = RP.replay_report(prep, cells, int(n_gap_rows), named,
                                                table.n_rows, data.n_fit)
        bad = RP.merge_unreadable([f[5] for f in facts])
        notes = RP.ignored_note(model, table.sample)
        return Replayed(data, stats, RP.unreadable_warnings(bad), notes)

    def _ids(self, table) -> list:
        """Each partition's line numbers, source and carried columns (made first, so that
        the frames as read can go before the cleaned blocks are made)."""
        return self.map(D.on_ids, table.parts, table.files,
                        columns=table.roles.shown, several=len(table.inputs) > 1)

    def _data(self, table, prep, blocks, ids, report, dtype) -> Data:
        usable = np.array(self.reduce(B.usable_count, blocks))
        fit = self.map(B.fit_rows, blocks)
        d = Described(table.inputs, table.n_rows, table.dialect, table.notes, 0, table.roles,
                      prep, report, int(usable.sum()))
        return Data(blocks, ids, fit, usable, d, dtype)

    # ------------------------------------------------------------ map-reduce
    def map(self, fn, *per_block, **kw) -> list:
        return map_on(self.client, fn, *per_block, **kw)

    def gather(self, handles) -> list:
        return self.client.gather(handles)

    def quantiles(self, values, n, qs, lo, hi) -> list[float]:
        return quantiles(self.client, values, n, qs, lo, hi) if n else [0.0] * len(qs)

    # ------------------------------------------------------------ whole-input facts
    def fingerprint(self, data: Data) -> str:
        h = hashlib.sha256()
        d = len(data.described.roles.features)
        h.update(fingerprint_header(data.described.rows, d, data.dtype))
        for future in self.map(_on_matrix, data.blocks):  # one block at a time here
            block = future.result()
            h.update(memoryview(block.reshape(-1).view(np.uint8)))
            del block, future
        return h.hexdigest()

    def distinct_rows(self, data: Data, enough: int) -> int:
        first = self.client.submit(_on_distinct, data.fit[0], pure=False).result()
        if first >= enough:  # the usual case: no need to count over every partition
            return first
        return report_rows.repeated(self.client, self.map(_on_row_hash, data.fit))[1]

    # ------------------------------------------------------------ output
    def rows_out(self, data: Data, columns, *per_block):
        client, ids = self.client, data.ids

        def parts(folder: str, fmt: str, safe: bool, precision: int | None = None) -> list[str]:
            """One file per partition, written by the workers, in input order."""
            os.makedirs(folder, exist_ok=True)
            names = [f"part-{i:05d}.{fmt}" for i in range(len(ids))]
            paths = [os.path.join(folder, n) for n in names]
            client.gather(map_on(client, _on_write_part, paths, ids, *per_block, columns=columns,
                                     fmt=fmt, safe=safe, precision=precision))
            return names

        return None, parts


# ---------------------------------------------------------------- on the workers

def _on_replay_raw(part: pd.DataFrame, feats, rules):
    return RP.features(part, feats, rules, P.lines(part))


def _on_replay_facts(pair, part: pd.DataFrame):
    """Gaps, sums and counts per column, the first gap rows, their number, unreadable."""
    raw, bad = pair
    gappy = np.isnan(raw).any(axis=1)
    rows = P.lines(part)[np.flatnonzero(gappy)[:MAX_NAMED_ROWS]].tolist()
    return (*RP.raw_sums(raw), rows, int(gappy.sum()), bad)


def _on_matrix(block) -> np.ndarray:
    """The block's matrix as it is (no copy when contiguous: a bytes copy on every worker at
    once took the 10M-row run's workers past their memory limit)."""
    return np.ascontiguousarray(block[0])


def _on_distinct(X: np.ndarray) -> int:
    return len(np.unique(np.round(X, 12), axis=0)) if len(X) else 0


def _on_row_hash(X: np.ndarray) -> np.ndarray:
    rounded = np.round(np.asarray(X, dtype=np.float64), 12) + 0.0  # -0.0 counts as 0.0
    h = pd.util.hash_pandas_object(pd.DataFrame(rounded), index=False).to_numpy()
    return np.where(h == 0, np.uint64(1), h)  # 0 means "no value" to the counter


def _on_write_part(path, ids, *arrays, columns, fmt, safe, precision):
    from somcli.io.write import write_table

    write_table(B.frame(ids, columns(*arrays)), path, fmt, safe, precision, OWN_COLUMNS)
    return path
