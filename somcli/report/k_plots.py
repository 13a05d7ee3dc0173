"""How k was chosen, as a picture (k_choice.png): each candidate's Calinski-Harabasz score
and its stability against k, the chosen k marked, the candidates the rule set aside (a
tiny cluster, or unstable) hollow. Drawn from the report's ``k_selection.evidence``."""

from __future__ import annotations

from collections.abc import Callable

from somcli.report.figure import new_figure, save_png

SCORE, STABILITY = "#23487a", "#d95f02"


def jobs(selection: dict | None) -> dict[str, Callable]:
    """name -> drawing function; nothing when k was given, or fewer than two candidates."""
    evidence = (selection or {}).get("evidence") or {}
    scored = [k for k, e in evidence.items() if e.get("calinski_harabasz") is not None]
    if len(scored) < 2:
        return {}
    return {"k_choice.png": lambda path: draw(path, selection)}


def draw(path, selection: dict) -> None:
    from somcli.algorithms.choose import STABLE

    evidence = {int(k): e for k, e in selection["evidence"].items()}
    ks = sorted(evidence)
    chosen = int(selection["chosen"])
    fig, axes = new_figure((760, 420))
    ax = axes[0, 0]
    score = [evidence[k]["calinski_harabasz"] for k in ks]
    ax.plot(ks, score, "-", color=SCORE, linewidth=1.5, zorder=2)
    for k, y in zip(ks, score, strict=True):
        if y is None:
            continue
        kept = evidence[k].get("admissible")
        ax.scatter([k], [y], s=110 if k == chosen else 40, zorder=3, color=SCORE,
                   facecolors=SCORE if kept else "white", linewidths=1.5)
    ax.axvline(chosen, color="0.5", linestyle=":", linewidth=1, zorder=1)
    ax.set_xlabel("k (clusters)")
    ax.set_ylabel("Calinski-Harabasz (higher is better)", color=SCORE)
    ax.set_xticks(ks)
    right = ax.twinx()
    stability = [evidence[k].get("stability") for k in ks]
    shown = [(k, s) for k, s in zip(ks, stability, strict=True) if s is not None]
    if shown:
        right.plot(*zip(*shown, strict=True), "--s", color=STABILITY, markersize=4,
                   linewidth=1.2)
    right.axhline(STABLE, color=STABILITY, linestyle=":", linewidth=0.8)
    right.set_ylim(0, 1.05)
    right.set_ylabel(f"stability (ARI of refits; {STABLE} needed)", color=STABILITY)
    ax.set_title(f"Choosing k: k = {chosen} (filled: stable, no tiny cluster; "
                 "hollow: set aside)", fontsize=11)
    fig.subplots_adjust(left=0.12, right=0.86, bottom=0.14, top=0.9)
    save_png(fig, path)
