"""Where the rows live and how work on them runs: the :class:`~somcli.backends.base.Backend`
interface and its implementations. The pipeline is written once against the interface;
:func:`open_backend` picks one by name. A new backend is one module here and one entry
in ``BACKENDS`` (which ``--engine`` offers)."""

from __future__ import annotations

import importlib

#: name (``--engine``) -> "module:class"; imported only when asked for
BACKENDS = {
    "local": "somcli.backends.local:LocalBackend",  # numpy on threads, in this process
    "dask": "somcli.backends.dask:DaskBackend",  # a Dask cluster (somcli[dask])
    "gpu": "somcli.backends.gpu:GpuBackend",  # local, computing on a GPU (somcli[gpu])
}
#: what ``--engine`` offers: every backend but the one ``--device cuda`` picks
ENGINES = tuple(name for name in BACKENDS if name != "gpu")


def open_backend(name: str, options=None, progress=lambda msg: None):
    """A context manager giving the backend ``name`` ready for work (a Dask client
    connected, or nothing to do); keep it open until the result is written."""
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls).open(options, progress)
