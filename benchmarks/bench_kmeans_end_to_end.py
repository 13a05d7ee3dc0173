"""`somcli kmeans big.csv -k 8` end to end against scikit-learn called directly on the same
matrix with the same settings (the issue 17 comparison), each in a fresh process.

    python benchmarks/bench_kmeans_end_to_end.py --repeat 3 --out benchmarks/results_kmeans_e2e.json

Measures, interleaved one of each per round (the best of the rounds is reported):
- ``somcli``: the command's wall time (``--no-plots``; ``-o`` a fresh folder) and the stages
  of its report; ``somcli_pictures``: the same with its pictures drawn;
- ``bare_process``: a fresh process doing only ``pd.read_csv``, standardising and the fit
  somcli runs on that many rows (``MiniBatchKMeans(k, n_init=3, batch_size=4096)`` above
  ``--minibatch-rows``, 200,000 by default), timed inside it up to the end of the fit;
- ``bare_with_labels``: the same process writing each row's cluster to a CSV after the fit
  (issue 30's minimal program: "pandas read + StandardScaler + KMeans(8) + writing the
  labels"), its wall time from outside as somcli's is;
- ``issue_minimal``: issue 30's minimal program word for word, "pandas read +
  StandardScaler + scikit-learn KMeans(8) + writing the labels" (scikit-learn's defaults:
  one k-means++ start, full Lloyd), its wall time from outside;
- ``fit_in_process``: that fit alone, timed inside the process (imports not counted);
- ``kmeans_full_fit``: scikit-learn's ``KMeans(k, n_init=3)`` on the same matrix, for scale.
Not a test: it measures (benchmarks/README.md holds the figures and the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_end_to_end import emit, peak_of  # noqa: E402

BARE = """
import sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
X = pd.read_csv(sys.argv[1]).to_numpy(dtype=np.float64)
X = (X - X.mean(0)) / X.std(0)
k, full = int(sys.argv[2]), sys.argv[3] == "full"
est = (KMeans(k, n_init=3, random_state=0) if full
       else MiniBatchKMeans(k, n_init=3, batch_size=4096, random_state=0))
t = time.perf_counter()
est.fit(X)
fit, whole = time.perf_counter() - t, time.perf_counter() - t0
if len(sys.argv) > 4:  # the labels written, as somcli writes its assignments
    pd.DataFrame({"cluster": est.labels_}).to_csv(sys.argv[4], index_label="row")
print(fit, whole)
"""


ISSUE_MINIMAL = """
import sys
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
X = StandardScaler().fit_transform(pd.read_csv(sys.argv[1]).to_numpy())
labels = KMeans(int(sys.argv[2]), random_state=0).fit(X).labels_
pd.DataFrame({"cluster": labels}).to_csv(sys.argv[3], index_label="row")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    py = sys.executable
    made = peak_of([py, os.path.join(HERE, "bench_end_to_end.py"), "--make-only", "--rows",
                    str(args.rows)])[2]
    csv = made.strip().splitlines()[-1].split("\t")[0]
    rounds: dict[str, list] = {}
    for _ in range(args.repeat):
        fit, whole = (float(v) for v in peak_of([py, "-c", BARE, csv, str(args.k),
                                                 "mini"])[2].split())
        rounds.setdefault("fit_in_process", []).append(fit)
        rounds.setdefault("bare_process", []).append(whole)
        labels = os.path.join(tempfile.gettempdir(), "somcli-bench-labels.csv")
        rounds.setdefault("bare_with_labels", []).append(
            peak_of([py, "-c", BARE, csv, str(args.k), "mini", labels])[0])
        rounds.setdefault("issue_minimal", []).append(
            peak_of([py, "-c", ISSUE_MINIMAL, csv, str(args.k), labels])[0])
        os.remove(labels)
        rounds.setdefault("kmeans_full_fit", []).append(
            float(peak_of([py, "-c", BARE, csv, str(args.k), "full"])[2].split()[0]))
        rounds.setdefault("somcli", []).append(_somcli(py, csv, args.k))
        rounds.setdefault("somcli_pictures", []).append(_somcli(py, csv, args.k, plots=True))
    best = min(rounds["somcli"], key=lambda r: r[0])
    res = {"rows": args.rows, "k": args.k, "repeat": args.repeat,
           "somcli_s": best[0], "somcli_peak_rss_mb": best[1], "somcli_stages_s": best[2],
           "bare_process_s": min(rounds["bare_process"]),
           "bare_with_labels_s": min(rounds["bare_with_labels"]),
           "fit_in_process_s": min(rounds["fit_in_process"]),
           "kmeans_full_fit_s": min(rounds["kmeans_full_fit"])}
    res["ratio_to_bare_process"] = res["somcli_s"] / res["bare_process_s"]
    res["ratio_to_bare_with_labels"] = res["somcli_s"] / res["bare_with_labels_s"]
    res["somcli_pictures_s"] = min(r[0] for r in rounds["somcli_pictures"])
    res["pictures_ratio_to_bare_with_labels"] = (res["somcli_pictures_s"]
                                                 / res["bare_with_labels_s"])
    res["issue_minimal_s"] = min(rounds["issue_minimal"])
    res["ratio_to_issue_minimal"] = res["somcli_s"] / res["issue_minimal_s"]
    res["pictures_ratio_to_issue_minimal"] = res["somcli_pictures_s"] / res["issue_minimal_s"]
    res["ratio_to_fit"] = res["somcli_s"] / res["fit_in_process_s"]
    res["all_rounds_s"] = {k: [round(v[0] if isinstance(v, tuple) else v, 3) for v in vals]
                           for k, vals in rounds.items()}
    emit(res, args.out)


def _somcli(py, csv, k, plots=False) -> tuple[float, float, dict]:
    out = tempfile.mkdtemp(prefix="somcli-km-")
    shutil.rmtree(out)
    wall, rss, _ = peak_of([py, "-m", "somcli", "kmeans", csv, "-k", str(k), "-o", out, "-q",
                            *([] if plots else ["--no-plots"])])
    with open(os.path.join(out, "report.json")) as fh:
        stages = json.load(fh)["runtime_seconds"]
    shutil.rmtree(out)
    return wall, rss, stages


if __name__ == "__main__":
    main()
