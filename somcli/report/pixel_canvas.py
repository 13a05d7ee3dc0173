"""A figure drawn on one matplotlib Axes whose units are the picture's pixels (x to the
right, y down from the top edge), with colour bars drawn as shapes on it.

A matplotlib Axes costs about 15 ms to make (its axis objects, ticks and their lines) and
more to draw; a picture of ten component planes, each with a colour bar, had 22 of them and
took 0.4-0.5 s, half of the whole run's drawing on a million rows. Drawn here, a panel is a
collection of polygons and a colour bar an image, a few lines and its tick labels: the same
picture in a fraction of the time (benchmarks/README.md, "Issue 30, eighth round").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somcli.report.colour_scale import Scale, short_number
from somcli.report.figure import DPI

EXTEND_PX = 0.05  # an open end's triangle, as a share of the bar's length (matplotlib's)


def canvas(width: int, height: int):
    """A figure ``width`` x ``height`` pixels and its one Axes in pixel units, no frame."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    return fig, ax


@dataclass
class Box:
    """A rectangle in pixels: left, top, width, height."""
    x: float
    y: float
    w: float
    h: float


def fit_polygons(polygons: np.ndarray, box: Box) -> np.ndarray:
    """``polygons`` (n, corners, 2) scaled (the same in x and y) to fit ``box``, centred
    across it and on its top edge."""
    lo = polygons.reshape(-1, 2).min(axis=0)
    span = np.maximum(polygons.reshape(-1, 2).max(axis=0) - lo, 1e-12)
    s = min(box.w / span[0], box.h / span[1])
    left = box.x + (box.w - s * span[0]) / 2
    return (polygons - lo) * s + np.array([left, box.y])


def positions(scale: Scale, values) -> np.ndarray:
    """Where ``values`` sit along a colour bar, 0 (its low end) to 1; a BoundaryNorm's bands
    take equal lengths, as on matplotlib's colour bars."""
    from matplotlib.colors import BoundaryNorm

    values = np.asarray(values, dtype=float)
    if isinstance(scale.norm, BoundaryNorm):
        edges = scale.norm.boundaries
        return np.interp(values, edges, np.linspace(0, 1, len(edges)))
    return np.ma.filled(scale.norm(values), np.nan).astype(float)


def bar_colours(scale: Scale, cmap) -> np.ndarray:
    """(n, 4) the colours along the bar, low end first."""
    from matplotlib.colors import BoundaryNorm

    if isinstance(scale.norm, BoundaryNorm):
        edges = scale.norm.boundaries
        return cmap(scale.norm((edges[:-1] + edges[1:]) / 2))
    return cmap(np.linspace(0, 1, 256))


def pixels(fig):
    """The transform from picture pixels (x to the right, y down from the top edge) to the
    display, for artists placed by pixel on a figure whose Axes are in other units."""
    from matplotlib.transforms import Affine2D

    width, height = fig.get_size_inches() * fig.dpi
    return Affine2D().scale(1 / width, -1 / height).translate(0, 1) + fig.transFigure


def placed(ax, original: bool = False) -> Box:
    """Where ``ax`` is drawn, in picture pixels: its box once its aspect is applied (or the
    box it was given, ``original``)."""
    if not original:
        ax.apply_aspect()
    width, height = ax.figure.get_size_inches() * ax.figure.dpi
    b = ax.get_position(original=original)
    return Box(b.x0 * width, (1 - b.y1) * height, b.width * width, b.height * height)


def to_pixels(ax, xy) -> np.ndarray:
    """Points in ``ax``'s data units, in picture pixels (after :func:`placed`)."""
    height = ax.figure.get_size_inches()[1] * ax.figure.dpi
    out = ax.transData.transform(np.atleast_2d(np.asarray(xy, dtype=float)))
    out[:, 1] = height - out[:, 1]
    return out


def ticks(scale: Scale, n: int = 5, integer: bool = False) -> np.ndarray:
    """The values a colour bar names: about ``n`` round numbers in its range (whole numbers
    with ``integer``); on a log scale the powers of ten in it, or its ends where it holds
    fewer than two; every few band edges of a quantile scale."""
    from matplotlib.colors import BoundaryNorm, LogNorm
    from matplotlib.ticker import LogLocator, MaxNLocator

    lo, hi = float(scale.norm.vmin), float(scale.norm.vmax)
    if isinstance(scale.norm, BoundaryNorm):
        edges = scale.norm.boundaries
        return edges[:: max(1, len(edges) // n)]
    if isinstance(scale.norm, LogNorm):
        found = LogLocator(numticks=n).tick_values(lo, hi)
        inside = found[(found >= lo * (1 - 1e-9)) & (found <= hi * (1 + 1e-9))]
        return inside if len(inside) >= 2 else np.array([lo, hi])
    return MaxNLocator(n, integer=integer).tick_values(lo, hi)


def colour_bar(ax, box: Box, scale: Scale, cmap, ticks, fontsize: float = 8,
               transform=None, label: str = "") -> None:
    """A vertical colour bar in ``box`` (pixels; its open ends' triangles inside it), ticks
    at the values ``ticks`` within its range, labelled at its right, and ``label`` along
    it. ``transform``: from pixels to the display (``ax``'s own units by default)."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Polygon

    put = {"transform": transform or ax.transData, "clip_on": False}
    low_open = scale.extend in ("min", "both")
    high_open = scale.extend in ("max", "both")
    tip = EXTEND_PX * box.h
    top = box.y + (tip if high_open else 0.0)
    bottom = box.y + box.h - (tip if low_open else 0.0)
    colours = bar_colours(scale, cmap)
    edges = np.linspace(bottom, top, len(colours) + 1)
    right, mid = box.x + box.w, box.x + box.w / 2
    bands = [[(box.x, a), (right, a), (right, b), (box.x, b)]
             for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ax.add_collection(PolyCollection(bands, facecolors=colours, edgecolors="none",
                                     antialiaseds=False, **put), autolim=False)
    outline = [(box.x, top)] + ([(mid, box.y)] if high_open else []) + [(right, top),
               (right, bottom)] + ([(mid, box.y + box.h)] if low_open else []) + [(box.x, bottom)]
    for is_open, end, colour in ((high_open, box.y, cmap.get_over()),
                                 (low_open, box.y + box.h, cmap.get_under())):
        base = top if end == box.y else bottom
        if is_open:
            ax.add_artist(Polygon([(box.x, base), (mid, end), (right, base)], closed=True,
                                  facecolor=colour, edgecolor="none", **put))
    ax.add_artist(Polygon(outline, closed=True, fill=False, edgecolor="black", linewidth=0.8,
                          **put))
    where = positions(scale, ticks)
    keep = np.isfinite(where) & (where >= -1e-9) & (where <= 1 + 1e-9)
    ys = bottom - np.clip(where[keep], 0, 1) * (bottom - top)
    ax.add_collection(LineCollection([[(right, y), (right + 4.9, y)] for y in ys],
                                     colors="black", linewidths=0.8, **put), autolim=False)
    labels = [short_number(v) for v in np.asarray(ticks, dtype=float)[keep]]
    for y, text in zip(ys, labels, strict=True):
        ax.text(right + 8.4, y, text, fontsize=fontsize, ha="left", va="center", **put)
    if label:
        room = max((len(t) for t in labels), default=0) * 0.62 * fontsize * DPI / 72
        ax.text(right + 14 + room, box.y + box.h / 2, label, fontsize=10, rotation=90,
                ha="left", va="center", multialignment="center", **put)
