"""somcli: cluster tabular data from the command line (k-means and self-organizing maps).

The CLI (:mod:`somcli.cli`) is a thin shell over this library; :mod:`somcli.pipeline`
wires read -> clean -> fit -> evaluate -> write and can be used on its own. From Python:
``somcli.cluster(df, method="som", k=4)`` runs what a command runs (:mod:`somcli.api`), and
``somcli.SOM`` is the batch map as a scikit-learn estimator (:mod:`somcli.estimator`).
"""

from somcli.version import __version__

__all__ = ["SOM", "cluster", "__version__"]


def __getattr__(name: str):
    """``somcli.cluster`` and ``somcli.SOM``, imported when first used (the CLI never
    pays for scikit-learn's import here)."""
    if name == "cluster":
        from somcli.api import cluster

        return cluster
    if name == "SOM":
        from somcli.estimator import SOM

        return SOM
    raise AttributeError(f"module 'somcli' has no attribute {name!r}")
