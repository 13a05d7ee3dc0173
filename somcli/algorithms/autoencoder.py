"""An autoencoder for rows with gaps, AutoRec style (Sedhain et al. 2015): one sigmoid
hidden layer, a sigmoid output for values in [0, 1], and a squared error on the observed
cells only, so no filled-in value leaks into the training. Adam on minibatches, seeded.
Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somcli.algorithms.rbm import sigmoid


@dataclass
class Autoencoder:
    W_in: np.ndarray  # visible x hidden
    b_in: np.ndarray
    W_out: np.ndarray  # hidden x visible
    b_out: np.ndarray


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


def train(V: np.ndarray, M: np.ndarray, dim: int, epochs: int, rate: float, batch: int,
          seed: int, check=None, decay: float = 1e-4) -> tuple[Autoencoder, list]:
    """Adam (beta 0.9, 0.999) on the masked squared error plus ``decay`` x the squared
    weights; ``check(ae)`` after each epoch gives the training curve."""
    rng = np.random.default_rng(seed)
    n, d = V.shape
    V = np.where(M, V, 0.0)
    share = np.clip(V.sum(axis=0) / np.maximum(M.sum(axis=0), 1), 0.01, 0.99)
    scale = 1.0 / np.sqrt(d)
    ae = Autoencoder(rng.normal(0, scale, (d, dim)), np.zeros(dim),
                     rng.normal(0, 1.0 / np.sqrt(dim), (dim, d)), np.log(share / (1 - share)))
    params = [ae.W_in, ae.b_in, ae.W_out, ae.b_out]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    step, curve = 0, []
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            v, m = V[rows], M[rows]
            h = sigmoid(v @ ae.W_in + ae.b_in)
            out = sigmoid(h @ ae.W_out + ae.b_out)
            cells = max(int(m.sum()), 1)
            err = np.where(m, out - v, 0.0) * (2.0 / cells)  # d loss / d out
            d_out = err * out * (1.0 - out)
            d_h = (d_out @ ae.W_out.T) * h * (1.0 - h)
            grads = [v.T @ d_h + decay * ae.W_in, d_h.sum(axis=0),
                     h.T @ d_out + decay * ae.W_out, d_out.sum(axis=0)]
            step += 1
            for p, g, m1, m2 in zip(params, grads, first, second, strict=True):
                m1 *= 0.9
                m1 += 0.1 * g
                m2 *= 0.999
                m2 += 0.001 * g * g
                p -= rate * (m1 / (1 - 0.9 ** step)) / (np.sqrt(m2 / (1 - 0.999 ** step)) + 1e-8)
        if check is not None:
            curve.append(check(ae))
    return ae, curve
