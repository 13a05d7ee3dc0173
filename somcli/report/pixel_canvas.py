"""A figure drawn on one matplotlib Axes whose units are the picture's pixels (x to the
right, y down from the top edge), with colour bars drawn as shapes on it.

A matplotlib Axes costs about 15 ms to make (its axis objects, ticks and their lines) and
more to draw; a picture of ten component planes, each with a colour bar, had 22 of them and
took 0.4-0.5 s, half of the whole run's drawing on a million rows. Drawn here, a panel is a
collection of polygons and a colour bar a column of colour bands, an outline and its tick
labels: the same picture in half the time (benchmarks/README.md, "Issue 30, eighth round").
The map pictures keep an Axes in map units and draw around it in pixels (:func:`pixels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somcli.report.colour_scale import Scale, short_number
from somcli.report.figure import DPI

EXTEND_PX = 0.05  # an open end's triangle, as a share of the bar's length (matplotlib's)


def chart(width: int, height: int, box: tuple[float, float, float, float]):
    """A figure ``width`` x ``height`` pixels and its one Axes at ``box`` (left, bottom,
    width, height as shares of the figure), its axes off (a chart_frame.frame frames it)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_axes(box)
    ax.set_axis_off()
    return fig, ax


def canvas(width: int, height: int):
    """A figure ``width`` x ``height`` pixels and its one Axes in pixel units, no frame."""
    fig, ax = chart(width, height, (0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    return fig, ax


@dataclass
class Box:
    """A rectangle in pixels: left, top, width, height."""
    x: float
    y: float
    w: float
    h: float


def beside(slot: Box, shrink: float, share: float = 0.8) -> Box:
    """Where matplotlib puts a colour bar for an Axes given ``slot``, which took ``share``
    of the width the two had: right of it, ``shrink`` of its height and centred on it, 20
    times as tall as wide (30 pixels wide at most)."""
    height = shrink * slot.h
    return Box(slot.x + slot.w + 0.05 * slot.w / share, slot.y + (1 - shrink) / 2 * slot.h,
               min(height / 20, 30), height)


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

    width, height = _size(fig)
    return Affine2D().scale(1 / width, -1 / height).translate(0, 1) + fig.transFigure


def placed(ax, original: bool = False) -> Box:
    """Where ``ax`` is drawn, in picture pixels: its box once its aspect is applied (or the
    box it was given, ``original``)."""
    if not original:
        ax.apply_aspect()
    width, height = _size(ax.figure)
    b = ax.get_position(original=original)
    return Box(b.x0 * width, (1 - b.y1) * height, b.width * width, b.height * height)


def to_pixels(ax, xy) -> np.ndarray:
    """Points in ``ax``'s data units, in picture pixels (after :func:`placed`)."""
    out = ax.transData.transform(np.atleast_2d(np.asarray(xy, dtype=float)))
    out[:, 1] = _size(ax.figure)[1] - out[:, 1]
    return out


def _size(fig) -> tuple[float, float]:
    """The figure's width and height in pixels."""
    width, height = fig.get_size_inches() * fig.dpi
    return float(width), float(height)


def ticks(scale: Scale, n: int = 5, integer: bool = False) -> np.ndarray:
    """The values a colour bar names: about ``n`` round numbers in its range (whole numbers
    with ``integer``); on a log scale the powers of ten in it, or its ends where it holds
    fewer than two; every few band edges of a quantile scale."""
    from matplotlib.colors import BoundaryNorm, LogNorm
    from matplotlib.ticker import LogLocator

    lo, hi = float(scale.norm.vmin), float(scale.norm.vmax)
    if isinstance(scale.norm, BoundaryNorm):
        edges = scale.norm.boundaries
        return edges[:: max(1, len(edges) // n)]
    if isinstance(scale.norm, LogNorm):
        found = LogLocator(numticks=n).tick_values(lo, hi)
        inside = found[(found >= lo * (1 - 1e-9)) & (found <= hi * (1 + 1e-9))]
        return inside if len(inside) >= 2 else np.array([lo, hi])
    return round_values(lo, hi, n, integer)


def round_values(lo: float, hi: float, n: int, integer: bool = False) -> np.ndarray:
    """About ``n`` round values covering [lo, hi] (steps of 1, 2, 2.5 or 5 times a power of
    ten, as matplotlib's default locator picks them; whole numbers with ``integer``)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n, steps=[1, 2, 2.5, 5, 10], integer=integer).tick_values(lo, hi)


def text_width(texts: list[str], fontsize: float) -> float:
    """About how wide the widest of ``texts`` (numbers) is drawn, pixels: digits are 0.64
    em wide in DejaVu Sans, the default font; commas and points half that."""
    return max((0.64 * sum(c not in ",." for c in t) + 0.32 * sum(c in ",." for c in t)
                for t in texts), default=0) * fontsize * DPI / 72


def colour_bar(ax, box: Box, scale: Scale, cmap, ticks, fontsize: float = 8,
               transform=None, label: str = "") -> None:
    """A vertical colour bar in ``box`` (pixels; its open ends' triangles inside it), ticks
    at the values ``ticks`` within its range, labelled at its right, and ``label`` along
    it. ``transform``: from pixels to the display (``ax``'s own units by default)."""
    from matplotlib.collections import LineCollection, QuadMesh
    from matplotlib.patches import Polygon

    put = {"transform": transform or ax.transData, "clip_on": False}
    low_open = scale.extend in ("min", "both")
    high_open = scale.extend in ("max", "both")
    tip = EXTEND_PX * box.h
    top = box.y + (tip if high_open else 0.0)  # the bands' ends, inside the triangles
    bottom = box.y + box.h - (tip if low_open else 0.0)
    colours = bar_colours(scale, cmap)
    edges = np.linspace(bottom, top, len(colours) + 1)
    right, mid = box.x + box.w, box.x + box.w / 2
    corners = np.empty((len(edges), 2, 2))
    corners[:, 0, 0], corners[:, 1, 0], corners[:, :, 1] = box.x, right, edges[:, None]
    ax.add_collection(QuadMesh(corners, facecolors=colours, edgecolors="none",
                               antialiased=False, **put), autolim=False)
    outline = [(box.x, top)] + ([(mid, box.y)] if high_open else []) + [(right, top),
               (right, bottom)] + ([(mid, box.y + box.h)] if low_open else []) + [(box.x, bottom)]
    for is_open, tip_y, base, colour in ((high_open, box.y, top, cmap.get_over()),
                                         (low_open, box.y + box.h, bottom, cmap.get_under())):
        if is_open:  # the open end's triangle, in the colour beyond the bar's range
            ax.add_artist(Polygon([(box.x, base), (mid, tip_y), (right, base)], closed=True,
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
        room = text_width(labels, fontsize)
        ax.text(right + 14 + room, box.y + box.h / 2, label, fontsize=10, rotation=90,
                ha="left", va="center", multialignment="center", **put)
