"""Markdown tables for benchmarks/README.md from the results files (no measuring here).

    python benchmarks/tables.py benchmarks/results_engines.json
"""

from __future__ import annotations

import json
import sys

NAMES = {
    "somcli": "somcli batch, float32",
    "somcli-f64": "somcli batch, float64",
    "reference-f64": "plain float64 batch (reference)",
    "xpysom": "xpysom 1.0.7 numpy, float32",
    "somoclu": "somoclu 1.7.6 C++/OpenMP, float32",
    "minisom-train": "MiniSom 2.3.6 `train` (online)",
    "minisom-batch-offline": "MiniSom 2.3.6 `train_batch_offline`",
}


def engines(path: str) -> str:
    with open(path) as fh:
        results = json.load(fh)["results"]
    out = []
    cells = sorted({(r["n"], r["d"]) for r in results})
    for n, d in cells:
        rows = [r for r in results if (r["n"], r["d"]) == (n, d)]
        ours = next(r for r in rows if r["trainer"] == "somcli")["seconds_per_epoch"]
        out += [f"**n = {n:,}, d = {d}**", "",
                "| trainer | s / epoch | ratio to somcli | peak MB above data | final QE "
                "| final TE | epochs run |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            out.append(f"| {NAMES.get(r['trainer'], r['trainer'])} | {r['seconds_per_epoch']:.4f} "
                       f"| {r['seconds_per_epoch'] / ours:.1f} | {max(r['peak_mb_above_data'], 0):.0f} "
                       f"| {r['qe']:.4f} | {r['te']:.4f} | {r['epochs']} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(engines(sys.argv[1]))
