"""The charts' frames drawn in pixels (somcli.report.chart_frame): tick labels a person
reads at a glance, a legend that does not hide the points, and the pictures that use them
drawn whole from odd evidence."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from somcli.report import chart_frame as F
from somcli.report import cluster_plots, figure, k_plots


@pytest.mark.parametrize("lo, hi, want", [
    (0.0, 1.05, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
    (-3.3, 2.4, ["\u22123", "\u22122", "\u22121", "0", "1", "2"]),
    (560.0, 1100.0, ["600", "700", "800", "900", "1,000", "1,100"]),
    (100.1, 100.3, ["100.10", "100.15", "100.20", "100.25", "100.30"]),
    (1.2e7, 9.8e7, ["20M", "40M", "60M", "80M"]),
])
def test_tick_labels_are_round_and_told_apart(lo, hi, want):
    t = F.ticks(lo, hi, 6)
    assert t.labels == want
    assert (t.at >= lo).all() and (t.at <= hi).all()


def test_limits_leave_a_margin_and_survive_one_value():
    assert F.padded([0.0, 10.0]) == pytest.approx((-0.5, 10.5))
    assert F.padded([3.0, 3.0]) == (2.0, 4.0)
    assert F.padded([np.nan]) == (-1.0, 1.0)


def test_the_legend_goes_to_the_corner_without_points():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 6), dpi=figure.DPI)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    rng = np.random.default_rng(0)
    crowd = np.vstack([rng.uniform([0.0, 0.5], [1.0, 1.0], (300, 2)),  # the top half
                       rng.uniform([0.5, 0.0], [1.0, 0.5], (150, 2))])  # and bottom right
    from somcli.report.pixel_canvas import to_pixels

    where = to_pixels(ax, crowd)
    box = F.legend(ax, [F.Entry("cluster 0 (450 shown)", {"s": 20, "color": "C0"}),
                        F.Entry("centres", {"s": 40, "marker": "X"})], where)
    inside = ((where[:, 0] >= box.x) & (where[:, 0] <= box.x + box.w)
              & (where[:, 1] >= box.y) & (where[:, 1] <= box.y + box.h))
    assert not inside.any()
    assert box.y > 300  # the lower left corner: y in pixels grows downwards


def test_k_choice_draws_with_unscored_and_unstable_candidates():
    evidence = {2: {"calinski_harabasz": 50.0, "stability": None, "admissible": False},
                3: {"calinski_harabasz": None, "stability": None},
                4: {"calinski_harabasz": 50.0, "stability": 0.2, "admissible": True}}
    png = figure.render(k_plots.jobs({"evidence": evidence, "chosen": 4})["k_choice.png"])
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape == (420, 760, 3)
    assert (image < 128).any()  # something is drawn


def test_a_projection_of_one_point_per_cluster_draws():
    rows = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    jobs = cluster_plots.jobs(rows, np.array([0, 1]), rows, ["a", "b", "c"], np.array([1, 1]),
                              "k-means")
    png = figure.render(jobs["projection.png"])
    assert Image.open(io.BytesIO(png)).size == (820, 700)


def test_texts_drawn_from_kept_bitmaps_sit_where_matplotlib_puts_them():
    """report/agg_canvas.py draws each text from a bitmap rendered once per process (its
    glyph-by-glyph drawing was a third of a picture's time): every text, rotated or not,
    lands where matplotlib's own canvas puts it (within a pixel), and drawing it again
    from the kept bitmap gives the same pixels."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    from somcli.report import agg_canvas

    def picture(canvas, text, **kw):
        fig = Figure(figsize=(3, 2), dpi=100)
        fig.text(0.5, 0.5, text, **kw)
        buffer = io.BytesIO()
        canvas(fig).print_png(buffer)
        ink = np.asarray(Image.open(buffer).convert("L")) < 200
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        return buffer.getvalue(), (rows[0], rows[-1], cols[0], cols[-1])

    agg_canvas._BITMAPS.clear()
    for text, kw in (("Inflation (%)", {}), ("1,204.5", {"fontsize": 8, "ha": "right"}),
                     ("stability (ARI)", {"rotation": 90, "va": "center"}),
                     ("AND\nARM", {"ha": "center", "va": "center", "color": "white",
                                  "backgroundcolor": "black"})):
        theirs = picture(FigureCanvasAgg, text, **kw)[1]
        first, box = picture(agg_canvas.Canvas, text, **kw)
        again, _ = picture(agg_canvas.Canvas, text, **kw)
        assert np.abs(np.subtract(box, theirs)).max() <= 1, (text, box, theirs)
        assert first == again
    assert agg_canvas._BITMAPS  # (the second drawings came from it)
