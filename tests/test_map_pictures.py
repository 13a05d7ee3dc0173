"""The map pictures a reader relies on (issue 15): colour limits skewed values do not swamp,
borders between clusters, text that reads on its cell, row names on small maps, a legend
with each cluster's size, SVG maps with a hover title per unit, pictures sized to the map."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES, cli_output
from PIL import Image

from somcli.algorithms.grid import Grid
from somcli.report import map_draw as D
from somcli.report.colour_scale import scale_for, short_number, text_colour
from somcli.report.map_facts import MapFacts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def countries(tmp_path_factory):
    return cli_output(tmp_path_factory, "som", COUNTRIES, "-k", "3")


def test_one_far_value_does_not_swamp_the_colours():
    values = np.r_[np.linspace(0, 1, 99), 1000.0]
    robust = scale_for(values, "robust")
    assert robust.norm.vmax < 2 and robust.extend in ("max", "both") and robust.norm.vmin >= 0
    assert 0.3 < robust.norm(0.5) < 0.7  # the middle of the data is the middle of the colours
    linear = scale_for(values, "linear")
    assert linear.norm.vmax == 1000 and linear.norm(0.5) < 0.001
    log = scale_for(np.r_[1.0, 10, 100, 1e4, 1e6], "log")
    assert type(log.norm).__name__ == "LogNorm"
    assert scale_for(np.r_[0.0, 1, 2, 3], "log").note != "log scale"  # zero: not log
    bands = scale_for(np.arange(1000.0) ** 3, "quantile")
    assert type(bands.norm).__name__ == "BoundaryNorm" and len(bands.norm.boundaries) == 11


def test_component_colours_follow_the_data_not_the_codebook():
    data = np.r_[np.zeros(50), np.ones(50) * 10]
    scale = scale_for(np.array([4.0, 6.0]), "robust", reference=data)
    assert scale.norm.vmin == 0 and scale.norm.vmax == 10


def test_numbers_on_ticks_are_short():
    assert [short_number(v) for v in (8.795e8, 5.341e-05, 0.02457, 4210, 157436, 0)] == \
        ["880M", "5.3e-05", "0.0246", "4,210", "157k", "0"]


def test_text_reads_on_its_cell():
    assert text_colour((0.03, 0.19, 0.42, 1)) == "white"  # navy
    assert text_colour((0.97, 0.98, 1.0, 1)) == "black"


@pytest.mark.parametrize("topology", ["hex", "rect"])
def test_borders_lie_on_the_edges_two_clusters_share(topology):
    grid = Grid(4, 5, topology)
    clusters = (np.arange(grid.units) % grid.cols >= 2).astype(int)  # columns 0-1 | 2-4
    segments = D.border_segments(grid, clusters)
    assert len(segments) == sum(1 for u in range(grid.units) for v in grid.neighbors[u]
                                if v > u and clusters[u] != clusters[v])
    vertices = D.cells(grid).reshape(-1, 2)
    for end in segments.reshape(-1, 2):  # every end is a corner of a drawn cell
        assert np.min(np.linalg.norm(vertices - end, axis=1)) < 1e-9
    assert len(D.border_segments(grid, np.zeros(grid.units, int))) == 0


def test_outlines_fade_on_big_maps():
    widths = [D.outline(Grid(n, n))[0] for n in (5, 20, 40, 60, 61)]
    assert widths == sorted(widths, reverse=True) and widths[-1] == 0


def test_small_data_puts_every_row_name_on_its_unit(countries, monkeypatch):
    facts = _facts(countries)
    assert facts.named
    a = pd.read_csv(countries / "assignments.csv")
    written = []
    monkeypatch.setattr(D, "annotate",
                        lambda ax, grid, labels, colours, size: written.extend(labels))
    from somcli.report import map_plots

    map_plots.draw_umatrix(str(countries / "again.png"), facts)
    text = "\n".join(written)
    for name in a["Country ID"]:
        assert name in text


def test_hover_titles_name_each_unit_and_its_rows(countries):
    a = pd.read_csv(countries / "assignments.csv")
    cb = pd.read_csv(countries / "codebook.csv")
    for picture in ("umatrix.svg", "clusters.svg"):
        root = ET.parse(countries / picture).getroot()
        polygons = root.iter(f"{SVG}polygon")
        titles = [p.find(f"{SVG}title").text for p in polygons]
        assert len(titles) == len(cb)
        for unit in cb.itertuples():
            title = titles[unit.unit]
            assert title.startswith(f"row {unit.row}, column {unit.col}: cluster "
                                    f"{unit.cluster}, {unit.hits} row")
            here = a[(a.bmu_row == unit.row) & (a.bmu_col == unit.col)]
            for name in here["Country ID"]:
                assert name in title
        page = (countries / picture).read_text()
        assert "<script" not in page and "href" not in page


def test_the_clusters_legend_gives_sizes_and_what_sets_each_apart(countries):
    report = json.loads((countries / "report.json").read_text())
    legend = ["".join(t.itertext()) for t in
              ET.parse(countries / "clusters.svg").getroot().iter(f"{SVG}text")]
    for c in report["clusters"]:
        line = next(t for t in legend if t.startswith(f"{c['cluster']}: "))
        assert f"{c['size']:,} row" in line and f"({c['share']:.0%})" in line
        if c["distinguishing"]:
            assert c["distinguishing"][0]["feature"] in line


@pytest.mark.slow
def test_big_skewed_maps_draw_within_bounds(tmp_path, run):
    rng = np.random.default_rng(2)
    n = 1500
    frame = pd.DataFrame({"population": np.exp(rng.normal(10, 2.5, n)).round(),
                          "rate": rng.gamma(0.4, 1e-4, n)})
    for j in range(18):
        frame[f"f{j}"] = rng.normal(size=n) * (j + 1)
    src = tmp_path / "skewed.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "o"
    assert run("som", src, "--map", "40x30", "--epochs", "2", "-k", "4", "--color-scale", "log",
               "-o", out, "-q").code == 0
    for name in ("umatrix.png", "hits.png", "clusters.png", "components.png"):
        with Image.open(out / name) as img:
            assert 700 <= img.size[0] <= 1000 and 300 <= img.size[1] <= 1500, name
            assert np.asarray(img.convert("L")).std() > 10, name
    report = json.loads((out / "report.json").read_text())
    assert "components.png shows the first 16 of 20 features" in report["warnings"]
    assert run("som", src, "--color-scale", "rainbow", "-o", tmp_path / "x").code == 64  # EX_USAGE


def test_the_colour_scale_changes_the_picture(tmp_path, run):
    outs = []
    for scale in ("robust", "quantile"):
        out = tmp_path / scale
        assert run("som", COUNTRIES, "-k", "3", "--color-scale", scale, "-o", out, "-q").code == 0
        outs.append(out)
    assert (outs[0] / "components.png").read_bytes() != (outs[1] / "components.png").read_bytes()
    assert (outs[0] / "clusters.png").read_bytes() == (outs[1] / "clusters.png").read_bytes()


def _facts(out) -> MapFacts:
    """The facts of a written run, rebuilt from its files (what the pictures were drawn from)."""
    cb = pd.read_csv(out / "codebook.csv")
    report = json.loads((out / "report.json").read_text())
    a = pd.read_csv(out / "assignments.csv")
    m = report["map"]
    grid = Grid(m["rows"], m["cols"], m["topology"])
    names = [[] for _ in range(grid.units)]
    for _, row in a.iterrows():
        names[row.bmu_row * grid.cols + row.bmu_col].append(row["Country ID"])
    features = report["features"]
    return MapFacts(grid, cb[[f"{f} [scaled]" for f in features]].to_numpy(),
                    np.loadtxt(out / "umatrix.csv", delimiter=","), cb["hits"].to_numpy(),
                    cb["cluster"].to_numpy(), cb[features].to_numpy(), features,
                    unit_names=names, rows=len(a))


def test_auto_uses_a_log_scale_for_a_heavy_tail_only():
    rng = np.random.default_rng(4)
    population = np.exp(rng.normal(10, 2.5, 2000))
    revenue = np.exp(rng.normal(11, 1.4, 2000))  # 98th percentile about 18x the median
    for heavy in (population, revenue):
        assert type(scale_for(heavy, "auto").norm).__name__ == "LogNorm"
    for plain_column in (rng.normal(40, 12, 2000), rng.uniform(1, 5, 2000), -population):
        assert type(scale_for(plain_column, "auto").norm).__name__ == "Normalize"


def test_assign_draws_where_todays_rows_fall_on_the_saved_map(countries, tmp_path, run):
    today = tmp_path / "today.csv"
    rows = pd.read_csv(COUNTRIES, sep=None, engine="python").iloc[:7]
    rows.to_csv(today, index=False)
    out = tmp_path / "a"
    assert run("assign", countries / "model.json", today, "-o", out, "-q").code == 0
    a = pd.read_csv(out / "assignments.csv")
    root = ET.parse(out / "umatrix.svg").getroot()
    titles = [p.find(f"{SVG}title").text for p in root.iter(f"{SVG}polygon")]
    cols = json.loads((countries / "report.json").read_text())["map"]["cols"]
    held = a.groupby(["bmu_row", "bmu_col"]).size()
    for (r, c), n in held.items():  # today's hits, not the training's
        assert ": cluster " in titles[r * cols + c] and f", {n} row" in titles[r * cols + c]
    assert sum(int(t.split(", ")[2].split()[0].replace(",", "")) for t in titles) == len(a)
    for name in ("hits.png", "clusters.png", "components.png", "projection.png"):
        with Image.open(out / name) as img:
            assert np.asarray(img.convert("L")).std() > 10
    assert run("assign", countries / "model.json", today, "-o", tmp_path / "b", "-q",
               "--no-plots").code == 0
    assert not list((tmp_path / "b").glob("*.png"))


def test_svg_maps_stay_valid_xml_whatever_the_identifiers_hold(tmp_path, run):
    names = [f"{n} {i}" for i, n in enumerate(
        ["a\x00b", "<script>x</script>", "c&d", "e\x1bf", 'q"uote', "t\tab"] * 5)]
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"name": names, "x": rng.normal(size=30), "y": rng.normal(size=30)})
    src = tmp_path / "ugly.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "o"
    assert run("som", src, "-k", "2", "-o", out, "-q").code == 0
    for picture in ("umatrix.svg", "clusters.svg"):
        text = (out / picture).read_text()
        root = ET.fromstring(text)  # parses: no raw control character, no live markup
        assert root.find(f"{SVG}script") is None and "<script>" not in text
        titles = " ".join(t.text for t in root.iter(f"{SVG}title"))
        assert "<script>x</script>" in titles and "c&d" in titles
        assert "a\ufffdb" in titles and "e\ufffdf" in titles  # control characters, shown


def test_drawing_leaves_a_library_users_matplotlib_settings_alone():
    """The pictures draw their text unhinted (faster), for their own drawing only: a
    notebook that imports somcli keeps its own settings."""
    import io

    import matplotlib

    from somcli.report import figure, k_plots

    evidence = {k: {"calinski_harabasz": 100.0 + k, "stability": 0.9, "admissible": True}
                for k in (2, 3, 4)}
    draw = k_plots.jobs({"evidence": evidence, "chosen": 3})["k_choice.png"]
    with matplotlib.rc_context({"text.hinting": "native", "font.size": 13}):
        png = figure.render(draw)
        assert matplotlib.rcParams["text.hinting"] == "native"
        assert matplotlib.rcParams["font.size"] == 13
    assert Image.open(io.BytesIO(png)).size == (760, 420)


def test_each_unit_is_named_after_its_first_rows_in_order():
    """The names on a map's units: the first rows on each, in row order, read a chunk at a
    time until every unit has its names (a unit that fills late, rows without a unit)."""
    import pandas as pd

    from somcli.algorithms import blocks as B

    rng = np.random.default_rng(5)
    n = 3 * B.CHUNK + 17
    bmu = rng.integers(-1, 40, n).astype(np.int32)
    bmu[bmu == 39] = -1
    bmu[n - 5:] = 39  # a unit whose rows all come at the end
    hits = np.bincount(bmu[bmu >= 0], minlength=40)
    ids = pd.DataFrame({"line": np.arange(2, n + 2), "name": [f"r{i}" for i in range(n)]})
    for columns, limit in (([], 3), (["name"], 1), (["name"], 8)):
        got = B.unit_rows((bmu, None, {"hits": hits}), ids, columns, limit)
        for u in range(40):
            rows = np.flatnonzero(bmu == u)[:limit]
            want = [f"r{i}" if columns else f"line {i + 2}" for i in rows]
            assert got.get(u, []) == want, (u, limit)
