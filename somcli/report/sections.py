"""The report of a run as typed sections, with one ``to_dict()`` (what report.json holds;
its shape is the shipped JSON Schema ``somcli/report_schema.json``).

The pipeline fills a :class:`Report`; the writers, report.md and the terminal summary
read its dictionary. Which optional sections a command's report has is fixed in
``SECTIONS``: a section listed there appears (``null`` when it does not apply, e.g.
no label column), a section not listed never does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from somcli.version import __version__


def _plain(value):
    """A section, a list of them or a value, as JSON-ready data."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return float(f"{value:.15g}")  # 4.906, not 4.906000000000001 (a sum's last bit)
    return value


INTERNAL = {"internal": True}  # a field's metadata: kept for the pictures, never written


class Section:
    """A dataclass whose dictionary is its fields in order (``None`` kept, except fields
    listed in ``OMIT_NONE``, which appear only when set; fields marked ``INTERNAL`` are for
    the pictures and never written)."""

    OMIT_NONE: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)
                if not f.metadata.get("internal")
                and not (f.name in self.OMIT_NONE and getattr(self, f.name) is None)}


@dataclass
class Input(Section):
    files: list[str]
    rows: int
    columns: int
    dialect: dict
    notes: list[str]
    empty_lines_skipped: int


@dataclass
class MapSection(Section):
    rows: int
    cols: int
    topology: str
    units: int
    size_rule: str
    trainer: str
    epochs: int
    sigma: float
    sigma_end: float
    decay: str
    neighborhood: str
    init: str
    quantization_error: float | None
    topographic_error: float | None
    dead_units: int
    dead_share: float
    umatrix_mean: float
    umatrix_max: float
    resumed: dict | None = None  # model, codebook_shift_mean, codebook_shift_max

    OMIT_NONE = ("resumed",)


@dataclass
class KSelection(Section):
    method: str
    scores: dict  # k -> score (None where undefined)
    chosen: int
    evidence: dict | None = None  # k -> every index, the stability, the smallest cluster
    note: str | None = None  # e.g. "k is a guess" on a handful of rows
    structure: dict | None = None  # clear, weak or none, against references without clusters
    alternatives: list | None = None  # other k nearly as well supported: k, why

    OMIT_NONE = ("evidence", "note", "structure", "alternatives")


@dataclass
class Fit(Section):
    inertia: float
    iterations: int


@dataclass
class Profile(Section):
    cluster: int
    size: int
    share: float
    means: dict  # feature -> mean in original units (None: no value)
    distinguishing: list = field(default_factory=list)  # feature, effect (d), mean, mean_rest
    typical: list = field(default_factory=list)  # the rows nearest the cluster's mean
    categories: dict | None = None  # category column -> value -> share of the cluster
    labels: dict | None = None  # label -> rows (with --label-column)
    scaled: list | None = field(default=None, metadata=INTERNAL)  # means, scaled units
    differences: list | None = field(default=None, metadata=INTERNAL)  # per feature, in SDs

    OMIT_NONE = ("categories", "labels")


@dataclass
class Scores(Section):
    silhouette: float | None = None
    davies_bouldin: float | None = None
    calinski_harabasz: float | None = None


@dataclass
class OutlierRow(Section):
    row: str
    line: int
    score: float
    qe: float
    cluster: int


@dataclass
class Outliers(Section):
    method: str  # "robust" (the default), "quantile" (--outliers Q), "legacy" (an old model)
    rule: str  # how the threshold was set, in words
    quantile: float | None
    threshold: float | None  # on the score; None: nothing is flagged
    count: int
    rows: list[OutlierRow]


@dataclass
class ModelRef(Section):
    path: str
    kind: str
    clusters: int
    trained_on: list[str] | None
    training_rows: int
    created: str | None


@dataclass
class Drift(Section):
    verdict: str
    drifted: bool
    flags: list[str]
    summary: list[str]
    rows_now: int
    rows_training: int
    quality_now: float | None
    quality_training: float | None
    quality_ratio: float | None
    outlier_share: float | None
    cluster_tvd: float
    clusters: list[dict]
    columns: list[dict]


#: command -> the optional sections its report has, in report.json's order
SECTIONS = {
    "kmeans": ("embedding", "k_selection", "fit", "clusters", "metrics", "external",
               "runtime_seconds"),
    "som": ("embedding", "map", "k_selection", "clusters", "metrics", "external", "outliers",
            "runtime_seconds"),
    "assign": ("model", "drift", "embedding", "clusters", "metrics", "external",
               "runtime_seconds"),
    "embed": ("embedding", "runtime_seconds"),
}


@dataclass
class Report:
    """What a run says about itself."""

    command: str
    input: Input
    columns: list[dict]  # each column's role and why (prep.roles.ColumnDecision)
    features: list[str]
    identifiers: list[str]
    label_column: str | None
    cleaning: dict  # what cleaning found and did (prep.clean and the backends build it)
    parameters: dict
    warnings: list[str]
    versions: dict
    model: ModelRef | None = None
    drift: Drift | None = None
    map: MapSection | None = None
    k_selection: KSelection | None = None
    fit: Fit | None = None
    clusters: list[Profile] | None = None
    metrics: Scores | None = None
    external: dict | None = None  # rows_scored, classes, ari, nmi, purity
    outliers: Outliers | None = None
    embedding: dict | None = None  # embed: method, curve, held-out errors (pipeline.embed)
    runtime_seconds: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"somcli_version": __version__, "command": self.command}
        for name in ("input", "columns", "features", "identifiers", "label_column", "cleaning",
                     "parameters", "warnings", "versions",
            *SECTIONS.get(self.command, SECTIONS["kmeans"])):  # a new clustering command
            out[name] = _plain(getattr(self, name))
        return out

