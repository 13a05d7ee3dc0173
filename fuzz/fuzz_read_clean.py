"""Coverage-guided fuzzing of the reader, the column roles and the cleaning (atheris).

Not part of CI. Run it for as long as you like:

    pip install atheris
    python fuzz/fuzz_read_clean.py -max_total_time=600 -rss_limit_mb=4096 fuzz/corpus

Any exception other than a SomcliError (a clean, documented refusal) is a crash.
The seed corpus is built from sample_data/ on the first run.
"""

from __future__ import annotations

import io
import os
import sys
import warnings

import atheris

with atheris.instrument_imports(include=["somcli"]):
    from somcli.config import CleanOptions, ColumnOptions, ReadOptions
    from somcli.errors import SomcliError
    from somcli.io.read import read_table
    from somcli.prep.clean import clean
    from somcli.prep.roles import decide

DELIMITERS = [None, ",", ";", "\t", "|"]
MISSING = ["median", "mean", "most-frequent", "drop", "mask"]
SCALES = ["standard", "minmax", "robust", "none"]


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    opts = ReadOptions(inputs=("-",), delimiter=fdp.PickValueInList(DELIMITERS),
                       decimal=fdp.PickValueInList([None, ".", ","]),
                       header=fdp.ConsumeBool(), skip_lines=fdp.ConsumeIntInRange(0, 2),
                       memory_limit=fdp.PickValueInList([None, 400, 40_000, 4 << 20]))
    cleaning = CleanOptions(missing=fdp.PickValueInList(MISSING),
                            scale=fdp.PickValueInList(SCALES),
                            dedupe=fdp.PickValueInList(["none", "first", "mean"]))
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        table = read_table(opts, stdin=io.BytesIO(body))
        roles = decide(table.frame, table.lines, ColumnOptions(), table.dialect.decimal)
        clean(table.frame, table.lines, roles, cleaning, allow_mask=True)
    except SomcliError:
        pass


def seed_corpus(folder: str) -> None:
    if os.path.isdir(folder) and os.listdir(folder):
        return
    os.makedirs(folder, exist_ok=True)
    root = os.path.join(os.path.dirname(__file__), "..", "sample_data")
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.endswith(".csv"):
            with open(path, "rb") as src, open(os.path.join(folder, name), "wb") as dst:
                dst.write(b"\x00\x00\x00" + src.read())


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    corpus = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if corpus:
        seed_corpus(corpus)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
