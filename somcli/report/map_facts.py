"""What a trained map's pictures are drawn from, in one value that crosses to the helper
process as JSON plus plain arrays (:mod:`somcli.report.painter`; no pickle)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from somcli.algorithms.grid import Grid
from somcli.report.colour_scale import cut

NAMES_ON_MAP = 30  # rows: up to this many, every row's name is written on its unit
NAMES_PER_UNIT = 3  # in a unit's hover title on bigger maps


@dataclass
class MapFacts:
    grid: Grid
    W: np.ndarray  # codebook, scaled units
    U: np.ndarray  # (rows, cols) U-matrix
    hits: np.ndarray  # rows per unit
    unit_cluster: np.ndarray  # cluster per unit
    W_original: np.ndarray  # codebook, original units
    features: list[str]
    quality: dict = field(default_factory=dict)  # quantization_error, topographic_error
    legend: list[str] = field(default_factory=list)  # per cluster: size, what sets it apart
    unit_names: list[list[str]] = field(default_factory=list)  # first rows' names per unit
    rows: int = 0  # rows on the map (found a unit)
    color_scale: str = "auto"
    sample: np.ndarray | None = None  # a sample of rows, scaled units
    units: np.ndarray | None = None  # (2, features): scale and centre (original = s * x + c)
    sample_cluster: np.ndarray | None = None  # their clusters
    centres: np.ndarray | None = None  # (k, features) cluster means, scaled units
    sizes: np.ndarray | None = None  # rows per cluster
    differences: np.ndarray | None = None  # (k, features): each cluster against the rest, SDs

    def original_sample(self) -> np.ndarray | None:
        """The sampled rows in original units (the data's range, for the component planes)."""
        if self.sample is None or self.units is None or not len(self.sample):
            return None
        return self.sample * self.units[0] + self.units[1]

    @property
    def named(self) -> bool:
        """Every row's name is known and few enough to write on the map."""
        return 0 < self.rows <= NAMES_ON_MAP and bool(self.unit_names)

    def wire(self) -> tuple[dict, dict]:
        """The JSON header and the arrays that stand for these facts."""
        header, arrays = {}, {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                arrays[f.name] = value
            elif isinstance(value, Grid):
                header[f.name] = value.to_dict()
            else:
                header[f.name] = value
        return header, arrays

    @classmethod
    def unwire(cls, header: dict, arrays: dict) -> MapFacts:
        return cls(**(header | {"grid": Grid(**header["grid"])}), **arrays)


def legend_lines(clusters) -> list[str]:
    """One line per cluster: its size and share, and the features that set it apart."""
    out = []
    for c in clusters or []:
        apart = ", ".join(f"{cut(a['feature'], 22)} {'higher' if a['effect'] > 0 else 'lower'}"
                          for a in c.distinguishing[:2])
        out.append(f"{c.cluster}: {c.size:,} row{'s' if c.size != 1 else ''} ({c.share:.0%})"
                   + (f", {apart}" if apart else ""))
    return out
