"""report.html (issue 15, first step): one self-contained page per -o run, that a real
headless Chromium renders, with nothing it could fetch."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from conftest import COUNTRIES, MOVIES


def external_references(page: str) -> list[str]:
    refs = re.findall(r'\s(?:src|href|action|poster|srcset)\s*=\s*"([^"]*)"', page)
    return [r for r in refs if not (r.startswith("data:image/png;base64,") or r == "#")]


@pytest.mark.parametrize("command", [("kmeans", COUNTRIES, "-k", "3"),
                                     ("som", COUNTRIES, "-k", "3"),
                                     ("embed", MOVIES, "--dim", "2")])
def test_every_run_writes_a_self_contained_page(tmp_path, run, command):
    out = tmp_path / "o"
    assert run(*command, "-o", out, "-q").code == 0
    page = (out / "report.html").read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<script" not in page.lower() and external_references(page) == []
    assert f"somcli {command[0]} report" in page and "</html>" in page
    pictures = {p.name for p in out.glob("*.png")}
    vectors = {p.name for p in out.glob("*.svg")}  # shown as SVG, in place of their PNG twin
    assert {v[:-4] + ".png" for v in vectors} <= pictures
    assert page.count("data:image/png;base64,") == len(pictures) - len(vectors)
    assert page.count("<svg ") == len(vectors)
    assert page.count("<figcaption>") == len(pictures)  # each caption once, in its figure
    assert '<section class="summary">' in page
    assert run(*command, "-o", tmp_path / "plain", "-q", "--no-html").code == 0
    assert not (tmp_path / "plain" / "report.html").exists()


def test_values_from_the_data_stay_text(tmp_path, run):
    hostile = ['<script>alert(1)</script>', '![x](http://evil.example/p.png)',
               '<img src=http://evil.example/q.png>', 'javascript:alert(1)']
    rows = "\n".join(f'"{hostile[i % 4]}",{i % 5},{(i * 7) % 11}' for i in range(40))
    (tmp_path / "t.csv").write_text("name,x,y\n" + rows + "\n")
    out = tmp_path / "o"
    assert run("som", tmp_path / "t.csv", "-k", "2", "-o", out, "-q").code == 0
    page = (out / "report.html").read_text()
    assert external_references(page) == [] and "<script>" not in page
    assert "evil.example" not in re.findall(r'="[^"]*"', page).__str__()


def test_assign_writes_the_page_too(tmp_path, run):
    assert run("kmeans", COUNTRIES, "-k", "3", "-o", tmp_path / "m", "-q").code == 0
    out = tmp_path / "a"
    assert run("assign", tmp_path / "m" / "model.json", COUNTRIES, "-o", out, "-q").code == 0
    assert "Drift against the training data" in (out / "report.html").read_text()


def _chromium(page, shot, net_log=None):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium (.ci/run installs Debian's chromium)")
    log = [f"--log-net-log={net_log}"] if net_log else []
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--disable-background-networking", "--window-size=1200,2400",
                    f"--screenshot={shot}", *log, page.as_uri()], capture_output=True,
                   timeout=120)


@pytest.mark.slow
def test_chromium_fetches_nothing_a_data_value_names(tmp_path, run):
    """Chromium's network log records every fetch it tries (checked below on a page that
    does fetch); the report of a table whose values are URLs and HTML tries none of them."""
    bait = tmp_path / "bait.html"
    bait.write_text('<html><body><img src="http://evil.example/p.png">x</body></html>')
    _chromium(bait, tmp_path / "bait.png", tmp_path / "bait.json")
    assert "evil.example" in (tmp_path / "bait.json").read_text()
    rows = "\n".join(f'"<img src=http://evil.example/{i}.png>",'
                     f'"![p](https://evil.example/{i}.png)",{i % 5},{(i * 7) % 11}'
                     for i in range(40))
    (tmp_path / "t.csv").write_text("name,note,x,y\n" + rows + "\n")
    out = tmp_path / "o"
    assert run("som", tmp_path / "t.csv", "-k", "2", "-o", out, "-q").code == 0
    assert "evil.example" in (out / "report.html").read_text()  # shown, as text
    _chromium(out / "report.html", tmp_path / "shot.png", tmp_path / "net.json")
    log = (tmp_path / "net.json").read_text()
    assert len(log) > 1000 and "evil.example" not in log


@pytest.mark.slow
def test_chromium_renders_the_page(tmp_path, run):
    out = tmp_path / "o"
    assert run("som", COUNTRIES, "-k", "3", "-o", out, "-q").code == 0
    shot = tmp_path / "shot.png"
    _chromium(out / "report.html", shot)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1200)
    dark = (pixels.mean(axis=2) < 0.5).mean()  # text, tables and pictures, not a blank page
    assert 0.01 < dark < 0.6 and np.std(pixels) > 0.05


def test_kmeans_draws_the_projection_and_the_profiles(tmp_path, run):
    import matplotlib.image as mpimg

    out = tmp_path / "o"
    assert run("kmeans", COUNTRIES, "-k", "3", "-o", out, "-q").code == 0
    for name, shape in (("projection.png", (700, 820)), ("profiles.png", None)):
        pixels = mpimg.imread(out / name)[..., :3]
        assert shape is None or pixels.shape[:2] == shape
        assert pixels.shape[0] >= 300 and np.std(pixels) > 0.05  # drawn, not blank
        colours = {tuple(p) for p in (pixels[::7, ::7] * 255).astype(int).reshape(-1, 3)}
        assert len(colours) > 20
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "Projection: every row" in page
    assert run("kmeans", COUNTRIES, "-k", "3", "-o", tmp_path / "n", "-q", "--no-plots").code == 0
    assert not list((tmp_path / "n").glob("*.png"))
