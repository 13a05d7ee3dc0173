"""Component planes: one panel per feature, its value on every unit in original units.

Panels are laid out to the map's shape (as big as fit a 1,000-pixel-wide picture), each with
its own colour bar whose range is the data's (by ``--color-scale``: 2nd-98th percentile of
the rows by default, so a skewed column such as a population is not one dark plane), tick
labels a person reads (880M, 0.025), and the data's full range under the name.
"""

from __future__ import annotations

import numpy as np

from somcli.report import map_draw as D
from somcli.report.colour_scale import cut, finite, plain, scale_for, short_number
from somcli.report.figure import new_figure, save_png
from somcli.report.map_facts import MapFacts

MAX_COMPONENTS = 16
WIDTH = 1000
MAX_HEIGHT = 1500
TITLE_PX, HEAD_PX = 56, 44  # above each panel (name, range); above all (the title)


def layout(n: int, grid) -> tuple[int, int, int]:
    """Columns, rows and figure height for ``n`` panels: the biggest maps that fit."""
    w, h = D.extent(grid)
    best = None
    for ncols in range(1, n + 1):
        nrows = int(np.ceil(n / ncols))
        map_w = (WIDTH / ncols) * 0.68
        height = int(HEAD_PX + nrows * (map_w * h / w + TITLE_PX) + 24)
        if height <= MAX_HEIGHT and (best is None or map_w > best[0]):
            best = (map_w, ncols, nrows, max(height, 300))
    if best is None:
        ncols = n
        map_w = (WIDTH / ncols) * 0.68
        return ncols, 1, int(min(MAX_HEIGHT, HEAD_PX + map_w * h / w + TITLE_PX + 24))
    return best[1], best[2], best[3]


def draw_components(path, f: MapFacts, title: str) -> None:
    from matplotlib.ticker import FuncFormatter

    n = min(len(f.features), MAX_COMPONENTS)
    ncols, nrows, height = layout(n, f.grid)
    fig, axes = new_figure((WIDTH, height), nrows, ncols)
    data = f.original_sample()
    ticks = FuncFormatter(lambda v, _: short_number(v))
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.set_visible(False)
            continue
        values = f.W_original[:, i]
        column = data[:, i] if data is not None else None
        scale = scale_for(values, f.color_scale, column)
        coll = D.draw_cells(ax, f.grid, values, "viridis", scale.norm, ticks=False)
        bar = fig.colorbar(coll, ax=ax, fraction=0.07, pad=0.03, extend=scale.extend,
                           format=ticks)
        bar.ax.tick_params(labelsize=8)
        bar.locator = _locator(scale)
        bar.update_ticks()
        known = finite(column if column is not None else values)
        where = "data" if column is not None else "map"
        span = f"{where}: {' to '.join(short_number(v) for v in _ends(known))}" \
            if known.size else ""
        if scale.note == "log scale":
            span += ", log colours"
        ax.set_title(f"{plain(cut(f.features[i], 30))}\n{span}", fontsize=10, linespacing=1.3)
    fig.suptitle(title, fontsize=12, y=1 - 10 / height, va="top")
    top = 1 - (HEAD_PX + TITLE_PX) / height
    row_px = (height - HEAD_PX - 24) / nrows  # a panel and the title above it
    fig.subplots_adjust(left=0.02, right=0.93, bottom=24 / height, top=top,  # room: -7.5e-05
                        hspace=TITLE_PX / max(row_px - TITLE_PX, 1), wspace=0.25)
    save_png(fig, path)


def _ends(values):
    """The range's two ends, an end within a millionth of the range from 0 shown as 0 (the
    sample is rebuilt from scaled values: a column starting at 0 came back as -7.3e-10)."""
    lo, hi = float(values.min()), float(values.max())
    tiny = 1e-6 * max(abs(lo), abs(hi))
    return [0.0 if abs(v) < tiny else v for v in (lo, hi)]


def _locator(scale):
    from matplotlib.colors import BoundaryNorm, LogNorm
    from matplotlib.ticker import FixedLocator, LogLocator, MaxNLocator

    if isinstance(scale.norm, LogNorm):
        return LogLocator(numticks=5)
    if isinstance(scale.norm, BoundaryNorm):
        edges = scale.norm.boundaries
        return FixedLocator(edges[:: max(1, len(edges) // 5)])
    return MaxNLocator(5)
