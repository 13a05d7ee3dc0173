"""A trained map's pictures, by name: what each file is drawn with (a function of the
file-like object it writes to). The PNGs are matplotlib (Agg backend, no pyplot); the SVG
maps are written by hand, one element per unit with a hover title, for report.html.

Map row 0 is at the top (as in codebook.csv); hexagons on a hexagonal grid, squares on a
rectangular one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from somcli.report import cluster_plots, component_plots, map_plots, map_svg
from somcli.report.map_facts import MapFacts

MAX_COMPONENTS = component_plots.MAX_COMPONENTS
MAX_SVG_UNITS = 20_000  # bigger maps: PNG only (an SVG of a unit per polygon grows to MBs)


#: the pictures of the trained map alone (not of its clusters): drawn from the facts known
#: before the clusters are chosen (:func:`somcli.pipeline.som_outputs.early_pictures`)
EARLY = ("hits.png", "components.png")
#: the pictures of the map and its clusters' borders, not of their profiles: drawn once the
#: clusters are chosen (:func:`somcli.pipeline.som_outputs.mid_pictures`)
MID = ("umatrix.png", "umatrix.svg")


def jobs(f: MapFacts) -> dict[str, Callable]:
    """name -> draw(file) for every picture of the map."""
    head = map_plots.heading(f)
    vector = f.grid.units <= MAX_SVG_UNITS
    out: dict[str, Callable] = {"umatrix.png": lambda p: map_plots.draw_umatrix(p, f)}
    if vector:
        out["umatrix.svg"] = lambda p: p.write(map_svg.umatrix(f).encode())
    out["hits.png"] = lambda p: map_plots.draw_hits(p, f)
    k = len(np.unique(f.unit_cluster))
    if k < f.grid.units:
        out["clusters.png"] = lambda p: map_plots.draw_clusters(p, f)
        if vector:
            out["clusters.svg"] = lambda p: p.write(map_svg.clusters(f).encode())
    shown = min(len(f.features), MAX_COMPONENTS)
    title = f"Component planes (original units), {head}"
    if shown < len(f.features):
        title += f"; first {shown} of {len(f.features)} features"
    out["components.png"] = lambda p: component_plots.draw_components(p, f, title)
    if f.sample is not None and f.centres is not None and len(f.sample) > 1 and k > 1:
        out |= cluster_plots.jobs(f.sample, f.sample_cluster, f.centres, f.features, f.sizes,
                                  "SOM", net=(f.W, f.grid), differences=f.differences)
    return out
