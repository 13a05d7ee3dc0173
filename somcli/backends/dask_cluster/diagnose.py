"""When the workers fail to parse an input, say what the local engine says.

A worker that meets a ragged row, an open quote, a word in a numeric column or bytes
that are not the encoding raises pandas' or Python's own error, which names neither
the file nor the line. Then each input is read here, one file at a time, with
somcli's own reader and column rules, and the first file that fails gives the error
(the same line, exit code and advice as ``--engine local``). Only failed runs pay for
this pass.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from dataclasses import replace

import pandas as pd

from somcli.config import ColumnOptions, ReadOptions
from somcli.errors import SomcliError

PARSE_ERRORS = (pd.errors.ParserError, UnicodeError, ValueError, EOFError, gzip.BadGzipFile,
                zlib.error)


@contextlib.contextmanager
def diagnosed(read: ReadOptions, cols: ColumnOptions | None = None, roles: bool = True):
    """Run the body; a parse error from the cluster becomes the local engine's error
    (``roles``: also apply the column rules, as kmeans and som do; assign has a model's)."""
    try:
        yield
    except SomcliError:
        raise
    except PARSE_ERRORS as exc:
        found = _first_failure(read, cols, roles)
        if found is not None:
            raise found from None
        raise exc


def _first_failure(read: ReadOptions, cols: ColumnOptions | None,
                   roles: bool) -> SomcliError | None:
    from somcli.io.dialect import sniff
    from somcli.io.read import read_table
    from somcli.io.sources import resolve
    from somcli.prep import roles as R

    try:
        sources = resolve(read.inputs)
        # every file in the encoding the run read them in: the first file's (a file read
        # alone would have its own found)
        encoding = sniff(sources[0], read).encoding
    except SomcliError as error:
        return error
    for source in sources:
        try:
            table = read_table(replace(read, inputs=(source.path,), memory_limit=None,
                                       encoding=encoding))
            if roles:
                R.decide(table.frame, table.lines, cols or ColumnOptions(),
                         table.dialect.decimal)
        except SomcliError as error:
            return error
    return None
