"""The Backend interface: what the pipeline asks of wherever the rows live.

The pipeline (``somcli/pipeline/``) is written once against this interface. A backend
reads and cleans the input into *blocks* of rows (:class:`Block`: scaled features, which
rows get an assignment, and the input values the outputs quote), maps functions of
:mod:`somcli.pipeline.blocks` over them and brings the (small) results back in block
order, draws rows at given positions, computes exact quantiles, trains where training must stay close to the
rows, and writes the per-row outputs. Handles (``list`` of per-block results) are
opaque to the pipeline: values in this process for ``local`` and ``gpu`` (the local
backend with its search, sums and Lloyd's k-means on a GPU), futures on the workers for
``dask``.

Every figure a backend returns equals, to float tolerance, what another backend
returns for the same input: sums are added in block order, samples use the same
generator over the same row positions, and statistics are exact.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from somcli.algorithms.nearest import nearest
from somcli.io.read import Dialect
from somcli.prep import roles as R
from somcli.prep.clean import Preprocessor
from somcli.prep.quotes import Quotes
from somcli.runtime import interrupts

Progress = Callable[[str], None]


def quiet(_msg: str) -> None:
    return None


class Block(NamedTuple):
    """One block of cleaned rows."""

    X: np.ndarray  # n x d scaled features (the model's precision)
    usable: np.ndarray  # bool per row: gets an assignment
    quotes: Quotes | None = None  # the input values, exactly (prep.quotes)


#: the columns somcli writes into the assignments under these names, whatever the input has
OWN_COLUMNS = ("line", "source", "cluster", "distance", "bmu_row", "bmu_col", "qe",
               "outlier_score", "is_outlier")


def carried_name(column: str) -> str:
    """The name an input column carried into the assignments has (every backend): its
    own, or ``input_NAME`` when somcli writes a column of that name."""
    return column if column not in OWN_COLUMNS else f"input_{column}"


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
             stdin=None) -> Data:
        """Read, decide the column roles and clean (fitting the cleaning)."""

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

    @abstractmethod
    def take(self, per_block: list, counts: np.ndarray, positions: np.ndarray,
             fn: Callable) -> np.ndarray:
        """Rows at global ``positions`` (over blocks of ``counts`` rows), in that order:
        ``fn(item, local_positions)`` picks them in each block."""

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

    # ------------------------------------------------------------ fitting
    @abstractmethod
    def som_sums(self, data: Data, chunk: int) -> contextlib.AbstractContextManager[
            Callable]:
        """A context manager giving ``sums(W) -> (sums, counts, qe_sum, rows)``: one
        batch-SOM epoch's partial sums over the fit rows."""

    @abstractmethod
    def fit_matrix(self, data: Data) -> np.ndarray:
        """Every fit row in this process (row-by-row training), or a UsageError."""

    @abstractmethod
    def kmeans(self, data: Data, k: int, *, seed: int, n_init: int | None, minibatch: bool,
               progress: Progress):
        """k-means on the fit rows: (KMeansFit, what the report calls the algorithm)."""

    # ------------------------------------------------------------ output
    @abstractmethod
    def rows_out(self, data: Data, columns: Callable, *per_block):
        """The per-row output: ``columns(*items)`` gives a block's algorithm columns.
        Returns (DataFrame, None) when the rows are here, else (None, parts) where
        ``parts(folder, ext, safe, precision) -> names`` writes one file per block."""


