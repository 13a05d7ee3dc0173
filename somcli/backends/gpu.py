"""The GPU backend (``--device cuda``): the local backend, with the SOM's epoch sums, the
best-unit search (evaluation, assignment) and Lloyd's k-means on the GPU through CuPy
(``pip install 'somcli[gpu]'``). Reading, cleaning and writing stay on the CPU.

The rows are copied to the GPU once and stay there for the run (or go a chunk at a time
when they do not fit in half of its free memory). Which GPU: CuPy's current device
(``CUDA_VISIBLE_DEVICES`` picks it).

``SOMCLI_DEVICE_MODULE=numpy`` runs this backend's code with NumPy on the CPU: how the
tests cover it on machines without a GPU (it is never faster than ``--device cpu``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np

from somcli.algorithms import device as G
from somcli.algorithms.kmeans import KMeansFit
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
    try:
        return _usable()
    except Unavailable:
        if asked == "auto":
            return None
        raise


def why_not() -> str:
    """Why ``--device auto`` stays on the CPU (one line)."""
    try:
        _usable()
    except Unavailable as exc:
        return exc.one_line()
    return ""


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
        self.device = device
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
        return {"device": self.device.name}

    def device_memory(self, data: Data, units: int) -> dict[str, float]:
        X, room = data.fit[0], self.device.free
        chunk = G.chunk_rows(room, units, X.itemsize)
        return {"rows on the GPU": float(X.nbytes if G.resident(X, room) else 0),
                "score blocks on the GPU": 2.0 * chunk * units * X.itemsize}

    # the device's arrays for a host matrix: copied once per matrix and run
    def rows(self, X: np.ndarray, units: int) -> G.Rows:
        held = self._placed.get(id(X))
        if held is None or held[0] is not X:
            held = (X, G.place(self.device.xp, X, self.device.free, units))
            self._placed[id(X)] = held
        return held[1]

    def search(self, X, W, *, second=False, chunk=None, threads=None, pool=None):
        """:func:`somcli.algorithms.nearest.nearest` on the device (``Backend.search``)."""
        W = np.asarray(W)
        return G.nearest(self.rows(X, len(W)), W, second)

    @contextlib.contextmanager
    def som_sums(self, data: Data, chunk: int):
        X = data.fit[0]
        yield lambda W: G.epoch_sums(self.rows(X, len(W)), W)

    def kmeans(self, data, k, *, seed, n_init, minibatch, progress=quiet):
        from somcli.algorithms.kmeans import default_n_init

        X = data.fit[0]
        n_init = n_init or default_n_init(len(X))
        fit = G.kmeans(self.rows(X, k), X, k, seed, n_init)
        return (KMeansFit(fit.centers, fit.inertia, fit.n_iter, False, n_init),
                f"KMeans (k-means++, Lloyd on {self.device.name})")
