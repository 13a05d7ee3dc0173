"""The map pictures: U-matrix (with cluster borders and, on small data, the rows' names),
hits (counts in a colour that reads on the cell) and clusters (one colour per cluster, a
legend with each cluster's size and what sets it apart, empty units pale)."""

from __future__ import annotations

import numpy as np

from somcli.report import map_draw as D
from somcli.report import pixel_canvas as P
from somcli.report.colour_scale import cluster_colours, plain, scale_for
from somcli.report.figure import new_figure, save_png
from somcli.report.map_facts import MapFacts

MAX_LABELLED = 150  # units written with their count (more is unreadable, and slow to draw)
MAX_LEGEND = 24  # clusters listed in the legend
WIDTH = 800
BAR_SHARE = 0.8  # of the width right of the row ticks: the map's; the rest the colour bar's


def heading(f: MapFacts) -> str:
    return f"{f.grid.rows}x{f.grid.cols} {f.grid.topology} map"


def quality(f: MapFacts) -> str:
    qe, te = f.quality.get("quantization_error"), f.quality.get("topographic_error")
    return f"QE {qe:.3g}, TE {te:.3g}" if qe is not None and te is not None else ""


def _place(fig, height: int, bottom_px: int = 0, bar: bool = True):
    """Margins in pixels: room for the title and top ticks, the row ticks, the colour bar
    (a fifth of the width right of the map, as matplotlib's colour bars take)."""
    left = 70 / WIDTH
    right = left + BAR_SHARE * (0.9 - left) if bar else 0.97
    fig.subplots_adjust(left=left, right=right, bottom=(bottom_px + D.BOTTOM_PX) / height,
                        top=1 - D.TOP_PX / height)


def _bar(ax, scale, cmap, ticks, label: str) -> None:
    """The colour bar right of the map's slot, four fifths of its height."""
    import matplotlib

    box = P.beside(P.placed(ax, original=True), 0.8, BAR_SHARE)
    P.colour_bar(ax, box, scale, matplotlib.colormaps[cmap], ticks, fontsize=10,
                 transform=P.pixels(ax.figure), label=label)


def draw_umatrix(path, f: MapFacts) -> None:
    grid = f.grid
    size = D.figure_size(grid)
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    scale = scale_for(f.U, f.color_scale)
    coll = D.draw_cells(ax, grid, np.nan_to_num(f.U.ravel()), "bone_r", scale.norm)
    if len(np.unique(f.unit_cluster)) > 1:
        D.draw_borders(ax, grid, f.unit_cluster)
    if f.named:
        room = max(1, int(D.cell_fontsize(grid, size[0]) * 0.5))
        fontsize = D.cell_fontsize(grid, size[0]) * 0.72
        labels = [D.names_text(n, room) if n else "" for n in f.unit_names]
        D.annotate(ax, grid, labels, coll.to_rgba(np.nan_to_num(f.U.ravel())), fontsize)
    label = "mean distance to neighbours (scaled units)"
    if scale.note:
        label += f"\n{scale.note}"
    lines = [f"U-matrix, {heading(f)}", quality(f)]
    if len(np.unique(f.unit_cluster)) > 1:
        lines.append("red lines: borders between clusters")
    _place(fig, size[1])
    _bar(ax, scale, "bone_r", P.ticks(scale, 8), label)
    D.frame(ax, grid, "\n".join(filter(None, lines)))
    save_png(fig, path)


def draw_hits(path, f: MapFacts) -> None:
    grid = f.grid
    size = D.figure_size(grid)
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    values = f.hits.astype(float)
    scale = scale_for(values, f.color_scale)
    coll = D.draw_cells(ax, grid, values, "Blues", scale.norm)
    if grid.units <= MAX_LABELLED:
        D.annotate(ax, grid, [f"{int(h):,}" for h in f.hits], coll.to_rgba(values),
                   D.cell_fontsize(grid, size[0]))
    label = "rows" + (f"\n{scale.note}" if scale.note else "")
    empty = int((f.hits == 0).sum())
    _place(fig, size[1])
    _bar(ax, scale, "Blues", P.ticks(scale, 6, integer=True), label)
    D.frame(ax, grid, f"Hits per unit, {heading(f)}\n{int(f.hits.sum()):,} rows, "
            f"{empty:,} empty unit{'s' if empty != 1 else ''}")
    save_png(fig, path)


def cluster_fills(f: MapFacts) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's colour (its cluster's, pale where the unit holds no row) and the
    clusters' colours (RGBA rows)."""
    colours = np.array(cluster_colours(int(f.unit_cluster.max()) + 1))
    fills = colours[f.unit_cluster]
    dead = f.hits == 0
    fills[dead, :3] = 0.35 * fills[dead, :3] + 0.65
    return fills, colours


def draw_clusters(path, f: MapFacts) -> None:
    from matplotlib.patches import Patch

    grid = f.grid
    k = int(f.unit_cluster.max()) + 1
    face, colours = cluster_fills(f)
    dead = f.hits == 0
    legend = (f.legend or [str(j) for j in range(k)])[:MAX_LEGEND]
    ncol = 2 if len(legend) > 8 else 1
    legend_px = 24 * int(np.ceil((len(legend) + 1) / ncol)) + 24
    size = D.figure_size(grid, extra_height=legend_px)
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    D.draw_cells(ax, grid, facecolors=face)
    D.draw_borders(ax, grid, f.unit_cluster, colour="black")
    fontsize = float(np.clip(D.cell_fontsize(grid, size[0]) * 1.3, 8, 15))
    for j, (x, y) in _cluster_spots(grid, f.unit_cluster, f.hits).items():
        ax.text(x, y, str(j), ha="center", va="center", fontsize=fontsize, fontweight="bold",
                color="black", bbox={"boxstyle": "circle,pad=0.25", "fc": "white",
                                     "ec": "0.3", "lw": 0.6, "alpha": 0.9})
    handles = [Patch(facecolor=colours[j], edgecolor="0.3", label=plain(text))
               for j, text in enumerate(legend)]
    if dead.any():
        handles.append(Patch(facecolor="0.88", edgecolor="0.3",
                             label="pale: a unit that holds no row"))
    if k > MAX_LEGEND:
        handles.append(Patch(facecolor="white", edgecolor="white",
                             label=f"(+{k - MAX_LEGEND} more clusters: report.md)"))
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=9, frameon=False,
               handlelength=1.4, columnspacing=1.5)
    _place(fig, size[1], bottom_px=legend_px, bar=False)
    D.frame(ax, grid, f"Clusters ({k}), {heading(f)}\ncluster: rows, share, what sets it apart")
    save_png(fig, path)


def _cluster_spots(grid, unit_cluster, hits) -> dict[int, tuple[float, float]]:
    """Where each cluster's number goes: its unit nearest the cluster's (hit-weighted)
    middle, so the number sits on the cluster even when its shape is a crescent."""
    pos = grid.positions
    spots = {}
    for j in np.unique(unit_cluster):
        mine = np.flatnonzero(unit_cluster == j)
        if hits[mine].any():  # on a unit that holds rows, not a pale one
            mine = mine[hits[mine] > 0]
        w = hits[mine].astype(float) + 1e-3
        middle = (pos[mine] * w[:, None]).sum(0) / w.sum()
        spots[int(j)] = tuple(pos[mine[np.argmin(((pos[mine] - middle) ** 2).sum(1))]])
    return spots
