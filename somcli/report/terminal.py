"""The short summary on stderr: a rich panel on a terminal, one plain line otherwise."""

from __future__ import annotations

from somcli.report.markdown import describe_cluster, fmt

SHOWN_CLUSTERS = 12  # clusters described on a terminal (the report has them all)


def one_line(report: dict, out: str | None) -> str:
    parts = [f"somcli {report['command']}: {_count(report['input']['rows'], 'row')}",
             _count(len(report["features"]), "feature")]
    if report.get("clusters"):
        clusters = _count(len(report["clusters"]), "cluster")
        verdict = ((report.get("k_selection") or {}).get("structure") or {}).get("verdict")
        offers = (report.get("k_selection") or {}).get("alternatives") or []
        also = [a["k"] for a in offers if a.get("gaps") is not False]
        if also:
            clusters += f" (k = {', '.join(map(str, also))} also supported: -k {also[0]})"
        elif offers:  # (each scores nearly as well but leaves no clear gap)
            clusters += f" (k = {', '.join(str(a['k']) for a in offers)} also scored well, " \
                        f"without clear gaps: -k {offers[0]['k']})"
        parts.append(clusters + {"none": " (no clear cluster structure)",
                                 "weak": " (weak cluster structure)"}.get(verdict, ""))
    m = report.get("map")
    if m:
        parts.append(f"{m['rows']}x{m['cols']} map, QE {fmt(m['quantization_error'], 3)}, "
                     f"TE {fmt(m['topographic_error'], 3)}")
    metrics = report.get("metrics") or {}
    if metrics.get("silhouette") is not None:
        parts.append(f"silhouette {fmt(metrics['silhouette'], 3)}")
    if report.get("drift"):
        parts.append(report["drift"]["verdict"])
    if out:
        parts.append(f"wrote {out}")
    return "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{fmt(n)} {noun}{'' if n == 1 else 's'}"


def show(console, report: dict, files: list[str], out: str | None) -> None:
    from rich.table import Table

    console.print(f"[bold]somcli {report['command']}[/] "
                  f"{', '.join(report['input']['files'])}: {fmt(report['input']['rows'])} rows")
    clean = report.get("cleaning") or {}
    for line in _cleaning_lines(report, clean):
        console.print(f"  [dim]-[/] {line}")
    for w in report.get("warnings", []):
        console.print(f"  [yellow]![/] {w}")
    clusters = report.get("clusters")
    if clusters:
        t = Table(title=None, show_edge=False, pad_edge=False)
        t.add_column("cluster", justify="right")
        t.add_column("rows", justify="right")
        t.add_column("share", justify="right")
        feats = report["features"][:5]
        for f in feats:
            t.add_column(f, justify="right", overflow="fold")
        for c in clusters:
            t.add_row(str(c["cluster"]), fmt(c["size"]), f"{c['share']:.0%}",
                      *[fmt(c["means"][f], 3) for f in feats])
        console.print(t)
        for c in clusters[:SHOWN_CLUSTERS]:
            line = describe_cluster(c, str)
            if line:
                console.print(f"  {line}", markup=False, highlight=False)
    m = report.get("map")
    if m:
        console.print(f"  map {m['rows']}x{m['cols']} {m['topology']}: QE "
                      f"{fmt(m['quantization_error'], 3)}, TE {fmt(m['topographic_error'], 3)}, "
                      f"dead units {m['dead_units']}")
    metrics = report.get("metrics") or {}
    if metrics:
        console.print(f"  silhouette {fmt(metrics.get('silhouette'), 3)}, Davies-Bouldin "
                      f"{fmt(metrics.get('davies_bouldin'), 3)}, Calinski-Harabasz "
                      f"{fmt(metrics.get('calinski_harabasz'), 4)}")
    if report.get("drift"):
        console.print(f"  drift: {report['drift']['verdict']}")
    if out:
        console.print(f"  wrote {len(files)} files to [bold]{out}[/]")


def _cleaning_lines(report: dict, c: dict) -> list[str]:
    out = []
    excluded = [d for d in report.get("columns", []) if d["role"] == "excluded"]
    for d in excluded:
        out.append(f"{d['name']}: {d['reason']}")
    ids = report.get("identifiers") or []
    if ids:
        out.append("identifiers: " + ", ".join(ids))
    if c.get("filled_cells"):
        n = sum(c["filled_cells"].values())
        out.append(f"{n} missing value(s) filled ({c['missing_method']})")
    if c.get("rows_dropped"):
        out.append(f"{c['rows_dropped']} row(s) with gaps not used for fitting")
    if c.get("rows_without_values"):
        out.append(f"{c['rows_without_values']} row(s) without any feature value: no cluster")
    dup = c.get("duplicates") or {}
    for col, k in (dup.get("shared_id_values") or {}).items():
        out.append(f"{k} {col} value(s) appear on more than one row")
    return out
