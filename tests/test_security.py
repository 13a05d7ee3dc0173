"""What a red team broke (issue 11), one test per attack: each plants the file, symlink,
header or value, runs somcli as a cron job would, and checks that nothing happened.

Kill tests slow the publication down with ``SOMCLI_TEST_RENAME_DELAY`` (a sleep before
each rename that publishes a result) and send SIGKILL inside it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES, ROOT, blobs_csv, folder_state, spy_painter, write
from conftest import forge_model as _forge
from conftest import set_array as _set

from somcli import errors

# ---------------------------------------------------------------- 1. code from the working folder


@pytest.mark.slow  # (a second Python process)
def test_the_picture_helper_never_imports_a_somcli_planted_in_the_working_folder(
        tmp_path, monkeypatch, run):
    planted = tmp_path / "shared"
    (planted / "somcli" / "report").mkdir(parents=True)
    marker = tmp_path / "PWNED"
    payload = f"open({str(marker)!r}, 'w').write('ran')\n"
    (planted / "somcli" / "__init__.py").write_text(payload)
    (planted / "somcli" / "report" / "__init__.py").write_text(payload)
    (planted / "somcli" / "report" / "painter.py").write_text(payload)
    blobs_csv(planted / "data.csv")
    started = spy_painter(monkeypatch)  # a helper even for this small input
    monkeypatch.chdir(planted)
    r = run("som", "data.csv", "-k", "3", "-o", tmp_path / "out", "-q")
    assert r.code == 0, r.err
    assert started and started[0] is not None  # the helper really ran
    assert started[0].proc.wait(timeout=30) == 0
    assert not marker.exists()
    assert (tmp_path / "out" / "umatrix.png").read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------- 2. the lock file


@pytest.mark.parametrize("dangling", [False, True])
def test_a_lock_file_that_is_a_symlink_is_never_followed(tmp_path, run, dangling):
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_text("precious")
    (tmp_path / ".out.somcli.lock").symlink_to(victim)
    r = run("kmeans", COUNTRIES, "-k", "2", "-o", tmp_path / "out")
    assert r.code == errors.CANT_CREATE and "symbolic link" in r.err
    if dangling:
        assert not victim.exists()
    else:
        assert victim.read_text() == "precious"
    assert not (tmp_path / "out").exists()


def test_another_users_lock_file_is_locked_but_not_written(tmp_path, run):
    lock = tmp_path / ".out.somcli.lock"
    lock.write_text("theirs")
    os.link(lock, tmp_path / "second-name")  # a hard link: not ours to write
    assert run("kmeans", COUNTRIES, "-k", "2", "-o", tmp_path / "out", "-q").code == 0
    assert lock.read_text() == "theirs"


# ---------------------------------------------------------------- 3. --force and foreign manifests


def test_force_never_deletes_files_that_a_forged_manifest_names(tmp_path, run):
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    (out / "notes.md").write_text("mine")
    (out / "report.json").write_text(json.dumps(
        {"files": ["thesis.docx", "notes.md", ".", "..", "../outside.txt"]}))
    (tmp_path / "outside.txt").write_text("outside")
    r = run("kmeans", COUNTRIES, "-k", "2", "-o", out, "--force", "-q")
    assert r.code == 0, r.err
    assert (out / "thesis.docx").read_bytes() == b"years of work"
    assert (out / "notes.md").read_text() == "mine"
    assert (tmp_path / "outside.txt").read_text() == "outside"
    assert (out / "centroids.csv").exists()  # the new result is there, beside them


def test_force_replaces_the_files_somcli_wrote_and_keeps_the_users(tmp_path, run):
    out = tmp_path / "out"
    assert run("som", COUNTRIES, "-o", out, "--no-plots", "-q").code == 0
    (out / "my_notes.txt").write_text("keep me")
    assert run("kmeans", COUNTRIES, "-k", "2", "-o", out, "--force", "-q").code == 0
    names = {p.name for p in out.iterdir()}
    assert "codebook.csv" not in names and "centroids.csv" in names
    assert (out / "my_notes.txt").read_text() == "keep me"
    # a file somcli wrote but that was changed since is the user's now: kept
    (out / "centroids.csv").write_text("edited by hand\n")
    assert run("som", COUNTRIES, "-o", out, "--no-plots", "--force", "-q").code == 0
    assert (out / "centroids.csv").read_text() == "edited by hand\n"


def test_force_refuses_a_folder_holding_a_folder_somcli_did_not_write(tmp_path, run):
    out = tmp_path / "out"
    (out / "photos").mkdir(parents=True)
    r = run("kmeans", COUNTRIES, "-k", "2", "-o", out, "--force")
    assert r.code == errors.CANT_CREATE and "photos" in r.err
    assert (out / "photos").is_dir()


# ---------------------------------------------------------------- 4. formula names, 5. report values

EVIL_NAMES = ["=cmd|' /C calc'!A0", "+lab", '=HYPERLINK("http://x")', "@feat", "-ex"]


def _evil_table(path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({EVIL_NAMES[0]: [f"r{i}" for i in range(30)],
                          EVIL_NAMES[3]: rng.normal(size=30),
                          EVIL_NAMES[4]: rng.normal(size=30),
                          EVIL_NAMES[2]: rng.normal(size=30),
                          EVIL_NAMES[1]: ["a", "b", "c"] * 10})
    frame.to_csv(path, index=False)
    return path


def _header(path: Path, sep=",") -> list[str]:
    import csv

    with open(path, newline="") as fh:
        return next(csv.reader(fh, delimiter=sep))


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_column_names_that_start_like_formulas_are_quoted_in_every_table(tmp_path, run, fmt):
    data = _evil_table(tmp_path / "evil.csv")
    out = tmp_path / "o"
    r = run("som", data, "-k", "2", "--label-column", EVIL_NAMES[1], "-o", out, "--format", fmt,
            "--no-plots", "-q")
    assert r.code == 0, r.err
    tables = [out / f"assignments.{fmt}", out / "codebook.csv", out / "outliers.csv"]
    for table in tables:
        for name in _header(table, "\t" if table.suffix == ".tsv" else ","):
            assert not name.startswith(("=", "+", "@", "-")), (table.name, name)
    assert "'=cmd|' /C calc'!A0" in _header(out / f"assignments.{fmt}",
                                            "\t" if fmt == "tsv" else ",")
    r = run("assign", out / "model.json", data, "-o", tmp_path / "a", "-q")
    assert r.code == 0, r.err
    assert not any(n.startswith(("=", "+", "@", "-")) for n in _header(tmp_path / "a" /
                                                                        "assignments.csv"))
    r = run("kmeans", data, "-k", "2", "-o", tmp_path / "k", "-q")
    assert not any(n.startswith(("=", "+", "@", "-")) for n in _header(tmp_path / "k" /
                                                                        "centroids.csv"))


def test_report_md_shows_identifier_values_and_names_as_text(tmp_path, run):
    from markdown_it import MarkdownIt

    payloads = ["![t](http://host/pixel.png)", "<img src=x onerror=alert(1)>",
                "<script>alert(1)</script>", "[click](javascript:alert(1))", "Aruba"]
    lines = ["name,x,z"] + [f'"{p}",{i},' for i, p in enumerate(payloads)]  # gaps: named
    lines += [f'"{payloads[i % 4]}",{i},{i % 4}' for i in range(5, 25)]
    lines.append('"<b>gap</b>",3,')
    data = write(tmp_path / "evil.csv", "\n".join(lines) + "\n")
    out = tmp_path / "o"
    r = run("kmeans", data, "-k", "2", "-o", out, "-q", "--id-column", "name")
    assert r.code == 0, r.err
    text = (out / "report.md").read_text()
    assert "pixel" in text and "gap" in text  # the values are there, as text
    html = MarkdownIt("commonmark").enable("table").render(text)
    own = {p.name for p in out.glob("*.png")}  # somcli's own pictures are images, nothing else
    assert set(re.findall(r'<img src="([^"]*)"', html)) <= own
    for live in ("<img src=x", "<script", "<b>", "href=\"javascript", "href=\"http://host"):
        assert live not in html, live


# ---------------------------------------------------------------- 6. kill -9 inside the publication


def _start(args, delay: float, **env) -> subprocess.Popen:
    environment = dict(os.environ, SOMCLI_TEST_RENAME_DELAY=str(delay), **env)
    return subprocess.Popen([sys.executable, "-m", "somcli", *map(str, args)], cwd=ROOT,
                            env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.02)


def _complete(folder: Path) -> bool:
    """A folder is complete when its report's row count matches its assignments."""
    report = json.loads((folder / "report.json").read_text())
    rows = len(pd.read_csv(folder / "assignments.csv"))
    return all((folder / f).exists() for f in report["files"]) and rows == \
        report["input"]["rows"]


@pytest.mark.slow
@pytest.mark.parametrize("exchange", [True, False])
def test_kill_9_inside_the_publication_leaves_the_old_or_the_new_folder(tmp_path, run,
                                                                        exchange):
    small = tmp_path / "small.csv"
    big = blobs_csv(tmp_path / "big.csv", n=100)
    pd.read_csv(big).head(40).to_csv(small, index=False)
    out = tmp_path / "out"
    assert run("som", small, "-k", "3", "-o", out, "--no-plots", "-q").code == 0
    old = folder_state(out)
    env = {} if exchange else {"SOMCLI_TEST_NO_EXCHANGE": "1"}
    proc = _start(["som", big, "-k", "3", "-o", out, "--force", "--no-plots"], 1.0, **env)
    _wait_for(lambda: any((p / "report.json").exists() for p in tmp_path.glob(".somcli-tmp-*")))
    time.sleep(0.5 if exchange else 1.5)  # inside the (first or second) slowed rename
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if exchange:
        assert folder_state(out) == old  # killed before the one exchange: the old folder
    else:  # killed between the two renames: the next run puts the old folder back
        assert not out.exists() or folder_state(out) == old
    # the next run cleans what the killed one left and publishes completely
    assert run("som", big, "-k", "3", "-o", out, "--force", "--no-plots", "-q").code == 0
    assert _complete(out) and len(pd.read_csv(out / "assignments.csv")) == 300
    assert not list(tmp_path.glob(".somcli-*"))


@pytest.mark.slow
def test_kill_9_between_the_model_files_keeps_a_loadable_model(tmp_path, run):
    from somcli.models.model import Model

    data = blobs_csv(tmp_path / "d.csv")
    model = tmp_path / "m.json"
    assert run("kmeans", data, "-k", "2", "--model-out", model, "-q").code == 0
    before = Model.load(str(model))
    proc = _start(["kmeans", data, "-k", "3", "--model-out", model], 2.0)
    _wait_for(lambda: (tmp_path / "m.npz.next").exists())
    time.sleep(0.3)
    _wait_for(lambda: json.loads(model.read_text())["algorithm"]["clusters"] == 3)
    proc.send_signal(signal.SIGKILL)  # m.json is new, m.npz still the old arrays
    proc.wait()
    after = Model.load(str(model))  # the new model, arrays from m.npz.next
    assert after.clusters == 3 and before.clusters == 2
    assert after.arrays["centroids"].shape == (3, 2)
    assert run("assign", model, data, "-q").code == 0


# ---------------------------------------------------------------- 7. a dead picture helper


@pytest.mark.slow
def test_a_picture_helper_that_dies_only_means_pictures_drawn_here(tmp_path):
    data = blobs_csv(tmp_path / "d.csv")
    script = (
        "import sys, somcli.report.painter as p\n"
        "p.MODE = 'always'\n"
        "real = p.Painter.start.__func__\n"
        "def start(cls):\n"
        "    h = real(cls)\n"
        "    h.proc.kill(); h.proc.wait()\n"
        "    return h\n"
        "p.Painter.start = classmethod(start)\n"
        "from somcli.cli import main\n"
        "main(sys.argv[1:])\n")
    r = subprocess.run([sys.executable, "-c", script, "som", str(data), "-k", "3", "-o",
                        str(tmp_path / "o")], capture_output=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    for name in ("umatrix.png", "hits.png", "clusters.png", "components.png"):
        assert (tmp_path / "o" / name).read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------- 8. memory while reading


def test_a_gzip_bomb_is_refused_within_max_memory(tmp_path, run):
    import gzip

    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(b"a,b\n")
        block = b"1.5,2.5\n" * 100_000
        for _ in range(40):  # 32 MB of text in a small file
            fh.write(block)
    assert bomb.stat().st_size < 200_000
    r = run("kmeans", bomb, "-k", "2", "--max-memory", "40M")
    assert r.code == errors.DATA and "bomb.csv.gz" in r.err and "--max-memory" in r.err


def test_stdin_is_read_only_up_to_the_memory_limit(run):
    r = run("kmeans", "-k", "2", "--max-memory", "4M", input=b"a,b\n" + b"1,2\n" * 500_000)
    assert r.code == errors.DATA and "stdin" in r.err


# ---------------------------------------------------------------- 9. edited models


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from click.testing import CliRunner

    from somcli.cli import cli

    root = tmp_path_factory.mktemp("models")
    data = blobs_csv(root / "train.csv")
    for name, args in (("som", ["som", "-k", "3", "--no-plots"]), ("km", ["kmeans", "-k", "3"])):
        r = CliRunner().invoke(cli, [*args, str(data), "-o", str(root / name), "-q"])
        assert r.exit_code == 0, r.stderr
    return root, data


SOM_EDITS = {
    "NaN codebook": _set("codebook", lambda a: np.full_like(a, np.nan)),
    "inf codebook": _set("codebook", lambda a: np.where(a > 0, np.inf, a)),
    "negative cluster ids": _set("unit_cluster", lambda a: a - 5),
    "cluster ids out of range": _set("unit_cluster", lambda a: a + 50),
    "NaN scale": _set("scale", lambda a: np.full_like(a, np.nan)),
    "zero scale": _set("scale", lambda a: np.zeros_like(a)),
    "codebook of the wrong shape": _set("codebook", lambda a: a[:, :1]),
    "codebook as strings": _set("codebook", lambda a: a.astype(str)),
    "codebook as datetimes": _set("codebook", lambda a: np.zeros(a.shape, "datetime64[s]")),
    "codebook as a struct": _set("codebook", lambda a: np.zeros(len(a), "i4,f8")),
    "a missing array": lambda arrays: arrays.pop("umatrix"),
    "negative hits": _set("hits", lambda a: -a - 1),
}
META_EDITS = {
    "kind swapped": lambda m: m.update(kind="kmeans"),
    "grid removed": lambda m: m.update(grid=None),
    "null outliers block": lambda m: m.update(outliers=None),
    "more clusters than units": lambda m: m["algorithm"].update(clusters=10_000),
    "a bad unit rule": lambda m: m["schema"]["features"][0].update(unit_rule={"x": 1}),
    "NaN outlier threshold": lambda m: m["outliers"].update(threshold=float("nan")),
}


@pytest.mark.parametrize("edit", list(SOM_EDITS) + list(META_EDITS))
def test_an_edited_model_with_a_recomputed_checksum_is_refused(models, tmp_path, run, edit):
    root, data = models
    m = _forge(root / "som", tmp_path / "m", edit_meta=META_EDITS.get(edit),
               edit_arrays=SOM_EDITS.get(edit))
    for args in (("assign", m / "model.json", data),
                 ("som", data, "--resume", m / "model.json", "--no-plots")):
        r = run(*args)
        assert r.code == errors.DATA, (args[0], r.err)
        assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1


def test_a_kmeans_model_with_nan_centroids_is_refused(models, tmp_path, run):
    root, data = models
    m = _forge(root / "km", tmp_path / "m", edit_arrays=_set("centroids", lambda a: a * np.nan))
    r = run("assign", m / "model.json", data)
    assert r.code == errors.DATA and "centroids" in r.err


def test_a_deeply_nested_model_json_is_refused(tmp_path, run, models):
    m = tmp_path / "m"
    m.mkdir()
    (m / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    shutil.copy(models[0] / "som" / "model.npz", m / "model.npz")
    r = run("assign", m / "model.json", models[1])
    assert r.code == errors.DATA and "Traceback" not in r.err


def test_an_npz_member_that_is_not_an_array_is_refused(models, tmp_path, run):
    import zipfile

    root, data = models
    m = tmp_path / "m"
    shutil.copytree(root / "km", m)
    with zipfile.ZipFile(m / "model.npz") as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["centroids.npy"] = b"this is not a .npy file at all"
    with zipfile.ZipFile(m / "model.npz", "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    r = run("assign", m / "model.json", data)
    assert r.code == errors.DATA and "centroids" in r.err


def test_a_small_npz_declaring_a_huge_array_is_refused_before_loading(models, tmp_path, run):
    import zipfile

    root, data = models
    m = _forge(root / "km", tmp_path / "m", edit_meta=lambda meta: None)
    header = np.lib.format.header_data_from_array_1_0(np.zeros((3, 2)))
    header["shape"] = (3, 200_000_000)  # 4.8 GB of float64
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(m / "model.npz") as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["centroids.npy"] = buf.getvalue() + b"\0" * 64
    with zipfile.ZipFile(m / "model.npz", "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    r = run("assign", m / "model.json", data, "--max-memory", "1G")
    assert r.code == errors.DATA and "centroids" in r.err


# ---------------------------------------------------------------- 10. documented exit codes


@pytest.mark.parametrize("args, needle", [
    (("--seed", "-1"), "--seed"), (("--seed", "4294967296"), "--seed"),
    (("--epochs", "99999999999999999999"), "--epochs"),
    (("-d", "é"), "delimiter"), (("-d", "\n"), "delimiter"),
    (("-e", "rot13"), "not a text encoding"),
    (("--sigma", "nan"), "--sigma"), (("--sigma", "inf"), "--sigma"),
    (("--max-missing", "nan"), "--max-missing"), (("--learning-rate", "nan"), "--learning-rate"),
    (("--wait", "nan"), "--wait"),
    (("--engine", "dask", "--blocksize", "0"), "--blocksize"),
    (("--engine", "dask", "--blocksize", "1"), "--blocksize"),
])
def test_bad_option_values_are_usage_errors(run, tmp_path, args, needle):
    r = run("som", COUNTRIES, *args, "-o", tmp_path / "o")
    assert r.code == errors.USAGE, r.err
    assert needle in r.err and "Traceback" not in r.err
    assert not (tmp_path / "o").exists()


def test_utf32_without_a_byte_order_mark_is_a_data_error(run):
    r = run("kmeans", COUNTRIES, "-k", "2", "-e", "utf-32")
    assert r.code == errors.DATA and "utf-32" in r.err.lower()


def test_model_out_that_cannot_be_written_is_refused_before_any_work(tmp_path, run,
                                                                     monkeypatch):
    existing = write(tmp_path / "existing.txt", "a file, not a folder")
    r = run("kmeans", COUNTRIES, "-k", "2", "--model-out", existing)
    assert r.code == errors.CANT_CREATE and r.out == ""
    assert existing.read_text() == "a file, not a folder"
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    try:
        if os.access(readonly, os.W_OK):  # root writes anywhere: a read-only mount instead
            import somcli.models.model as model

            real = model.read_only
            monkeypatch.setattr(model, "read_only",
                                lambda folder: folder == str(readonly) or real(folder))
        r = run("kmeans", COUNTRIES, "-k", "2", "--model-out", readonly / "m.json")
        assert r.code == errors.CANT_CREATE and r.out == ""
    finally:
        readonly.chmod(0o755)


def test_a_full_disk_while_taking_the_lock_is_an_io_error(tmp_path, run, monkeypatch):
    import errno

    import somcli.io.folder as folder

    real = os.open

    def full(path, flags, *mode):
        if str(path).endswith(".somcli.lock"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, flags, *mode)

    monkeypatch.setattr(folder.os, "open", full)
    r = run("kmeans", COUNTRIES, "-k", "2", "-o", tmp_path / "o")
    assert r.code == errors.IO_ERROR and "no space" in r.err


def test_a_full_disk_while_writing_the_model_is_an_io_error(tmp_path, run, monkeypatch):
    import errno

    data = blobs_csv(tmp_path / "d.csv")
    model = tmp_path / "m.json"
    assert run("kmeans", data, "-k", "2", "--model-out", model, "-q").code == 0
    before = (model.read_bytes(), (tmp_path / "m.npz").read_bytes())

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    r = run("kmeans", data, "-k", "3", "--model-out", model, "-q")
    assert r.code == errors.IO_ERROR and "no space" in r.err
    assert (model.read_bytes(), (tmp_path / "m.npz").read_bytes()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".somcli-")]


# ---------------------------------------------------------------- 11. hangs


def test_a_missing_scheduler_file_ends_after_the_documented_timeout(tmp_path, run, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("SOMCLI_DASK_TIMEOUT", "1s")
    t0 = time.monotonic()
    r = run("kmeans", COUNTRIES, "-k", "2", "--engine", "dask", "--scheduler-file",
            tmp_path / "nonexistent.json")
    assert r.code == errors.UNAVAILABLE and "nonexistent.json" in r.err
    assert time.monotonic() - t0 < 15


# ---------------------------------------------------------------- 12. the -o path


@pytest.mark.parametrize("kind", ["symlink to an empty folder", "dangling symlink", "fifo",
                                  "/dev/null"])
def test_an_unusable_output_path_is_refused_before_any_work(tmp_path, run, kind):
    out = tmp_path / "out"
    if kind == "symlink to an empty folder":
        (tmp_path / "real").mkdir()
        out.symlink_to(tmp_path / "real")
    elif kind == "dangling symlink":
        out.symlink_to(tmp_path / "nowhere")
    elif kind == "fifo":
        os.mkfifo(out)
    else:
        out = Path("/dev/null")
    r = run("som", COUNTRIES, "-o", out, "--force", "-v")
    assert r.code == errors.CANT_CREATE, r.err
    assert "reading" not in r.err  # refused before any work
    assert not list(tmp_path.glob(".somcli-tmp-*"))
    assert not (tmp_path / "nowhere").exists()
    if kind == "symlink to an empty folder":
        assert list((tmp_path / "real").iterdir()) == []


def test_dash_is_not_an_output_folder(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("kmeans", COUNTRIES, "-k", "2", "-o", "-")
    assert r.code == errors.USAGE and not (tmp_path / "-").exists()


@pytest.mark.parametrize("name", ["a\nb", "x{date.__class__.__name__}", "x{0}", "x{"])
def test_output_names_are_plain_or_use_the_documented_placeholders(run, tmp_path, name):
    r = run("kmeans", COUNTRIES, "-k", "2", "-o", tmp_path / name)
    assert r.code == errors.USAGE, r.err
    assert list(tmp_path.iterdir()) == []


def test_two_spellings_of_one_folder_take_one_lock(tmp_path):
    from somcli.errors import Busy
    from somcli.io.lock import locked

    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with locked(str(tmp_path / "real" / "out")):
        with pytest.raises(Busy):
            with locked(str(tmp_path / "alias" / "out")):
                pass


# ---------------------------------------------------------------- 13. Dask output and --force


@pytest.mark.slow
def test_force_over_a_dask_result_replaces_its_parts_folder(tmp_path, run, local_cluster):
    data = blobs_csv(tmp_path / "d.csv")
    out = tmp_path / "out"
    for _ in range(2):
        r = run("kmeans", data, "-k", "3", "--engine", "dask", "-o", out, "--force", "-q",
                "--scheduler", local_cluster.scheduler_address)
        assert r.code == 0, r.err
        assert (out / "assignments").is_dir()
    assert run("kmeans", data, "-k", "3", "-o", out, "--force", "-q").code == 0
    assert not (out / "assignments").exists() and (out / "assignments.csv").is_file()


# ---------------------------------------------------------------- 14. consistent numbers


def test_subnormal_columns_are_constant_for_every_command(tmp_path, run):
    rows = "\n".join(f"{(i % 7 + 1) * 1e-310:.3e},{(i % 5 + 1) * 2e-310:.3e},{i % 3}"
                     for i in range(20))
    data = write(tmp_path / "sub.csv", "a,b,c\n" + rows + "\n")
    for cmd in (("kmeans", "-k", "2"), ("som", "-k", "2", "--no-plots")):
        r = run(*cmd, data, "-o", tmp_path / cmd[0], "-q")
        assert r.code == 0, r.err
        report = json.loads((tmp_path / cmd[0] / "report.json").read_text())
        assert report["features"] == ["c"], cmd


def test_a_column_of_numbers_too_large_for_floats_is_excluded_like_all_inf(tmp_path, run):
    data = write(tmp_path / "big.csv", "id,big,x\n" + "\n".join(
        f"r{i},{i + 1}{'7' * 399},{i % 4}.5" for i in range(12)) + "\n")
    r = run("kmeans", data, "-k", "2", "-o", tmp_path / "o", "-q")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["features"] == ["x"]


def test_a_huge_radius_says_the_map_did_not_unfold(run):
    r = run("som", COUNTRIES, "-k", "3", "--sigma", "1e308", "--no-plots")
    assert r.code == errors.DATA and "did not unfold" in r.err and "-k 1" not in r.err


def test_no_hint_suggests_the_k_that_was_refused(tmp_path, run):
    data = write(tmp_path / "same.csv", "a,b,c\n" + "1,2,3\n1,2,4\n" * 6)
    r = run("kmeans", data, "-c", "a,b", "-k", "2")
    assert r.code == errors.DATA and "every row is the same" in r.err
    assert "-k 2 or fewer" not in r.err


@pytest.mark.slow
def test_dask_parts_quote_formula_column_names(tmp_path, run, local_cluster):
    data = _evil_table(tmp_path / "evil.csv")
    r = run("kmeans", data, "-k", "2", "--engine", "dask", "-o", tmp_path / "o", "-q",
            "--scheduler", local_cluster.scheduler_address)
    assert r.code == 0, r.err
    for part in sorted((tmp_path / "o" / "assignments").iterdir()):
        assert not any(n.startswith(("=", "+", "@", "-")) for n in _header(part))


BAD_PARTS = {
    "ragged row": (b"bad,1,2,3,4\n", errors.DATA, "line 32 has 5 fields"),
    "word in a numeric column": (b"bad,three,2\n", errors.DATA, "'three'"),
    "Latin-1 bytes": (b"caf\xe9,1,2\n", errors.DATA, "not valid UTF-8"),
    "open quote": (b'"open,1,2\nx,1,2\n', errors.DATA, "never closed"),
    "truncated gzip": (None, errors.IO_ERROR, "ends early"),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(BAD_PARTS))
def test_a_dask_glob_with_one_bad_file_gets_the_local_engines_error(tmp_path, run, kind,
                                                                   local_cluster):
    import gzip

    pytest.importorskip("distributed")
    tail, code, needle = BAD_PARTS[kind]
    rng = np.random.default_rng(0)
    for i in range(3):
        rows = "".join(f"r{i}_{j},{rng.normal():.4f},{rng.normal():.4f}\n" for j in range(30))
        (tmp_path / f"p{i}.csv").write_text("id,x,y\n" + rows)
    bad = tmp_path / "p1.csv"
    if tail is None:
        whole = gzip.compress(bad.read_bytes())
        bad.unlink()
        (tmp_path / "p1.csv.gz").write_bytes(whole[:len(whole) // 2])
    else:
        bad.write_bytes(bad.read_bytes() + tail)
    for engine in ("local", "dask"):  # (Dask: on the module's cluster, as started once)
        where = ("--scheduler", local_cluster.scheduler_address) if engine == "dask" else ()
        r = run("kmeans", str(tmp_path / "p*"), "-k", "2", "--engine", engine, *where)
        assert r.code == code, (engine, r.err)
        assert needle in r.err and "Traceback" not in r.err, (engine, r.err)


def test_a_ctrl_c_dropped_in_a_gc_callback_still_stops_the_run(capsys):
    """Python drops an exception raised inside a garbage-collector callback (Dask's client
    installs one): the interrupt must still end the run, at the next wait, and nothing but
    the run's own line may reach stderr."""
    import gc

    from somcli.runtime import interrupts

    saved = interrupts.install()

    def callback(phase, info):
        if phase == "start":
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(1000))  # the handler runs here, and its exception is dropped

    try:
        gc.callbacks.append(callback)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(callback)
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()
    finally:
        interrupts.restore(saved)
    interrupts.check()  # cleared with the handlers
    assert "KeyboardInterrupt" not in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_on_a_dask_run_is_one_line(tmp_path):
    pytest.importorskip("distributed")
    data = blobs_csv(tmp_path / "d.csv", n=2000)
    proc = subprocess.Popen([sys.executable, "-m", "somcli", "som", str(data), "--engine",
                             "dask", "--epochs", "1000000", "--map", "10x10", "-o",
                             str(tmp_path / "o")], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    time.sleep(6)  # the cluster is up (about 3 s here) and training
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1].decode()
    assert proc.returncode == errors.INTERRUPTED, err
    # one line, whichever step the signal reached (Click's abort or Python's interrupt)
    assert len(err.strip().splitlines()) == 1, err
    assert err.strip().startswith("somcli: error: interrupted"), err
    assert not (tmp_path / "o").exists()
