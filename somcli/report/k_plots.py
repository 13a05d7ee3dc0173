"""How k was chosen, as a picture (k_choice.png): each candidate's Calinski-Harabasz score
and its stability against k, the chosen k marked, the candidates the rule set aside (a
tiny cluster, or unstable) hollow. Drawn from the report's ``k_selection.evidence``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from somcli.report.figure import save_png

SCORE, STABILITY = "#23487a", "#d95f02"


def jobs(selection: dict | None) -> dict[str, Callable]:
    """name -> drawing function; nothing when k was given, or fewer than two candidates."""
    evidence = (selection or {}).get("evidence") or {}
    scored = [k for k, e in evidence.items() if e.get("calinski_harabasz") is not None]
    if len(scored) < 2:
        return {}
    return {"k_choice.png": lambda path: draw(path, selection)}


def draw(path, selection: dict) -> None:
    """The scores on the left axis, the stability on the right one (its 0-1.05 drawn in
    the left axis' units), each axis drawn in pixels (:mod:`chart_frame`)."""
    from somcli.algorithms.choose import STABLE
    from somcli.report import chart_frame as F
    from somcli.report.pixel_canvas import chart

    evidence = {int(k): e for k, e in selection["evidence"].items()}
    ks = sorted(evidence)
    chosen = int(selection["chosen"])
    fig, ax = chart(760, 420, (0.12, 0.14, 0.74, 0.76))
    score = [evidence[k]["calinski_harabasz"] for k in ks]
    lo, hi = F.padded([y for y in score if y is not None])
    ax.set_xlim(*F.padded(ks))
    ax.set_ylim(lo, hi)
    ax.plot(ks, [np.nan if y is None else y for y in score], "-", color=SCORE,
            linewidth=1.5, zorder=2)
    drawn = [(k, y) for k, y in zip(ks, score, strict=True) if y is not None]
    ax.scatter([k for k, _ in drawn], [y for _, y in drawn], zorder=3, color=SCORE,
               s=[110 if k == chosen else 40 for k, _ in drawn], linewidths=1.5,
               facecolors=[SCORE if evidence[k].get("admissible") else "white"
                           for k, _ in drawn])
    ax.axvline(chosen, color="0.5", linestyle=":", linewidth=1, zorder=1)

    def right(value):  # the stability axis (0 to 1.05) in the scores' units
        return lo + np.asarray(value, dtype=float) / 1.05 * (hi - lo)

    shown = [(k, s) for k in ks if (s := evidence[k].get("stability")) is not None]
    if shown:
        ax.plot([k for k, _ in shown], right([s for _, s in shown]), "--s", color=STABILITY,
                markersize=4, linewidth=1.2)
    ax.axhline(float(right(STABLE)), color=STABILITY, linestyle=":", linewidth=0.8)
    stable = F.ticks(0.0, 1.05, 6, f"stability (ARI of refits; {STABLE} needed)", STABILITY)
    stable.at = right(stable.at)
    F.frame(ax, F.Ticks(np.array(ks, dtype=float), [str(k) for k in ks], "k (clusters)"),
            F.ticks(lo, hi, 6, "Calinski-Harabasz (higher is better)", SCORE),
            f"Choosing k: k = {chosen} (filled: stable, no tiny cluster; hollow: set aside)",
            right=stable, title_size=11)
    save_png(fig, path)
