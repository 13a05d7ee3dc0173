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
from somcli.report.map_plots import cluster_fills, heading, quality

MAX_PX = 640  # the map's width or height, whichever is bigger
PAD = 34  # room for the row and column numbers


TITLE_LINE = 17  # the title's lines, above the column numbers
BAR_W = 14  # the colour bar's width, right of the map
LINE_H = 16  # a caption line
BAR_ID = "somcli-umatrix-bar"  # unique within report.html, where the SVGs are inline


def umatrix(f: MapFacts) -> str:
    import matplotlib

    scale = scale_for(f.U, f.color_scale)
    cmap = matplotlib.colormaps["bone_r"]
    fills = cmap(scale.norm(np.nan_to_num(f.U.ravel())))
    note = f"; {scale.note}" if scale.note else ""
    borders = len(np.unique(f.unit_cluster)) > 1
    caption = [f"dark = far from its neighbours{note}"
               + ("; red lines: borders between clusters" if borders else "")]
    title = [f"U-matrix, {heading(f)}", quality(f)]
    return _svg(f, fills, title, caption, border="crimson", bar=(cmap, scale))


def clusters(f: MapFacts) -> str:
    k = int(f.unit_cluster.max()) + 1
    fills, colours = cluster_fills(f)
    title = [f"Clusters ({k}), {heading(f)}", quality(f)]
    caption = ["pale: a unit that holds no row", *f.legend]
    return _svg(f, fills, title, caption, border="black", swatches=colours)


def _svg(f: MapFacts, fills, title: list[str], caption: list[str], border: str,
         swatches=None, bar=None) -> str:
    grid = f.grid
    w, h = D.extent(grid)
    s = MAX_PX / max(w, h)
    title = [t for t in title if t]
    top = PAD + TITLE_LINE * len(title)
    x0 = PAD + 0.5 * s  # cells reach half a spacing left of their centre on both grids
    y0 = top + (0.5 if grid.topology == "rect" else D.HEX_RADIUS) * s
    map_w = int(PAD + w * s + 8)
    width = max(map_w + (70 if bar else 0), 360)
    lines = _wrapped(caption, width - PAD, first_swatch=1 if swatches is not None else None)
    height = int(top + h * s + 10 + LINE_H * len(lines) + 6)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
           'role="img">']
    out += [f'<text x="{PAD}" y="{TITLE_LINE * (i + 1)}" font-size="{13 if i == 0 else 11}" '
            f'font-weight="{"bold" if i == 0 else "normal"}" fill="#222">{_text(t)}</text>'
            for i, t in enumerate(title)]
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
    if f.named:
        out += _names(f, fills, x0, y0, s)
    out += _ticks(grid, x0, y0, s, top)
    if bar is not None:
        out += _colour_bar(*bar, x=map_w + 6, y=top, height=h * s)
    y = top + h * s + 10
    for i, (line, swatch) in enumerate(lines):
        y_i = y + LINE_H * i + 12
        x = PAD
        if swatch is not None and swatch < len(swatches):
            out.append(f'<rect x="{x}" y="{y_i - 10}" width="12" height="12" '
                       f'fill="{_hex(swatches[swatch])}" stroke="#555"/>')
        if swatches is not None and i >= 1:
            x += 18  # legend lines, and their continuations, start after the swatch
        out.append(f'<text x="{x}" y="{y_i}" fill="#333">{_text(line)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _wrapped(caption: list[str], room_px: float, first_swatch=None) -> list[tuple]:
    """(line, swatch index or None) per printed line: each caption line wrapped to the
    picture's width (about 6.6 px a character at 12 px); a legend line's swatch on its
    first printed line."""
    import textwrap

    out = []
    for i, line in enumerate(caption):
        legend = first_swatch is not None and i >= first_swatch
        width = max(30, int((room_px - (18 if legend else 0)) / 6.6))
        for j, part in enumerate(textwrap.wrap(line, width) or [""]):
            out.append((part, i - first_swatch if legend and j == 0 else None))
    return out


def _names(f: MapFacts, fills, x0, y0, s) -> list[str]:
    """Each unit's row names on it (small data, as the PNG does), black or white to read."""
    from somcli.report.colour_scale import text_colour

    size = max(6.0, min(11.0, s * 0.2))
    room = max(1, int(s * 0.8 / (size * 1.15)))
    out = [f'<g font-size="{size:.1f}" text-anchor="middle">']
    for u, ((x, y), names) in enumerate(zip(f.grid.positions, f.unit_names, strict=True)):
        if not names:
            continue
        rows = D.names_text(names, room, width=max(4, int(s / (size * 0.62)))).split("\n")
        first = y0 + y * s - (len(rows) - 1) * size * 0.575 + size * 0.35
        spans = "".join(f'<tspan x="{x0 + x * s:.1f}" y="{first + i * size * 1.15:.1f}">'
                        f"{_text(r)}</tspan>" for i, r in enumerate(rows))
        out.append(f'<text fill="{text_colour(fills[u])}">{spans}</text>')
    out.append("</g>")
    return out


def _colour_bar(cmap, scale, x: float, y: float, height: float) -> list[str]:
    """A vertical gradient with the scale's values at five ticks (top: the largest)."""
    from somcli.report.colour_scale import short_number

    steps = np.linspace(1.0, 0.0, 11)  # top to bottom: offsets must rise
    stops = "".join(f'<stop offset="{1 - t:.2f}" stop-color="{_hex(cmap(t))}"/>' for t in steps)
    out = [f'<defs><linearGradient id="{BAR_ID}" x1="0" y1="0" x2="0" y2="1">{stops}'
           "</linearGradient></defs>",
           f'<rect x="{x:.1f}" y="{y:.1f}" width="{BAR_W}" height="{height:.1f}" '
           f'fill="url(#{BAR_ID})" stroke="#777" stroke-width="0.6"/>']
    try:
        values = [float(scale.norm.inverse(t)) for t in (0.0, 0.25, 0.5, 0.75, 1.0)]
    except (ValueError, TypeError, AttributeError):  # a quantile scale: no inverse
        return out
    out.append('<g fill="#444" font-size="10">')
    for t, v in zip((0.0, 0.25, 0.5, 0.75, 1.0), values, strict=True):
        ty = y + (1 - t) * height
        out.append(f'<text x="{x + BAR_W + 4:.1f}" y="{ty + 3:.1f}">{_text(short_number(v))}'
                   "</text>")
    out.append("</g>")
    return out


def _ticks(grid, x0, y0, s, top: float) -> list[str]:
    out = ['<g fill="#666" font-size="10">']
    for r in D.tick_steps(grid.rows):  # the PNGs' tick rule
        y = y0 + r * (D.HEX_ROW_HEIGHT if grid.topology == "hex" else 1.0) * s
        out.append(f'<text x="{PAD - 6}" y="{y + 3:.1f}" text-anchor="end">{r}</text>')
    for c in D.tick_steps(grid.cols):
        x = x0 + (c + (0.25 if grid.topology == "hex" and grid.rows > 1 else 0.0)) * s
        out.append(f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle">{c}</text>')
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
