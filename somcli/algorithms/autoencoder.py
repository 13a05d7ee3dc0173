"""An autoencoder for rows with gaps, AutoRec style (Sedhain et al. 2015): one sigmoid
hidden layer, a sigmoid output for values in [0, 1], and a squared error on the observed
cells only, so no filled-in value leaks into the training. Adam on minibatches, seeded.
Pure numpy; a step is partial gradient sums over rows (:func:`partial_gradient`) and an
update, as every fit in ``algorithms/``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somcli.algorithms.minibatch import Source, minibatches, of_arrays
from somcli.algorithms.rbm import sigmoid

RATE, EPOCHS = 0.01, 50  # the defaults of --learning-rate and --epochs
DESCRIPTION = ("an autoencoder (one hidden layer; the error is measured on the observed "
               "cells only)")


@dataclass
class Autoencoder:
    W_in: np.ndarray  # visible x hidden
    b_in: np.ndarray
    W_out: np.ndarray  # hidden x visible
    b_out: np.ndarray


Weights = Autoencoder
#: the weights a saved model holds, by shape: d features, K hidden units
WEIGHTS = {"W_in": ("d", "K"), "b_in": ("K",), "W_out": ("K", "d"), "b_out": ("d",)}


def hidden(ae: Autoencoder, V: np.ndarray, M: np.ndarray) -> np.ndarray:
    """The code of each row: its observed cells in, gaps as 0 (AutoRec's input)."""
    return sigmoid(np.where(M, V, 0.0) @ ae.W_in + ae.b_in)


def code(ae: Autoencoder, V: np.ndarray, M: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """A row's code: the hidden layer's net input with each gap at ``fill`` (its column's
    mean), as for the RBM (:func:`somcli.algorithms.rbm.code`)."""
    return np.where(M, V, fill) @ ae.W_in + ae.b_in


def visible(ae: Autoencoder, H: np.ndarray) -> np.ndarray:
    return sigmoid(H @ ae.W_out + ae.b_out)


def reconstruct(ae: Autoencoder, V: np.ndarray, M: np.ndarray) -> np.ndarray:
    return visible(ae, hidden(ae, V, M))


def partial_gradient(ae: Autoencoder, v: np.ndarray, m: np.ndarray, scale: float) -> list:
    """One Adam step's gradient sums over some rows of a minibatch (gaps 0 in ``v``, ``m``
    the observed cells), without weight decay; ``scale`` is 2 / the minibatch's observed
    cells (the loss is their mean squared error). Parts of a minibatch add up."""
    h = sigmoid(v @ ae.W_in + ae.b_in)
    out = sigmoid(h @ ae.W_out + ae.b_out)
    err = np.where(m, out - v, 0.0) * scale  # d loss / d out
    d_out = err * out * (1.0 - out)
    d_h = (d_out @ ae.W_out.T) * h * (1.0 - h)
    return [v.T @ d_h, d_h.sum(axis=0), h.T @ d_out, d_out.sum(axis=0)]


def total(parts: list[list]) -> list:
    """Partial gradients added up in order."""
    return parts[0] if len(parts) == 1 else [sum(p[i] for p in parts) for i in range(4)]


def update(ae: Autoencoder, grads: list, first: list, second: list, step: int, rate: float,
           decay: float) -> None:
    """Adam's step ``step`` (1, 2, ...) from a minibatch's gradient, decay added, in place."""
    grads = [grads[0] + decay * ae.W_in, grads[1], grads[2] + decay * ae.W_out, grads[3]]
    for p, g, m1, m2 in zip((ae.W_in, ae.b_in, ae.W_out, ae.b_out), grads, first, second,
                            strict=True):
        m1 *= 0.9
        m1 += 0.1 * g
        m2 *= 0.999
        m2 += 0.001 * g * g
        p -= rate * (m1 / (1 - 0.9 ** step)) / (np.sqrt(m2 / (1 - 0.999 ** step)) + 1e-8)


def train(V: np.ndarray, M: np.ndarray, dim: int, epochs: int, rate: float, batch: int,
          seed: int, check=None, decay: float = 1e-4) -> tuple[Autoencoder, list]:
    """:func:`train_on` the rows ``V`` (gaps anything) with observed cells ``M``."""
    return train_on(of_arrays(V, M), dim, epochs, rate, batch, seed, check, decay)


def train_on(source: Source, dim: int, epochs: int, rate: float, batch: int, seed: int,
             check=None, decay: float = 1e-4) -> tuple[Autoencoder, list]:
    """Adam (beta 0.9, 0.999) on the masked squared error plus ``decay`` x the squared
    weights; ``check(ae)`` after each epoch gives the training curve."""
    rng = np.random.default_rng(seed)
    n, d = source.n, source.d
    share = source.share()
    scale = 1.0 / np.sqrt(d)
    ae = Autoencoder(rng.normal(0, scale, (d, dim)), np.zeros(dim),
                     rng.normal(0, 1.0 / np.sqrt(dim), (dim, d)), np.log(share / (1 - share)))
    first = [np.zeros_like(p) for p in (ae.W_in, ae.b_in, ae.W_out, ae.b_out)]
    second = [np.zeros_like(p) for p in first]
    step, curve = 0, []
    for _ in range(epochs):
        for v, m in minibatches(source, rng.permutation(n), batch):
            step += 1
            update(ae, partial_gradient(ae, v, m, 2.0 / max(int(m.sum()), 1)), first, second,
                   step, rate, decay)
        if check is not None:
            curve.append(check(ae))
    return ae, curve
