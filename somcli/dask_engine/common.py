"""What the Dask runs share: the cleaned input on the cluster, views of it for the
report and model builders, exact medians and ranges, sampled scores, per-cluster
profiles, and the writer of per-partition assignment files.

Every sum is added up on the client in block order, every sample is drawn with the
same generator and row positions as the local engine, and every statistic is exact,
so the two engines give the same codebook and centroids (to float tolerance).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from somcli import metrics
from somcli.config import CleanOptions, ColumnOptions, ReadOptions
from somcli.dask_engine import blocks as B
from somcli.dask_engine import data as D
from somcli.dask_engine.client import DaskOptions
from somcli.dask_engine.order_stats import quantiles
from somcli.pipeline.common import Described, carried_name


@dataclass
class Dist:
    """The cleaned input on the cluster."""

    client: object
    table: D.DistTable
    prep: object  # Preprocessor
    blocks: list  # futures of (X, usable)
    report: dict  # the cleaning section
    dtype: object
    usable_counts: np.ndarray
    ids: list  # futures: line, [source], identifier and label columns of each partition

    @property
    def n_rows(self) -> int:
        return self.table.n_rows

    @property
    def n_fit(self) -> int:
        return int(self.usable_counts.sum())

    def described(self, timings: dict, fingerprint: str | None = None) -> Described:
        """What the report and the model say about the input (as the local engine's)."""
        t = self.table
        return Described(t.inputs, t.n_rows, t.dialect, t.notes, 0, t.roles, self.prep,
                         self.report, self.n_fit, timings, fingerprint=fingerprint)

    def fingerprint(self) -> str:
        """The cleaned matrix's digest, as the local engine computes it."""
        return B.fingerprint(self.client, self.blocks, self.n_rows,
                             len(self.table.roles.features), self.dtype)

def prepare(client, read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions,
            dtype, dopts: DaskOptions, progress) -> Dist:
    progress("reading on the cluster")
    table = D.load(client, read, cols, dopts.blocksize, float_dtype=dtype)
    progress("cleaning statistics over every partition")
    prep, raw, report = D.fit_cleaning(table, cleaning, dtype)
    blocks = client.map(D._on_clean, raw, prep=prep, dtype=dtype, pure=False)
    usable = np.array(client.gather(client.map(_on_usable_count, blocks, pure=False)))
    del raw
    columns = table.roles.ids + ([table.roles.label] if table.roles.label else [])
    ids = client.map(D._on_ids, table.parts, list(table.first_lines), table.files,
                     columns=columns, several=len(table.inputs) > 1, pure=False)
    return Dist(client, table, prep, blocks, report, dtype, usable, ids)

def _on_usable_count(block) -> int:
    return int(block[1].sum())

def _reduce_moments(client, fit):
    parts = client.gather(client.map(B.on_moments, fit, pure=False))
    return (np.sum([p[0] for p in parts], axis=0), np.sum([p[1] for p in parts], axis=0),
            sum(p[2] for p in parts))

def _on_info(ev):
    return ev[2] | {"complete": int(ev[2]["complete"].sum())}

def _on_flag_counts(score, threshold):
    return int((score > threshold).sum())

def _median(client, futures, n) -> float:
    if n == 0:
        return 1.0
    lo, hi = _range(client, futures)
    return quantiles(client, futures, n, [0.5], lo, hi)[0]

def _range(client, futures) -> tuple[float, float]:
    parts = client.gather(client.map(_on_minmax, futures, pure=False))
    parts = [p for p in parts if p is not None]
    return (min(p[0] for p in parts), max(p[1] for p in parts)) if parts else (0.0, 0.0)

def _on_minmax(values):
    return (float(values.min()), float(values.max())) if len(values) else None

def _scores_on_sample(client, per_block: list, counts: np.ndarray, seed: int, take) -> dict:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz on the rows the local engine would
    sample: the same generator over the same positions among the scorable rows."""
    n = int(counts.sum())
    out = {"silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}
    for key, size, fn in (("silhouette", metrics.SILHOUETTE_SAMPLE, metrics.silhouette_score),
                          ("davies_bouldin", metrics.INDEX_SAMPLE, metrics.davies_bouldin_score),
                          ("calinski_harabasz", metrics.INDEX_SAMPLE,
                           metrics.calinski_harabasz_score)):
        pick = np.arange(n) if n <= size else np.sort(
            np.random.default_rng(seed).choice(n, size=size, replace=False))
        rows = B.gather_rows(client, per_block, counts, pick, fn=take)
        if len(rows) == 0:
            continue
        X, lab = rows[:, :-1], rows[:, -1].astype(np.int64)
        if 2 <= len(np.unique(lab)) < len(lab):
            value = float(fn(X, lab))
            out[key] = value if np.isfinite(value) else None
    return out

def _profiles(client, dist, labels, k) -> list[dict]:
    parts = client.gather(client.map(B.on_cluster_sums, dist.blocks, labels, k=k, pure=False))
    sums = np.sum([p[0] for p in parts], axis=0)
    counts = np.sum([p[1] for p in parts], axis=0)
    sizes = np.sum([p[2] for p in parts], axis=0)
    total = int(sizes.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        means = dist.prep.to_original(sums / counts)
    feats = dist.table.roles.features
    return [{"cluster": j, "size": int(sizes[j]), "share": sizes[j] / total if total else 0.0,
             "means": {f: (float(v) if np.isfinite(v) else None)
                       for f, v in zip(feats, means[j], strict=True)}} for j in range(k)]

def _parts_writer(client, dist, build, per_block: list):
    """How `write` puts the assignments on disk: one CSV per partition, written by the
    workers, in input order; or one file when asked (joined by streaming the parts)."""
    ids = dist.ids

    def write(folder: str, fmt: str, safe: bool) -> list[str]:
        os.makedirs(folder, exist_ok=True)
        names = [f"part-{i:05d}.{fmt}" for i in range(len(ids))]
        paths = [os.path.join(folder, n) for n in names]
        futures = client.map(_on_write_part, paths, ids, *per_block, build=build, fmt=fmt,
                             safe=safe, pure=False)
        client.gather(futures)
        return names

    return write

def _on_write_part(path, ids, *arrays, build, fmt, safe):
    from somcli.io.write import write_table

    write_table(build(ids, *arrays), path, fmt, safe)
    return path

def _on_label_counts(labels, k):
    return np.bincount(labels[labels >= 0], minlength=k)


def label_scores_on_cluster(client, dist, labels, warnings: list[str]) -> dict | None:
    """The external scores from every partition's (class, cluster) counts."""
    from collections import Counter

    from somcli.pipeline.common import label_scores

    label = dist.table.roles.label
    if not label:
        return None
    total: Counter = Counter()
    for counts in client.gather(client.map(_on_class_counts, dist.ids, labels, label=label,
                                           pure=False)):
        total.update(counts)
    return label_scores(dict(total), label, warnings)


def _on_class_counts(ids, labels, label):
    return metrics.class_counts(labels, ids[carried_name(label)].to_numpy(dtype=object))
