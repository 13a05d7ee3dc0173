"""The Backend interface: what the pipeline asks of wherever the rows live.

The pipeline (``somcli/pipeline/``) is written once against this interface. A backend
reads and cleans the input into *blocks* of rows (:class:`Block`: scaled features, which
rows get an assignment, and the input values the outputs quote), maps functions of
:mod:`somcli.algorithms.blocks` over them and brings the (small) results back in block
order, draws rows at given positions, computes exact quantiles, places rows on a device,
and writes the per-row outputs. Its primitives are generic: no method is named after an
algorithm, and nothing here imports the pipeline; the per-block work is
:mod:`somcli.algorithms.blocks` and each fit's partial sums are in ``algorithms/``. Handles
(``list`` of per-block results) are opaque to the pipeline: values in this process for
``local`` and ``gpu`` (the local backend with its rows on a GPU), futures on the workers
for ``dask``.

Every figure a backend returns equals, to float tolerance, what another backend
returns for the same input: sums are added in block order, samples use the same
generator over the same row positions, and statistics are exact.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from somcli.algorithms.blocks import carried_name
from somcli.algorithms.nearest import nearest
from somcli.io.read import Dialect
from somcli.prep import roles as R
from somcli.prep.clean import Preprocessor
from somcli.runtime import interrupts

Progress = Callable[[str], None]


def quiet(_msg: str) -> None:
    return None


def feature_labels(features: list[str], taken) -> list[str]:
    """Feature column names in a table beside somcli's own columns ``taken`` (codebook,
    centroids, outliers): a feature named like one of them is written ``input_NAME``."""
    taken = set(taken)
    return [f"input_{f}" if f in taken else f for f in features]


def model_dtype(model):
    """The precision a saved model was trained in (its rows are replayed in it)."""
    from somcli.config import DTYPES

    params = model.meta["algorithm"].get("params") or {}
    return DTYPES[params.get("dtype", "float64")]


def fingerprint_header(n: int, d: int, dtype) -> bytes:
    """What the digest of a cleaned matrix starts with (then its bytes, row by row)."""
    return f"{np.dtype(dtype).str}{(n, d)}".encode()


@dataclass
class Described:
    """What reports, models, tables and pictures say about a run's input, whichever
    backend read and cleaned it."""

    inputs: list[str]
    rows: int
    dialect: Dialect
    notes: list[str]
    blank_lines: int
    roles: R.Roles
    prep: Preprocessor  # the fitted cleaning
    cleaning: dict  # the report's cleaning section
    n_fit: int  # rows the model is fitted on
    timings: dict[str, float] = field(default_factory=dict)
    fingerprint: str | None = None  # of the cleaned matrix (set before a model is built)


@dataclass
class Data:
    """The cleaned input, wherever it lives."""

    blocks: list  # handles of Block
    ids: list  # handles of the carried frames: line, [source], identifiers, categories,
    #            dates, label
    fit: list  # handles of the rows the model is fitted on
    fit_counts: np.ndarray  # rows of each fit handle
    described: Described
    dtype: object
    fit_is_usable: bool = True  # the fit rows are the usable rows of the blocks, in order
    rows_here: int = 0  # rows held in this process (for memory estimates)

    @property
    def n_fit(self) -> int:
        return int(self.fit_counts.sum())

    @property
    def label(self) -> str | None:
        """The label column's name in the identifier frames (None: no label column)."""
        label = self.described.roles.label
        return carried_name(label) if label else None


@dataclass
class Replayed:
    """New rows through a saved model's cleaning (``assign``, ``som --resume``)."""

    data: Data
    stats: dict  # feature -> {"missing_share", "mean"} of the raw new rows (drift)
    warnings: list[str]
    notes: list[str]


class Backend(ABC):
    """Where the rows live. Implementations: ``local.py``, ``dask.py``."""

    name: str
    threads: int = 1  # threads one block's work may use
    device: str | None = None  # the device the per-block work runs on (None: the CPU)
    where: str = "here"  # where the work runs, as the report's algorithm line says it

    @classmethod
    @abstractmethod
    def open(cls, options, progress: Progress) -> contextlib.AbstractContextManager:
        """A context manager giving a ready backend (connected, started), closed after."""

    #: the best-unit search the per-block functions run (``search=`` of ``blocks.evaluate``
    #: and ``blocks.assign``): ``nearest`` on the CPU; a GPU backend puts its own here
    search = staticmethod(nearest)

    def parameters(self, data: Data) -> dict:
        """What the report's parameters say about the backend (none for local)."""
        return {}

    def device_memory(self, data: Data, units: int) -> dict[str, float]:
        """Bytes the backend holds outside this process's memory for a fit against
        ``units`` centres or units (a GPU's copy of the rows), which ``--max-memory``
        counts too: name -> bytes."""
        return {}

    # ------------------------------------------------------------ input
    @abstractmethod
    def load(self, read, cols, cleaning, *, dtype, allow_mask: bool, progress: Progress,
             stdin=None, on_read: Callable[[int | None], None] | None = None) -> Data:
        """Read, decide the column roles and clean (fitting the cleaning); ``on_read(rows)``
        is called once the rows are read, before they are cleaned (None: not counted)."""

    @abstractmethod
    def replay(self, model, read, explicit: frozenset, *, progress: Progress,
               stdin=None) -> Replayed:
        """Read new rows and run them through ``model``'s stored cleaning (never refit)."""

    # ------------------------------------------------------------ map-reduce over blocks
    @abstractmethod
    def map(self, fn: Callable, *per_block, **kw) -> list:
        """``fn(*items, **kw)`` for every block (the i-th item of each ``per_block``),
        results kept where the blocks are."""

    @abstractmethod
    def gather(self, handles: list) -> list:
        """The results behind ``handles``, here, in block order."""

    def reduce(self, fn: Callable, *per_block, **kw) -> list:
        """``gather(map(...))``: for small per-block results."""
        out = self.gather(self.map(fn, *per_block, **kw))
        interrupts.check()  # a Ctrl-C that was dropped on the way (see somcli.runtime.interrupts)
        return out

    def take(self, per_block: list, counts: np.ndarray, positions: np.ndarray,
             fn: Callable) -> np.ndarray:
        """Rows at global ``positions`` (over blocks of ``counts`` rows), in that order:
        ``fn(item, local_positions)`` picks them in each block that holds some (mapped
        over those blocks only)."""
        offsets = np.concatenate([[0], np.cumsum(counts)])
        owner = np.searchsorted(offsets, positions, side="right") - 1
        blocks = np.unique(owner)
        where = [np.flatnonzero(owner == b) for b in blocks]
        picked = self.reduce(fn, [per_block[b] for b in blocks],
                             [positions[w] - offsets[b] for w, b in zip(where, blocks,
                                                                          strict=True)])
        if not picked:
            return np.empty(0)
        out = np.empty((len(positions),) + picked[0].shape[1:], dtype=picked[0].dtype)
        for w, values in zip(where, picked, strict=True):
            out[w] = values
        return out

    @abstractmethod
    def quantiles(self, values: list, n: int, qs: list[float], lo: float, hi: float
                  ) -> list[float]:
        """numpy's default (linear) quantiles of the ``n`` values behind ``values``
        (1-d arrays), exactly; ``lo`` and ``hi`` bound them."""

    # ------------------------------------------------------------ whole-input facts
    @abstractmethod
    def fingerprint(self, data: Data) -> str:
        """SHA-256 of the cleaned matrix (:func:`fingerprint_header`, then the bytes)."""

    @abstractmethod
    def distinct_rows(self, data: Data, enough: int) -> int:
        """How many different fit rows there are (rounded to 12 decimals): exactly when
        fewer than ``enough``, else any number from ``enough`` up."""

    # ------------------------------------------------------------ where the work runs
    def here(self, handles: list) -> np.ndarray | None:
        """The arrays behind ``handles`` joined in this process (one block: the array
        itself, no copy), or None when they live elsewhere (a cluster's workers)."""
        return None

    @contextlib.contextmanager
    def placed(self, handles: list, units: int):
        """Device arrays: ``handles`` as the per-block functions take them for work against
        ``units`` centres or units (the same handles on a CPU; a GPU's copies, kept while
        the context lasts)."""
        yield handles

    @contextlib.contextmanager
    def workers(self):
        """The thread pool per-block functions that take ``pool=`` share across calls
        (None: each call runs on its own)."""
        yield None

    # ------------------------------------------------------------ output
    @abstractmethod
    def rows_out(self, data: Data, columns: Callable, *per_block):
        """The per-row output: ``columns(*items)`` gives a block's algorithm columns.
        Returns (DataFrame, None) when the rows are here, else (None, parts) where
        ``parts(folder, ext, safe, precision) -> names`` writes one file per block."""


