"""Drawing a map's units on matplotlib axes: cells (hexagons or squares, map row 0 at the
top), row and column ticks that find ``bmu_row, bmu_col``, outlines that fade on big maps,
borders between clusters, and text (counts, row names) in a colour that reads on its cell."""

from __future__ import annotations

import numpy as np

from somcli.algorithms.grid import HEX_ROW_HEIGHT, Grid
from somcli.report.colour_scale import cut, plain, text_colour

HEX_RADIUS = 1.0 / np.sqrt(3.0)
MAX_TICKS = 16  # per axis


def cells(grid: Grid) -> np.ndarray:
    """Polygon vertices of every unit: pointy-top hexagons, or unit squares."""
    if grid.topology == "hex":
        angles = np.deg2rad(np.arange(30, 390, 60))
        shape = np.column_stack([np.cos(angles), np.sin(angles)]) * HEX_RADIUS
    else:
        shape = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    return grid.positions[:, None, :] + shape[None, :, :]


def extent(grid: Grid) -> tuple[float, float]:
    """Width and height of the drawn map, in unit spacings."""
    pos = grid.positions
    pad = 2 * HEX_RADIUS if grid.topology == "hex" else 1.0
    return float(np.ptp(pos[:, 0]) + 1.0), float(np.ptp(pos[:, 1]) + pad)


def outline(grid: Grid) -> tuple[float, str]:
    """Cell outlines: thin grey on small maps, thinner on bigger ones, none past 60 across."""
    across = max(grid.rows, grid.cols)
    if across > 60:
        return 0.0, "none"
    return float(np.clip(8.0 / across, 0.15, 0.6)), "0.6"


def draw_cells(ax, grid: Grid, values=None, cmap=None, norm=None, facecolors=None):
    """The units as cells on ``ax`` (in map units, row 0 at the top), its own axes off: the
    row and column ticks are drawn by :func:`frame` once the Axes has its place."""
    from matplotlib.collections import PolyCollection

    width, edge = outline(grid)
    coll = PolyCollection(cells(grid), array=values, cmap=cmap, norm=norm,
                          facecolors=facecolors, edgecolors=edge, linewidths=width)
    ax.add_collection(coll)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.invert_yaxis()
    ax.set_axis_off()
    return coll


def frame(ax, grid: Grid, title: str, pad_px: float = 36) -> None:
    """Ticks that name map rows and columns (columns on top, as in a table), their labels
    and ``title`` above them, drawn as text in pixels at the edges of where ``ax`` is drawn
    (a matplotlib axis per Axes cost more than the map itself)."""
    from matplotlib.collections import LineCollection

    from somcli.report.pixel_canvas import pixels, placed, to_pixels

    box = placed(ax)
    put = {"transform": pixels(ax.figure), "clip_on": False, "color": "0.35"}
    rows, cols = tick_steps(grid.rows), tick_steps(grid.cols)
    y = to_pixels(ax, np.column_stack([np.zeros(len(rows)), rows * (
        HEX_ROW_HEIGHT if grid.topology == "hex" else 1.0)]))[:, 1]
    x = to_pixels(ax, np.column_stack([cols + (0.25 if grid.topology == "hex" and grid.rows > 1
                                               else 0.0), np.zeros(len(cols))]))[:, 0]
    fontsize = 8 if max(len(rows), len(cols)) > 10 else 9
    marks = [[(box.x - 3.5, v), (box.x, v)] for v in y] + [[(v, box.y - 3.5), (v, box.y)]
                                                           for v in x]
    ax.add_collection(LineCollection(marks, colors="0.35", linewidths=0.8,
                                     transform=put["transform"]), autolim=False)
    for v, r in zip(y, rows, strict=True):
        ax.text(box.x - 5.6, v, str(r), fontsize=fontsize, ha="right", va="center", **put)
    for v, c in zip(x, cols, strict=True):
        ax.text(v, box.y - 5.6, str(c), fontsize=fontsize, ha="center", va="bottom", **put)
    size = fontsize * 100 / 72
    ax.text(box.x - 10 - 2.4 * size, box.y + box.h / 2, "map row (bmu_row)", fontsize=9,
            rotation=90, ha="right", va="center", **put)
    top = box.y - 5.6 - size - 5
    ax.text(box.x + box.w / 2, top, "map column (bmu_col)", fontsize=9, ha="center",
            va="bottom", **put)
    ax.text(box.x + box.w / 2, top - 12.5 - pad_px, title, fontsize=11, ha="center",
            va="bottom", multialignment="center", transform=put["transform"], clip_on=False)


def tick_steps(n: int) -> np.ndarray:
    step = max(1, int(np.ceil(n / MAX_TICKS)))
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 10**9) if s >= step)
    return np.arange(0, n, step)


def border_segments(grid: Grid, unit_cluster: np.ndarray) -> np.ndarray:
    """(n, 2, 2) the edges shared by neighbouring units of different clusters."""
    nb = grid.neighbors
    u = np.repeat(np.arange(grid.units), nb.shape[1])
    v = nb.ravel()
    keep = (v > u) & (unit_cluster[u] != unit_cluster[np.maximum(v, 0)])
    u, v = u[keep], v[keep]
    if not len(u):
        return np.zeros((0, 2, 2))
    pos = grid.positions
    mid = (pos[u] + pos[v]) / 2
    d = pos[v] - pos[u]
    perp = np.column_stack([-d[:, 1], d[:, 0]]) / np.linalg.norm(d, axis=1, keepdims=True)
    half = HEX_RADIUS / 2 if grid.topology == "hex" else 0.5
    return np.stack([mid - half * perp, mid + half * perp], axis=1)


def border_width(grid: Grid) -> float:
    """Cluster borders: bold on small maps, thinner on big ones (points)."""
    return float(np.clip(24.0 / max(grid.rows, grid.cols), 0.8, 2.6))


def draw_borders(ax, grid: Grid, unit_cluster: np.ndarray, colour="crimson") -> None:
    from matplotlib.collections import LineCollection

    segments = border_segments(grid, unit_cluster)
    if len(segments):
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=border_width(grid),
                                         capstyle="round"))


def cell_fontsize(grid: Grid, fig_width_px: float) -> float:
    """Text that fits in a cell of a map drawn ``fig_width_px`` wide."""
    cell_px = 0.8 * fig_width_px / max(extent(grid)[0], 1.0)
    return float(np.clip(cell_px / 4.2, 4.5, 11))


def annotate(ax, grid: Grid, labels, facecolours, fontsize: float) -> None:
    """One text per unit (None: nothing), black or white to read on its cell."""
    for (x, y), text, rgba in zip(grid.positions, labels, facecolours, strict=True):
        if text:
            ax.text(x, y, plain(text), ha="center", va="center", fontsize=fontsize,
                    color=text_colour(rgba), linespacing=1.05)


def names_text(names: list[str], room: int, width: int = 14) -> str:
    """A unit's row names, one per line, cut to fit: ``room`` lines at most."""
    lines = [cut(n, width) for n in names]
    if len(lines) > room:
        lines = lines[:room - 1] + [f"+{len(names) - room + 1} more"]
    return "\n".join(lines)


TOP_PX = 150  # the title (up to three lines), the column numbers and their label
BOTTOM_PX = 20


def figure_size(grid: Grid, width: int = 800, extra_height: int = 0) -> tuple[int, int]:
    """A figure as wide as ``width`` and as tall as the map needs (within bounds)."""
    w, h = extent(grid)
    map_px = (width - 230) * h / w  # the colour bar and margins take the rest of the width
    return width, int(np.clip(map_px, 300, 1250)) + TOP_PX + BOTTOM_PX + extra_height
