"""`somcli assign --engine dask`: a saved model replayed on the partitions, with drift."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from somcli.algorithms.grid import Grid
from somcli.config import ReadOptions
from somcli.dask_engine import blocks as B
from somcli.dask_engine import data as D
from somcli.dask_engine import report_rows
from somcli.dask_engine.client import DaskOptions
from somcli.dask_engine.common import (
    Dist,
    _on_flag_counts,
    _on_info,
    _on_label_counts,
    _on_usable_count,
    _parts_writer,
    _profiles,
    label_scores_on_cluster,
)
from somcli.dask_engine.kmeans import _kmeans_frame, _on_dist_sum, _on_first, kmeans_metrics
from somcli.dask_engine.som import _som_columns_fn
from somcli.errors import DataError
from somcli.pipeline.common import RunResult, base_report
from somcli.pipeline.som import (
    MAX_PROFILES,
)
from somcli.prep.clean import replay_report


def assign(client, model_path: str, read: ReadOptions, dopts: DaskOptions, progress,
           explicit=frozenset()) -> RunResult:
    """Replay a saved model on the cluster: stored cleaning, assignments as part files,
    and the drift section (every statistic over all partitions)."""
    from somcli.model import Model
    from somcli.pipeline import assign as local
    from somcli.prep import roles as R

    t0 = time.perf_counter()
    model = Model.load(model_path, read.memory_limit)
    read = local.reading(read, model, explicit)
    feats, schema = model.features, model.meta["schema"]
    prep_model = model.preprocessor()
    dtype = np.float32 if (model.meta["algorithm"].get("params") or {}).get("dtype") == \
        "float32" else np.float64

    def roles_fn(sample):
        missing = [f for f in feats if f not in sample.columns]
        if missing:
            raise DataError(f"feature column(s) {', '.join(map(repr, missing))} of the model "
                            "are missing", "the columns are: " + ", ".join(
                                map(repr, sample.columns)))
        ids = [c for c in schema["identifiers"] if c in sample.columns]
        label = schema["label"] if schema["label"] in sample.columns else None
        return R.Roles(local.decisions(sample, feats, ids, label), feats, ids, label, {})

    table = D.load(client, read, None, dopts.blocksize, dtype, roles_fn=roles_fn)
    rules = prep_model.rules
    raw = client.map(D._on_raw, table.parts, feats=feats, rules=rules, float_dtype=dtype,
                     strict=False, pure=False)
    unreadable = client.gather(client.map(D._on_unreadable, table.parts, feats=feats,
                                          rules=rules, pure=False))
    part_stats = client.gather(client.map(D._on_stats, raw, table.first_lines,
                                          drop=prep_model.missing == "drop", pure=False))
    stats = D.combine_stats(part_stats)
    blocks = client.map(D._on_clean, raw, prep=prep_model, dtype=dtype, pure=False)
    usable = np.array(client.gather(client.map(_on_usable_count, blocks, pure=False)))
    columns = table.roles.ids + ([table.roles.label] if table.roles.label else [])
    ids = client.map(D._on_ids, table.parts, list(table.first_lines), table.files,
                     columns=columns, several=len(table.inputs) > 1, pure=False)
    cells = {f: int(k) for f, k in zip(feats, stats["missing"], strict=True) if k}
    report_clean = replay_report(prep_model, cells, int(stats["n_gap_rows"]),
                                 report_rows.name_gap_rows(table, part_stats), int(stats["rows"]),
                                 int(usable.sum()))
    dist = Dist(client, table, prep_model, blocks, report_clean, dtype, usable, ids)
    k = model.clusters
    progress("assigning on the cluster")
    if model.kind == "kmeans":
        assigned = client.map(B.on_assign, blocks, centers=model.arrays["centroids"],
                              pure=False)
        labels = client.map(_on_first, assigned, pure=False)
        quality = sum(client.gather(client.map(_on_dist_sum, assigned, pure=False)))
        parts = _parts_writer(client, dist, _kmeans_frame, [assigned])
        outlier_share = None
    else:
        g = model.meta["grid"]
        grid = Grid(g["rows"], g["cols"], g["topology"])
        o = model.meta["outliers"]
        evs = client.map(B.on_evaluate, blocks, W=model.arrays["codebook"], grid=grid,
                         pure=False)
        labels = client.map(B.on_unit_labels, evs, unit_cluster=model.arrays["unit_cluster"],
                            pure=False)
        scores = client.map(B.on_scores, evs, U=model.arrays["umatrix"],
                            ref=(o["qe_median"], o["u_median"]), pure=False)
        infos = client.gather(client.map(_on_info, evs, pure=False))
        flagged = sum(client.gather(client.map(_on_flag_counts, scores,
                                               threshold=o["threshold"], pure=False)))
        found = max(sum(i["found"] for i in infos), 1)
        quality = sum(i["qe_sum"] for i in infos)
        outlier_share = flagged / found
        parts = _parts_writer(client, dist, _som_columns_fn(grid, o["threshold"]),
                              [evs, labels, scores])
    sizes = np.sum(client.gather(client.map(_on_label_counts, labels, k=k, pure=False)),
                   axis=0)
    assigned_rows = max(int(sizes.sum()), 1)
    quality = quality / assigned_rows
    n = table.n_rows
    now = {f: {"missing_share": float(stats["missing"][j] / max(n, 1)),
               "mean": float(stats["mean"][j]) if stats["n"][j] else None}
           for j, f in enumerate(feats)}
    changes = local.drift(model, n, now, sizes / assigned_rows, quality, outlier_share)
    warnings = [f"column '{c}': {v} value(s) could not be read as numbers; counted as missing"
                for c, v in pd.DataFrame(unreadable).sum().items() if v]
    report = base_report("assign", dist.described({}), {"engine": "dask",
                                                       "partitions": len(blocks)},
                         warnings)
    report["model"] = local.model_section(model, model_path)
    report["drift"] = changes
    report["clusters"] = _profiles(client, dist, labels, k) if k <= MAX_PROFILES else None
    report["metrics"] = kmeans_metrics(client, dist, labels, 0)
    report["external"] = label_scores_on_cluster(client, dist, labels, report["warnings"])
    report["runtime_seconds"] = {"total": time.perf_counter() - t0}
    return RunResult("assign", None, report, parts=parts)
