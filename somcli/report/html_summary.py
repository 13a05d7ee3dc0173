"""The summary at the top of report.html: the run's few numbers a reader wants first
(input, features, clusters, map, quality, outliers, drift, time), as a row of cards."""

from __future__ import annotations

from html import escape


def cards(r: dict) -> list[tuple[str, str]]:
    """(label, value) pairs, in reading order; what the run did not compute is left out."""
    out = []
    inp = r.get("input") or {}
    files = inp.get("files") or []
    if files:
        name = files[0].replace("\\", "/").rsplit("/", 1)[-1]
        more = f" + {len(files) - 1:,} more" if len(files) > 1 else ""
        out.append(("input", f"{name}{more}"))
    if inp.get("rows") is not None:
        out.append(("rows", f"{inp['rows']:,}"))
    if r.get("features"):
        out.append(("features", f"{len(r['features']):,}"))
    if r.get("clusters"):
        out.append(("clusters", f"{len(r['clusters']):,}"))
    verdict = ((r.get("k_selection") or {}).get("structure") or {}).get("verdict")
    if verdict:
        out.append(("structure", {"none": "no clear clusters", "weak": "weak",
                                  "clear": "clear"}[verdict]))
    m = r.get("map") or {}
    if m.get("rows"):
        out.append(("map", f"{m['rows']}x{m['cols']} {m.get('topology', '')}".strip()))
        for key, label in (("quantization_error", "quantization error"),
                           ("topographic_error", "topographic error")):
            if m.get(key) is not None:
                out.append((label, f"{m[key]:.3g}"))
    silhouette = (r.get("metrics") or {}).get("silhouette")
    if silhouette is not None:
        out.append(("silhouette", f"{silhouette:.2f}"))
    external = r.get("external") or {}
    if external.get("ari") is not None:
        out.append((f"ARI vs {r.get('label_column') or 'label'}", f"{external['ari']:.2f}"))
    outliers = r.get("outliers") or {}
    if outliers.get("count") is not None:
        out.append(("outliers", f"{outliers['count']:,}"))
    drift = r.get("drift") or {}
    if drift.get("verdict"):
        out.append(("drift", drift["verdict"]))
    total = (r.get("runtime_seconds") or {}).get("total")
    if total is not None:
        out.append(("run time", f"{total:.2f} s" if total < 100 else f"{total:,.0f} s"))
    if r.get("warnings"):
        n = len(r["warnings"])
        out.append(("warnings", f"{n} (see below)"))
    return out


def render(r: dict) -> str:
    """The cards as HTML (every value escaped)."""
    items = "".join(f'<div class="card"><div class="label">{escape(label)}</div>'
                    f'<div class="value">{escape(value)}</div></div>' for label, value in cards(r))
    return f'<section class="summary">{items}</section>\n' if items else ""


STYLE = """
.summary { display: flex; flex-wrap: wrap; gap: 8px; margin: 4px 0 18px; }
.card { border: 1px solid #d5dae3; border-radius: 6px; padding: 6px 12px; background: #f7f9fc;
        min-width: 90px; }
.card .label { font-size: 11.5px; color: #5a6678; text-transform: uppercase;
               letter-spacing: .04em; }
.card .value { font-size: 17px; font-weight: 600; color: #1d2330; max-width: 420px;
               overflow-wrap: anywhere; }
svg { max-width: 100%; height: auto; }
@media print { .card { break-inside: avoid; } }
"""
