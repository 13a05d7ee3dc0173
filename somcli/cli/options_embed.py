"""The options of learning an embedding: ``--embed METHOD[:K]`` (kmeans, som) and the
``--max-missing`` an embedding reads with (``somcli embed`` and ``--embed``)."""

from __future__ import annotations

import click

from somcli.cli.option_types import EmbedType


def embed_option(f):
    return click.option(
        "--embed", type=EmbedType(), default=None,
        help="Cluster in a learned space: train an RBM or autoencoder with K hidden units "
             "(default 8, or the feature columns when fewer) on the observed cells (as "
             "`somcli embed` does), then cluster the rows' standardized codes; the model "
             "holds both and `assign` replays both. Local engine only.")(f)


EMBED_MAX_MISSING = 1.0  # an embedding learns from sparse columns (ratings): none too sparse


def sparse_columns(cols):
    """Column options for learning an embedding: a --max-missing left at its default no
    longer excludes sparse columns (a column with no value at all still is)."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    if ctx.get_parameter_source("max_missing") in (ParameterSource.DEFAULT, None):
        from dataclasses import replace

        return replace(cols, max_missing=EMBED_MAX_MISSING)
    return cols


def embed_from(kw: dict, seed: int):
    """--embed as the embedding's options (None without it)."""
    spec = kw.pop("embed")
    if spec is None:
        return None
    from somcli.pipeline.embed import EmbedOptions

    return EmbedOptions(method=spec[0], dim=spec[1], seed=seed,
                        flag=f"--embed {spec[0]}:{{k}}")
