"""Differential fuzzing of the reader: a file parsed in parts on threads must give what
the one-go read gives (the same table, roles and cleaned matrix, or the same error).

Not part of CI. Run it for as long as you like:

    pip install atheris
    python fuzz/fuzz_parallel_read.py -max_total_time=600 fuzz/corpus

The parts are forced on every input (no size threshold, three threads).
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings

import atheris

with atheris.instrument_imports(include=["somcli"]):
    import numpy as np

    import somcli.io.parts as parts
    import somcli.io.read as reader
    from somcli.config import CleanOptions, ColumnOptions, ReadOptions
    from somcli.errors import SomcliError
    from somcli.prep.clean import clean
    from somcli.prep.roles import decide

DELIMITERS = [None, ",", ";", "\t", "|"]
FOLDER = tempfile.mkdtemp(prefix="somcli-fuzz-")


def outcome(path: str, opts: ReadOptions, parallel: bool):
    """What a user gets from reading ``path``: the error line, or the table and matrix."""
    parts.PARALLEL_BYTES = 0 if parallel else 2**62
    try:
        table = reader.read_table(opts)
        roles = decide(table.frame, table.lines, ColumnOptions(), table.dialect.decimal)
        names = list(table.frame.columns)
        text = table.frame.astype(str).to_numpy().tolist()
        cleaned = clean(table.frame, table.lines, roles, CleanOptions(), allow_mask=True)
    except SomcliError as exc:
        return ("error", type(exc).__name__, exc.one_line())
    return ("ok", names, text, table.lines.tolist(), table.notes, roles.features,
            np.nan_to_num(cleaned.X, nan=1e300).tolist())


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    opts_kw = dict(delimiter=fdp.PickValueInList(DELIMITERS),
                   decimal=fdp.PickValueInList([None, ".", ","]),
                   header=True, skip_lines=fdp.ConsumeIntInRange(0, 2))
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    path = os.path.join(FOLDER, "in.csv")
    with open(path, "wb") as fh:
        fh.write(body)
    opts = ReadOptions(inputs=(path,), **opts_kw)
    whole = outcome(path, opts, parallel=False)
    in_parts = outcome(path, opts, parallel=True)
    if whole != in_parts:
        raise AssertionError(f"parts differ from one go:\n{in_parts!r:.2000}\n{whole!r:.2000}")


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    os.environ["SOMCLI_THREADS"] = "3"
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
