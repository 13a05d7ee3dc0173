"""A restricted Boltzmann machine for rows with gaps (Salakhutdinov, Mnih and Hinton 2007):
Bernoulli visible units in [0, 1], Bernoulli hidden units, contrastive divergence.

A row's missing cells are not zeros: the hidden units see only the row's observed visible
units, and the negative phase reconstructs only those (a per-row mask in both phases), so
a gap never pulls the weights. Pure functions on numpy arrays, seeded. A step is written as
partial sums over rows (:func:`partial_gradient`) and an update, as every fit in
``algorithms/``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somcli.algorithms.minibatch import Source, minibatches, of_arrays

RATE, EPOCHS = 0.05, 30  # the defaults of --learning-rate and --epochs
DESCRIPTION = ("a restricted Boltzmann machine (contrastive divergence; each row's hidden "
               "units see only its observed cells)")


@dataclass
class RBM:
    W: np.ndarray  # visible x hidden
    visible_bias: np.ndarray
    hidden_bias: np.ndarray


Weights = RBM
#: the weights a saved model holds, by shape: d features, K hidden units
WEIGHTS = {"W": ("d", "K"), "visible_bias": ("d",), "hidden_bias": ("K",)}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warnings, same function


def hidden(rbm: RBM, V: np.ndarray, M: np.ndarray) -> np.ndarray:
    """P(h = 1 | the observed visible units) per row: gaps contribute nothing."""
    return sigmoid(np.where(M, V, 0.0) @ rbm.W + rbm.hidden_bias)


def code(rbm: RBM, V: np.ndarray, M: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """A row's code: the hidden units' net input (log-odds of each being on) with each gap
    at ``fill``, its column's mean (its expected value), so that a code does not depend on
    how many cells the row has. k-means on these finds planted groups far better than on
    the probabilities of :func:`hidden` (tests/test_embed.py)."""
    return np.where(M, V, fill) @ rbm.W + rbm.hidden_bias


def visible(rbm: RBM, H: np.ndarray) -> np.ndarray:
    """P(v = 1 | h) for every visible unit, observed or not (the filled-in cells)."""
    return sigmoid(H @ rbm.W.T + rbm.visible_bias)


def reconstruct(rbm: RBM, V: np.ndarray, M: np.ndarray) -> np.ndarray:
    return visible(rbm, hidden(rbm, V, M))


def partial_gradient(rbm: RBM, v0: np.ndarray, m: np.ndarray, u: np.ndarray) -> tuple:
    """One CD-1 step's sums over some rows of a minibatch (gaps 0 in ``v0``, ``m`` the
    observed cells, ``u`` the rows' uniform draws that sample the hidden units):
    (v0'h0 - v1'h1, the sum of v0 - v1, observed cells per column, the sum of h0 - h1,
    rows). Sums over parts of a minibatch add up (:func:`total`) to the whole one's."""
    h0 = sigmoid(v0 @ rbm.W + rbm.hidden_bias)
    sample = (u < h0).astype(v0.dtype)
    v1 = np.where(m, visible(rbm, sample), 0.0)  # only the observed units come back
    h1 = sigmoid(v1 @ rbm.W + rbm.hidden_bias)
    return (v0.T @ h0 - v1.T @ h1, (v0 - v1).sum(axis=0), m.sum(axis=0),
            (h0 - h1).sum(axis=0), len(v0))


def total(parts: list[tuple]) -> tuple:
    """Partial gradients added up in order."""
    return parts[0] if len(parts) == 1 else tuple(sum(p[i] for p in parts)
                                                  for i in range(len(parts[0])))


def update(rbm: RBM, sums: tuple, speed: list, momentum: float, rate: float,
           decay: float) -> None:
    """The step from a minibatch's sums: gradient with weight decay, momentum, in place."""
    pair, vis, observed, hid, size = sums
    grads = [pair / size - decay * rbm.W, vis / np.maximum(observed, 1), hid / size]
    for i, (param, grad) in enumerate(zip((rbm.W, rbm.visible_bias, rbm.hidden_bias), grads,
                                          strict=True)):
        speed[i] = momentum * speed[i] + rate * grad
        param += speed[i]


def train(V: np.ndarray, M: np.ndarray, dim: int, epochs: int, rate: float, batch: int,
          seed: int, check=None, decay: float = 1e-4) -> tuple[RBM, list]:
    """:func:`train_on` the rows ``V`` (gaps anything) with observed cells ``M``."""
    return train_on(of_arrays(V, M), dim, epochs, rate, batch, seed, check, decay)


def train_on(source: Source, dim: int, epochs: int, rate: float, batch: int, seed: int,
             check=None, decay: float = 1e-4) -> tuple[RBM, list]:
    """CD-1 with momentum (0.5, then 0.9 after five epochs) and weight decay on minibatches
    of rows in a seeded random order. ``check(rbm)`` is called after each epoch and its
    results are returned in order (the training curve)."""
    rng = np.random.default_rng(seed)
    n, d = source.n, source.d
    share = source.share()
    rbm = RBM(rng.normal(0.0, 0.01, (d, dim)), np.log(share / (1 - share)), np.zeros(dim))
    speed = [np.zeros_like(rbm.W), np.zeros(d), np.zeros(dim)]
    curve = []
    for epoch in range(epochs):
        momentum = 0.5 if epoch < 5 else 0.9
        for v, m in minibatches(source, rng.permutation(n), batch):
            u = rng.random((len(v), dim))
            update(rbm, partial_gradient(rbm, v, m, u), speed, momentum, rate, decay)
        if check is not None:
            curve.append(check(rbm))
    return rbm, curve
