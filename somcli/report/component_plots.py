"""Component planes: one panel per feature, its value on every unit in original units.

Panels are laid out to the map's shape (as big as fit a 1,000-pixel-wide picture), each with
its own colour bar whose range is the data's (by ``--color-scale``: 2nd-98th percentile of
the rows by default, so a skewed column such as a population is not one dark plane), tick
labels a person reads (880M, 0.025), and the data's full range under the name.
"""

from __future__ import annotations

import numpy as np

from somcli.report import map_draw as D
from somcli.report import pixel_canvas as P
from somcli.report.colour_scale import cut, finite, plain, scale_for, short_number
from somcli.report.figure import save_png
from somcli.report.map_facts import MapFacts

MAX_COMPONENTS = 16
WIDTH = 1000
MAX_HEIGHT = 1500
TITLE_PX, HEAD_PX = 56, 44  # above each panel (name, range); above all (the title)
LEFT_PX, RIGHT_PX, BOTTOM_PX = 20, 10, 24


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
    import matplotlib
    from matplotlib.collections import PolyCollection

    n = min(len(f.features), MAX_COMPONENTS)
    ncols, nrows, height = layout(n, f.grid)
    fig, ax = P.canvas(WIDTH, height)
    data = f.original_sample()
    cmap = matplotlib.colormaps["viridis"]
    shape = D.cells(f.grid)
    slot_w = (WIDTH - LEFT_PX - RIGHT_PX) / ncols
    row_px = (height - HEAD_PX - BOTTOM_PX) / nrows  # a panel and the title above it
    map_w = 0.68 * WIDTH / ncols
    bar_w = float(np.clip(0.04 * slot_w, 8, 14))
    polygons, faces = [], []
    for i in range(n):
        left = LEFT_PX + (i % ncols) * slot_w
        top = HEAD_PX + (i // ncols) * row_px + TITLE_PX
        cells = P.fit_polygons(shape, P.Box(left, top, map_w, row_px - TITLE_PX - 4))
        values = f.W_original[:, i]
        column = data[:, i] if data is not None else None
        scale = scale_for(values, f.color_scale, column)
        polygons.append(cells)
        faces.append(cmap(scale.norm(values)))
        x0, x1 = cells[..., 0].min(), cells[..., 0].max()
        y0, y1 = cells[..., 1].min(), cells[..., 1].max()
        bar = P.Box(x1 + 6 + 0.02 * slot_w, y0, bar_w, y1 - y0)
        P.colour_bar(ax, bar, scale, cmap, P.ticks(scale))
        known = finite(column if column is not None else values)
        where = "data" if column is not None else "map"
        span = f"{where}: {' to '.join(short_number(v) for v in _ends(known))}" \
            if known.size else ""
        if scale.note == "log scale":
            span += ", log colours"
        ax.text((x0 + x1) / 2, y0 - 7, f"{plain(cut(f.features[i], 30))}\n{span}",
                fontsize=10, linespacing=1.3, ha="center", va="bottom")
    width, edge = D.outline(f.grid)
    ax.add_collection(PolyCollection(np.concatenate(polygons), facecolors=np.concatenate(faces),
                                     edgecolors=edge, linewidths=width), autolim=False)
    ax.text(WIDTH / 2, 10, title, fontsize=12, ha="center", va="top")
    save_png(fig, path)


def _ends(values):
    """The range's two ends, an end within a millionth of the range from 0 shown as 0 (the
    sample is rebuilt from scaled values: a column starting at 0 came back as -7.3e-10)."""
    lo, hi = float(values.min()), float(values.max())
    tiny = 1e-6 * max(abs(lo), abs(hi))
    return [0.0 if abs(v) < tiny else v for v in (lo, hi)]
