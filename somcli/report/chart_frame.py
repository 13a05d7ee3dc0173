"""A chart's frame drawn in pixels around an Axes whose own axes are off: the outline,
round-numbered ticks and their labels, grid lines, axis labels, the title and a legend.

A matplotlib axis (the object that makes a chart's ticks) cost more than the chart it
framed: k_choice.png and projection.png spent a third of their drawing making tick objects
and laying out their labels, and a legend placed at ``loc="best"`` searched nine places
among every point drawn. Here the ticks are a line collection and one text per label, the
legend's corner is the one over the fewest points, and the chart draws in half the time
(benchmarks/README.md, "Issue 30, ninth round"). Ticks and labels are placed where
matplotlib puts them (3.5-point ticks, labels 3.5 points from their ends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from somcli.report.figure import DPI
from somcli.report.pixel_canvas import Box, pixels, placed, round_values, text_width, to_pixels

TICK_PX = 3.5 * DPI / 72  # a tick's length
PAD_PX = 3.5 * DPI / 72  # from a tick's end to its label
FONT = 10  # tick labels and axis labels, points (matplotlib's default size)
MINUS = "\u2212"  # matplotlib's tick labels write a minus sign, not a hyphen


@dataclass
class Ticks:
    """One axis: where its ticks are (in the data units of the Axes they are drawn on), what
    they say, the axis label and its colour."""
    at: np.ndarray
    labels: list[str]
    label: str = ""
    colour: str = "black"


@dataclass
class Entry:
    """One line of a legend: a marker (``scatter``'s keywords) and its text."""
    text: str
    marker: dict = field(default_factory=dict)


def padded(values, margin: float = 0.05) -> tuple[float, float]:
    """The range of ``values`` widened by ``margin`` of it on each side (matplotlib's
    autoscale), or by one either side of a single value."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return -1.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        return lo - 1.0, hi + 1.0
    pad = margin * (hi - lo)
    return lo - pad, hi + pad


def ticks(lo: float, hi: float, n: int, label: str = "", colour: str = "black",
          integer: bool = False) -> Ticks:
    """About ``n`` round values within [lo, hi] (:func:`round_values`), labelled by
    :func:`labels`."""
    found = round_values(lo, hi, n, integer)
    span = hi - lo
    at = found[(found >= lo - 1e-9 * span) & (found <= hi + 1e-9 * span)]
    return Ticks(at, labels(at), label, colour)


def labels(values) -> list[str]:
    """Tick labels with as many decimals as the values need to be told apart (0.25 and 0.5:
    "0.25", "0.50"), thousands separated, a minus sign for negatives; powers of ten for
    values far from 1."""
    v = np.asarray(values, dtype=float)
    if not v.size:
        return []
    biggest = float(np.abs(v).max())
    if biggest >= 1e7 or 0 < biggest < 1e-3:
        from somcli.report.colour_scale import short_number

        out = [short_number(x) for x in v]
    else:
        decimals = next((d for d in range(0, 8)
                         if np.allclose(np.round(v, d), v, rtol=0, atol=1e-9 * max(biggest, 1))),
                        8)
        out = [f"{x + 0.0:,.{decimals}f}" for x in np.round(v, decimals)]
    return [s.replace("-", MINUS) for s in out]


def frame(ax, x: Ticks, y: Ticks, title: str = "", right: Ticks | None = None,
          grid: bool = False, title_size: float = 12) -> Box:
    """Draw the frame of ``ax`` (whose limits are set and whose axes are off): its
    outline, ``x`` ticks below, ``y`` on the left, ``right`` on the right (positions in
    ``ax``'s y units), light grid lines at ``x`` and ``y``, the axis labels and ``title``.
    Returns where the Axes is drawn, in pixels."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    box = placed(ax)
    put = {"transform": pixels(ax.figure), "clip_on": False}
    xs = to_pixels(ax, np.column_stack([x.at, np.zeros(len(x.at))]))[:, 0]
    ys = to_pixels(ax, np.column_stack([np.zeros(len(y.at)), y.at]))[:, 1]
    bottom, left, top, end = box.y + box.h, box.x, box.y, box.x + box.w
    if grid:
        lines = [[(v, top), (v, bottom)] for v in xs] + [[(left, v), (end, v)] for v in ys]
        ax.add_collection(LineCollection(lines, colors="#b0b0b0", linewidths=0.8, alpha=0.25,
                                         zorder=0.5, **put), autolim=False)
    marks = [[(v, bottom), (v, bottom + TICK_PX)] for v in xs] + \
            [[(left - TICK_PX, v), (left, v)] for v in ys]
    if right is not None:
        rs = to_pixels(ax, np.column_stack([np.zeros(len(right.at)), right.at]))[:, 1]
        marks += [[(end, v), (end + TICK_PX, v)] for v in rs]
    ax.add_collection(LineCollection(marks, colors="black", linewidths=0.8, **put),
                      autolim=False)
    ax.add_artist(Rectangle((left, top), box.w, box.h, fill=False, edgecolor="black",
                            linewidth=0.8, zorder=2.5, **put))
    size = FONT * DPI / 72  # a line of text, pixels
    for v, text in zip(xs, x.labels, strict=True):
        ax.text(v, bottom + TICK_PX + PAD_PX, text, fontsize=FONT, ha="center", va="top",
                color=x.colour, **put)
    for v, text in zip(ys, y.labels, strict=True):
        ax.text(left - TICK_PX - PAD_PX, v, text, fontsize=FONT, ha="right", va="center",
                color=y.colour, **put)
    if x.label:
        ax.text(left + box.w / 2, bottom + TICK_PX + PAD_PX + size + 5.6, x.label,
                fontsize=FONT, ha="center", va="top", color=x.colour, **put)
    if y.label:
        ax.text(left - TICK_PX - PAD_PX - text_width(y.labels, FONT) - 5.6, top + box.h / 2, y.label,
                fontsize=FONT, rotation=90, ha="right", va="center", color=y.colour, **put)
    if right is not None:
        for v, text in zip(rs, right.labels, strict=True):
            ax.text(end + TICK_PX + PAD_PX, v, text, fontsize=FONT, ha="left", va="center",
                    color=right.colour, **put)
        if right.label:
            ax.text(end + TICK_PX + PAD_PX + text_width(right.labels, FONT) + 5.6, top + box.h / 2,
                    right.label, fontsize=FONT, rotation=90, ha="left", va="center",
                    color=right.colour, **put)
    if title:
        ax.text(left + box.w / 2, top - 6 * DPI / 72, title, fontsize=title_size,
                ha="center", va="bottom", **put)
    return box


def legend(ax, entries: list[Entry], points: np.ndarray, fontsize: float = 8) -> Box | None:
    """``entries`` in a box in the corner of ``ax`` over the fewest of ``points`` (pixels,
    as :func:`~somcli.report.pixel_canvas.to_pixels` gives them): what ``loc="best"``
    does, without searching every place for every point. Returns where it is, pixels."""
    from matplotlib.patches import FancyBboxPatch

    if not entries:
        return None
    box = placed(ax)
    put = {"transform": pixels(ax.figure), "clip_on": False}
    line = fontsize * DPI / 72 * 1.55  # a row of the legend, pixels
    width = 34 + _text_width(ax, [e.text for e in entries], fontsize)
    height = line * len(entries) + 8
    margin = 7
    corners = [(box.x + box.w - width - margin, box.y + margin),  # upper right first, as
               (box.x + margin, box.y + margin),  # matplotlib's "best" tries them
               (box.x + margin, box.y + box.h - height - margin),
               (box.x + box.w - width - margin, box.y + box.h - height - margin)]
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    covered = [int(((p[:, 0] >= cx) & (p[:, 0] <= cx + width) & (p[:, 1] >= cy)
                    & (p[:, 1] <= cy + height)).sum()) for cx, cy in corners]
    cx, cy = corners[int(np.argmin(covered))]
    ax.add_artist(FancyBboxPatch((cx, cy), width, height, boxstyle="round,pad=0,rounding_size=3",
                                 facecolor="white", edgecolor="0.8", alpha=0.85, zorder=5,
                                 **put))
    for i, entry in enumerate(entries):
        y = cy + 4 + line * (i + 0.5)
        ax.scatter([cx + 15], [y], zorder=6, **(entry.marker | put))
        ax.text(cx + 28, y, entry.text, fontsize=fontsize, ha="left", va="center", zorder=6,
                **put)
    return Box(cx, cy, width, height)


def _text_width(ax, texts: list[str], fontsize: float) -> float:
    """The widest of ``texts`` as the figure will draw it, pixels."""
    from matplotlib.font_manager import FontProperties

    from somcli.report.agg_canvas import Canvas

    renderer = Canvas(ax.figure).get_renderer()
    prop = FontProperties(size=fontsize)
    return max(renderer.get_text_width_height_descent(t, prop, ismath=False)[0]
               for t in texts)
