"""The GPU backend (``--device cuda``): the local backend with its rows placed on the GPU
through CuPy (``pip install 'somcli[gpu]'``), where the per-block work then runs: the
best-unit search (evaluation, assignment), the SOM epoch's sums and Lloyd's sums. Reading,
cleaning and writing stay on the CPU. The GPU is probed once per process.

The rows are copied to the GPU once and stay there for the run (or go a chunk at a time
when they do not fit in half of its free memory). Which GPU: CuPy's current device
(``CUDA_VISIBLE_DEVICES`` picks it).

``SOMCLI_DEVICE_MODULE=numpy`` runs this backend's code with NumPy on the CPU: how the
tests cover it on machines without a GPU (it is never faster than ``--device cpu``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass

import numpy as np

from somcli.algorithms import device as G
from somcli.backends.base import Data, quiet
from somcli.backends.local import LocalBackend
from somcli.errors import Unavailable, brief


@dataclass
class Device:
    xp: object  # the array module: cupy (or numpy, for tests)
    name: str  # what the report says
    free: int  # bytes free on it when the run starts


def find(asked: str) -> Device | None:
    """The device ``--device`` names: None for the CPU; raises :class:`Unavailable`
    (exit 69) when ``cuda`` is asked for and none is usable; ``auto`` is None then."""
    if asked == "cpu":
        return None
    found = _probe(os.environ.get("SOMCLI_DEVICE_MODULE"))
    if isinstance(found, Device):
        return found
    if asked == "auto":
        return None
    raise found


def why_not() -> str:
    """Why ``--device auto`` stays on the CPU (one line; empty when a GPU is usable)."""
    found = _probe(os.environ.get("SOMCLI_DEVICE_MODULE"))
    return "" if isinstance(found, Device) else found.one_line()


@functools.cache
def _probe(module: str | None) -> Device | Unavailable:
    """The usable device or why there is none, found once (per SOMCLI_DEVICE_MODULE):
    importing CuPy and asking the driver costs seconds."""
    try:
        return _usable()
    except Unavailable as exc:
        return exc


def _usable() -> Device:
    if os.environ.get("SOMCLI_DEVICE_MODULE") == "numpy":
        from somcli.runtime.memory import available

        return Device(np, "numpy (SOMCLI_DEVICE_MODULE=numpy, a test of the GPU code)",
                      available())
    try:
        import cupy
    except ImportError as exc:
        raise Unavailable("--device cuda: CuPy is not installed (" + brief(exc, 60) + ")",
                          "pip install 'somcli[gpu]', or use --device cpu") from None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise Unavailable("--device cuda: no CUDA GPU found", "use --device cpu")
        free, _ = cupy.cuda.runtime.memGetInfo()
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    except Unavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - a driver, runtime or library problem
        raise Unavailable(f"--device cuda: no usable GPU ({brief(exc, 80)})",
                          "check the driver with nvidia-smi, or use --device cpu") from None
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return Device(cupy, f"cuda ({name})", int(free))


class GpuBackend(LocalBackend):
    name = "gpu"

    def __init__(self, threads: int | None, device: Device):
        super().__init__(threads)
        self.gpu = device
        self.device = device.name
        self.where = f"on {device.name}"
        self._placed: dict[int, tuple[np.ndarray, G.Rows]] = {}

    @classmethod
    def open(cls, options=None, progress=quiet):
        device = find(options.device if options else "cuda")
        if device is None:
            raise Unavailable("--device cuda: no usable GPU", "use --device cpu")
        progress(f"using {device.name}")
        return contextlib.closing(cls(options.threads if options else None, device))

    def close(self) -> None:
        self._placed.clear()  # the device copies go with their last reference

    def parameters(self, data: Data) -> dict:
        return {"device": self.device}

    def device_memory(self, data: Data, units: int) -> dict[str, float]:
        X, room = data.fit[0], self.gpu.free
        chunk = G.chunk_rows(room, units, X.itemsize)
        return {"rows on the GPU": float(X.nbytes if G.resident(X, room) else 0),
                "score blocks on the GPU": 2.0 * chunk * units * X.itemsize}

    # the device's arrays for a host matrix: copied once per matrix and run
    def rows(self, X: np.ndarray, units: int) -> G.Rows:
        held = self._placed.get(id(X))
        if held is None or held[0] is not X:
            held = (X, G.place(self.gpu.xp, X, self.gpu.free, units))
            self._placed[id(X)] = held
        return held[1]

    def search(self, X, W, *, second=False, chunk=None, threads=None, pool=None):
        """:func:`somcli.algorithms.nearest.nearest` on the device (``Backend.search``)."""
        W = np.asarray(W)
        return G.nearest(self.rows(X, len(W)), W, second)

    @contextlib.contextmanager
    def placed(self, handles, units: int):
        yield [self.rows(X, units) for X in handles]
