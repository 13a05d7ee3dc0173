"""Pictures of a map as PNG (matplotlib, Agg backend): U-matrix, hits, clusters and
component planes, drawn as hexagons on a hexagonal grid and squares on a
rectangular one, with map row 0 at the top (as in codebook.csv)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from io import BytesIO

import numpy as np

from somcli.algorithms.grid import Grid

MAX_COMPONENTS = 16
MAX_LABELLED = 150  # units drawn with their number (more is unreadable, and slow to draw)
DPI = 100
MARGINS = {"left": 0.03, "right": 0.97, "bottom": 0.04, "top": 0.9}  # fixed: tight_layout is slow
SIZE = (800, 700)  # pixels


def jobs(grid: Grid, W: np.ndarray, U: np.ndarray, hits: np.ndarray, unit_cluster: np.ndarray,
         W_original: np.ndarray, features: list[str], report: dict,
         size: tuple[int, int] = SIZE) -> dict[str, Callable[[str], None]]:
    m = report.get("map", {})
    qe, te = m.get("quantization_error"), m.get("topographic_error")
    head = f"{grid.rows}x{grid.cols} {grid.topology} map"
    quality = f"QE {qe:.3g}, TE {te:.3g}" if qe is not None and te is not None else ""
    out: dict[str, Callable[[str], None]] = {
        "umatrix.png": lambda p: draw_values(
            p, grid, U.ravel(), f"U-matrix, {head}\n{quality}", "bone_r",
            "mean distance to neighbours (scaled units)", size),
        "hits.png": lambda p: draw_values(
            p, grid, hits.astype(float), f"Hits per unit, {head}", "Blues", "rows", size,
            annotate=hits if grid.units <= MAX_LABELLED else None),
    }
    k = len(np.unique(unit_cluster))
    if k < grid.units:
        out["clusters.png"] = lambda p: draw_clusters(p, grid, unit_cluster, hits,
                                                      f"Clusters ({k}), {head}", size)
    shown = features[:MAX_COMPONENTS]
    cut = len(features) - len(shown)
    title = f"Component planes (original units), {head}"
    if cut:
        title += f"; first {len(shown)} of {len(features)} features"
    out["components.png"] = lambda p: draw_components(p, grid, W_original[:, :len(shown)], shown,
                                                      title, size)
    if cut:
        report.setdefault("warnings", []).append(
            f"components.png shows the first {len(shown)} of {len(features)} features")
    return out


def start(jobs: dict[str, Callable]) -> dict[str, Future]:
    """Render every picture to PNG bytes on a background thread, in order.

    Drawing is mostly Python and runs while the caller's numpy work (scores,
    CSV writing) releases the GIL; the caller collects the bytes with ``.result()``.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="somcli-plots")
    futures = {name: pool.submit(render, draw) for name, draw in jobs.items()}
    pool.shutdown(wait=False)
    return futures


def render(draw: Callable) -> bytes:
    """One picture's PNG bytes."""
    buffer = BytesIO()
    draw(buffer)
    return buffer.getvalue()


def new_figure(size, nrows=1, ncols=1):
    """A figure without pyplot (no global state, no GUI backend, faster to import)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def save_png(fig, path: str) -> None:
    fig.savefig(path, dpi=DPI, format="png")


def _cells(grid: Grid) -> np.ndarray:
    """Polygon vertices of every unit: pointy-top hexagons, or unit squares."""
    pos = grid.positions
    if grid.topology == "hex":
        angles = np.deg2rad(np.arange(30, 390, 60))
        radius = 1.0 / np.sqrt(3.0)
        shape = np.column_stack([np.cos(angles), np.sin(angles)]) * radius
    else:
        shape = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    return pos[:, None, :] + shape[None, :, :]


def _map_axes(ax, grid, values, cmap, norm=None, edge="0.55"):
    """Draw the units; grey outlines keep cells in a colour map's white end visible."""
    from matplotlib.collections import PolyCollection

    coll = PolyCollection(_cells(grid), array=values, cmap=cmap, norm=norm, edgecolors=edge,
                          linewidths=0.4)
    ax.add_collection(coll)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return coll


def _annotate(ax, grid, labels, fontsize):
    for (x, y), text in zip(grid.positions, labels, strict=True):
        ax.text(x, y, str(text), ha="center", va="center", fontsize=fontsize, color="black")


def draw_values(path, grid, values, title, cmap, bar_label, size, annotate=None) -> None:
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    coll = _map_axes(ax, grid, np.nan_to_num(values), cmap)
    if annotate is not None:
        _annotate(ax, grid, annotate, _fontsize(grid))
    fig.colorbar(coll, ax=ax, label=bar_label, shrink=0.8)
    ax.set_title(title)
    fig.subplots_adjust(**MARGINS)
    save_png(fig, path)


def draw_clusters(path, grid, unit_cluster, hits, title, size) -> None:
    import matplotlib
    from matplotlib.colors import BoundaryNorm, ListedColormap

    k = int(unit_cluster.max()) + 1
    base = matplotlib.colormaps["tab10" if k <= 10 else "tab20"]
    cmap = ListedColormap([base(i % base.N) for i in range(k)])
    norm = BoundaryNorm(np.arange(-0.5, k + 0.5), k)
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    coll = _map_axes(ax, grid, unit_cluster.astype(float), cmap, norm)
    dead = hits == 0
    if dead.any():  # dead units: hatched, they hold no row
        from matplotlib.collections import PolyCollection

        ax.add_collection(PolyCollection(_cells(grid)[dead], facecolors="none",
                                         edgecolors="grey", hatch="///", linewidths=0))
    if grid.units <= MAX_LABELLED:
        _annotate(ax, grid, unit_cluster, _fontsize(grid))
    bar = fig.colorbar(coll, ax=ax, ticks=np.arange(k), shrink=0.8)
    bar.set_label("cluster (hatched: unit holds no row)")
    ax.set_title(title)
    fig.subplots_adjust(**MARGINS)
    save_png(fig, path)


def draw_components(path, grid, planes, names, title, size) -> None:
    """Small multiples in one axes, each plane with its own colour bar (min, middle, max).

    One axes instead of a subplot and a colorbar axes per plane: 0.12 s against 0.27 s for
    ten planes (creating 20 axes was most of the time), same picture size.
    """
    import matplotlib
    from matplotlib.collections import PolyCollection

    n = len(names)
    ncols = int(np.ceil(np.sqrt(n)))
    fig, axes = new_figure(size)
    ax = axes[0, 0]
    cmap = matplotlib.colormaps["viridis"]
    cells, pos = _cells(grid), grid.positions
    w, h = np.ptp(pos[:, 0]) + 1.0, np.ptp(pos[:, 1]) + 1.0
    bar_w, steps = 0.06 * max(w, 0.6 * h), 32
    fontsize = max(6, 11 - ncols)
    edges = np.linspace(0.0, h, steps + 1)
    polys, colours = [], []
    for i, name in enumerate(names):
        r, c = divmod(i, ncols)
        # room for the bar and its labels (wider for narrow maps: labels do not shrink) and
        # for the name above
        ox, oy = c * (w + max(0.72 * w, 0.5 * h)), r * (1.45 * h)
        values = planes[:, i]
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        shade = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
        polys.extend(cells + [ox, oy])
        colours.append(cmap(shade))
        x0, top = ox + 1.03 * w - 0.5, oy - 0.5  # the bar: max at the top (map row 0)
        polys.extend(np.array([[x0, top + a], [x0 + bar_w, top + a], [x0 + bar_w, top + b],
                               [x0, top + b]]) for a, b in zip(edges[:-1], edges[1:], strict=True))
        colours.append(cmap(1.0 - (np.arange(steps) + 0.5) / steps))
        for frac, value in ((0.0, hi), (0.5, (lo + hi) / 2), (1.0, lo)):
            ax.text(x0 + 1.3 * bar_w, top + frac * h, f"{value:.4g}", fontsize=fontsize - 1,
                    va="center", ha="left")
        label = name if len(name) <= 28 else name[:25] + "..."
        ax.text(ox + w / 2 - 0.5, oy - 0.9, label, fontsize=fontsize, ha="center", va="bottom")
    ax.add_collection(PolyCollection(polys, facecolors=np.concatenate(colours),
                                     edgecolors="none"))
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.invert_yaxis()
    ax.axis("off")
    fig.suptitle(title)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.92)
    save_png(fig, path)


def _fontsize(grid: Grid) -> float:
    return float(np.clip(120 / max(grid.rows, grid.cols), 5, 11))
