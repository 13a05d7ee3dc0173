"""The picture helper started before the command line's imports, and its twin (a forked
second drawer): what a user relies on is that every picture arrives, byte for byte as drawn
in the run, whatever happens to either process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from somcli.report import helper_process, twin

TWO_CORES = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the twin needs two cores")


def HELPER(test):  # noqa: N802 - a marker: a real helper process, its twin seen in /proc
    for mark in (TWO_CORES, pytest.mark.slow,
                 pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc")):
        test = mark(test)
    return test


@pytest.mark.parametrize("argv, started", [
    (["som", "d.csv", "-o", "out"], True),
    (["kmeans", "d.csv", "-k", "3", "--out", "out"], True),
    (["-q", "som", "d.csv", "--out=out"], True),
    (["som", "d.csv", "-oout"], True),
    (["som", "d.csv"], False),  # no folder: no pictures
    (["som", "d.csv", "-o", "out", "--no-plots"], False),
    (["kmeans", "d.csv", "-o", "out", "--engine", "dask"], False),
    (["som", "--help"], False),
    (["som", "d.csv", "-o", "out", "--resume", "m.json"], False),
    (["assign", "m.json", "d.csv", "-o", "out"], False),
    (["inspect", "som.csv"], False),
    ([], False),
])
def test_the_helper_starts_early_only_when_the_command_line_asks_for_pictures(
        monkeypatch, argv, started):
    spawned = []
    monkeypatch.setattr(helper_process, "spawn", lambda: spawned.append(1) or None)
    monkeypatch.delenv("SOMCLI_NO_PLOTS", raising=False)
    helper_process.early(argv)
    assert bool(spawned) == started


def test_a_settings_variable_about_pictures_or_engine_stops_the_guess(monkeypatch):
    spawned = []
    monkeypatch.setattr(helper_process, "spawn", lambda: spawned.append(1) or None)
    monkeypatch.setenv("SOMCLI_ENGINE", "dask")
    helper_process.early(["som", "d.csv", "-o", "out"])
    assert spawned == []


def test_a_helper_started_early_and_not_taken_is_killed_at_the_end(monkeypatch):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    monkeypatch.setattr(helper_process, "_early", proc)
    helper_process.discard()
    assert proc.poll() is not None
    assert helper_process.take() is None  # nothing left to take


def test_pictures_are_shared_between_the_two_drawers_by_their_cost():
    load = [0.0, 0.0]
    assert twin.shares(["hits.png", "components.png"], load) == [0, 1]
    # a cheap SVG does not count as a picture: the next PNG goes to the side it went to
    assert twin.shares(["umatrix.png", "umatrix.svg", "clusters.png"], load) == [0, 1, 1]
    assert twin.shares(["projection.png", "profiles.png"], load) == [0, 1]
    assert load == [3.0, 3.05]


def _facts():
    from somcli.algorithms.grid import Grid
    from somcli.report.map_facts import MapFacts

    grid = Grid(3, 4, "hex")
    rng = np.random.default_rng(0)
    W = rng.normal(size=(12, 2))
    return MapFacts(grid, W, rng.random((3, 4)), rng.integers(0, 9, 12), np.arange(12) % 3,
                    W, ["x", "y"], {"quantization_error": 0.5, "topographic_error": 0.1})


def _helper(monkeypatch):
    from somcli.report import painter

    monkeypatch.setattr(painter, "MODE", "always")
    helper = painter.Painter.start()
    assert helper is not None
    return helper


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(c) for c in fh.read().split()]


def _twin_of(pid: int, timeout: float = 30.0) -> int:
    """The helper's forked child, once it has forked."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _children(pid):
            return _children(pid)[0]
        time.sleep(0.02)
    raise AssertionError("the helper did not fork its twin")


def _all_drawn(futures: dict, facts) -> None:
    """Every picture of ``facts`` arrived, byte for byte as drawn in this process."""
    from somcli.report import figure, plots

    for name, draw in plots.jobs(facts).items():
        assert futures[name].result(timeout=60) == figure.render(draw), name


@HELPER
@pytest.mark.parametrize("kill_twin", [False, True])
def test_every_picture_arrives_from_the_helper_and_its_twin_or_is_drawn_here(
        monkeypatch, kill_twin):
    from somcli.report import figure, painter, plots

    facts = _facts()
    expected = plots.jobs(facts)
    helper = _helper(monkeypatch)
    drawn_here = []
    original = figure.render
    monkeypatch.setattr(figure, "render", lambda draw: drawn_here.append(1) or original(draw))
    early = painter.pictures([painter.map_request(facts, only=plots.EARLY)], helper, last=False)
    twin_pid = _twin_of(helper.proc.pid)  # forked at the first request
    if kill_twin:
        os.kill(twin_pid, 9)
    rest = painter.pictures([painter.map_request(facts, skip=plots.EARLY)], helper)
    got = {name: f.result(timeout=60) for name, f in (early | rest).items()}
    assert sorted(got) == sorted(expected)
    monkeypatch.setattr(figure, "render", original)
    for name, draw in expected.items():
        assert got[name] == figure.render(draw), name
    assert helper.proc.wait(timeout=60) == 0
    # the twin's share of the second request came from it, or, once it was killed, from here
    assert (len(drawn_here) > 0) == kill_twin


@HELPER
def test_a_dead_helper_leaves_its_pictures_to_the_run_even_with_its_twin_alive(monkeypatch):
    """The twin does not hold the run's pipes: the run sees the helper gone at once."""
    from somcli.report import painter, plots

    facts = _facts()
    helper = _helper(monkeypatch)
    early = painter.pictures([painter.map_request(facts, only=plots.EARLY)], helper, last=False)
    twin_pid = _twin_of(helper.proc.pid)
    os.kill(helper.proc.pid, 9)
    started = time.monotonic()
    _all_drawn(early | painter.pictures([painter.map_request(facts, skip=plots.EARLY)], helper),
               facts)
    assert time.monotonic() - started < 30
    end = time.monotonic() + 30  # and the twin, its requests ended, ends too
    while time.monotonic() < end and _running(twin_pid):
        time.sleep(0.05)
    assert not _running(twin_pid)


@HELPER
def test_a_big_tables_pictures_are_drawn_by_the_helper_alone(monkeypatch):
    """On a big table the run's threads still work while its pictures are drawn: no twin."""
    from somcli.report import painter

    facts = _facts()
    helper = _helper(monkeypatch)
    helper.sized(painter.TWIN_ROWS + 1)
    _all_drawn(painter.pictures([painter.map_request(facts)], helper, last=False), facts)
    # the helper waits for more requests: a twin, had one been forked, would wait too
    assert _children(helper.proc.pid) == []
    helper.close()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_cluster_request_can_ask_for_one_picture_at_a_time():
    """k-means asks for the projection once the clusters are numbered and for the profiles
    once they are profiled: each request draws only what it names."""
    from somcli.report import painter

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(60, 3))
    labels = np.arange(60) % 3
    centres = np.stack([rows[labels == j].mean(axis=0) for j in range(3)])
    for only, names in ((["projection.png"], ["projection.png"]),
                        (["profiles.png"], ["profiles.png"]),
                        (None, ["projection.png", "profiles.png"])):
        kind, header, arrays = painter.cluster_request(rows, labels, centres, ["a", "b", "c"],
                                                       [20, 20, 20], "k-means", only=only)
        assert sorted(painter.KINDS[kind](header, arrays)) == sorted(names)
        # the rows go only where the projection is drawn (a wide table's are megabytes)
        assert len(arrays["rows"]) == (60 if "projection.png" in names else 0)


def test_a_wide_tables_projection_is_the_full_svds(monkeypatch):
    """projection.png of rows with thousands of features takes their two main axes alone:
    the same picture as a full SVD gives (up to each axis' sign), in a fraction of its time."""
    from somcli.report import cluster_plots

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(400, 600)) * np.linspace(3.0, 0.1, 600)
    centres = rng.normal(size=(3, 600))
    (P, C), shares = cluster_plots.projection(rows, centres)
    monkeypatch.setattr(cluster_plots, "FULL_SVD", 10 ** 9)
    (P_full, C_full), shares_full = cluster_plots.projection(rows, centres)
    sign = np.sign((P * P_full).sum(axis=0))
    assert np.allclose(P * sign, P_full, atol=1e-8) and np.allclose(C * sign, C_full, atol=1e-8)
    assert np.allclose(shares, shares_full)


@pytest.mark.slow  # (a helper process)
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")
def test_the_helper_draws_at_a_lower_priority_than_the_run(monkeypatch):
    """On a big table the run's threads come first: the helper (and its twin) are niced."""
    helper = _helper(monkeypatch)

    def nice(pid: int) -> int:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[16])

    end = time.monotonic() + 30
    while time.monotonic() < end and nice(helper.proc.pid) <= os.nice(0):
        time.sleep(0.02)
    assert nice(helper.proc.pid) > os.nice(0)
    ours = _group_nice(os.getpid())
    if ours is not None:  # its own session is its own group: niced too
        while time.monotonic() < end and _group_nice(helper.proc.pid) <= ours:
            time.sleep(0.02)
        assert _group_nice(helper.proc.pid) > ours
    helper.close()


def _group_nice(pid: int) -> int | None:
    """The nice value of the autogroup `pid` is scheduled in; None where the kernel does
    not group by session, or the process is in a cgroup of its own (a container: the file
    is there but empty)."""
    try:
        with open(f"/proc/{pid}/autogroup") as fh:
            text = fh.read()
    except OSError:
        return None
    return int(text.split("nice")[1]) if "nice" in text else None


@pytest.mark.slow  # (a helper process)
@pytest.mark.skipif(_group_nice(os.getpid()) is None, reason="no autogroups here")
def test_a_helper_in_the_callers_session_leaves_the_sessions_group_alone():
    """Started without a session of its own (by hand, or by a test), the helper nices
    itself but not the scheduling group it shares with the caller's shell."""
    import subprocess
    import sys

    def group_nice() -> int | None:
        return _group_nice(os.getpid())

    before = group_nice()
    proc = subprocess.Popen([sys.executable, "-m", "somcli.report.painter"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        end = time.monotonic() + 30
        with open(f"/proc/{proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        while time.monotonic() < end and int(fields[16]) <= os.nice(0):
            time.sleep(0.02)
            with open(f"/proc/{proc.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        assert int(fields[16]) > os.nice(0)  # the helper itself is niced by now
        time.sleep(0.1)
        assert group_nice() == before
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow  # (a helper process)
@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="reads /proc")
def test_the_helpers_numeric_libraries_run_on_one_thread(monkeypatch):
    """The helper draws; a BLAS or OpenMP pool in it would only spin beside the run's
    threads, whatever the user's OMP_NUM_THREADS says for the run itself."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    helper = _helper(monkeypatch)
    # until the child has exec'd, /proc shows the environment it was forked with
    end = time.monotonic() + 30
    while time.monotonic() < end:
        with open(f"/proc/{helper.proc.pid}/cmdline", "rb") as fh:
            if b"somcli.report.painter" in fh.read():
                break
        time.sleep(0.01)
    with open(f"/proc/{helper.proc.pid}/environ", "rb") as fh:
        env = dict(item.split(b"=", 1) for item in fh.read().split(b"\0") if b"=" in item)
    helper.close()
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env[name.encode()] == b"1"
    assert os.environ["OMP_NUM_THREADS"] == "2"  # the run's own setting is left alone


def test_a_request_reads_back_as_it_was_sent():
    """The run's end writes a request (painter), the helper's end reads it (twin): one
    format, kept in one module."""
    import io

    header = {"requests": [{"kind": "map", "header": {"x": 1}, "prefix": "r0_"}], "twin": True}
    arrays = {"r0_W": np.arange(6.0).reshape(2, 3), "r0_hits": np.array([3, 0, 1])}
    stream = io.BytesIO(twin.request(header, arrays) + twin.request({"requests": []}, {}))
    (got_header, got_arrays), (second, nothing) = list(twin._messages(stream))
    assert {k: v for k, v in got_header.items() if k != "npz"} == header
    assert got_arrays.keys() == arrays.keys()
    assert all(np.array_equal(got_arrays[k], arrays[k]) for k in arrays)
    assert second["requests"] == [] and nothing == {}
