"""Frozen settings for one run. No I/O here: the CLI (or a script) builds these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

#: Tokens read as missing unless ``--na-values`` replaces them (the empty string always is).
DEFAULT_NA_VALUES: tuple[str, ...] = (
    "NA", "N/A", "n/a", "na", "NaN", "nan", "NAN", "null", "NULL", "Null",
    "None", "none", "-", "?", "#N/A",
    # "not available" as statistics offices and other languages write it
    "n.a.", "N.A.", "k.A.", "n.v.", ":", "..", "...",
    # a missing number as SAS, Stata and SPSS export it
    ".",
    # a spreadsheet's error values (English, German, French, Spanish): no value was computed
    "#NV", "#NA", "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#WERT!",
    "#BEZUG!", "#ZAHL!", "#NUL!", "#VALEUR!", "#NOM?", "#NOMBRE!", "#¡NULO!", "#¡DIV/0!",
    "#¡VALOR!", "#¡REF!", "#¿NOMBRE?", "#¡NUM!",
)

# Every option's values, written once: a Literal type for the settings below and, from it,
# the tuple the command line offers (``get_args``); the JSON schemas' copies are tested equal.
DEDUPE_METHODS = ("none", "first", "last", "mean")
#: embed --method and --embed METHOD: each is a module of algorithms/embedding.METHODS
EmbedMethod = Literal["rbm", "autoencoder"]
EMBED_METHODS = get_args(EmbedMethod)
#: --missing: one fill value per column (FILLS), the nearest rows, rows left out, or (SOM)
#: the gaps ignored by the distance
Missing = Literal["median", "mean", "most-frequent", "knn", "drop", "mask"]
MISSING_METHODS = get_args(Missing)
FILLS = MISSING_METHODS[:3]
Scale = Literal["standard", "minmax", "robust", "none"]
SCALES = get_args(Scale)  # --scale
Categorical = Literal["none", "onehot"]  # --categorical: category columns as features?
DecimalMark = Literal[".", ","]  # --decimal
Device = Literal["cpu", "cuda", "auto"]  # --device (backends/gpu.py)
FORMATS = ("csv", "tsv", "json", "ndjson")
COLOR_SCALES = ("auto", "robust", "linear", "log", "quantile")  # map pictures: report.colour_scale


@dataclass(frozen=True)
class ReadOptions:
    """How to turn bytes into a table."""

    inputs: tuple[str, ...] = ("-",)
    delimiter: str | None = None  # None: sniff among , ; TAB |
    encoding: str = "utf-8"
    decimal: str | None = None  # None: "," for ;-separated files with decimal commas
    header: bool = True
    skip_lines: int | None = None  # None: a title line or two above the table is skipped
    quotechar: str = '"'
    na_values: tuple[str, ...] = DEFAULT_NA_VALUES
    memory_limit: int | None = None  # bytes the run may use (--max-memory); None: no check
    all_columns: bool = False  # -a: the assignments carry every input column
    keep_totals: bool = False  # keep totals rows at a table's ends (prep.summary_rows)


@dataclass(frozen=True)
class ColumnOptions:
    """Which columns are features, identifiers or a known label."""

    columns: str | None = None  # -c: names, 1-based indices, ranges
    not_columns: str | None = None  # -C
    id_columns: tuple[str, ...] = ()
    label_column: str | None = None
    max_missing: float = 0.5
    categorical: Categorical = "none"


@dataclass(frozen=True)
class CleanOptions:
    missing: Missing = "median"
    dedupe: str = "none"
    dedupe_by: str | None = None
    scale: Scale = "standard"
    knn_neighbors: int = 5


#: The clustering commands and model kinds (``somcli.cluster(method=...)``). A kind named
#: X is fitted and assigned by ``somcli.pipeline.X`` and its model's arrays are declared by
#: ``somcli.algorithms.X`` (``model_arrays``, ``check_model``): one line here adds it to the
#: JSON Schemas (``python tests/cli_reference.py --write``), the model checks and assign.
Clustering = Literal["kmeans", "som"]
CLUSTERINGS = get_args(Clustering)

#: -k, one encoding for every command: a number of clusters, ``"auto"`` (chosen over
#: 2..k_max, :mod:`somcli.algorithms.choose`) or, for a map, ``"units"`` (each unit its own
#: cluster: no second level)
K = int | Literal["auto", "units"]


class KChoice:
    """What -k says, read the same way by every command's options."""

    k: K
    WORDS: tuple[str, ...] = ("auto",)  # the words this command's -k takes

    def __post_init__(self):
        k = self.k
        if isinstance(k, np.integer):  # a numpy number from Python code
            k = int(k)
            object.__setattr__(self, "k", k)
        if isinstance(k, bool) or not (isinstance(k, int) and k >= 2 or k in self.WORDS):
            from somcli.errors import UsageError

            raise UsageError(f"k={k!r}: a whole number of clusters from 2, or "
                             f"{' or '.join(map(repr, self.WORDS))}")

    @property
    def k_auto(self) -> bool:
        return self.k == "auto"

    @property
    def k_given(self) -> int | None:
        """The number asked for (None for auto or units)."""
        return self.k if isinstance(self.k, int) else None


@dataclass(frozen=True)
class KMeansOptions(KChoice):
    k: K = "auto"
    k_max: int = 10
    n_init: int | None = None  # None: scikit-learn's default
    minibatch_rows: int = 200_000
    seed: int = 0


Trainer = Literal["batch", "online"]
Topology = Literal["hex", "rect"]
Init = Literal["pca", "random"]
Decay = Literal["linear", "exponential"]
Neighborhood = Literal["gaussian", "bubble", "triangle", "mexican_hat"]
UmatrixStat = Literal["mean", "median", "min", "max"]
Precision = Literal["float32", "float64"]

#: --dtype -> numpy type
DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class SomOptions:
    """What trains the map."""

    rows: int | None = None  # None with cols None: the SOM Toolbox size rule
    cols: int | None = None
    topology: Topology = "hex"
    init: Init = "pca"
    epochs: int | None = None  # None: chosen from the trainer
    sigma: float | None = None  # None: chosen from the map size
    sigma_end: float | None = None
    decay: Decay = "linear"
    learning_rate: float = 0.5
    neighborhood: Neighborhood = "gaussian"
    train: Trainer = "batch"
    max_units: int = 2500
    seed: int = 0


@dataclass(frozen=True)
class UnitOptions(KChoice):
    """What is made of a trained map: clusters of units, U-matrix, outliers."""

    WORDS = ("auto", "units")
    k: K = "auto"
    k_max: int = 10
    umatrix_stat: UmatrixStat = "mean"
    outliers: float | None = None  # None: the robust rule; a number: that quantile


@dataclass(frozen=True)
class DaskOptions:
    scheduler: str | None = None  # tcp://host:8786
    scheduler_file: str | None = None
    blocksize: str | int | None = "64MB"


@dataclass(frozen=True)
class Execution:
    """How a run executes: on which backend, threads, precision (the memory limit is
    ``ReadOptions.memory_limit``, resolved once from --max-memory)."""

    engine: str = "local"  # a name in somcli.backends.BACKENDS
    threads: int | None = None  # None: SOMCLI_THREADS, else the CPUs
    dtype: Precision = "float64"
    dask: DaskOptions | None = None
    device: Device = "cpu"

    @property
    def float_type(self):
        return DTYPES[self.dtype]


@dataclass(frozen=True)
class OutputOptions:
    out: str | None = None
    force: bool = False
    format: str = "csv"
    plots: bool = True
    safe_csv: bool = True
    model_out: str | None = None  # write model.json + model.npz here too
    summary_json: bool = False  # one JSON line on stdout at the end (needs out)
    wait: float = 0.0  # seconds to wait for another run holding the output folder's lock
    single_file: bool = False  # distributed runs: one assignments file, not part files
    output_file: str | None = None  # -O: the assignments alone, into this file (atomically)
    precision: int | None = None  # significant digits of computed numbers (None: shortest)
    html: bool = True  # report.html beside report.md
    color_scale: str = "auto"  # map pictures: auto, robust, linear, log, quantile

