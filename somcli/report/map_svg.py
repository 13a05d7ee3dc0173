"""The U-matrix and cluster maps as SVG, one polygon per unit with a hover title (its row
and column, cluster, hits, U-matrix value and the first rows on it), for report.html and
for anyone who wants a vector picture. Written by hand: plain text, every value escaped,
no script, no external reference."""

from __future__ import annotations

from html import escape

import numpy as np

from somcli.report import map_draw as D
from somcli.report.colour_scale import scale_for
from somcli.report.map_facts import MapFacts
from somcli.report.map_plots import cluster_fills, heading

MAX_PX = 640  # the map's width or height, whichever is bigger
PAD = 34  # room for the row and column numbers


def umatrix(f: MapFacts) -> str:
    import matplotlib

    scale = scale_for(f.U, f.color_scale)
    cmap = matplotlib.colormaps["bone_r"]
    fills = cmap(scale.norm(np.nan_to_num(f.U.ravel())))
    note = f"; {scale.note}" if scale.note else ""
    caption = [f"U-matrix, {heading(f)}: dark = far from its neighbours{note}; "
               "red lines: borders between clusters"]
    return _svg(f, fills, caption, border="crimson")


def clusters(f: MapFacts) -> str:
    k = int(f.unit_cluster.max()) + 1
    fills, colours = cluster_fills(f)
    caption = [f"Clusters ({k}), {heading(f)}; pale: a unit that holds no row"]
    caption += list(f.legend)
    return _svg(f, fills, caption, border="black", swatches=colours)


def _svg(f: MapFacts, fills, caption: list[str], border: str, swatches=None) -> str:
    grid = f.grid
    w, h = D.extent(grid)
    s = MAX_PX / max(w, h)
    x0 = PAD + 0.5 * s  # cells reach half a spacing left of their centre on both grids
    y0 = PAD + (0.5 if grid.topology == "rect" else D.HEX_RADIUS) * s
    width = int(PAD + w * s + 8)
    line_h = 18
    height = int(PAD + h * s + 10 + line_h * len(caption) + 6)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
           'role="img">']
    sw, _ = D.outline(grid)
    stroke = "#999" if sw else "none"
    out.append(f'<g stroke="{stroke}" stroke-width="{sw:.2f}">')
    names = f.unit_names or [[] for _ in range(grid.units)]
    for u, poly in enumerate(D.cells(grid)):
        points = " ".join(f"{x0 + x * s:.1f},{y0 + y * s:.1f}" for x, y in poly)
        out.append(f'<polygon points="{points}" fill="{_hex(fills[u])}">'
                   f"<title>{_text(_title(f, u, names[u]))}</title></polygon>")
    out.append("</g>")
    segments = D.border_segments(grid, f.unit_cluster)
    if len(segments):
        bw = D.border_width(grid) * 1.3
        out.append(f'<g stroke="{border}" stroke-width="{bw:.2f}" stroke-linecap="round">')
        out += [f'<line x1="{x0 + a[0] * s:.1f}" y1="{y0 + a[1] * s:.1f}" '
                f'x2="{x0 + b[0] * s:.1f}" y2="{y0 + b[1] * s:.1f}"/>' for a, b in segments]
        out.append("</g>")
    out += _ticks(grid, x0, y0, s)
    top = PAD + h * s + 10
    for i, line in enumerate(caption):
        y = top + line_h * i + 12
        x = PAD
        if swatches is not None and i > 0 and i - 1 < len(swatches):
            out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" '
                       f'fill="{_hex(swatches[i - 1])}" stroke="#555"/>')
            x += 18
        out.append(f'<text x="{x}" y="{y}" fill="#333">{_text(line)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _ticks(grid, x0, y0, s) -> list[str]:
    out = ['<g fill="#666" font-size="10">']
    for r in D.tick_steps(grid.rows):  # the PNGs' tick rule
        y = y0 + r * (D.HEX_ROW_HEIGHT if grid.topology == "hex" else 1.0) * s
        out.append(f'<text x="{PAD - 6}" y="{y + 3:.1f}" text-anchor="end">{r}</text>')
    for c in D.tick_steps(grid.cols):
        x = x0 + (c + (0.25 if grid.topology == "hex" and grid.rows > 1 else 0.0)) * s
        out.append(f'<text x="{x:.1f}" y="{PAD - 10}" text-anchor="middle">{c}</text>')
    out.append("</g>")
    return out


def _title(f: MapFacts, u: int, names: list[str]) -> str:
    r, c = divmod(u, f.grid.cols)
    hits = int(f.hits[u])
    text = (f"row {r}, column {c}: cluster {int(f.unit_cluster[u])}, {hits:,} "
            f"row{'s' if hits != 1 else ''}, U-matrix {float(f.U.ravel()[u]):.3g}")
    if names:
        more = hits - len(names)
        text += "\n" + ", ".join(names) + (f", and {more:,} more" if more > 0 else "")
    return text


_CONTROL = {c: "\ufffd" for c in range(32) if chr(c) not in "\n\t"} | {127: "\ufffd"}


def _text(value: str) -> str:
    """Data text as XML text: markup escaped, control characters (invalid in XML 1.0)
    shown as the replacement character."""
    return escape(str(value).translate(_CONTROL))


def _hex(rgba) -> str:
    r, g, b = (int(round(255 * float(v))) for v in rgba[:3])
    return f"#{r:02x}{g:02x}{b:02x}"
