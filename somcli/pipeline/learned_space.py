"""``kmeans|som --embed METHOD:K``: cluster the rows in a learned space.

An RBM or autoencoder is trained on the observed cells (:func:`somcli.pipeline.embed.learn`),
every row gets its code, the codes are standardized and clustered as any table is; the saved
model holds the embedding beside the clustering, with the original columns as its schema,
so ``somcli assign`` replays both on new rows (gaps included). On every engine: the codes
stay block by block where the rows are.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from somcli.algorithms import embed_cells as EC
from somcli.algorithms.embedding import weights
from somcli.backends.base import Backend, Data, model_dtype
from somcli.pipeline import embed as E
from somcli.prep.clean import Preprocessor

PREFIX = "embed_"  # the embedding's arrays in a clustering model
CLEANING_ARRAYS = ("center", "scale", "fill", "knn_reference", "knn_center", "knn_scale")


def clustered(be: Backend, read, cols, spec: E.EmbedOptions, progress, stdin, dtype,
              cluster) -> object:
    """Learn the embedding, then ``cluster(data)`` on the standardized codes; the result's
    model and report carry the embedding."""
    learned = E.learn(be, read, cols, spec, progress, stdin)
    data = code_data(be, learned.data, learned.codes, dtype)
    result = cluster(data)
    result.model = rebase(result.model, learned, be.fingerprint(data))
    result.report.embedding = learned.section
    result.report.parameters["embed"] = f"{spec.method}:{learned.section['dim']}"
    return result


def code_data(be: Backend, base: Data, codes: list, dtype, center=None, scale=None) -> Data:
    """The rows of ``base`` as their standardized codes (``e0..``), block by block where
    ``codes`` (per-block handles) are, with ``base``'s identifiers; the scaling learned
    here unless given."""
    if center is None:
        center, scale = EC.add_moments(be.reduce(EC.code_moments, codes))
        scale = np.where(scale > 1e-12 * np.maximum(np.abs(center), 1.0), scale, 1.0)
    blocks = be.map(EC.standardized, codes, center=center, scale=scale, dtype=dtype)
    counts = np.array(be.reduce(EC.block_rows, blocks), dtype=np.int64)
    names = [f"e{j}" for j in range(len(center))]
    d0 = base.described
    roles = replace(d0.roles, features=names, values={}, encoded={})
    prep = Preprocessor(names, {}, "median", "standard", np.asarray(center, np.float64),
                        np.asarray(scale, np.float64))
    n = int(counts.sum())
    described = replace(d0, roles=roles, prep=prep, n_fit=n)
    return Data(blocks, base.ids, be.map(EC.matrix, blocks), counts, described,
                np.dtype(dtype), rows_here=n if base.rows_here else 0)


def rebase(model, learned: E.Learned, fingerprint: str):
    """The clustering model built on the codes, made a model of the original columns: their
    schema and cleaning, the embedding's weights, the codes' scaling."""
    from somcli.models.model import build

    m = model.meta
    arrays = {k: v for k, v in model.arrays.items() if k not in CLEANING_ARRAYS}
    arrays |= {"code_center": model.arrays["center"], "code_scale": model.arrays["scale"]}
    arrays |= learned.arrays(PREFIX)
    described = replace(learned.data.described, fingerprint=fingerprint)
    new = build(described, m["kind"], m["algorithm"], arrays, m["training"]["metrics"],
                m["seed"], m.get("grid"), m.get("outliers"))
    new.meta["embedding"] = learned.algorithm()
    return new


def section_of(model, path: str) -> dict:
    """The report's embedding section for rows assigned through a saved model."""
    e = model.meta["embedding"]
    return {"method": e["name"], "dim": e["dim"], "epochs": e["epochs"],
            "learning_rate": e["learning_rate"], "batch_rows": e["batch_rows"],
            "curve": [], "holdout_rmse": e.get("quality", {}).get("holdout_rmse"),
            "holdout_rmse_item_means": None, "model": path}


def to_codes(be: Backend, data: Data, model) -> Data:
    """``assign``: replayed rows (the model's cleaning: gaps kept, [0, 1]) as the
    standardized codes the clustering was fitted on."""
    kind = model.meta["embedding"]["name"]
    cells, _ = E.cells_of(be, data, 0.0, 0)
    a = model.arrays
    codes = be.map(EC.codes, cells, kind=kind, weights=weights(kind, a, PREFIX),
                   fill=a[f"{PREFIX}code_fill"])
    return code_data(be, data, codes, model_dtype(model), a["code_center"], a["code_scale"])
