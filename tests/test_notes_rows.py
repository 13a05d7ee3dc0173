"""Notes under a table (Source:, Note:, * provisional) are not rows: set aside with a
warning, never clustered as a row of gaps filled with medians."""

from __future__ import annotations

import pandas as pd
from conftest import write

from somcli.config import ReadOptions
from somcli.io.read import read_table
from somcli.prep import notes_rows

HEADER = '"Country Name","Code","1990","2000","2010"\n'
ROWS = "".join(f'"Country {i}","C{i:02d}",{i}.5,{i + 1}.25,{2 * i}.75\n' for i in range(12))


def read(path, **kw):
    return read_table(ReadOptions(inputs=(str(path),), **kw))


def test_notes_below_a_download_are_set_aside_with_their_lines(tmp_path):
    text = HEADER + ROWS + '\n"Source: World Development Indicators, 2024"\n"* provisional"\n'
    t = read(write(tmp_path / "wdi.csv", text))
    assert t.n_rows == 12 and t.frame["Country Name"].iloc[-1] == "Country 11"
    (warning,) = t.warnings
    assert "line 15 ('Source: World Development Indicators, 2024')" in warning
    assert "line 16" in warning and "--keep-totals" in warning
    kept = read(tmp_path / "wdi.csv", keep_totals=True)
    assert kept.n_rows == 14 and not kept.warnings


def test_a_sentence_longer_than_its_column_is_a_note_but_a_row_of_gaps_is_a_row(tmp_path):
    t = read(write(tmp_path / "a.csv", HEADER + ROWS + '"Figures for 2010 are revised"\n'))
    assert t.n_rows == 12
    gaps = read(write(tmp_path / "b.csv", HEADER + ROWS + '"Country 12",,,,\n'))
    assert gaps.n_rows == 13 and not gaps.warnings  # an observation without numbers


def test_a_narrow_table_or_a_table_of_single_values_has_no_notes():
    two = pd.DataFrame({"name": ["a", "b", "Source: x"], "v": [1.0, 2.0, None]})
    assert notes_rows.find(two) == []
    lonely = pd.DataFrame({"a": ["Note: x", "Note: y"], "b": [None, None], "c": [None, None]})
    assert notes_rows.find(lonely) == []
