"""report.json -> report.md: the same facts, for a person."""

from __future__ import annotations

from somcli.algorithms.choose import stable_mark
from somcli.algorithms.embedding import METHODS
from somcli.io import formats
from somcli.report.captions import CAPTIONS
from somcli.report.md_text import Code, code, columns_section, esc, fmt, lines_list, table

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
MISSING_WORDS = {"median": "the column median", "mean": "the column mean",
                 "most-frequent": "the most frequent value", "knn": "the mean of the 5 nearest rows"}
SCALE_WORDS = {"standard": "standard (mean 0, standard deviation 1 per feature)",
               "minmax": "min-max (each feature to 0..1)",
               "robust": "robust (median 0, interquartile range 1)", "none": "none (raw units)"}


def render(report: dict) -> str:
    """report.md: the answer first (the clusters, the main picture, how k was chosen, what to
    mind, the quality; for assign the model and the drift), then how it was reached (input,
    columns, cleaning, parameters; report.html folds these away: :data:`DETAILS`)."""
    out: list[str] = [f"# somcli {report['command']} report", ""]
    answer = ANSWER.get(report["command"], ANSWER["som"])
    for section in answer:
        out += section(report)
    out += _input(report)
    out += columns_section(report["columns"])
    if report.get("cleaning"):
        out += cleaning_lines(report["cleaning"], learned=report["command"] == "embed")
    for section in (_parameters, _embedding, _run):
        if section not in answer:
            out += section(report)
    return "\n".join(out).rstrip() + "\n"


#: the section headings report.html shows folded (<details>): how the answer was reached
DETAILS = ("Input", "Columns", "Cleaning", "Parameters", "Run")
BOM_FOUND = " (detected from its byte-order mark)"
ENCODING_FOUND = {"cp1252": " (not UTF-8: detected)"}


def _input(r):
    i = r["input"]
    d = i["dialect"]
    detected = set(d.get("detected", []))
    delim = DELIMITER_NAMES.get(d["delimiter"]) or esc(repr(d["delimiter"]))
    if d.get("format", "csv") != "csv":  # a columnar file: no delimiter, encoding, mark
        text = f"- Format: {formats.what(d['format'])}"
    else:
        text = (f"- Delimiter: {delim}{_if('delimiter' in detected, ' (detected)')}; "
                f"encoding {d['encoding'].replace('utf-8-sig', 'utf-8')}"
                f"{_if('encoding' in detected, ENCODING_FOUND.get(d['encoding'], BOM_FOUND))}; "
                f"decimal mark '{d['decimal']}'"
                f"{_if('decimal' in detected and d['decimal'] == ',', ' (detected)')}")
    out = ["## Input", "",
           f"- File(s): {', '.join(code(f) for f in i['files'])}",
           f"- {fmt(i['rows'])} data rows, {fmt(i['columns'])} columns", text]
    notes = i.get("notes", [])
    skipped = f"{i.get('empty_lines_skipped')} empty line(s) skipped"
    if i.get("empty_lines_skipped") and skipped not in notes:  # (one file: the reader's note)
        out.append(f"- {esc(skipped)}")
    out += [f"- {esc(n)}" for n in notes]
    return out + [""]


def _if(condition: bool, text: str) -> str:
    return text if condition else ""


def cleaning_lines(c, esc=esc, code=code, learned: bool = False):
    """The cleaning section's lines; ``esc`` and ``code`` make data values inert in
    Markdown (``inspect`` passes ``str`` for both: a terminal shows the text as it is);
    ``learned``: an embedding's cleaning (gaps left out of training, no map)."""
    out = ["## Cleaning", ""]
    if c.get("replayed"):
        out.append("- Replayed from the model: the training's unit rules, fill values and "
                   "scaling (nothing was refitted).")
    method = c["missing_method"]
    if c.get("infinite_values"):
        out.append("- Infinite values counted as missing: " + ", ".join(
            f"{code(k)} {v}" for k, v in c["infinite_values"].items()))
    if not c.get("missing_cells"):
        out.append("- Missing values: none.")
    elif method == "drop":
        out.append(f"- Missing values: {c['rows_dropped']} row(s) with a gap were left out of "
                   "fitting (`--missing drop`); they appear in the assignments with an empty cluster.")
    elif method == "mask" and learned:
        out.append(f"- Missing values: {c['rows_trained_with_gaps']} row(s) with gaps; a gap is "
                   "left out of training and of the error, never filled in.")
    elif method == "mask":
        out.append(f"- Missing values: {c['rows_trained_with_gaps']} row(s) trained with gaps; the "
                   "missing components were ignored in the BMU search and the sums (`--missing mask`).")
    else:
        total = sum(c["filled_cells"].values())
        per = ", ".join(f"{code(k)} {v}" for k, v in c["filled_cells"].items())
        out.append(f"- Missing values: {total} cell(s) filled with {MISSING_WORDS[method]} ({per}).")
    if c.get("rows_without_values"):
        out.append(f"- {c['rows_without_values']} row(s) without any feature value: left out of "
                   "fitting (nothing to place them by, and filled they would be made-up rows); "
                   "they appear in the assignments with an empty cluster.")
    if c.get("rows_with_gaps_named"):
        more = c["rows_with_gaps"] - len(c["rows_with_gaps_named"])
        out.append("- Rows with gaps: " + "; ".join(esc(x) for x in c["rows_with_gaps_named"])
                   + (f"; and {more} more" if more > 0 else ""))
    out += _duplicates(c.get("duplicates") or {}, esc, code)
    out.append(f"- Scaling: {SCALE_WORDS.get(c.get('scale'), c.get('scale'))}.")
    out.append(f"- Rows {'assigned' if c.get('replayed') else 'used for fitting'}: "
               f"{fmt(c['rows_used_for_fitting'])}.")
    return out + [""]


def _duplicates(d, esc, code):
    if not d:
        return []
    out = []
    if d.get("identical_row_groups"):
        groups = "; ".join(lines_list(g) for g in d["identical_rows"])
        out.append(f"- Fully identical rows: {d['identical_row_groups']} group(s): {groups}.")
    else:
        out.append("- Fully identical rows: none.")
    for col, values in d.get("shared_ids", {}).items():
        listed = "; ".join(f"{esc(v)} ({lines_list(lines)})" for v, lines in values.items())
        total = d["shared_id_values"][col]
        more = f"; and {total - len(values)} more" if total > len(values) else ""
        out.append(f"- Rows sharing a {code(col)} value: {listed}{more}.")
    if d.get("identical_feature_rows"):
        out.append(f"- {d['identical_feature_rows']} row(s) repeat the feature values of an "
                   "earlier row.")
    if d.get("dedupe", "none") == "none":
        if d.get("shared_ids") or d.get("identical_row_groups"):
            out.append("- De-duplication: none (`--dedupe first|last|mean` merges them for fitting).")
    else:
        key = code(d['dedupe_key']) if d.get("dedupe_key") else "identical feature values"
        out.append(f"- De-duplication `{d['dedupe']}` by {key}: {d['rows_merged']} row(s) merged "
                   "for fitting; every row is still assigned.")
    return out


def _drift(r):
    d = r.get("drift")
    if not d:
        return []
    out = ["## Drift against the training data", "", f"**{d['verdict']}**", ""]
    out += [f"- {esc(line)}" for line in d.get("summary", [])]
    if d.get("clusters"):
        rows = [[c["cluster"], c["share_training"], c["share_now"], c["change"]]
                for c in d["clusters"]]
        out += ["", table(["cluster", "share in training", "share now", "change"], rows)]
    if d.get("columns"):
        rows = [[Code(c['column']), c["missing_training"], c["missing_now"], c["mean_training"],
                 c["mean_now"], c["shift_sd"]] for c in d["columns"]]
        out += ["", table(["column", "missing (training)", "missing (now)", "mean (training)",
                           "mean (now)", "mean shift (training SDs)"], rows)]
    return out + [""]


def _parameters(r):
    p = r.get("parameters") or {}
    if not p:
        return []
    return ["## Parameters", "", table(["parameter", "value"], [[k, v] for k, v in p.items()]), ""]


def _embedding(r):
    e = r.get("embedding")
    if not e:
        return []
    method = METHODS.get(e["method"])
    what = method.DESCRIPTION if method else e["method"]
    rule = e.get("dim_rule")
    units = f"{e['dim']} hidden units" + (f" ({rule})" if rule and rule != "given" else "")
    out = ["## Embedding", "", f"- Method: {what}; {units}, {e['epochs']} epochs, "
           f"learning rate {fmt(e['learning_rate'])}, {fmt(e['batch_rows'])} rows per step.",
           f"- Cells: {fmt(e.get('observed_cells'))} observed, {fmt(e.get('missing_cells'))} "
           f"missing, {fmt(e.get('holdout_cells'))} observed cells held out of training to "
           "measure."]
    if e.get("model"):  # assign: a saved model's codes, nothing trained
        return out + [f"- Codes and reconstructions from the saved model {code(e['model'])}; "
                      f"nothing was trained. Reconstruction error on the observed cells: "
                      f"{fmt(e.get('observed_rmse'))} (training rows: "
                      f"{fmt(e.get('observed_rmse_training'))}).", ""]
    out += [f"- Scaling: {esc(e['scaling'])}.",
           f"- Held-out error (RMSE, 0..1 units): {fmt(e['holdout_rmse'])}; predicting each "
           f"column's mean instead: {fmt(e['holdout_rmse_item_means'])}."]
    if e.get("holdout_accuracy") is not None:
        out.append(f"- Held-out 0/1 cells on the right side of 0.5: "
                   f"{fmt(e['holdout_accuracy'])} (column means: "
                   f"{fmt(e['holdout_accuracy_item_means'])}).")
    rows = [[c["epoch"], c["train_rmse"], c.get("holdout_rmse")] for c in e["curve"]]
    shown = rows[::max(1, len(rows) // 10)] + ([rows[-1]] if len(rows) % 10 != 1 else [])
    out += ["", "Training curve (reconstruction RMSE on the training cells and the held-out "
            "ones):", "", table(["epoch", "train", "held out"], list({r[0]: r for r in shown}
                                                                    .values())), ""]
    rec = e.get("recommendations")
    if rec:
        out += [f"Recommendations: each row's {rec['top']} gap(s) with the highest "
                f"reconstructed value, in {code(rec['file'])} ({fmt(rec['rows'])} rows); the "
                "first:", "", table(["row", "rank", "item", "score"],
                                    [[Code(x["row"]), x["rank"], Code(x["item"]), x["score"]]
                                     for x in rec["first"]]), ""]
    return out


def _map(r):
    m = r.get("map")
    if not m:
        return []
    out = ["## The map", "",
           f"- Grid: {m['rows']} x {m['cols']} {m['topology']} ({m['units']} units); {m['size_rule']}",
           f"- Trainer: {m['trainer']}; {m['epochs']} epochs; radius {fmt(m['sigma'])} -> "
           f"{fmt(m['sigma_end'])} ({m['decay']}), {m['neighborhood']} neighbourhood; "
           + (f"{esc(m['init'])} (its codebook was the start)" if m.get("resumed")
              else f"{m['init']} initialisation"),
           f"- Quantization error (mean distance of a row to its unit, scaled units): "
           f"{fmt(m['quantization_error'])}",
           f"- Topographic error (share of rows whose two best units are not neighbours): "
           f"{fmt(m['topographic_error'])}",
           f"- Dead units (no row): {m['dead_units']} of {m['units']} ({m['dead_share']:.0%})"]
    if m.get("resumed"):
        out.append(f"- Resumed from a saved model: the codebook moved by "
                   f"{fmt(m['resumed']['codebook_shift_mean'])} on average "
                   f"(max {fmt(m['resumed']['codebook_shift_max'])}) in scaled units")
    return out + [""]


def _k_selection(r):
    s = r.get("k_selection")
    if not s:
        return []
    out = ["## Choosing k", "", f"Scored by {esc(s['method'])}.", ""]
    for a in s.get("alternatives") or []:
        what = ("is also supported by the scores, not by gaps" if a.get("gaps") is False
                else "is also supported")
        out += [f"**k = {a['k']} {what}** ({esc(a['why'])}): `-k {a['k']}` runs it.", ""]
    if K_PICTURE in r.get("files", []):
        out += _picture(K_PICTURE)
    if s.get("note"):
        out += [f"**{esc(s['note'])}.**", ""]
    evidence = s.get("evidence")
    if not evidence:
        rows = [[k, v, "<- chosen" if int(k) == s["chosen"] else ""]
                for k, v in s["scores"].items()]
        return out + [table(["k", "score", ""], rows), ""]
    rows = [[k, e["calinski_harabasz"], e["silhouette"], e["davies_bouldin"], e["stability"],
             e["smallest_cluster"], stable_mark(e),
             "<- chosen" if int(k) == s["chosen"] else ""] for k, e in evidence.items()]
    return out + [table(["k", "Calinski-Harabasz", "silhouette", "Davies-Bouldin", "stability",
                         "smallest cluster", "stable, no tiny cluster", ""], rows), ""]


def _clusters(r):
    cl = r.get("clusters")
    if not cl:
        return []
    feats = r["features"]
    shown = feats[:8]
    rows = [[c["cluster"], c["size"], f"{c['share']:.0%}"] + [c["means"][f] for f in shown]
            for c in cl]
    out = ["## Clusters", "", "Feature means in the original units.", "",
           table(["cluster", "rows", "share"] + [Code(f) for f in shown], rows)]
    if len(feats) > len(shown):
        out.append(f"\n({len(feats) - len(shown)} more features in report.json)")
    described = [line for c in cl if (line := describe_cluster(c, code))]
    if described:
        out += ["", "What sets each cluster apart (its mean minus the other rows' mean, in "
                "SDs of the feature over all rows: the numbers profiles.png shows), its "
                "typical rows (nearest its mean), and how its "
                "category and label values split:", ""] + [f"- {line}" for line in described]
    return out + [""]


def describe_cluster(c: dict, show=esc) -> str:
    """One line on what a cluster is (``show`` quotes data values)."""
    parts = []
    apart = c.get("distinguishing") or []
    if apart:
        parts.append(", ".join(
            f"{show(a['feature'])} {'higher' if a['effect'] > 0 else 'lower'} "
            f"({a['effect']:+.1f} SD: {fmt(a['mean'])} vs {fmt(a['mean_rest'])})"
            for a in apart))
    if c.get("typical"):
        parts.append("typical: " + "; ".join(show(t) for t in c["typical"]))
    for col, values in (c.get("categories") or {}).items():
        parts.append(f"{show(col)}: " + ", ".join(f"{show(v)} {s:.0%}" for v, s in values.items()))
    if c.get("labels"):
        parts.append("labels: " + ", ".join(f"{show(v)} {n}" for v, n in c["labels"].items()))
    if not parts:
        return ""
    return f"cluster {c['cluster']} ({fmt(c['size'])} rows, {c['share']:.0%}): " + "; ".join(parts)


def _quality(r):
    m = r.get("metrics")
    if not m:
        return []
    out = ["## Quality", "",
           f"- Silhouette: {fmt(m['silhouette'])} (-1..1, higher is better)",
           f"- Davies-Bouldin: {fmt(m['davies_bouldin'])} (0 is best, lower is better)",
           f"- Calinski-Harabasz: {fmt(m['calinski_harabasz'])} (higher is better)"]
    e = r.get("external")
    if e:
        if "ari" in e:
            out += [f"- Against {code(r['label_column'])} ({e['classes']} classes, "
                    f"{fmt(e['rows_scored'])} rows): ARI {fmt(e['ari'])}, "
                    f"NMI {fmt(e['nmi'])}, purity {fmt(e['purity'])}"]
        else:
            out += [f"- {code(r['label_column'])} has {e['classes']} class(es): ARI/NMI not defined"]
    return out + [""]


def _outliers(r):
    o = r.get("outliers")
    if not o:
        return []
    if "rule" in o:
        head = f"Rule: {esc(o['rule'])}. Rows flagged: {o['count']}."
    else:  # a report written before the robust rule
        head = (f"Rows whose outlier score is above the {o['quantile']:g} quantile "
                f"({fmt(o['threshold'])}) of the training rows: {o['count']}.")
    out = ["## Outliers", "", head,
           "", "The score is a row's QE divided by the median QE of the training rows "
           "(1 is typical)."]
    if o.get("rows"):
        rows = [[x["row"], x["score"], x["qe"], x["cluster"]] for x in o["rows"]]
        out += ["", table(["row", "score", "qe", "cluster"], rows)]
    return out + [""]


#: the picture that shows the answer, shown right after the clusters: the first found
MAIN_PICTURES = ("clusters.png", "projection.png", "hits.png", "umatrix.png")


def _main_picture(r):
    pics = [f for f in r.get("files", []) if f.endswith(".png")]
    main = next((p for p in MAIN_PICTURES if p in pics), None)
    return [] if main is None else _picture(main)


K_PICTURE = "k_choice.png"  # shown in "Choosing k", not among the other pictures


def _pictures(r):
    pics = [f for f in r.get("files", []) if f.endswith(".png") and f != K_PICTURE]
    main = next((p for p in MAIN_PICTURES if p in pics), None)
    rest = [p for p in pics if p != main]
    if not rest:
        return []
    out = ["## More pictures" if main else "## Pictures", ""]
    for p in rest:
        out += _picture(p)
    return out


def _picture(p: str) -> list[str]:
    return [f"![{p[:-4]}]({p})", ""] + ([f"*{CAPTIONS[p]}*", ""] if p in CAPTIONS else [])



def _warnings(r):
    w = r.get("warnings")
    if not w:
        return []
    return ["## Warnings", ""] + [f"- {esc(x)}" for x in w] + [""]


def _model(r):
    m = r.get("model")
    if not m:
        return []
    trained = ", ".join(code(t) for t in m.get("trained_on") or []) or "?"
    return ["## Model", "", f"- {code(m['path'])}: {m['kind']} with {m['clusters']} clusters, "
            f"trained on {trained} ({fmt(m['training_rows'])} rows), {m.get('created')}", ""]


def _run(r):
    out = ["## Run", ""]
    if r.get("runtime_seconds"):
        t = r["runtime_seconds"]
        out.append("- Seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in t.items()))
    v = r.get("versions", {})
    out.append("- Versions: " + ", ".join(f"{k} {x}" for k, x in v.items()))
    if r.get("files"):
        out.append("- Files: " + ", ".join(code(f) for f in r["files"]))
    return out + [""]


#: what each command's report says first, in order (the rest follows: see :func:`render`)
ANSWER = {
    "som": (_clusters, _main_picture, _k_selection, _warnings, _quality, _map, _outliers,
            _pictures, _embedding),
    "kmeans": (_clusters, _main_picture, _k_selection, _warnings, _quality, _pictures,
               _embedding),
    "assign": (_model, _drift, _clusters, _main_picture, _warnings, _quality, _pictures,
               _embedding),
    "embed": (_embedding, _warnings),
}
