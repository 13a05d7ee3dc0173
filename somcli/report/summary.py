"""The one-line JSON summary of a run (``--summary-json``): what a cron wrapper logs."""

from __future__ import annotations


def summary(report: dict, out: str | None) -> dict:
    """The one-line JSON summary (--summary-json): what a cron wrapper needs to log."""
    m = report.get("map") or {}
    line = {"command": report["command"], "status": "ok", "out": out,
            "rows": report["input"]["rows"], "features": len(report.get("features", [])),
            "clusters": len(report["clusters"]) if report.get("clusters") else None,
            "metrics": report.get("metrics"), "files": report.get("files", [])}
    if m:
        line["map"] = {"rows": m["rows"], "cols": m["cols"], "qe": m["quantization_error"],
                       "te": m["topographic_error"]}
    if report.get("outliers"):
        line["outliers"] = report["outliers"]["count"]
    if report.get("drift"):
        d = report["drift"]
        line["drift"] = {k: d[k] for k in ("verdict", "drifted", "flags", "quality_ratio",
                                            "outlier_share", "cluster_tvd")}
    if report.get("warnings"):
        line["warnings"] = report["warnings"]
    return line
