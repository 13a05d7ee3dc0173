"""The work done on threads and in a helper process gives what the one-at-a-time way gives:
big files parsed in parts, columns cleaned on threads, CSV rows formatted in batches,
pictures drawn by a helper process (and drawn here when the helper fails)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import spy_painter, write
from PIL import Image

import somcli.io.parts as parts
import somcli.io.read as reader
from somcli.config import ReadOptions
from somcli.errors import DataError


def read_both(path, monkeypatch, threads=3, **kw):
    """(table read in parts, table read in one go, whether the parts were used)."""
    used = []
    original = parts.parse

    def spy(*a, **k):
        chunks = original(*a, **k)
        used.append(chunks is not None)
        return chunks

    monkeypatch.setenv("SOMCLI_THREADS", str(threads))
    monkeypatch.setattr(parts, "parse", spy)
    monkeypatch.setattr(parts, "PARALLEL_BYTES", 0)
    opts = ReadOptions(inputs=(str(path),), **kw)
    in_parts = reader.read_table(opts)
    monkeypatch.setattr(parts, "PARALLEL_BYTES", 2**62)
    whole = reader.read_table(opts)
    return in_parts, whole, bool(used) and used[0]


def same_table(a, b):
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.lines.tolist() == b.lines.tolist() and a.notes == b.notes


def test_parts_equal_one_go_on_an_awkward_file(tmp_path, monkeypatch):
    rows = [f"{i},{i * 0.25},{'NA' if i % 7 == 0 else i % 5},x{i % 3}" for i in range(3000)]
    rows[1499] = ""  # blank lines around the cuts
    rows[1500] = ""
    rows[2000] = "2000,,,"  # gaps
    rows[2600] = "2600,5%,1,y"  # text appears late in a numeric column
    text = "a,b,c,d\r\n" + "\r\n".join(rows)  # Windows line ends, no final newline
    split, whole, used = read_both(write(tmp_path / "f.csv", text), monkeypatch)
    assert used
    same_table(split, whole)
    assert not pd.api.types.is_numeric_dtype(whole.frame["b"]) and whole.lines[-1] == 3001


def test_a_column_that_turns_to_text_in_a_later_part_is_text_throughout(tmp_path, monkeypatch):
    """Found by fuzz/fuzz_parallel_read.py: numbers parsed in one part lost their text
    (002 became 2.0) while a later part held words; the column is read again as text."""
    rows = [f"{i},00{i % 10}" for i in range(3000)]
    rows[2900] = "2900,n/a-ish"
    split, whole, used = read_both(write(tmp_path / "t.csv", "a,b\n" + "\n".join(rows)),
                                   monkeypatch)
    assert used
    same_table(split, whole)
    assert split.frame["b"].iloc[0] == "000" and split.frame["a"].dtype == np.int64


def test_a_wide_row_opening_a_later_part_is_refused_with_its_line(tmp_path, monkeypatch):
    """Found by fuzz/fuzz_parallel_read.py: given column names, pandas dropped the extra
    fields of a part's first row instead of refusing it."""
    text = "a,b\n" + "\n".join(f"{i:04d},{i:04d}" for i in range(4000)) + "\n"
    size = len(text)
    start = text.index("\n", size // 2) + 1  # where the second of two parts begins
    line = text.count("\n", 0, start) + 1
    text = text[:start] + "1,2,3,4,5" + text[start + 9:]
    f = write(tmp_path / "w.csv", text)
    monkeypatch.setenv("SOMCLI_THREADS", "2")
    monkeypatch.setattr(parts, "PARALLEL_BYTES", 0)
    with pytest.raises(DataError, match=f"line {line} has 5 fields, the header has 2"):
        reader.read_table(ReadOptions(inputs=(str(f),)))


def test_parts_keep_decimal_commas(tmp_path, monkeypatch):
    rows = [f"{i};{i},5;{-i}" for i in range(2000)]
    f = write(tmp_path / "f.csv", "a;b;c\n" + "\n".join(rows) + "\n")
    monkeypatch.setenv("SOMCLI_THREADS", "2")
    monkeypatch.setattr(parts, "PARALLEL_BYTES", 0)
    t = reader.read_table(ReadOptions(inputs=(str(f),)))
    assert t.frame["b"].dtype == np.float64 and t.frame["b"].iloc[-1] == 1999.5
    assert t.frame["a"].tolist() == list(range(2000)) and t.lines[-1] == 2001


def test_a_quoted_newline_late_in_the_file_is_read_in_one_go(tmp_path, monkeypatch):
    """Cutting after a newline inside a quoted field would split a row in two."""
    rows = [f"{i},{i * 2}" for i in range(20000)]  # over the 64 KiB the sniffer sees
    rows[15000] = '15000,"1\n2"'
    split, whole, used = read_both(write(tmp_path / "q.csv", "a,b\n" + "\n".join(rows)),
                                   monkeypatch, threads=2)
    assert not used
    same_table(split, whole)
    assert split.n_rows == 20000


@pytest.mark.parametrize("bad, message", [
    ("2500,1,9", "line 2502 has 3 fields"),
    ("2500,\xff", "line 2502 is not valid UTF-8"),
])
def test_errors_in_a_later_part_name_the_true_line(tmp_path, monkeypatch, bad, message):
    rows = [f"{i},{i}" for i in range(3000)]
    rows[2500] = bad
    f = tmp_path / "e.csv"
    f.write_bytes(("a,b\n" + "\n".join(rows) + "\n").encode("utf-8", "surrogateescape")
                  .replace("\xff".encode(), b"\xff"))
    monkeypatch.setenv("SOMCLI_THREADS", "2")
    monkeypatch.setattr(parts, "PARALLEL_BYTES", 0)
    with pytest.raises(DataError, match=message):
        reader.read_table(ReadOptions(inputs=(str(f),)))


def test_columns_cleaned_on_threads_equal_one_at_a_time(monkeypatch):
    from somcli.config import CleanOptions, ColumnOptions
    from somcli.prep import clean as cleaning
    from somcli.prep import roles

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(3000, 6)), columns=list("abcdef"))
    frame.iloc[rng.integers(0, 3000, 200), 2] = np.nan
    frame.iloc[5, 4] = np.inf
    lines = np.arange(2, 3002)
    out = []
    for rows in (0, 10**9):  # threads from 0 rows up, then never
        monkeypatch.setattr(cleaning, "PARALLEL_ROWS", rows)
        r = roles.decide(frame.copy(), lines, ColumnOptions(), ".")
        out.append(cleaning.clean(frame, lines, r, CleanOptions()))
    threaded, serial = out
    np.testing.assert_array_equal(threaded.X, serial.X)
    assert threaded.report == serial.report and threaded.report["infinite_values"] == {"e": 1}
    np.testing.assert_array_equal(threaded.prep.fill, serial.prep.fill)


def test_csv_rows_in_batches_equal_one_batch(monkeypatch):
    from somcli.io import write as w

    rng = np.random.default_rng(1)
    n = 1234
    frame = pd.DataFrame({"line": np.arange(2, n + 2), "x": rng.random(n).astype(np.float32),
                          "id": [f"r,{i}" if i % 100 == 0 else f"r{i}" for i in range(n)],
                          "flag": rng.random(n) < 0.5})
    out = []
    for batch in (100, 10**9):
        monkeypatch.setattr(w, "CSV_BATCH", batch)
        monkeypatch.setenv("SOMCLI_THREADS", "3")
        buffer = io.BytesIO()
        w._csv(frame, buffer, ",")
        out.append(buffer.getvalue())
    assert out[0] == out[1]
    assert pd.read_csv(io.BytesIO(out[0]))["id"].tolist() == frame["id"].tolist()


def _pictures_of_a_run(tmp_path, monkeypatch, name, helper: bool, command="som"):
    from click.testing import CliRunner

    from somcli.cli import cli
    monkeypatch.setenv("SOMCLI_THREADS", "2")
    started = spy_painter(monkeypatch, helper)
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    src = tmp_path / "in.csv"
    data.to_csv(src, index=False)
    out = tmp_path / name
    args = ["--map", "4x5", "-k", "3"] if command == "som" else []  # kmeans: -k auto
    res = CliRunner().invoke(cli, [command, str(src), *args, "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out, started


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the helper needs a second core")
@pytest.mark.slow
def test_the_helper_process_draws_the_same_pictures(tmp_path, monkeypatch):
    from somcli.report import figure

    drawn_here = []
    original = figure.render
    monkeypatch.setattr(figure, "render", lambda draw: drawn_here.append(1) or original(draw))
    helped, started = _pictures_of_a_run(tmp_path, monkeypatch, "helped", True)
    assert started[0] is not None and started[0].proc.wait(timeout=60) == 0
    assert drawn_here == []
    alone, started = _pictures_of_a_run(tmp_path, monkeypatch, "alone", False)
    assert started == [None]
    names = ["umatrix.png", "umatrix.svg", "hits.png", "clusters.png", "clusters.svg",
             "components.png", "projection.png", "profiles.png"]
    assert sorted(p.name for p in helped.glob("*.??g")) == sorted(names)
    for name in names:
        assert (helped / name).read_bytes() == (alone / name).read_bytes(), name
        if name.endswith(".png"):
            with Image.open(helped / name) as im:
                assert im.size[0] >= 700


@pytest.mark.slow  # (a second Python process)
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the helper needs a second core")
def test_kmeans_pictures_from_the_helper_are_the_threads(tmp_path, monkeypatch):
    """k-means draws its projection, profiles and k choice in the helper too (it imports
    matplotlib beside the run: the 1,000-row run's wall time), byte for byte as here."""
    helped, started = _pictures_of_a_run(tmp_path, monkeypatch, "helped", True, "kmeans")
    assert started[0] is not None and started[0].proc.wait(timeout=60) == 0
    alone, started = _pictures_of_a_run(tmp_path, monkeypatch, "alone", False, "kmeans")
    assert started == [None]
    for name in ("projection.png", "profiles.png", "k_choice.png"):
        assert (helped / name).read_bytes() == (alone / name).read_bytes(), name


def test_pictures_the_helper_does_not_deliver_are_drawn_here():
    from somcli.algorithms.grid import Grid
    from somcli.report import figure, painter, plots
    from somcli.report.map_facts import MapFacts

    grid = Grid(3, 4, "hex")
    rng = np.random.default_rng(0)
    W = rng.normal(size=(12, 2))
    facts = MapFacts(grid, W, rng.random((3, 4)), rng.integers(0, 9, 12), np.arange(12) % 3, W,
                     ["x", "y"], {"quantization_error": 0.5, "topographic_error": 0.1})
    jobs = plots.jobs(facts)
    dead = painter.Painter(subprocess.Popen([sys.executable, "-c", "pass"],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE))
    futures = dead.paint([("map", *facts.wire())], fallback=jobs)
    for name, draw in jobs.items():
        assert futures[name].result(timeout=60) == figure.render(draw)


@pytest.mark.slow
def test_a_helper_asked_twice_delivers_both_or_each_is_drawn_here():
    """The map's own pictures go to the helper first, those of its clusters later: a live
    helper draws both requests; a helper gone after the first leaves both to this
    process."""
    from somcli.algorithms.grid import Grid
    from somcli.report import figure, painter, plots
    from somcli.report.map_facts import MapFacts

    grid = Grid(3, 4, "hex")
    rng = np.random.default_rng(0)
    W = rng.normal(size=(12, 2))
    facts = MapFacts(grid, W, rng.random((3, 4)), rng.integers(0, 9, 12), np.arange(12) % 3, W,
                     ["x", "y"], {"quantization_error": 0.5, "topographic_error": 0.1})
    first = painter.map_request(facts, only=plots.EARLY)
    second = painter.map_request(facts, skip=plots.EARLY)
    expected = plots.jobs(facts)
    live = painter.Painter(subprocess.Popen(
        [sys.executable, "-m", "somcli.report.painter"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE))
    dead = painter.Painter(subprocess.Popen([sys.executable, "-c", "pass"],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE))
    for helper in (live, dead):
        early = painter.pictures([first], helper, last=False)
        rest = painter.pictures([second], helper)
        assert sorted(early) == sorted(plots.EARLY)
        assert sorted(early | rest) == sorted(expected)
        for name, future in (early | rest).items():
            assert future.result(timeout=60) == figure.render(expected[name]), name
    assert live.proc.wait(timeout=60) == 0


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the helper needs a second core")
def test_a_failed_run_stops_its_helper(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from somcli.cli import cli
    from somcli.report import painter

    monkeypatch.setattr(painter, "MODE", "always")
    monkeypatch.setenv("SOMCLI_THREADS", "2")
    helpers = []
    original = painter.Painter.close

    def spy(self):
        original(self)
        helpers.append(self.proc)

    monkeypatch.setattr(painter.Painter, "close", spy)
    src = write(tmp_path / "in.csv", "a,b\n1,2\n1,2\n1,2\n")
    res = CliRunner().invoke(cli, ["som", str(src), "-k", "2", "-o", str(tmp_path / "o")])
    assert res.exit_code == 65  # two clusters of one distinct row
    assert helpers and helpers[0].poll() is not None
    assert not (tmp_path / "o").exists()


def test_somcli_threads_and_the_libraries_threads_are_separate_knobs(monkeypatch):
    """OMP_NUM_THREADS=1 (set to tame scikit-learn on a busy machine) leaves somcli's own
    pool alone; SOMCLI_THREADS sets it. Small k-means fits run on one OpenMP thread (their
    tiny parallel regions only spin on a busy machine), big ones on the default."""
    from threadpoolctl import threadpool_info

    from somcli.algorithms import kmeans as km
    from somcli.runtime.parallel import default_threads

    monkeypatch.delenv("SOMCLI_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("SOMCLI_THREADS", "3")
    assert default_threads() == 3
    from sklearn.cluster import KMeans

    seen = []
    original = KMeans.fit

    def spy(self, *args, **kwargs):
        seen.append(max((p["num_threads"] for p in threadpool_info()
                         if p["user_api"] == "openmp"), default=None))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KMeans, "fit", spy)
    X = np.random.default_rng(0).normal(size=(km.SMALL_ROWS + 1, 2))
    km.fit(X, 3, seed=0, n_init=1)
    assert seen == [1]


def test_an_import_started_early_is_waited_for_before_use(monkeypatch):
    """scikit-learn's import starts on a thread once a big table is read; whoever imports
    from it waits for that thread first (two threads importing one package at once can
    meet a module half initialised)."""
    from somcli.runtime import parallel

    monkeypatch.setattr(parallel, "_IMPORTS", {})
    name = "xml.dom.minidom"
    monkeypatch.delitem(sys.modules, name, raising=False)
    parallel.import_soon(name)
    parallel.import_soon(name)  # once
    assert len(parallel._IMPORTS) == 1
    parallel.imported()
    assert name in sys.modules and not parallel._IMPORTS[name].is_alive()
    parallel.import_soon("no_such_module_for_somcli")  # a failure stays on its thread
    parallel.imported()


@pytest.mark.parametrize("rows, missing, started", [(None, "median", True),
                                                    (3000, "median", False),
                                                    (None, "knn", False)])
def test_kmeans_starts_scikit_learns_import_only_while_the_workers_clean(
        monkeypatch, rows, missing, started):
    """Started when the rows are cleaned elsewhere (a Dask cluster: ``rows`` not counted,
    this process waits); not beside this process's own cleaning, whose threads it slowed."""
    from somcli.config import CleanOptions
    from somcli.pipeline import kmeans

    asked = []
    monkeypatch.setattr(kmeans, "import_soon", asked.append)
    kmeans._import_soon(rows, CleanOptions(missing=missing))
    assert asked == (["sklearn.cluster"] if started else [])


def test_a_local_kmeans_run_does_not_import_scikit_learn_beside_its_cleaning(tmp_path,
                                                                            monkeypatch):
    from click.testing import CliRunner

    from somcli.cli import cli
    from somcli.pipeline import kmeans

    asked = []
    monkeypatch.setattr(kmeans, "import_soon", asked.append)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(3000, 3)), columns=["a", "b", "c"])
    frame.to_csv(tmp_path / "in.csv", index=False)
    res = CliRunner().invoke(cli, ["kmeans", str(tmp_path / "in.csv"), "-k", "3",
                                   "--no-plots", "-o", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    assert asked == []


def test_the_command_line_fixes_glibcs_thresholds_and_does_nothing_elsewhere(monkeypatch,
                                                                             request):
    import ctypes

    from somcli.runtime import memory

    memory._glibc.cache_clear()  # (glibc is loaded once per process)
    request.addfinalizer(memory._glibc.cache_clear)
    calls = []

    class Libc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    memory.settle()
    assert calls == [(memory.M_MMAP_THRESHOLD, 32 << 20), (memory.M_TRIM_THRESHOLD, 4 << 20)]

    def missing(name):
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", missing)
    memory._glibc.cache_clear()
    memory.settle()  # no glibc: nothing to set, no error
