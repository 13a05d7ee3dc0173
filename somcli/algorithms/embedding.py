"""The embedding methods (``embed --method``, ``--embed METHOD``), one entry each.

A method is a module of pure array code with ``train``, ``hidden``, ``code``, ``visible``,
``reconstruct``, its step as ``partial_gradient`` + ``update``, and what the rest of somcli
reads from it: ``Weights`` (its dataclass), ``WEIGHTS`` (the arrays a saved model holds, by
shape), ``RATE`` and ``EPOCHS`` (defaults), ``DESCRIPTION`` (the report's words). A new
method is its module, a line here and its name in ``config.EMBED_METHODS`` (3 files).
"""

from __future__ import annotations

from somcli.algorithms import autoencoder, rbm

METHODS = {"rbm": rbm, "autoencoder": autoencoder}


def weights(kind: str, arrays: dict, prefix: str = ""):
    """A saved embedding's weights (``prefix``: their names in a clustering model)."""
    method = METHODS[kind]
    return method.Weights(**{name: arrays[prefix + name] for name in method.WEIGHTS})
