"""Pictures of clusters in feature space, for k-means (and any clustering of rows): a 2-D
projection of the rows on their two main principal components, coloured by cluster, with
the cluster centres marked; and a heatmap of each cluster's profile (mean per feature in
standardized units). Matplotlib without pyplot, drawn on the plots thread."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from somcli.report.colour_scale import cluster_colours, plain
from somcli.report.figure import save_png

MAX_FEATURES = 30  # heatmap columns
MAX_POINTS = 5_000  # rows drawn in the projection (a seeded sample of the fit rows)
MAX_NET_UNITS = 2_500  # a map's units joined by lines in the projection up to this many


FULL_SVD = 256  # features up to which the projection's axes come from a full SVD


def projection(rows: np.ndarray, *others: np.ndarray) -> tuple[list, list]:
    """``rows`` and ``others`` on the rows' two main principal components, and the share of
    the variance each explains. Beyond FULL_SVD features only those two are computed
    (Lanczos, a fixed start vector): a full SVD of 2,000 rows x 3,000 features took the
    helper seconds while the run waited on its pictures."""
    rows = np.nan_to_num(rows)
    mean = rows.mean(axis=0)
    centred = rows - mean
    if min(centred.shape) > FULL_SVD:
        from scipy.sparse.linalg import svds

        _, s, vt = svds(centred, k=2, v0=np.ones(min(centred.shape)))
        order = np.argsort(s)[::-1]
        s, vt = s[order], vt[order]
        total = float((centred ** 2).sum())
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        total = float((s ** 2).sum())
    axes = np.vstack([vt[:2], np.zeros((max(0, 2 - len(vt)), rows.shape[1]))])
    shares = [float(v ** 2 / total) if total else 0.0 for v in s[:2]]
    shares += [0.0] * (2 - len(shares))
    return [(np.asarray(a) - mean) @ axes.T for a in (rows, *others)], shares


def jobs(rows: np.ndarray, labels: np.ndarray, centres: np.ndarray, features: list[str],
         sizes: np.ndarray, what: str, net=None, differences=None) -> dict[str, Callable]:
    """``rows``: a sample of the fit rows (scaled units) with their ``labels``; ``centres``:
    each cluster's mean in scaled units; ``net``: a map's (codebook, grid), drawn as the
    map's units joined to their neighbours; ``differences``: each cluster against the other
    rows per feature, in SDs (the report's figure, profiles.png shows it)."""
    def draw_projected(path) -> None:  # (projected when drawn: a request for the profiles
        codebook = [] if net is None else [net[0]]  # alone needs no rows, nor their axes)
        (P, C, *units), shares = projection(rows, centres, *codebook)
        links = None if net is None else (units[0], net[1])
        draw_projection(path, P, labels, C, shares, what, links)

    return {
        "projection.png": draw_projected,
        "profiles.png": lambda p: draw_profiles(
            p, centres if differences is None else differences, features, sizes, what),
    }


def draw_projection(path, P, labels, C, shares, what, net=None) -> None:
    """The rows and centres on the plane, a map's units and their links when ``net``; its
    frame and legend drawn in pixels (:mod:`chart_frame`)."""
    from somcli.report import chart_frame as F
    from somcli.report.pixel_canvas import chart, to_pixels

    fig, ax = chart(820, 700, (0.11, 0.09, 0.86, 0.84))
    k = len(C)
    colours = cluster_colours(k)
    everything = [P, C] + ([net[0]] if net is not None else [])
    every = np.vstack([np.asarray(a, dtype=float).reshape(-1, 2) for a in everything])
    ax.set_xlim(*F.padded(every[:, 0]))
    ax.set_ylim(*F.padded(every[:, 1]))
    entries = []
    if net is not None:  # the map as it lies in the data: units, and lines to neighbours
        from matplotlib.collections import LineCollection

        points, grid = net
        lines = grid.units <= MAX_NET_UNITS  # past that the lines are a grey blot
        if lines:
            nb = grid.neighbors
            pairs = [(u, v) for u in range(grid.units) for v in nb[u] if v > u]
            dense = grid.units > 400  # a fine net: lighter, so the clusters show through
            ax.add_collection(LineCollection([(points[u], points[v]) for u, v in pairs],
                                             colors="0.6", linewidths=0.3 if dense else 0.5,
                                             alpha=0.3 if dense else 0.6, zorder=1),
                              autolim=False)
        unit = {"s": 6 if lines else 2, "color": "0.4"}
        ax.scatter(points[:, 0], points[:, 1], zorder=1, **unit)
        entries.append(F.Entry("map units" + (" (lines join neighbours)" if lines else ""),
                               unit | {"s": unit["s"] * 2.25}))
    size, alpha = (36, 0.85) if len(P) <= 150 else (16, 0.7) if len(P) <= 1000 else (9, 0.55)
    for j in range(k):  # few rows: big dots; many: small and see-through
        mine = labels == j
        dots = {"s": size, "color": colours[j], "alpha": alpha, "linewidths": 0}
        ax.scatter(P[mine, 0], P[mine, 1], zorder=2, **dots)
        entries.append(F.Entry(f"cluster {j} ({int(mine.sum()):,} shown)",
                               dots | {"s": size * 2.25}))
    centre = {"marker": "X", "edgecolors": "black", "linewidths": 1.2}
    ax.scatter(C[:, 0], C[:, 1], s=180, color=colours, zorder=3, **centre)
    entries.append(F.Entry("centres", centre | {"s": 90, "color": colours[0]}))
    for j, (x, y) in enumerate(C):
        ax.annotate(str(j), (x, y), xytext=(7, 7), textcoords="offset points", fontsize=11,
                    fontweight="bold")
    F.frame(ax, F.ticks(*ax.get_xlim(), 8,
                        f"principal component 1 ({shares[0]:.0%} of the variance)"),
            F.ticks(*ax.get_ylim(), 8,
                    f"principal component 2 ({shares[1]:.0%} of the variance)"),
            f"{what}: rows on their two main principal components", grid=True)
    F.legend(ax, entries, to_pixels(ax, every))
    save_png(fig, path)


def draw_profiles(path, Z, features, sizes, what) -> None:
    """A heatmap, one row per cluster and one column per feature, drawn in pixels on one
    frameless Axes (pixel_canvas: axes with ticks and a colour bar's own cost more than it)."""
    import matplotlib
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import Normalize

    from somcli.report import pixel_canvas as P
    from somcli.report.colour_scale import Scale

    Z = np.asarray(Z, dtype=float)[:, :MAX_FEATURES]
    names = features[:MAX_FEATURES]
    k, d = Z.shape
    width = int(min(1600, max(700, 170 + 62 * d)))
    height = int(min(1400, max(380, 150 + 44 * k)))
    fig, ax = P.canvas(width, height)
    limit = max(float(np.nanmax(np.abs(Z))) if Z.size else 1.0, 0.5)
    scale = Scale(Normalize(-limit, limit), "neither", "")
    cmap = matplotlib.colormaps["RdBu_r"]
    room = int(np.clip(0.55 * width / max(d, 1) / 6.5, 8, 30))  # characters a column has
    labels = [_wrapped(n, room) for n in names]  # level, on up to 3 lines: names stay apart
    lines = max((t.count("\n") + 1 for t in labels), default=1)
    left = min(0.3, 120 / width * 1.2) * width
    whole = 0.95 * width - left  # the heatmap's and its colour bar's
    heat = P.Box(left, 45, 0.8 * whole, height - 45 - min(0.45, (30 + 14 * lines) / height)
                 * height)
    cw, ch = heat.w / max(d, 1), heat.h / max(k, 1)
    left_x = heat.x + np.tile(np.arange(d), k) * cw  # each cell's corners, row by row
    top_y = heat.y + np.repeat(np.arange(k), d) * ch
    cells = np.stack([np.column_stack([left_x, top_y]), np.column_stack([left_x + cw, top_y]),
                      np.column_stack([left_x + cw, top_y + ch]),
                      np.column_stack([left_x, top_y + ch])], axis=1)
    ax.add_collection(PolyCollection(cells, facecolors=cmap(scale.norm(Z.ravel())),
                                     edgecolors="none", antialiaseds=False), autolim=False)
    small = d * k <= 400
    for i in range(k):
        for j in range(d):
            if small and np.isfinite(Z[i, j]):
                ax.text(heat.x + (j + 0.5) * cw, heat.y + (i + 0.5) * ch,
                        f"{round(Z[i, j], 1) + 0.0:+.1f}", ha="center", va="center", fontsize=9,
                        color="white" if abs(Z[i, j]) > 0.6 * limit else "black")
    bottom = heat.y + heat.h
    xs = heat.x + (np.arange(d) + 0.5) * cw
    ys = heat.y + (np.arange(k) + 0.5) * ch
    ax.add_collection(LineCollection([[(x, bottom), (x, bottom + 4.9)] for x in xs]
                                     + [[(heat.x - 4.9, y), (heat.x, y)] for y in ys],
                                     colors="black", linewidths=0.8), autolim=False)
    for x, text in zip(xs, labels, strict=True):
        ax.text(x, bottom + 8.4, plain(text), ha="center", va="top", fontsize=9)
    for i, y in enumerate(ys):
        ax.text(heat.x - 8.4, y, f"{i} ({int(sizes[i]):,} rows)", ha="right", va="center",
                fontsize=9)
    ax.add_patch(_frame(heat))
    ax.text(heat.x + heat.w / 2, heat.y - 8, f"{what}: each cluster against the other rows "
            "(in SDs of the feature)", ha="center", va="bottom", fontsize=12)
    P.colour_bar(ax, P.beside(heat, 0.85), scale, cmap, P.ticks(scale, 8), fontsize=10,
                 label="mean difference (SDs)")
    save_png(fig, path)


def _frame(box):
    from matplotlib.patches import Rectangle

    return Rectangle((box.x, box.y), box.w, box.h, fill=False, edgecolor="black",
                     linewidth=0.8)


def _wrapped(name: str, room: int, most: int = 3) -> str:
    """A feature name on lines of ``room`` characters, ``most`` lines at most (then the
    last line is the name's end after an ellipsis): two long names that share a start
    stay told apart."""
    import textwrap

    lines = textwrap.wrap(name, room, break_long_words=True) or [""]
    if len(lines) > most:  # the start and the end: names that differ at the end stay apart
        lines = lines[:most - 1] + ["…" + name[-(room - 1):].strip()]
    return "\n".join(lines)


