"""Reading: dialects, encodings, compression, stdin, globs, headers and line numbers."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile

import numpy as np
import pytest
from conftest import COUNTRIES, write

from somcli.config import ReadOptions
from somcli.errors import DataError, InputError, IOFailure
from somcli.io.read import read_table


def read(*inputs, **kw):
    return read_table(ReadOptions(inputs=tuple(map(str, inputs)), **kw))


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delim):
    text = delim.join(["a", "b", "c"]) + "\n" + delim.join(["1", "2.5", "x"]) + "\n"
    t = read(write(tmp_path / "f.txt", text * 1))
    assert list(t.frame.columns) == ["a", "b", "c"]
    assert t.dialect.delimiter == delim
    assert "delimiter" in t.dialect.sniffed


def test_semicolon_file_with_decimal_commas_is_read_as_numbers(tmp_path):
    t = read(write(tmp_path / "eu.csv", "a;b\n1,5;2\n3,25;4\n"))
    assert t.dialect.decimal == ","
    assert t.frame["a"].tolist() == [1.5, 3.25]


def test_explicit_decimal_and_delimiter(tmp_path):
    t = read(write(tmp_path / "eu.csv", "a|b\n1,5|2\n"), delimiter="|", decimal=",")
    assert t.frame["a"].tolist() == [1.5]


def test_utf8_bom_is_accepted(tmp_path):
    t = read(write(tmp_path / "bom.csv", b"\xef\xbb\xbfname,x\nA,1\nB,2\n"))
    assert list(t.frame.columns) == ["name", "x"]


def test_utf16_with_bom_is_detected(tmp_path):
    t = read(write(tmp_path / "u16.csv", "name,x\nÄ,1\nB,2\n".encode("utf-16")))
    assert t.frame["name"].tolist() == ["Ä", "B"]
    assert "encoding" in t.dialect.sniffed


def test_a_western_european_file_not_in_utf8_is_read_as_windows_1252_with_a_warning(tmp_path):
    """What Excel writes on a German or French Windows: accents standing alone in words."""
    text = "name;city;x\nJosé;Köln;1,5\nMüller;Zürich;2,5\nAna;Genève;3\n€ Ltd;Wien;4\n"
    t = read(write(tmp_path / "w.csv", text.encode("cp1252")))
    assert t.dialect.encoding == "cp1252" and "encoding" in t.dialect.sniffed
    assert t.frame["name"].tolist() == ["José", "Müller", "Ana", "€ Ltd"]
    assert "not UTF-8; read as Windows-1252" in t.warnings[0] and "-e" in t.warnings[0]
    assert not read(write(tmp_path / "u.csv", text.encode("utf-8"))).warnings


def test_other_single_byte_text_without_encoding_names_the_line_and_suggests_one(tmp_path):
    """Cyrillic in Windows-1251 decodes as Windows-1252 too, as whole words of accented
    letters: not taken for it; refused with the way out."""
    f = write(tmp_path / "ru.csv", "name,x\nA,1\nB,2\nИван,3\n".encode("cp1251"))
    with pytest.raises(DataError) as exc:
        read(f)
    assert "line 4" in exc.value.one_line() and "-e latin-1" in exc.value.one_line()
    assert read(f, encoding="cp1251").frame["name"].tolist()[-1] == "Иван"


def test_windows_1252_met_only_past_the_first_64_kib_is_read_as_such(tmp_path):
    """A sorted export whose first "Müller" lies past the bytes the encoding is guessed
    from (plain ASCII there): read as Windows-1252 with the line that told, where it was
    refused. Not when the start held UTF-8 text (a bad byte later is damage), nor when the
    encoding was given."""
    rows = "".join(f"Kunde {i};{i % 7},5;{i % 11}\n" for i in range(5000))
    text = "name;x;y\n" + rows + "Müller;3,5;4\nZoë;1,5;2\n"
    t = read(write(tmp_path / "late.csv", text.encode("cp1252")))
    assert t.n_rows == 5002 and t.frame["name"].tolist()[-2:] == ["Müller", "Zoë"]
    assert t.dialect.encoding == "cp1252"
    (warning,) = t.warnings
    assert "not UTF-8 (line 5002 is the first that is not); read as Windows-1252" in warning
    damaged = write(tmp_path / "damaged.csv", ("name;x;y\nJosé;1,5;2\n" + rows).encode()
                    + "Müller;3,5;4\n".encode("cp1252"))
    with pytest.raises(DataError, match="line 5003 is not valid UTF-8"):
        read(damaged)
    with pytest.raises(DataError, match="line 5002 is not valid UTF-8"):
        read(tmp_path / "late.csv", encoding="UTF-8")


@pytest.mark.parametrize("ext,opener", [(".gz", gzip.compress), (".bz2", bz2.compress),
                                         (".xz", lzma.compress)])
def test_compressed_inputs_read_like_plain(tmp_path, ext, opener):
    plain = COUNTRIES.read_bytes()
    t = read(write(tmp_path / f"c.csv{ext}", opener(plain)))
    assert t.frame.equals(read(COUNTRIES).frame)


def test_zip_with_one_member(tmp_path):
    path = tmp_path / "c.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("c.csv", COUNTRIES.read_text())
    assert read(path).n_rows == 18


def test_truncated_gzip_is_an_io_error(tmp_path):
    data = gzip.compress(COUNTRIES.read_bytes() * 50)
    with pytest.raises(IOFailure) as exc:
        read(write(tmp_path / "t.csv.gz", data[: len(data) // 2]))
    assert "t.csv.gz" in exc.value.one_line()


def test_not_gzip_although_named_gz(tmp_path):
    with pytest.raises(IOFailure, match="not a gzip file"):
        read(write(tmp_path / "fake.csv.gz", "a,b\n1,2\n"))


def test_stdin(tmp_path):
    t = read_table(ReadOptions(inputs=("-",)), stdin=io.BytesIO(COUNTRIES.read_bytes()))
    assert t.n_rows == 18 and t.inputs == ["stdin"]


def test_gzipped_stdin_is_recognised_by_its_magic_bytes():
    data = gzip.compress(COUNTRIES.read_bytes())
    assert read_table(ReadOptions(inputs=("-",)), stdin=io.BytesIO(data)).n_rows == 18


def test_empty_stdin_is_refused():
    with pytest.raises(InputError, match="stdin is empty"):
        read_table(ReadOptions(inputs=("-",)), stdin=io.BytesIO(b""))


def test_line_numbers_count_header_preamble_and_blank_lines(tmp_path):
    f = write(tmp_path / "p.csv", "exported by X\nsecond line\na,b\n1,2\n\n3,4\n5,6\n")
    t = read(f, skip_lines=2)
    assert t.lines.tolist() == [4, 6, 7]
    assert t.blank_lines == 1


def test_line_numbers_count_the_lines_a_quoted_field_spans(tmp_path, run):
    """A comment written over two lines (Excel exports them quoted) takes two of the file's
    lines: the rows under it were named one line early, and every report of a line
    (duplicates, gaps, the assignments) pointed at the wrong one."""
    text = ('name,x,y,note\nA,1,2,""\nB,3,4,"late\r\nbecause of snow"\nC,5,6,""\n\n'
            'D,7,,"a\nb\nc"\nE,9,10,""\nE,9,10,""\n')
    t = read(write(tmp_path / "q.csv", text))
    assert t.lines.tolist() == [2, 3, 5, 7, 10, 11]
    r = run("kmeans", tmp_path / "q.csv", "-k", "2", "--no-plots", "-o", tmp_path / "o")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())["cleaning"]
    assert report["rows_with_gaps_named"] == ["D (line 7)"]
    assert report["duplicates"]["identical_rows"] == [[10, 11]]


def test_empty_lines_above_the_header_are_skipped(tmp_path):
    """A file that began with an empty line was refused as "the file is empty" (the empty
    line was taken for the header); with a title under them the title is still found."""
    t = read(write(tmp_path / "b.csv", "\n\nname,a,b\nx,1,2\ny,3,4\n"))
    assert list(t.frame.columns) == ["name", "a", "b"] and t.lines.tolist() == [4, 5]
    assert "2 empty line(s) above the table: skipped" in t.notes
    titled = read(write(tmp_path / "t.csv", "\n\nSales report\nname,a,b\nx,1,2\ny,3,4\n"))
    assert titled.dialect.skip_lines == 3 and titled.lines.tolist() == [5, 6]
    assert any("the next 1 line(s) look like a title" in n and "-K 2 reads" in n
               for n in titled.notes)


def test_no_header_row_names_columns(tmp_path):
    t = read(write(tmp_path / "n.csv", "1,2\n3,4\n"), header=False)
    assert list(t.frame.columns) == ["column_1", "column_2"]
    assert t.lines.tolist() == [1, 2]


def test_blank_and_duplicate_header_names_are_fixed_and_noted(tmp_path):
    t = read(write(tmp_path / "h.csv", ",x,x,y\nA,1,2,3\nB,4,5,6\n"))
    assert list(t.frame.columns) == ["column_1", "x", "x_2", "y"]
    spaced = read(write(tmp_path / "s.csv", ' "Kunde " ;" Umsatz";Anteil\nK1;1;2\nK2;3;4\n'))
    assert list(spaced.frame.columns) == ["Kunde", "Umsatz", "Anteil"]
    assert any("no name" in n for n in t.notes) and any("more than once" in n for n in t.notes)


def test_na_tokens_and_override(tmp_path):
    f = write(tmp_path / "na.csv", "a,b\n1,N/A\n2,-\n3,?\n4,null\n5,7\n6,.\n")
    assert read(f).frame["b"].isna().sum() == 5  # (".": SAS, Stata and SPSS write it)
    t = read(f, na_values=("N/A",))
    assert t.frame["b"].isna().sum() == 1


def test_ragged_row_names_its_line(tmp_path):
    with pytest.raises(DataError) as exc:
        read(write(tmp_path / "r.csv", "a,b\n1,2\n3,4,5\n"))
    assert "line 3" in exc.value.one_line() and "r.csv" in exc.value.one_line()


def test_header_only_is_empty_input(tmp_path):
    with pytest.raises(InputError, match="no data rows"):
        read(write(tmp_path / "h.csv", "a,b\n"))


def test_several_files_by_glob_are_concatenated_with_their_source(tmp_path):
    write(tmp_path / "p1.csv", "a,b\n1,2\n3,4\n")
    write(tmp_path / "p2.csv", "a,b\n5,6\n")
    t = read(tmp_path / "p*.csv")
    assert t.frame["a"].tolist() == [1, 3, 5]
    assert t.lines.tolist() == [2, 3, 2]
    names = ["p1.csv", "p1.csv", "p2.csv"]
    assert all(s.endswith(n) for s, n in zip(t.sources, names, strict=True))


def test_files_with_different_headers_are_refused(tmp_path):
    write(tmp_path / "p1.csv", "a,b\n1,2\n")
    write(tmp_path / "p2.csv", "a,c\n5,6\n")
    with pytest.raises(InputError, match="differ"):
        read(tmp_path / "p*.csv")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder"):
        read(tmp_path)


def test_quoted_numbers_are_numbers(tmp_path):
    t = read(write(tmp_path / "q.csv", 'a,b\n"1.5","2"\n"3",4\n'))
    assert np.issubdtype(t.frame["a"].dtype, np.number)


def test_reading_in_chunks_keeps_types_and_line_numbers(tmp_path, monkeypatch):
    import somcli.io.read as reader

    monkeypatch.setattr(reader, "CHUNK_CELLS", 2000)  # 1000 rows per chunk for 2 columns
    rows = [f"{i},{i * 0.5}" for i in range(2500)]
    rows[1700] = "1700,"  # a gap in the second chunk only: ints there, floats elsewhere
    f = write(tmp_path / "c.csv", "a,b\n" + "\n".join(rows) + "\n")
    t = read(f)
    assert t.n_rows == 2500 and t.frame["b"].isna().sum() == 1
    assert np.issubdtype(t.frame["b"].dtype, np.floating) and t.lines[-1] == 2501
    rows[2200] = "2200,1,9"
    with pytest.raises(DataError, match="line 2202"):
        read(write(tmp_path / "r.csv", "a,b\n" + "\n".join(rows) + "\n"))


def test_a_column_numeric_in_one_chunk_and_text_in_another_is_text(tmp_path, monkeypatch):
    import somcli.io.read as reader

    monkeypatch.setattr(reader, "CHUNK_CELLS", 2000)  # 1000 rows per chunk for 2 columns
    rows = [f"{i},00{i % 7}" for i in range(2500)]
    rows[1800] = "1800,seven"
    t = read(write(tmp_path / "m.csv", "a,b\n" + "\n".join(rows) + "\n"))
    assert t.frame["b"].tolist()[:3] == ["000", "001", "002"]
    assert t.frame["b"].iloc[1800] == "seven" and t.frame["a"].dtype == np.int64


def test_european_numbers_with_thousands_dots_get_a_decimal_comma():
    """3.120 is three thousand one hundred and twenty in a file that writes 1.204,50."""
    from conftest import SAMPLES

    t = read(SAMPLES / "ugly_sales.csv", skip_lines=2)
    assert t.dialect.decimal == "," and t.dialect.delimiter == ";"
    assert t.lines.tolist() == [4, 5, 6, 8, 9, 10, 11, 12, 13]


def test_excels_sep_line_names_the_delimiter_and_is_skipped(tmp_path, run):
    """Excel writes (and honours) a first line ``sep=;``: it was read as a header of two
    names ("rows have more fields than the header's 2 names"). Also after a byte-order
    mark, with a title line under it, and with thousands set apart by spaces (1 322,46:
    the decimal comma is sniffed from them, where it had been left to --decimal)."""
    rows = "".join(f'"S{i}";"{1 + i % 9} 322,4{i % 10}";{(i * 7) % 11}\r\n' for i in range(12))
    text = 'sep=;\r\n"store";"revenue";"visits"\r\n' + rows
    t = read(write(tmp_path / "x.csv", b"\xef\xbb\xbf" + text.encode()))
    assert t.dialect.delimiter == ";" and t.dialect.skip_lines == 1
    assert t.dialect.decimal == "," and t.frame["revenue"].iloc[1] == "2 322,41"
    assert list(t.frame.columns) == ["store", "revenue", "visits"] and t.lines[0] == 3
    assert any("'sep=;', as Excel writes it" in n for n in t.notes)
    r = run("kmeans", tmp_path / "x.csv", "-k", "2", "--no-plots", "-o", tmp_path / "o")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["features"] == ["revenue", "visits"]
    assert report["clusters"][0]["means"]["revenue"] > 1000
    titled = read(write(tmp_path / "t.csv", 'sep=,\nQuarterly export\na,b\n1,2\n3,4\n'))
    assert titled.dialect.skip_lines == 2 and titled.frame["b"].tolist() == [2, 4]
    assert any("the next 1 line(s) look like a title" in n for n in titled.notes)
    spaced = read(write(tmp_path / "s.csv", "a;b\n1 234,5;2\n12 345,25;3\n"))
    assert spaced.dialect.decimal == ","


def test_a_title_is_found_above_rows_with_a_comment_over_two_lines(tmp_path):
    """The first row's quoted comment spans two lines: read line by line, its halves did
    not agree with the header, the title was not found and became the header."""
    text = ('Store report December;;\n\nstore;sales;note\n"S0";12,5;"closed\nfor works"\n'
            + "".join(f'"S{i}";{i},5;\n' for i in range(1, 6)))
    t = read(write(tmp_path / "c.csv", text))
    assert t.dialect.skip_lines == 2 and list(t.frame.columns) == ["store", "sales", "note"]
    assert t.lines.tolist() == [4, 6, 7, 8, 9, 10]


def test_a_dot_decimal_file_with_semicolons_keeps_its_dot(tmp_path):
    t = read(write(tmp_path / "us.csv", "a;b\n3.120;1\n2.5;3\n"))
    assert t.dialect.decimal == "." and t.frame["a"].tolist() == [3.12, 2.5]


def test_the_decimal_mark_is_the_one_most_columns_use(tmp_path):
    """A ;-separated table of prices with decimal commas and one column of rates written
    7.5%: any dotted value made the file '.', every price column text (and a margin of
    -0,670 read as -670, a group of thousands). Columns vote; a tie keeps the dot."""
    rows = ["region;price;cost;margin;rate"] + [
        f"R{i};{100 + i},{i % 10}5;{50 + i},20;-0,{600 + i};{i % 9}.5%" for i in range(30)]
    t = read(write(tmp_path / "eu.csv", "\n".join(rows) + "\n"))
    assert t.dialect.decimal == ","
    assert t.frame["price"].iloc[3] == 103.35 and t.frame["margin"].iloc[0] == -0.6
    tie = read(write(tmp_path / "tie.csv", "a;b\n1,5;2.5\n2,5;3.5\n"))
    assert tie.dialect.decimal == "."
    dotted = read(write(tmp_path / "us.csv", "a;b;c\n1,5;2.5;7.25\n2,5;3.5;1.5\n"))
    assert dotted.dialect.decimal == "."
