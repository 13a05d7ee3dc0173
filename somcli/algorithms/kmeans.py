"""k-means on arrays: scikit-learn's KMeans (k-means++), MiniBatchKMeans for big inputs.

Pure functions: arrays in, arrays out; the seed is passed in. Cluster numbers
are made deterministic and readable: cluster 0 is the largest.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from somcli.algorithms.lloyd import KMeansFit
from somcli.algorithms.nearest import nearest
from somcli.runtime.parallel import imported

__all__ = ["COORDINATES", "KMeansFit", "assign", "check_model", "default_n_init", "fit",
           "model_arrays", "order_by_size"]


def default_n_init(n_rows: int) -> int:
    """Restarts of k-means++: 10 on small inputs, 3 on large ones."""
    return 10 if n_rows <= 100_000 else 3


SMALL_ROWS = 2_000  # up to here the port (kmeans_small) runs k-means: no scikit-learn import
#: up to here scikit-learn's k-means runs on one OpenMP thread: on a busy machine its tiny
#: parallel regions spun at barriers (-k auto on 20,000 rows beside two busy processes:
#: 4.7-5.2 s, against 2.7-2.9 s with OMP_NUM_THREADS=1; the same 1.9 s either way when quiet)
ONE_THREAD_ROWS = 50_000


def fit(X: np.ndarray, k: int, *, seed: int, n_init: int | None = None, minibatch: bool = False,
        sample_weight: np.ndarray | None = None) -> KMeansFit:
    """scikit-learn's ``KMeans(n_clusters=k, random_state=seed, n_init=n_init)`` (or
    MiniBatchKMeans) on ``X``. Up to SMALL_ROWS rows its port computes the same fit
    (:mod:`somcli.algorithms.kmeans_small`, held to scikit-learn's results by
    tests/test_kmeans_small.py) without importing scikit-learn: the import took a second,
    half of a small table's whole run."""
    n_init = n_init or default_n_init(len(X))
    if len(X) <= SMALL_ROWS and not minibatch:
        from somcli.algorithms import kmeans_small

        return kmeans_small.fit(X, k, seed=seed, n_init=n_init, weights=sample_weight)
    imported()  # (scikit-learn's import may have been started early: import_soon)
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.exceptions import ConvergenceWarning

    if minibatch:
        est = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=n_init,
                              batch_size=4096)
    else:
        est = KMeans(n_clusters=k, random_state=seed, n_init=n_init)
    with warnings.catch_warnings(), _threads(len(X)):
        # duplicate points can leave fewer distinct clusters than k: reported by the caller
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, sample_weight=sample_weight)
    centers = np.asarray(est.cluster_centers_, dtype=np.float64)
    return KMeansFit(centers, float(est.inertia_), int(est.n_iter_), minibatch, n_init)


def _threads(n_rows: int):
    """One OpenMP thread for small fits (:data:`ONE_THREAD_ROWS`); the default above."""
    import contextlib

    if n_rows > ONE_THREAD_ROWS:
        return contextlib.nullcontext()
    return _controller().limit(limits=1, user_api="openmp")


@functools.cache
def _controller():
    """The thread pools loaded (scikit-learn's OpenMP among them), inspected once: a fresh
    threadpool_limits inspects them each time (1 ms; -k auto fits about 50 times)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def assign(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre and the distance to it, for every row."""
    labels, dist, _ = nearest(X, centers)
    return labels, dist


def order_by_size(labels: np.ndarray, k: int, weight: np.ndarray | None = None) -> np.ndarray:
    """Permutation p with p[old] = new so that cluster 0 is the largest (ties: old order)."""
    sizes = np.bincount(labels, weights=weight, minlength=k)
    ranking = np.lexsort((np.arange(k), -sizes))  # new -> old
    perm = np.empty(k, dtype=np.int64)
    perm[ranking] = np.arange(k)
    return perm


# ---------------------------------------------------------------- what a saved model holds
# (read by somcli.models.model_check for every kind in somcli.config.CLUSTERINGS)

#: the arrays of points in the rows' space (their coordinates are bounded when loaded)
COORDINATES = ("centroids",)

def model_arrays(meta: dict, k: int, width: int) -> dict[str, tuple]:
    """The arrays of a k-means model beside the cleaning's: name -> (shape, dtype kinds)."""
    return {"centroids": ((k, width), "f")}


def check_model(meta: dict, arrays: dict[str, np.ndarray]) -> str | None:
    """What is wrong with the loaded arrays' values beyond being finite (None: nothing)."""
    return None
