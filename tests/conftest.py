"""Shared fixtures: the sample tables, a CliRunner wrapper and small data makers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from somcli.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
COUNTRIES = SAMPLES / "countries_health_inflation.csv"
MOVIES = SAMPLES / "movies_ratings.csv"


class Run:
    def __init__(self, result):
        self.code = result.exit_code
        self.out = result.stdout
        self.err = result.stderr
        self.exception = result.exception

    def __repr__(self):
        return f"Run(code={self.code}, err={self.err!r})"


@pytest.fixture(autouse=True)
def _pictures_drawn_here(monkeypatch):
    """In-process runs draw their pictures on a thread: a helper process per run would add
    a Python start and a matplotlib import to hundreds of tests (tests/test_parallel.py
    compares the helper's pictures with these, and spy_painter turns it on)."""
    from somcli.report import painter

    monkeypatch.setattr(painter, "MODE", "never")


@pytest.fixture
def run():
    """run(*args, input=None) -> Run with .code, .out (stdout) and .err (stderr)."""
    def _run(*args, input=None):
        runner = CliRunner()
        result = runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)
        return Run(result)
    return _run


def cli_output(tmp_path_factory, *args) -> Path:
    """Run a command once into a fresh -o folder (for module-scoped fixtures)."""
    out = tmp_path_factory.mktemp("run") / "out"
    result = CliRunner().invoke(cli, [*map(str, args), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


def somcli_subprocess(*args, input=None, timeout=120, **kwargs):
    """Run the real console entry point in a new interpreter."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "somcli", *map(str, args)], input=input,
                          capture_output=True, timeout=timeout, env=env, **kwargs)


def blobs_csv(path: Path, centers=((0, 0), (10, 10), (0, 10)), n=30, seed=0, sd=0.5,
              extra_cols=True) -> Path:
    """Well-separated blobs with an id and a label column."""
    rng = np.random.default_rng(seed)
    lines = ["id,x,y,label"]
    i = 0
    for c, (cx, cy) in enumerate(centers):
        for _ in range(n):
            i += 1
            lines.append(f"r{i},{cx + rng.normal(0, sd):.6f},{cy + rng.normal(0, sd):.6f},c{c}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def forge_model(src: Path, dst: Path, edit_meta=None, edit_arrays=None) -> Path:
    """A copy of a model, edited, with every checksum computed again (as an attacker can)."""
    from somcli.models.model import _checksum, _describe

    shutil.copytree(src, dst)
    meta = json.loads((dst / "model.json").read_text())
    with np.load(dst / "model.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if edit_arrays:
        edit_arrays(arrays)
    if edit_meta:
        edit_meta(meta)
    np.savez(dst / "model.npz", **arrays)
    meta["arrays"] = {k: _describe(np.asarray(a)) for k, a in arrays.items()}
    meta["checksum"] = _checksum(meta)
    (dst / "model.json").write_text(json.dumps(meta))
    return dst


def set_array(key, value):
    def edit(arrays):
        arrays[key] = value(arrays[key]) if callable(value) else value
    return edit


def folder_state(path: Path) -> dict:
    """Names and contents of every file under path (to prove nothing changed)."""
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def spy_painter(monkeypatch, enabled: bool = True) -> list:
    """Start the picture helper (or, ``enabled`` False, never); the list returned collects
    every helper started (None where none was)."""
    from somcli.report import painter

    monkeypatch.setattr(painter, "MODE", "always" if enabled else "never")
    started: list = []
    original = painter.Painter.start.__func__

    def spy(cls):
        helper = original(cls)
        started.append(helper)
        return helper

    monkeypatch.setattr(painter.Painter, "start", classmethod(spy))
    return started


def two_groups_with_gaps(path):
    """Two groups apart in every column; a few rows of each miss one value, which the
    median fills half-way between the groups. Returns each row's group."""
    import pandas as pd

    rng = np.random.default_rng(9)
    g = np.arange(200) % 2
    frame = pd.DataFrame({"score": np.where(g, 50.0, 10.0) + rng.normal(size=200),
                          "amount": np.where(g, 9500.0, 1200.0) * rng.normal(1, 0.05, 200),
                          "ratio": np.where(g, 0.7, 0.2) + rng.normal(0, 0.02, 200)})
    frame.loc[::23, "score"] = np.nan
    frame.loc[5::31, "ratio"] = np.nan
    frame.to_csv(path, index=False)
    return g


def three_blobs(n: int, seed: int = 0):
    """Columns a, b, c: three blobs in 3-d, well apart (the engine comparisons' data)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0], [6, 6, 0], [0, 6, 6]], dtype=float)
    X = centers[rng.integers(0, 3, n)] + rng.normal(0, 0.8, (n, 3))
    return pd.DataFrame(X, columns=["a", "b", "c"])


@pytest.fixture(scope="module")
def local_cluster():
    """A real Dask LocalCluster on 127.0.0.1: two worker processes, one thread each."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=50) as lc:
        yield lc


def on_both_engines(run, folder: Path, scheduler: str, *args, blocksize: str = "3KB"):
    """The same command on the local engine and on the Dask cluster at ``scheduler`` (its
    assignments in one file, partitions of ``blocksize``), each into its own folder under
    ``folder``; both must succeed. ((stderr, output folder) of local, of Dask)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for engine in ("local", "dask"):
        extra = ("--engine", "dask", "--scheduler", scheduler, "--blocksize", blocksize,
                 "--single-file") if engine == "dask" else ()
        r = run(*args, "-o", folder / engine, *extra)
        assert r.code == 0, (engine, r.err)
        out.append((r.err, folder / engine))
    return out[0], out[1]


def assignments_on_both(run, folder: Path, scheduler: str, *args, blocksize: str = "3KB"):
    """:func:`on_both_engines`, with each engine's assignments read: ((stderr, frame) of
    local, of Dask)."""
    import pandas as pd

    return tuple((err, pd.read_csv(out / "assignments.csv")) for err, out in on_both_engines(
        run, folder, scheduler, *args, blocksize=blocksize))


def in_a_terminal(*args, columns: int = 100) -> tuple[int, str]:
    """Run somcli with stdout and stderr on one pseudo-terminal; (exit code, what it shows)."""
    import os
    import pty
    import sys

    main, child = pty.openpty()
    env = dict(os.environ, COLUMNS=str(columns), TERM="xterm")
    proc = subprocess.Popen([sys.executable, "-m", "somcli", *map(str, args)], stdin=child,
                            stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")
