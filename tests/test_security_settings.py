"""Issue 25, items 1-4 and 8: settings files planted, special or hostile; `config show`
telling the truth; -O aimed at devices, FIFOs, other people's files and long names.

Each test plants what the hostile run planted and checks what a user relies on: nothing
outside the target is touched, the exit code is the documented one, and no run hangs."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
import tomllib

import pytest
from conftest import COUNTRIES, somcli_subprocess, write

from somcli import errors

ROOT_ONLY = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                               reason="needs root (chown to another user, mknod)")
HOSTILE = '[defaults]\nforce = true\n[kmeans]\nk = 4\nout = "{victim}"\n'


def victim_folder(tmp_path):
    """Another job's results, which a planted settings file tries to overwrite."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "assignments.csv").write_text("theirs\n")
    return victim


def shared_folder(tmp_path):
    """A world-writable sticky folder (/tmp-like) where the cron job runs."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    return shared


# ---------------------------------------------------------------- 1. a planted settings file


def test_a_settings_file_writable_by_others_is_ignored_with_a_warning(tmp_path, run,
                                                                      monkeypatch):
    victim, shared = victim_folder(tmp_path), shared_folder(tmp_path)
    planted = write(shared / "somcli.toml", HOSTILE.format(victim=victim))
    for mode in (0o666, 0o664, 0o646):
        planted.chmod(mode)
        monkeypatch.chdir(shared)
        r = run("kmeans", COUNTRIES, "-k", "2")
        assert r.code == 0 and r.out.startswith("line,"), r.err  # the assignments, on stdout
        assert "./somcli.toml ignored: others can write to it" in r.err
        assert (victim / "assignments.csv").read_text() == "theirs\n"
    planted.chmod(0o644)  # the user's own, private file: read
    assert run("kmeans", COUNTRIES, "-o", tmp_path / "mine", "-q").code == 0
    report = json.loads((tmp_path / "mine" / "report.json").read_text())
    assert len(report["clusters"]) == 4 and report["parameters"]["settings_file"] == \
        "somcli.toml"


@ROOT_ONLY
def test_a_settings_file_owned_by_another_user_is_ignored(tmp_path, run, monkeypatch):
    victim, shared = victim_folder(tmp_path), shared_folder(tmp_path)
    planted = write(shared / "somcli.toml", HOSTILE.format(victim=victim))
    planted.chmod(0o644)
    os.chown(planted, 4242, 4242)  # another user's, private to them
    monkeypatch.chdir(shared)
    r = run("kmeans", COUNTRIES, "-k", "2")
    assert r.code == 0 and r.out.startswith("line,")
    assert "./somcli.toml ignored: another user owns it" in r.err
    assert (victim / "assignments.csv").read_text() == "theirs\n"
    os.chown(planted, 0, 0)  # root's file is trusted (as ssh and git trust it)
    r = run("kmeans", COUNTRIES, "-k", "2", "-q")
    assert r.code == 0 and r.out == "" and (victim / "report.json").exists()
    # a link planted by another user is not followed, even to the user's own file
    os.remove(planted)
    own = write(tmp_path / "own.toml", "[kmeans]\nk = 5\n")
    planted.symlink_to(own)
    os.lchown(planted, 4242, 4242)
    r = run("kmeans", COUNTRIES, "-o", tmp_path / "linked")
    assert r.code == 0 and "a symbolic link of another user's" in r.err
    assert len(json.loads((tmp_path / "linked" / "report.json").read_text())["clusters"]) != 5
    os.lchown(planted, 0, 0)  # the user's own link: followed
    assert run("kmeans", COUNTRIES, "-o", tmp_path / "own", "-q").code == 0
    assert len(json.loads((tmp_path / "own" / "report.json").read_text())["clusters"]) == 5


def test_config_show_ignores_the_untrusted_file_as_a_run_does(tmp_path, run, monkeypatch):
    shared = shared_folder(tmp_path)
    write(shared / "somcli.toml", "[kmeans]\nk = 7\n").chmod(0o666)
    monkeypatch.chdir(shared)
    r = run("config", "show", "kmeans")
    assert r.code == 0 and "ignored" in r.err
    assert tomllib.loads(r.out)["kmeans"]["k"] == "auto"


# ---------------------------------------------------------------- 3. not plain files, bombs


@pytest.mark.parametrize("how", ["option", "variable"])
def test_a_device_as_the_settings_file_is_refused_at_once(tmp_path, run, monkeypatch, how):
    if how == "variable":
        monkeypatch.setenv("SOMCLI_CONFIG", "/dev/zero")
        r = run("kmeans", COUNTRIES, "-k", "2")
    else:
        r = run("kmeans", COUNTRIES, "-k", "2", "--config", "/dev/zero")
    assert r.code == errors.USAGE and "/dev/zero" in r.err and "not a regular file" in r.err


def test_a_fifo_settings_file_never_hangs(tmp_path):
    fifo = tmp_path / "settings.toml"
    os.mkfifo(fifo)
    r = somcli_subprocess("kmeans", COUNTRIES, "-k", "2", "--config", fifo, timeout=60)
    assert r.returncode == errors.USAGE and b"a FIFO, not a regular file" in r.stderr
    planted = tmp_path / "somcli.toml"
    os.mkfifo(planted)
    r = somcli_subprocess("kmeans", COUNTRIES, "-k", "2", cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and b"somcli.toml ignored: it is a FIFO" in r.stderr
    os.remove(planted)
    planted.symlink_to("/dev/zero")
    r = somcli_subprocess("kmeans", COUNTRIES, "-k", "2", cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and b"somcli.toml ignored: it is a device" in r.stderr


def test_a_huge_settings_file_is_refused_before_it_is_read(tmp_path, run):
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.write(b"[kmeans]\n# " + b"x" * (2 << 20) + b"\n")
    r = run("kmeans", COUNTRIES, "--config", big)
    assert r.code == errors.USAGE and "big.toml" in r.err and "too large" in r.err


@pytest.mark.parametrize("text, said", [
    ("[kmeans]\nk = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ("[kmeans]\nk = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply"),
    ("[kmeans]\nk = [[[[[[[[[[1]]]]]]]]]]\n", "nested too deeply"),
    (b"[kmeans]\nid-column = \"caf\xe9\"\n", "not UTF-8 (byte 0xe9"),
    ('[kmeans]\nk = ["3", "4"]\n', "[kmeans] 'k' is a list; it takes one value"),
    ("[kmeans]\nk = {a = 1}\n", "[kmeans] 'k' is a table"),
    ("[defaults]\nseed = [1]\n", "[defaults] 'seed' is a list"),
    ("[kmeans]\nna-values = [[\"x\"]]\n", "'na-values' is a list; it takes a value or a list"),
])
def test_hostile_settings_are_usage_errors_naming_file_and_key(tmp_path, run, text, said):
    settings = write(tmp_path / "s.toml", text)
    r = run("kmeans", COUNTRIES, "--config", settings)
    assert r.code == errors.USAGE and "s.toml" in r.err and said in r.err, r.err
    shown = run("config", "show", "kmeans", "--config", settings)  # and show fails alike
    assert shown.code == errors.USAGE and said in shown.err


def test_a_list_for_a_repeatable_option_is_read(tmp_path, run):
    data = write(tmp_path / "d.csv", "a,b\n1,2\nmissing,3\n2,1\n5,5\n6,6\n")
    settings = write(tmp_path / "s.toml", '[inspect]\nna-values = ["missing", "gone"]\n')
    r = run("inspect", data, "--config", settings)
    assert r.code == 0, r.err


# ---------------------------------------------------------------- 4. config show tells the truth


def test_config_show_fails_where_the_run_fails(tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in ("[kmeans]\nk = \"banana\"\n", "[som]\nmap = \"huge\"\n",
                 "[kmeans]\nbogus = 1\n", "[kmeans\n"):
        write(tmp_path / "somcli.toml", text).chmod(0o644)
        command = "som" if "som" in text else "kmeans"
        ran = run(command, COUNTRIES)
        shown = run("config", "show", command)
        assert ran.code == errors.USAGE, ran.err
        assert shown.code == ran.code and shown.out == "", (text, shown.out)
    monkeypatch.setenv("SOMCLI_KMEANS_K", "banana")  # a variable a run refuses
    os.remove(tmp_path / "somcli.toml")
    assert run("config", "show", "kmeans").code == errors.USAGE


def test_config_show_output_reads_back_whatever_the_names_and_values(tmp_path, run):
    name = tmp_path / "evil\n[kmeans]\nk = 9\n#.toml"
    write(name, '[kmeans]\nid-column = "😀 \\u007f tab\\t \\"q\\" back\\\\slash"\nseed = 4\n')
    r = run("config", "show", "kmeans", "--config", name)
    assert r.code == 0, r.err
    shown = tomllib.loads(r.out)  # one table, nothing injected, the emoji one character
    assert list(shown) == ["kmeans"] and shown["kmeans"]["k"] == "auto"
    assert shown["kmeans"]["id-column"] == ["😀 \x7f tab\t \"q\" back\\slash"]
    assert shown["kmeans"]["seed"] == 4 and "\\ud83d" not in r.out


# ---------------------------------------------------------------- 2. -O and special files


def test_O_keeps_an_existing_files_mode(tmp_path, run):
    target = write(tmp_path / "private.csv", "old\n")
    target.chmod(0o600)
    assert run("kmeans", COUNTRIES, "-k", "2", "-O", target, "-q").code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith("line,")


@ROOT_ONLY
def test_O_writes_a_character_device_in_place_and_never_replaces_it(tmp_path, run):
    null, full = tmp_path / "null", tmp_path / "full"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    r = run("kmeans", COUNTRIES, "-k", "2", "-O", null, "-q")
    assert r.code == 0 and stat.S_ISCHR(null.lstat().st_mode)
    r = run("kmeans", COUNTRIES, "-k", "2", "-O", full, "-q", "--format", "json")
    assert r.code == errors.IO_ERROR and "no space left" in r.err
    assert stat.S_ISCHR(full.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "null"]


@ROOT_ONLY
def test_O_refuses_a_block_device_and_another_users_file(tmp_path, run, monkeypatch):
    block = tmp_path / "disk"
    os.mknod(block, 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    r = run("kmeans", COUNTRIES, "-k", "2", "-O", block)
    assert r.code == errors.CANT_CREATE and "block device" in r.err
    assert stat.S_ISBLK(block.lstat().st_mode)
    theirs = write(tmp_path / "theirs.csv", "theirs\n")
    os.chown(theirs, 4242, 4242)
    r = run("kmeans", COUNTRIES, "-k", "2", "-O", theirs)
    assert r.code == errors.CANT_CREATE and "another user" in r.err
    assert theirs.read_text() == "theirs\n" and theirs.stat().st_uid == 4242


def test_O_streams_into_a_fifo_with_a_reader_and_refuses_one_without(tmp_path, run):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = run("kmeans", COUNTRIES, "-k", "2", "-O", fifo, "-q")
    reader.join(timeout=60)
    if reader.is_alive() or not stat.S_ISFIFO(fifo.lstat().st_mode):  # let the reader go
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert r.code == 0 and got and got[0].startswith(b"line,") and got[0].count(b"\n") == 19
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    lonely = tmp_path / "lonely"
    os.mkfifo(lonely)
    r = somcli_subprocess("kmeans", COUNTRIES, "-k", "2", "-O", lonely, timeout=60)
    assert r.returncode == errors.CANT_CREATE and b"nobody reads" in r.stderr
    assert stat.S_ISFIFO(lonely.lstat().st_mode)


def test_O_through_a_link_to_a_device_writes_the_device_and_keeps_the_link(tmp_path, run):
    link = tmp_path / "out"
    link.symlink_to(os.devnull)
    assert run("kmeans", COUNTRIES, "-k", "2", "-O", link, "-q").code == 0
    assert link.is_symlink() and os.readlink(link) == os.devnull
    victim = write(tmp_path / "victim.csv", "theirs\n")
    other = tmp_path / "other"
    other.symlink_to(victim)
    r = run("kmeans", COUNTRIES, "-k", "2", "-O", other, "-q")
    assert r.code == errors.CANT_CREATE and "symbolic link" in r.err
    assert other.is_symlink() and victim.read_text() == "theirs\n"


BAD_INPUT = "name,x\na,1\nb,two\nc,3\nd,4\n"  # 65 if it were read


@pytest.mark.parametrize("target, code", [
    ("nodir/", errors.USAGE), ("missing/x.csv", errors.CANT_CREATE),
    ("x" * 300 + ".csv", errors.CANT_CREATE)])
def test_O_targets_that_cannot_be_written_are_refused_before_any_work(tmp_path, run,
                                                                      monkeypatch, target,
                                                                      code):
    monkeypatch.chdir(tmp_path)
    data = write(tmp_path / "bad.csv", BAD_INPUT)
    r = run("kmeans", data, "-k", "2", "-O", target)
    assert r.code == code, r.err  # the output is refused first: the input is never read
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_O_into_a_read_only_folder_is_refused_before_any_work(tmp_path, run, monkeypatch):
    from somcli.io import output_file

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.access(ro, os.W_OK):  # root writes anywhere: a read-only mount instead
        monkeypatch.setattr(output_file.os, "access", lambda p, m: False)
        monkeypatch.setattr(output_file, "read_only", lambda folder: folder == str(ro))
    data = write(tmp_path / "bad.csv", BAD_INPUT)
    r = run("kmeans", data, "-k", "2", "-O", ro / "x.csv")
    ro.chmod(0o755)
    assert r.code == errors.CANT_CREATE, r.err
    assert list(ro.iterdir()) == []


def test_a_name_too_long_for_the_file_system_is_73_naming_the_reason(tmp_path, run):
    data = write(tmp_path / "bad.csv", BAD_INPUT)
    for option in ("-o", "--model-out"):
        r = run("kmeans", data, "-k", "2", option, tmp_path / ("m" * 300))
        assert r.code == errors.CANT_CREATE and "more than the 255" in r.err, (option, r.err)


def test_a_folder_or_an_empty_name_as_the_settings_file_is_a_usage_error(tmp_path, run):
    r = run("kmeans", COUNTRIES, "-k", "2", "--config", tmp_path)
    assert r.code == errors.USAGE and "is a folder, not a regular file" in r.err  # was 70
    r = run("kmeans", COUNTRIES, "-k", "2", "--config", "")
    assert r.code == errors.USAGE and "--config ''" in r.err
