"""``kmeans|som --embed METHOD:K``: cluster the rows in a learned space.

An RBM or autoencoder is trained on the observed cells (:func:`somcli.pipeline.embed.learn`),
every row gets its code, the codes are standardized and clustered as any table is; the saved
model holds the embedding beside the clustering, with the original columns as its schema,
so ``somcli assign`` replays both on new rows (gaps included). The embedding trains in this
process: the local engine only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from somcli.algorithms.blocks import Block
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


def code_data(be: Backend, base: Data, codes: np.ndarray, dtype, center=None,
              scale=None) -> Data:
    """The rows of ``base`` as their standardized codes (``e0..``): one block in this
    process, with ``base``'s identifiers; the scaling learned here unless given."""
    if center is None:
        center, scale = codes.mean(axis=0), codes.std(axis=0)
        scale = np.where(scale > 1e-12 * np.maximum(np.abs(center), 1.0), scale, 1.0)
    X = ((codes - center) / scale).astype(dtype)
    names = [f"e{j}" for j in range(codes.shape[1])]
    d0 = base.described
    roles = replace(d0.roles, features=names, values={}, encoded={})
    prep = Preprocessor(names, {}, "median", "standard", np.asarray(center, np.float64),
                        np.asarray(scale, np.float64))
    described = replace(d0, roles=roles, prep=prep, n_fit=len(X))
    ids = [pd.concat(be.gather(base.ids), ignore_index=True)]
    return Data([Block(X, np.ones(len(X), dtype=bool))], ids, [X], np.array([len(X)]),
                described, X.dtype, rows_here=len(X))


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
    _, M, V = E.observed(be, data)
    kind = model.meta["embedding"]["name"]
    codes = E.codes_of(kind, model.arrays, V, M, PREFIX)
    a = model.arrays
    return code_data(be, data, codes, model_dtype(model), a["code_center"], a["code_scale"])
