"""Issue 25, items 5 and 6: forged models whose checksums are computed again, holding
finite but absurd numbers or reading options no command line accepts. Each must be
refused with exit 65 naming what is wrong, never run (garbage out) or crash (70)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import blobs_csv
from conftest import forge_model as forge
from conftest import set_array as put

from somcli import errors
from somcli.cli import cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An RBM, an autoencoder, and k-means on RBM codes, trained on the same blobs."""
    root = tmp_path_factory.mktemp("embedded")
    data = blobs_csv(root / "train.csv")
    jobs = {"rbm": ["embed", "--method", "rbm", "--dim", "2", "--epochs", "2"],
            "ae": ["embed", "--method", "autoencoder", "--dim", "2", "--epochs", "2"],
            "km": ["kmeans", "-k", "3", "--embed", "rbm:2"],
            "plain": ["kmeans", "-k", "3"],
            "som": ["som", "-k", "3", "--no-plots"]}
    for name, args in jobs.items():
        r = CliRunner().invoke(cli, [*args, str(data), "-o", str(root / name), "-q"])
        assert r.exit_code == 0, r.stderr
    return root, data


FORGED = {  # model, what is edited, the array or key the error names
    "rbm W = 1e300": ("rbm", put("W", lambda a: np.full_like(a, 1e300)), None, "'W'"),
    "rbm hidden bias = -1e7": ("rbm", put("hidden_bias", lambda a: a - 1e7), None,
                               "'hidden_bias'"),
    "ae b_out = 1e308": ("ae", put("b_out", lambda a: np.full_like(a, 1e308)), None,
                         "'b_out'"),
    "ae W_in = 1e200": ("ae", put("W_in", lambda a: np.full_like(a, 1e200)), None, "'W_in'"),
    "ae code_fill = 5": ("ae", put("code_fill", lambda a: a + 5), None, "'code_fill'"),
    "rbm W as longdouble": ("rbm", put("W", lambda a: a.astype(np.longdouble)), None,
                            "'W' has dtype"),
    "codes embed_W = 1e300": ("km", put("embed_W", lambda a: np.full_like(a, 1e300)), None,
                              "'embed_W'"),
    "codes code_scale = 1e-300": ("km", put("code_scale", lambda a: np.full_like(a, 1e-300)),
                                  None, "'code_scale'"),
    "codes code_scale = 0": ("km", put("code_scale", lambda a: np.zeros_like(a)), None,
                             "'code_scale'"),
    "codes code_center = 1e300": ("km", put("code_center", lambda a: a + 1e300), None,
                                  "'code_center'"),
    "centroids = 1e200": ("plain", put("centroids", lambda a: a * 1e200), None,
                          "'centroids'"),
    "encoding rot13": ("plain", None, lambda m: m["schema"]["reading"].update(
        encoding="rot13"), "encoding"),
    "unknown encoding": ("plain", None, lambda m: m["schema"]["reading"].update(
        encoding="klingon-8"), "encoding"),
    "empty delimiter": ("plain", None, lambda m: m["schema"]["reading"].update(delimiter=""),
                        "delimiter"),
    "newline delimiter": ("plain", None, lambda m: m["schema"]["reading"].update(
        delimiter="\n"), "delimiter"),
    "two-character decimal": ("plain", None, lambda m: m["schema"]["reading"].update(
        decimal=".,"), "decimal"),
    "training rows as text": ("plain", None, lambda m: m["training"].update(rows="many"),
                              "training/rows"),
    "params as text": ("plain", None, lambda m: m["algorithm"].update(params="x"),
                       "algorithm/params"),
    "feature stats as text": ("plain", None, lambda m: m["training"].update(
        feature_stats={"x": "y"}), "feature_stats"),
    "embedding epochs as text": ("rbm", None, lambda m: m["algorithm"].update(epochs="x"),
                                 "algorithm/epochs"),
    "params dtype float16": ("plain", None, lambda m: m["algorithm"]["params"].update(
        dtype="float16"), "params/dtype"),
    "params sigma_end as text": ("som", None, lambda m: m["algorithm"]["params"].update(
        sigma_end="abc"), "params/sigma_end"),
    "params neighborhood unknown": ("som", None, lambda m: m["algorithm"]["params"].update(
        neighborhood="evil"), "params/neighborhood"),
    "a negative seed": ("plain", None, lambda m: m.update(seed=-3), "seed"),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_a_forged_model_with_absurd_values_is_refused_naming_them(trained, tmp_path, run,
                                                                 case):
    root, data = trained
    source, arrays, meta, named = FORGED[case]
    model = forge(root / source, tmp_path / "m", edit_meta=meta, edit_arrays=arrays)
    r = run("assign", model / "model.json", data, "-o", tmp_path / "out")
    assert r.code == errors.DATA, r.err
    if source == "som":  # --resume reads the training parameters too
        resumed = run("som", data, "--resume", model / "model.json", "--no-plots")
        assert resumed.code == errors.DATA and named in resumed.err, resumed.err
    assert named in r.err and "model.json" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("source", ["rbm", "ae", "km", "plain", "som"])
def test_the_models_training_writes_pass_the_same_checks(trained, tmp_path, run, source):
    root, data = trained
    r = run("assign", root / source / "model.json", data, "-o", tmp_path / "out", "-q")
    assert r.code == 0, r.err


# ---------------------------------------------------------------- 7. columnar memory bombs


def _bomb(path, kind: str, rows: int = 2_000_000, columns: int = 2):
    """A small file of constant columns that decodes to rows x columns float64 cells."""
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    cycle = (np.arange(rows // 4) % 7).astype(float)  # repeats: compresses to nothing
    chunk = pa.table({f"c{j}": pa.array(cycle * (j + 1)) for j in range(columns)})
    if kind == "parquet":
        with pq.ParquetWriter(path, chunk.schema, compression="zstd") as w:
            for _ in range(4):
                w.write_table(chunk)
    else:
        options = ipc.IpcWriteOptions(compression="zstd")
        make = ipc.new_file if kind == "arrow" else ipc.new_stream
        with make(path, chunk.schema, options=options) as w:
            for _ in range(4):
                w.write_table(chunk)
    return path


@pytest.mark.parametrize("kind", ["parquet", "arrow", "stream"])
def test_a_columnar_bomb_is_refused_from_its_metadata_before_decoding(tmp_path, run,
                                                                     monkeypatch, kind):
    from somcli.io import formats

    bomb = _bomb(tmp_path / f"bomb.{kind}", kind)
    assert bomb.stat().st_size < 200_000  # 2M rows x 2 in a few kB
    decoded = []
    monkeypatch.setattr(formats, "frame_of", lambda *a: decoded.append(1))
    r = run("kmeans", bomb, "-k", "2", "--max-memory", "20M")
    assert r.code == errors.DATA and not decoded, r.err
    assert "2,000,000 rows x 2 columns" in r.err and "more than the limit" in r.err


def test_a_columnar_file_within_the_limit_is_read(tmp_path, run):
    small = _bomb(tmp_path / "small.stream", "stream", rows=4000, columns=3)
    r = run("kmeans", small, "-k", "2", "--max-memory", "20M", "-o", tmp_path / "out", "-q")
    assert r.code == 0, r.err
    assert (tmp_path / "out" / "assignments.csv").read_text().count("\n") == 4001


def test_a_parquet_file_with_too_many_columns_is_refused_at_once(tmp_path, run):
    import pyarrow as pa
    import pyarrow.parquet as pq

    wide = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": pa.array([1.0, 2.0]) for i in range(20_001)}), wide)
    r = run("inspect", wide)
    assert r.code == errors.DATA and "20,001 columns" in r.err


@pytest.mark.parametrize("kind", ["file", "stream"])
def test_an_arrow_file_with_offsets_outside_its_buffers_is_refused(tmp_path, run, kind):
    """Arrow takes a file's buffers as written: a string column whose offsets point past
    its data made somcli read (and print) memory beyond it, or crash; now 65."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    offsets = pa.py_buffer(np.array([0, 2, 4, 1_000_000, 8], dtype=np.int32).tobytes())
    names = pa.Array.from_buffers(pa.string(), 4, [None, offsets, pa.py_buffer(b"abcdefgh")])
    table = pa.table({"x": [1.0, 2.0, 3.0, 4.0], "y": [4.0, 1.0, 3.0, 2.0], "name": names})
    path = tmp_path / f"evil.{kind}"
    with (ipc.new_file if kind == "file" else ipc.new_stream)(path, table.schema) as w:
        w.write_table(table)
    r = run("kmeans", path, "-k", "2")
    assert r.code == errors.DATA and "out of bounds" in r.err and r.out == ""
    assert "\x00" not in r.err and len(r.err.strip().splitlines()) == 1
