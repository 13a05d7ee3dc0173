"""How map values become colours: ``--color-scale auto|robust|linear|log|quantile``.

Skewed values (a population column, a U-matrix with one far corner) swamp a linear scale:
one cell takes the dark end and the rest is flat. ``robust`` (the default) spans the 2nd to
98th percentile of the reference values and marks the colour bar's ends as open where values
go beyond; ``log`` spans the positive values on a log scale (``robust`` where a value is zero
or negative); ``quantile`` gives each tenth of the reference values one band of colour;
``auto`` (the default) is ``log`` for a heavy right tail (positive values whose 98th
percentile is over ``HEAVY`` times their median: a population, an income) and ``robust``
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROBUST = (2.0, 98.0)  # percentiles
BANDS = 10  # quantile bands
HEAVY = 10.0  # auto: log when the 98th percentile is this many times the median


@dataclass
class Scale:
    norm: object  # a matplotlib Normalize
    extend: str  # the colour bar's open ends: neither, min, max, both
    note: str  # how the colours were set, for a caption ("" when linear)


def scale_for(values: np.ndarray, kind: str, reference: np.ndarray | None = None) -> Scale:
    """The colour scale of ``values`` (drawn) set from ``reference`` (the values whose range
    counts: the data's for a component plane; ``values`` themselves by default)."""
    from matplotlib.colors import BoundaryNorm, LogNorm, Normalize

    shown = finite(values)
    ref = finite(values if reference is None else reference)
    if ref.size == 0:
        ref = shown if shown.size else np.zeros(1)
    if kind == "auto":
        kind = "log" if heavy_tailed(ref) else "robust"
    if kind == "log" and ref.min() > 0:  # the 2nd-98th percentile, on a log scale
        lo, hi = (float(v) for v in np.percentile(ref, ROBUST))
        if hi > lo:
            return Scale(LogNorm(lo, hi), _extend(shown, lo, hi), "log scale")
    if kind == "quantile":
        edges = np.unique(np.percentile(ref, np.linspace(0, 100, BANDS + 1)))
        if len(edges) > 2:
            lo, hi = float(edges[0]), float(edges[-1])
            return Scale(BoundaryNorm(edges, 256, extend=_extend(shown, lo, hi)),
                         _extend(shown, lo, hi), "colour bands hold a tenth of the values each")
    if kind == "linear":
        lo, hi = float(ref.min()), float(ref.max())
        note = ""
    else:  # robust, and log or quantile where they cannot apply
        lo, hi = (float(v) for v in np.percentile(ref, ROBUST))
        note = "colours span the 2nd-98th percentile"
        if not hi > lo:
            lo, hi = float(ref.min()), float(ref.max())
            note = ""
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    extend = _extend(shown, lo, hi)
    return Scale(Normalize(lo, hi), extend, note if extend != "neither" else "")


def heavy_tailed(values: np.ndarray) -> bool:
    """Positive values with a long right tail, that a log scale shows best."""
    if values.size < 3 or values.min() <= 0:
        return False
    median, high = np.percentile(values, [50, ROBUST[1]])
    return bool(high > HEAVY * median)


def finite(values) -> np.ndarray:
    """The finite values, flat, as float64."""
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]


def _extend(values: np.ndarray, lo: float, hi: float) -> str:
    below = values.size > 0 and values.min() < lo
    above = values.size > 0 and values.max() > hi
    return {(False, False): "neither", (True, False): "min", (False, True): "max",
            (True, True): "both"}[(bool(below), bool(above))]


def text_colour(rgba) -> str:
    """Black or white, whichever reads better on a cell of this colour."""
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def short_number(value: float) -> str:
    """A tick label a person reads at a glance: 0.025, 5.3e-05, 12.5, 4,210, 880M."""
    v = float(value)
    a = abs(v)
    if not np.isfinite(v):
        return str(v)
    if a == 0:
        return "0"
    if a >= 10_000:
        for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if a >= div:
                return f"{v / div:.3g}{unit}"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 0.01:
        return f"{v:.3g}"
    return f"{v:.2g}"


def cluster_colours(k: int) -> list:
    """One colour per cluster (RGBA), the same in every picture: tab10, tab20 past ten."""
    import matplotlib

    base = matplotlib.colormaps["tab10" if k <= 10 else "tab20"]
    return [base(i % base.N) for i in range(k)]


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters (an ellipsis marks a cut)."""
    return text if len(text) <= width else text[:width - 1] + "…"


def plain(text: str) -> str:
    """Text from the data, drawn as it is (matplotlib reads $...$ as mathematics)."""
    return str(text).replace("$", r"\$")
