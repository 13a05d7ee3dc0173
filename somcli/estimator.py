"""``somcli.SOM``: the batch self-organizing map as a scikit-learn estimator.

It trains with the engine the CLI uses (:func:`somcli.algorithms.som.train`: the same PCA
start, radius schedule and batch rule, so the same codebook for the same rows and
settings), and fits in a scikit-learn pipeline::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from somcli import SOM

    model = make_pipeline(StandardScaler(), SOM(map_size=(10, 8), n_clusters=4))
    labels = model.fit_predict(X)

The rows are taken as they are: numbers only, no gaps, no scaling (put a scaler before it);
``somcli.cluster`` does the cleaning the CLI does.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from somcli.algorithms import som as S
from somcli.algorithms.choose import cluster_units
from somcli.algorithms.grid import NEIGHBORHOODS, TOPOLOGIES, Grid, radius_schedule
from somcli.algorithms.nearest import nearest
from somcli.config import SomOptions
from somcli.errors import DataError


class SOM(ClusterMixin, TransformerMixin, BaseEstimator):
    """A self-organizing map trained by the batch rule.

    Parameters
    ----------
    map_size : (rows, cols) or None
        The map's shape; None: the SOM Toolbox rule (about 5*sqrt(n) units, shaped by the
        data's two main principal components), at most ``max_units`` units.
    n_clusters : int or None
        Group the units into this many clusters (k-means on the codebook, weighted by
        hits): ``labels_`` and :meth:`predict` give the cluster; None: the unit itself.
    topology : "hex" or "rect"
    init : "pca" or "random" (rows drawn with ``random_state``)
    epochs : int or None (20)
    sigma, sigma_end : float or None
        Start and end radius (default max(1.5, longer side / 4) and min(1, sigma)).
    decay : "linear" or "exponential"
    neighborhood : "gaussian", "bubble" or "triangle"
    max_units : int
    n_jobs : int or None
        Threads for the epoch sums (None: one).
    random_state : int, RandomState or None

    Attributes
    ----------
    codebook_ : (units, n_features) the trained map, units in row-major order
    map_shape_ : (rows, cols)
    labels_ : the cluster (or unit) of each training row
    unit_labels_ : the cluster of each unit
    hits_ : rows mapped to each unit
    quantization_error_ : mean distance of a row to its unit
    topographic_error_ : share of rows whose two nearest units are not neighbours
    n_features_in_, feature_names_in_ : as scikit-learn sets them
    """

    def __init__(self, map_size=None, n_clusters=None, *, topology="hex", init="pca",
                 epochs=None, sigma=None, sigma_end=None, decay="linear",
                 neighborhood="gaussian", max_units=2500, n_jobs=None, random_state=None):
        self.map_size = map_size
        self.n_clusters = n_clusters
        self.topology = topology
        self.init = init
        self.epochs = epochs
        self.sigma = sigma
        self.sigma_end = sigma_end
        self.decay = decay
        self.neighborhood = neighborhood
        self.max_units = max_units
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------ fitting

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self._check_params()
        seed = _seed(self.random_state)
        size = self.map_size or _auto_size(X, self.topology, self.max_units)
        grid = Grid(int(size[0]), int(size[1]), self.topology)
        opts = SomOptions(rows=grid.rows, cols=grid.cols, epochs=self.epochs,
                          sigma=self.sigma, sigma_end=self.sigma_end)
        from somcli.pipeline.som import schedule

        epochs, start, end = schedule(opts, grid.rows, grid.cols)
        if self.init == "pca":
            W0 = S.pca_init(X, grid)
        else:
            W0 = S.random_init(X, grid, np.random.default_rng(seed))
        radii = radius_schedule(start, end, epochs, self.decay)
        W, history = S.train(X, W0, grid, radii, self.neighborhood, threads=self.n_jobs or 1)
        self.codebook_ = W
        self.map_shape_ = (grid.rows, grid.cols)
        self.n_iter_ = epochs
        self.qe_history_ = np.asarray(history)
        best, dist, second = nearest(X, W, second=True, threads=self.n_jobs or 1)
        self.hits_ = np.bincount(best, minlength=grid.units)
        self.quantization_error_ = float(dist.mean())
        self.topographic_error_ = float(np.mean(~grid.adjacent(best, second)))
        k = None if self.n_clusters is None else int(self.n_clusters)
        try:  # the CLI's -k N: the same clusters, numbered by size
            self.unit_labels_, _, _ = cluster_units(W, self.hits_, self.hits_, k, False, 2,
                                                    seed, None)
        except DataError as exc:
            raise ValueError(exc.one_line()) from None
        self.labels_ = self.unit_labels_[best]
        return self

    def _check_params(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {TOPOLOGIES}, not {self.topology!r}")
        if self.init not in ("pca", "random"):
            raise ValueError(f"init must be 'pca' or 'random', not {self.init!r}")
        if self.neighborhood not in NEIGHBORHOODS or self.neighborhood == "mexican_hat":
            raise ValueError(f"neighborhood must be gaussian, bubble or triangle for batch "
                             f"training, not {self.neighborhood!r}")
        if self.map_size is not None and (len(self.map_size) != 2 or min(self.map_size) < 1):
            raise ValueError(f"map_size must be (rows, cols) of at least 1, not "
                             f"{self.map_size!r}")
        if self.n_clusters is not None and int(self.n_clusters) < 1:
            raise ValueError(f"n_clusters must be at least 1, not {self.n_clusters!r}")

    # ------------------------------------------------------------ using the map

    def transform(self, X):
        """Each row's Euclidean distance to every unit: (n_samples, units)."""
        X = self._rows(X)
        W = self.codebook_
        d2 = (X ** 2).sum(axis=1)[:, None] - 2 * X @ W.T + (W ** 2).sum(axis=1)[None, :]
        return np.sqrt(np.maximum(d2, 0.0))

    def predict(self, X):
        """The cluster (``n_clusters`` set) or unit of each row's best-matching unit."""
        best = self.bmu(X)  # checks that the map is fitted first
        return self.unit_labels_[best]

    def bmu(self, X):
        """Each row's best-matching unit (row-major index into ``codebook_``)."""
        best, _, _ = nearest(self._rows(X), self.codebook_, threads=self.n_jobs or 1)
        return best.astype(np.intp)

    def _rows(self, X):
        check_is_fitted(self, "codebook_")
        return validate_data(self, X, dtype=np.float64, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _auto_size(X: np.ndarray, topology: str, max_units: int) -> tuple[int, int]:
    size = S.auto_size(X, topology, max_units)
    return size.rows, size.cols


def _seed(random_state) -> int:
    """One integer seed from scikit-learn's random_state (None, an int or a RandomState)."""
    from sklearn.utils import check_random_state

    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))
