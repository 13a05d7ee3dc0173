"""Column roles: every rule, with the reason the report gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from somcli.config import ColumnOptions
from somcli.errors import DataError, UsageError
from somcli.prep.roles import decide, select


def roles_of(frame: pd.DataFrame, **opts):
    return decide(frame, np.arange(2, len(frame) + 2), ColumnOptions(**opts), ".")


def by_name(r):
    return {d.name: d for d in r.decisions}


def test_row_counter_is_excluded_from_one_or_zero():
    f = pd.DataFrame({"n": [1, 2, 3, 4], "z": [0, 1, 2, 3], "x": [0.5, 1.5, 0.2, 9.0]})
    d = by_name(roles_of(f))
    assert d["n"].role == "excluded" and "row counter" in d["n"].reason
    assert d["z"].role == "excluded" and "row counter" in d["z"].reason
    assert d["x"].role == "feature"


def test_integers_out_of_order_are_a_feature():
    f = pd.DataFrame({"n": [3, 1, 2, 4], "x": [0.5, 1.5, 0.2, 9.0]})
    assert by_name(roles_of(f))["n"].role == "feature"


def test_text_is_identifier_and_numbers_are_features():
    f = pd.DataFrame({"name": ["a", "b", "c"], "x": [1.0, 2.0, 4.0]})
    r = roles_of(f)
    assert r.ids == ["name"] and r.features == ["x"]
    assert "identifier" in by_name(r)["name"].reason


def test_constant_all_missing_and_mostly_missing_are_excluded():
    f = pd.DataFrame({"c": [5.0] * 5, "e": [np.nan] * 5, "m": [1.0, 2.0, np.nan, np.nan, np.nan],
                      "x": [1.0, 2.0, 3.5, 4.0, 0.5]})
    d = by_name(roles_of(f))
    assert "constant" in d["c"].reason
    assert "every value is missing" in d["e"].reason
    assert "--max-missing" in d["m"].reason and d["m"].role == "excluded"
    assert by_name(roles_of(f, max_missing=0.9))["m"].role == "feature"


@pytest.mark.parametrize("values,expected,words", [
    (["5.8%", "-3%", "12.5 %"], [5.8, -3.0, 12.5], "percent"),
    (["1,234", "12", "1,234,567.5"], [1234, 12, 1234567.5], "thousands"),
    (["$12", "$1,200.50", "-$3"], [12, 1200.5, -3], "currency"),
    (["14,984.04", "(346,740.54)", "(1.2e2)"], [14984.04, -346740.54, -120],
     "parentheses read as negative"),  # an accountant's negative amounts
    (["($1,200.50)", "$7", "$0.5"], [-1200.5, 7, 0.5], "parentheses"),
    (["\u22125", "8", "\u22121.5%"], [-5, 8, -1.5], "percent"),  # the typographic minus
    (["1'234.5", "12", "1\u2019000\u2019000"], [1234.5, 12, 1e6], "thousands"),  # Swiss
    (["1,234.50-", "12", "7-"], [-1234.5, 12, -7], "minus after the number"),  # SAP's
])
def test_numbers_with_units_are_parsed_and_the_reason_says_so(values, expected, words):
    f = pd.DataFrame({"v": pd.Series(values, dtype=object), "x": [1.0, 2.0, 3.0]})
    r = roles_of(f)
    assert list(r.values["v"]) == pytest.approx(expected)
    assert words in by_name(r)["v"].reason


def test_parentheses_are_a_negative_amount_only_whole_and_without_a_sign():
    from somcli.prep.units import UnitRule, apply_rule, read_text_column

    for bad in (["(12", "3"], ["12)", "3"], ["(-12)", "3"], ["-(12)", "3"]):
        assert read_text_column(pd.Series(bad), ".").values is None, bad
    rule = read_text_column(pd.Series(["(1,234.5)", "7"]), ".").rule
    assert rule.negative and UnitRule.from_dict(rule.to_dict()) == rule
    assert list(apply_rule(pd.Series(["(3)", "4", "(5"]), rule)[:2]) == [-3.0, 4.0]
    assert np.isnan(apply_rule(pd.Series(["(5"]), rule)[0])
    # SAP writes the minus after the number: one sign, before or after, never both
    for bad in (["-12-", "3"], ["(12-)", "3"], ["12--", "3"]):
        assert read_text_column(pd.Series(bad), ".").values is None, bad
    rule = read_text_column(pd.Series(["1.234,56-", "7"]), ",").rule
    assert rule.trailing and UnitRule.from_dict(rule.to_dict()) == rule
    assert list(apply_rule(pd.Series(["45,48-", "4"]), rule)) == [-45.48, 4.0]


def test_mixed_units_are_refused():
    f = pd.DataFrame({"v": pd.Series(["5%", "$3", "7%"], dtype=object), "x": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="mixes units"):
        roles_of(f)


def test_mostly_numbers_with_a_word_names_column_line_and_fixes():
    f = pd.DataFrame({"v": pd.Series(["3", "three", "4"], dtype=object), "x": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError) as exc:
        roles_of(f)
    msg = exc.value.one_line()
    assert "'v'" in msg and "line 3" in msg and "three" in msg and "--na-values" in msg


def test_decimal_commas_in_a_comma_file_suggest_decimal_option():
    f = pd.DataFrame({"v": pd.Series(["1,5", "2,25"], dtype=object), "x": [1.0, 2.0]})
    with pytest.raises(DataError, match="--decimal ,"):
        roles_of(f)


def test_decimal_commas_with_thousands_dots_beside_a_dot_column_are_named():
    """A table mixing conventions: '1.234,5' in one column, '2.5' in another. The comma
    column was silently an identifier; now it is refused with what it holds and the ways
    out."""
    f = pd.DataFrame({"a": pd.Series(["1.234,5", "2.345,5", "12,25"], dtype=object),
                      "b": [2.5, 3.5, 4.5], "id": ["x", "y", "z"]})
    with pytest.raises(DataError) as exc:
        roles_of(f)
    msg = exc.value.one_line()
    assert "'a'" in msg and "1.234,5" in msg and "--decimal ," in msg and "-C 'a'" in msg
    g = pd.DataFrame({"code": pd.Series(["A-1", "B,2", "C.3"], dtype=object), "x": [1.5, 2.7, 0.3]})
    assert by_name(roles_of(g))["code"].role != "feature"  # text with commas stays text


def test_decimal_points_in_a_decimal_comma_file_are_named():
    """The other way round: a file read with --decimal , ('1.234,5') whose margin column
    says '7.5%' was silently an identifier, a feature lost without a word. It stays text
    (codes such as 4.2 read the same way) with a warning naming it, its value and the ways
    out; a column left out with -C gets no warning."""
    f = pd.DataFrame({"a": [1234.5, 2345.5, 12.25], "Marge": pd.Series(["7.5%", "15.4%", "8%"]),
                      "id": ["x", "y", "z"]})
    r = decide(f, np.arange(2, 5), ColumnOptions(), ",")
    assert by_name(r)["Marge"].role != "feature"
    (warning,) = [w for w in r.warnings if "Marge" in w]
    assert "7.5%" in warning and "--decimal ." in warning and "not a feature" in warning
    quiet = decide(f, np.arange(2, 5), ColumnOptions(not_columns="Marge"), ",")
    assert not [w for w in quiet.warnings if "Marge" in w]
    g = pd.DataFrame({"code": pd.Series(["A.1", "B.2", "C.3"]), "x": [1.5, 2.7, 0.3],
                      "when": ["07.12.2026", "08.12.2026", "09.12.2026"],
                      "time": ["08.00", "17.45", "9.30"]})  # times of day, as Germans write
    got = decide(g, np.arange(2, 5), ColumnOptions(), ",")
    assert all(by_name(got)[c].role != "feature" for c in ("code", "when", "time"))
    assert not got.warnings  # text with dots is text, without a word
    h = pd.DataFrame({"v": pd.Series(["7,5%", "1.204,5", "12"]), "x": [1.5, 2.7, 0.3]})
    assert by_name(decide(h, np.arange(2, 5), ColumnOptions(), ","))["v"].role == "feature"


def test_a_group_of_thousands_never_starts_with_zero():
    """-0,670 under the dot is a decimal comma (refused with its hint), not -670 with a
    thousands separator; 1,234 still reads 1234."""
    f = pd.DataFrame({"m": pd.Series(["-0,670", "0,125", "-0,338"]), "x": [1.5, 2.7, 0.3]})
    with pytest.raises(DataError, match="--decimal ,"):
        roles_of(f)
    g = pd.DataFrame({"n": pd.Series(["1,234", "12,500", "7"]), "x": [1.5, 2.7, 0.3]})
    assert by_name(roles_of(g))["n"].role == "feature"
    french = pd.DataFrame({"v": pd.Series(["1\u202f234,5", "7,25", "12"]), "x": [1.5, 2.7, 0.3]})
    assert list(decide(french, np.arange(3), ColumnOptions(), ",").values["v"]) == [1234.5, 7.25, 12]
    h = pd.DataFrame({"m": pd.Series(["0.670", "1.204,5"]), "x": [1.5, 2.7]})
    with pytest.raises(DataError, match="'0.670'"):  # under the comma: not 670 either
        decide(h, np.arange(2), ColumnOptions(), ",")


def test_non_strict_mode_reports_problems_instead_of_raising():
    f = pd.DataFrame({"v": pd.Series(["3", "three", "4"], dtype=object), "x": [1.0, 2.0, 3.0]})
    r = decide(f, np.arange(3), ColumnOptions(), ".", strict=False)
    assert by_name(r)["v"].role == "excluded" and "three" in by_name(r)["v"].reason


def test_columns_by_name_index_and_range():
    cols = ["a", "b", "c", "d", "e"]
    assert select("a,3", cols, "-c") == ["a", "c"]
    assert select("2-4", cols, "-c") == ["b", "c", "d"]
    with pytest.raises(UsageError) as exc:
        select("zz", cols, "-c")
    assert "'a', 'b'" in exc.value.one_line()


def test_explicit_columns_and_not_columns():
    f = pd.DataFrame({"a": [1.0, 2.5, 3], "b": [3.0, 1, 2], "c": [5.0, 6, 9]})
    assert roles_of(f, columns="c,a").features == ["c", "a"]
    r = roles_of(f, not_columns="b")
    assert r.features == ["a", "c"] and by_name(r)["b"].reason.startswith("left out")


def test_forced_identifier_and_label_are_never_features():
    f = pd.DataFrame({"code": [10, 20, 30], "cls": [1, 2, 1], "x": [1.0, 2.0, 4.0]})
    r = roles_of(f, id_columns=("code",), label_column="cls")
    assert r.features == ["x"] and r.ids == ["code"] and r.label == "cls"


def test_forced_identifier_may_be_a_mixed_column():
    f = pd.DataFrame({"code": pd.Series(["3", "A7", "4"], dtype=object), "x": [1.0, 2.0, 4.0]})
    assert roles_of(f, id_columns=("code",)).ids == ["code"]


def test_unique_integers_named_like_an_id_are_identifiers():
    f = pd.DataFrame({"customer_id": [104, 101, 109], "x": [1.0, 2.0, 4.0]})
    d = by_name(roles_of(f))["customer_id"]
    assert d.role == "identifier" and "named like an id" in d.reason


def test_postal_codes_and_phone_numbers_are_codes_not_measurements():
    """A customer table's PLZ (or zip, Telefon) is a number only in how it is written:
    clustered as a quantity, 10115 and 80331 would be far apart for no reason."""
    rng = np.random.default_rng(0)
    n = 200
    f = pd.DataFrame({"PLZ": rng.integers(1000, 99999, n), "Zip Code": rng.integers(1000, 99999, n),
                      "Telefon": rng.integers(10 ** 9, 10 ** 10, n),
                      "hotel_rooms": rng.integers(10, 500, n), "x": rng.normal(size=n)})
    r = by_name(roles_of(f))
    assert all(r[c].role in ("excluded", "identifier") for c in ("PLZ", "Zip Code", "Telefon"))
    assert "code" in r["PLZ"].reason and "-c 'PLZ'" in r["PLZ"].reason
    assert r["hotel_rooms"].role == "feature"  # (tel inside a word is not a phone number)


def test_spreadsheet_error_values_and_statistics_gaps_are_missing(tmp_path):
    """#NV (a German spreadsheet's #N/A), #DIV/0! and "k.A." had made a column of numbers
    "mostly numbers with a stray word": refused. They are missing values now, counted."""
    from conftest import write

    from somcli.config import ReadOptions
    from somcli.io.read import read_table

    lines = ["a;b;c"] + [f"{i},5;{i % 7};{i * 3}" for i in range(40)]
    lines[5], lines[9], lines[12], lines[20] = "#NV;1;2", "3,5;#DIV/0!;4", "2,5;k.A.;1", "1,5;2;:"
    t = read_table(ReadOptions(inputs=(str(write(tmp_path / "x.csv", "\n".join(lines))),)))
    assert t.frame["a"].isna().sum() == 1 and t.frame["b"].isna().sum() == 2
    assert t.frame["c"].isna().sum() == 1
    assert all(by_name(roles_of(t.frame))[c].role == "feature" for c in "abc")


def test_no_numeric_column_is_a_data_error():
    with pytest.raises(DataError, match="no numeric column"):
        roles_of(pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]}))


def study(n=120, seed=0) -> pd.DataFrame:
    """A field study: measurements, and the columns that are not measurements."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "Sample Number": np.tile(np.arange(1, n // 3 + 1), 3),  # restarts per group
        "species": np.repeat(["Adelie", "Gentoo", "Chinstrap"], n // 3),
        "island": rng.choice(["Biscoe", "Dream", "Torgersen"], n),
        "tag": [f"N{i}A{i % 7}" for i in range(n)],
        "site": ["Palmer"] * n,
        "seen": [f"2008-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}" for _ in range(n)],
        "year": rng.integers(2007, 2010, n),
        "Month": rng.integers(1, 13, n),
        "zip": rng.integers(10000, 99999, n),
        "season": rng.integers(2007, 2010, n),  # values like years, named otherwise
        "mass": rng.normal(4000, 300, n),
        "depth": rng.normal(17, 1, n),
        "station_type": rng.choice([1, 2, 3], n),
        "cylinders": rng.choice([4, 6, 8], n),
    })


def test_columns_that_are_not_measurements_are_left_out_with_the_way_back():
    r = roles_of(study())
    d = by_name(r)
    assert d["Sample Number"].role == "excluded" and "restarting in each of 3" in \
        d["Sample Number"].reason
    assert d["year"].role == "excluded" and "calendar field (year" in d["year"].reason
    assert d["Month"].role == "excluded" and "calendar field (month" in d["Month"].reason
    assert d["zip"].role == "excluded" and "code" in d["zip"].reason
    for name in ("Sample Number", "year", "Month", "zip"):
        assert f"-c '{name}'" in d[name].reason
    assert r.features == ["season", "mass", "depth", "cylinders"]


def test_borderline_year_like_values_stay_in_with_a_warning():
    r = roles_of(study())
    assert by_name(r)["season"].role == "feature"
    assert any("'season'" in w and "like years" in w for w in r.warnings)
    assert not any("'mass'" in w for w in r.warnings)


def test_text_columns_are_categories_dates_identifiers_or_constant():
    d = by_name(roles_of(study()))
    assert d["species"].role == "category" and d["island"].role == "category"
    assert d["seen"].role == "date" and "%Y-%m-%d" in d["seen"].reason
    assert d["tag"].role == "identifier"
    assert d["site"].role == "excluded" and "constant" in d["site"].reason
    assert d["station_type"].role == "category"  # integer codes named like a type
    assert d["cylinders"].role == "feature"  # few integers, but named like a quantity


def test_categories_and_dates_are_carried_identifiers_name_rows():
    r = roles_of(study())
    assert r.carried == ["species", "island", "tag", "seen", "station_type"]
    assert r.ids == ["tag"] and r.categories == ["species", "island", "station_type"]


def test_a_named_measurement_comes_back_with_c_and_text_in_c_is_a_clear_error():
    r = roles_of(study(), columns="year,mass")
    assert r.features == ["year", "mass"]
    with pytest.raises(DataError) as e:
        roles_of(study(), columns="tag,mass")  # text, not a category
    assert "holds text, not numbers" in e.value.one_line() and "na-values" not in \
        e.value.one_line()


def test_a_short_or_unique_text_column_is_not_a_category():
    f = pd.DataFrame({"who": ["a", "b", "a", "b"], "x": [1.0, 2.0, 3.5, 0.1]})
    assert by_name(roles_of(f))["who"].role == "identifier"  # 4 rows: 2 values twice each
    f = pd.DataFrame({"who": list("abcdefghij") * 3, "x": np.arange(30) * 1.5 % 7})
    assert by_name(roles_of(f))["who"].role == "category"  # 10 values, 3 rows each


def test_a_date_named_in_c_is_a_feature_in_days_since_1970():
    r = roles_of(study(), columns="seen,mass")
    d = by_name(r)["seen"]
    assert r.features == ["seen", "mass"] and d.kind == "date" and d.role == "feature"
    assert "dates (%Y-%m-%d) read as days since 1970-01-01" in d.reason
    first = study()["seen"].iloc[0]
    expected = (np.datetime64(first) - np.datetime64("1970-01-01")) / np.timedelta64(1, "D")
    assert r.values["seen"][0] == expected


def train_and_replay(tmp_path, run, *options) -> pd.DataFrame:
    """kmeans -k 3 on the study table, then assign on the same rows: the same clusters."""
    frame = study()
    frame.to_csv(tmp_path / "s.csv", index=False)
    r = run("kmeans", tmp_path / "s.csv", *options, "-k", "3", "-o", tmp_path / "m", "-q")
    assert r.code == 0, r.err
    r = run("assign", tmp_path / "m" / "model.json", tmp_path / "s.csv", "-q")
    assert r.code == 0, r.err
    trained = pd.read_csv(tmp_path / "m" / "assignments.csv")["cluster"].tolist()
    assert pd.read_csv(__import__("io").StringIO(r.out))["cluster"].tolist() == trained
    return frame


def test_a_model_with_a_date_feature_replays_it(tmp_path, run):
    train_and_replay(tmp_path, run, "-c", "seen,mass,depth")


def test_categorical_onehot_makes_indicator_features_weighted_like_one_column():
    r = roles_of(study(), categorical="onehot")
    d = by_name(r)
    assert [f for f in r.features if f.startswith("species=")] == [
        "species=Adelie", "species=Chinstrap", "species=Gentoo"]
    assert "one-hot encoded as 3 features" in d["species"].reason
    assert r.values["species=Gentoo"].sum() == 40 and r.sources[:2] == ["species", "island"]
    assert "species" in r.carried  # the column itself still goes into the outputs
    from somcli.prep.clean import weight_indicators

    scale = weight_indicators(r.features, r.rules, np.ones(len(r.features)))
    assert scale[r.features.index("species=Adelie")] == pytest.approx(np.sqrt(3))
    assert scale[r.features.index("mass")] == 1.0
    plain = roles_of(study())
    assert not any("=" in f for f in plain.features)  # the default: none


def test_a_category_named_in_c_is_one_hot_encoded_without_the_flag():
    r = roles_of(study(), columns="island,mass")
    assert r.features == ["island=Biscoe", "island=Dream", "island=Torgersen", "mass"]


def test_a_onehot_model_replays_and_reports_unseen_values(tmp_path, run):
    frame = train_and_replay(tmp_path, run, "--categorical", "onehot")
    frame.loc[:4, "island"] = "Atlantis"
    frame.to_csv(tmp_path / "new.csv", index=False)
    r = run("assign", tmp_path / "m" / "model.json", tmp_path / "new.csv", "-o", tmp_path / "a")
    assert r.code == 0, r.err
    assert "column 'island': 5 value(s) not seen in training (e.g. 'Atlantis' on line 2)" in r.err


def test_rows_are_named_by_their_most_distinct_identifier():
    n = 60
    frame = pd.DataFrame({"study": [f"PAL{i // 2:02d}X" for i in range(n)],
                          "Individual ID": [f"N{i}A{i % 2}" for i in range(n)],
                          "x": np.arange(n) % 7 * 1.5, "y": np.arange(n) % 5 * 2.5})
    roles = roles_of(frame)
    assert roles.ids == ["study", "Individual ID"]  # both carried, in input order
    assert roles.names == ["Individual ID"]  # unique: names a row alone
    frame["Individual ID"] = [f"N{i % 40}" for i in range(n)]  # repeats: the next joins it
    assert roles_of(frame).names == ["Individual ID", "study"]


def test_report_row_names_are_unique_and_lead_with_the_distinct_identifier(tmp_path, run):
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"study": [f"PAL{i // 2:02d}X" for i in range(n)],
                          "Individual ID": [f"N{i}A{i % 2}" for i in range(n)],
                          "x": rng.normal(size=n) + np.arange(n) % 3 * 6, "y": rng.normal(size=n)})
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert run("kmeans", tmp_path / "p.csv", "-k", "3", "-o", tmp_path / "o", "-q").code == 0
    import json

    report = json.loads((tmp_path / "o" / "report.json").read_text())
    named = [name for c in report["clusters"] for name in c["typical"]]
    assert len(named) == 9 and all(name.startswith("N") for name in named)
    assert len({name.split(" (line")[0] for name in named}) == 9


def test_a_counter_repeated_by_a_duplicated_row_is_still_a_counter():
    """A new user's export: customer numbers 100000.. in order, one row duplicated (so one
    number repeats) and reported as a duplicate; the numbers are still no measurement."""
    from somcli.prep import column_rules as CR
    from somcli.prep.column_totals import facts_of

    codes = np.arange(100_000, 100_300, dtype=float)
    codes = np.insert(codes, 50, codes[49])
    assert CR.shuffled_counter(facts_of(codes), len(np.unique(codes)))
    measured = np.random.default_rng(0).normal(50, 10, 301).round()  # repeats: many
    assert not CR.shuffled_counter(facts_of(measured), len(np.unique(measured)))


def test_labels_ids_and_shuffled_counters_are_not_features(tmp_path, run):
    """Issue 27, item 3: rules from a column's name and values, for any table."""
    import json

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({
        "target": rng.integers(0, 3, n),  # a classification label: a category, with the hint
        "outcome": rng.integers(0, 500, n),  # a regression target: left out
        "y": rng.normal(size=n),  # a coordinate named y: a feature
        "ID": rng.integers(1, 90, n),  # an id that repeats: an identifier
        "status code": rng.integers(1, 4, n),  # a code with few values: a category
        "Kundennummer": rng.permutation(np.arange(5000, 5000 + n)),  # a shuffled counter
        "visits": rng.choice(np.arange(0, 10_000, 37), n, replace=False),  # unique, spread
        "x": rng.normal(size=n),
    })
    frame.to_csv(tmp_path / "t.csv", index=False)
    roles = {c["name"]: (c["role"], c["reason"])
             for c in json.loads(run("inspect", tmp_path / "t.csv", "--json").out)["columns"]}
    assert roles["target"][0] == "category" and "--label-column 'target'" in roles["target"][1]
    assert roles["outcome"][0] == "excluded" and "outcome" in roles["outcome"][1]
    assert roles["y"][0] == "feature" and roles["x"][0] == "feature"
    assert roles["visits"][0] == "feature"
    assert roles["ID"][0] == "identifier"
    assert roles["status code"][0] == "category"
    assert roles["Kundennummer"][0] == "excluded" and "shuffled counter" in \
        roles["Kundennummer"][1]
    r = run("kmeans", tmp_path / "t.csv", "-k", "2", "-c", "Kundennummer,x", "-o",
            tmp_path / "o", "-q")  # -c puts a left-out column back
    assert r.code == 0
    assert json.loads((tmp_path / "o" / "report.json").read_text())["features"] == \
        ["Kundennummer", "x"]


def test_a_clusters_difference_has_one_definition(tmp_path, run):
    """Issue 27, item 4: the report's "+N SD" is the cluster's mean minus the other rows'
    mean, in SDs of the feature over all rows (standardized units): computed here from the
    data and the assignments, for both commands; profiles.png draws the same numbers."""
    import json

    import numpy as np
    import pandas as pd
    from conftest import blobs_csv

    data = blobs_csv(tmp_path / "b.csv")
    frame = pd.read_csv(data)
    for command in ("kmeans", "som"):
        assert run(command, data, "-k", "3", "-o", tmp_path / command, "-q").code == 0
        report = json.loads((tmp_path / command / "report.json").read_text())
        cluster = pd.read_csv(tmp_path / command / "assignments.csv")["cluster"].to_numpy()
        for c in report["clusters"]:
            mine = cluster == c["cluster"]
            for a in c["distinguishing"]:
                v = frame[a["feature"]].to_numpy()
                want = (v[mine].mean() - v[~mine].mean()) / v.std(ddof=1)
                assert np.isclose(a["effect"], want, rtol=1e-9), (command, a, want)


def test_roles_from_totals_added_block_by_block_are_the_whole_tables():
    """What the Dask engine decides from (each column's totals over its partitions, in row
    order) gives every column the decision the whole table gives: counters, restarting
    counters, shuffled codes, ids, calendar fields, labels, categories, constants, units,
    dates, gaps, flags, and the sample tables."""
    from conftest import SAMPLES

    from somcli.config import ColumnOptions, ReadOptions
    from somcli.io.read import read_table
    from somcli.prep import column_totals as CT
    from somcli.prep import roles as R

    rng = np.random.default_rng(1)
    n = 3000
    synthetic = pd.DataFrame({
        "row": np.arange(1, n + 1), "Kundennummer": rng.permutation(n) + 5000,
        "customer_id": np.arange(n) * 3, "visit": np.tile(np.arange(1, 31), n // 30),
        "year": rng.integers(1990, 2020, n), "month": rng.integers(1, 13, n),
        "x": rng.normal(size=n), "k": rng.integers(0, 5, n), "const": 7,
        "flag": rng.random(n) > 0.5, "cat": rng.choice(["a", "b", "c"], n),
        "name": [f"n{i}" for i in range(n)], "zip": rng.integers(10000, 99999, n),
        "target": rng.integers(0, 3, n), "gappy": np.where(rng.random(n) < 0.7, np.nan, 1.0),
        "tiny": 1 + rng.random(n) * 1e-17, "money": [f"${v:,.2f}" for v in rng.random(n) * 5e3],
        "stock": [f"{v:,}" for v in rng.integers(1000, 90_000, n)],  # whole, with a unit rule
        "day": pd.date_range("2020-01-01", periods=n).strftime("%Y-%m-%d"),
        "group_type": rng.integers(1, 4, n)})
    tables = [synthetic] + [read_table(ReadOptions(inputs=(str(SAMPLES / f),))).frame
                            for f in ("countries_health_inflation.csv", "movies_ratings.csv")]
    for frame in tables:
        lines = np.arange(len(frame)) + 2
        whole = R.decide(frame, lines, ColumnOptions(), ".", strict=False)
        spec = [(d.name, d.kind, d.rule) for d in whole.decisions]
        blocks = [CT.block_totals(frame.iloc[rows].reset_index(drop=True), spec, ".")
                  for rows in np.array_split(np.arange(len(frame)), 4)]
        totals = CT.combine(blocks)
        for d in whole.decisions:
            if CT.needs_exact_count(totals[d.name], d.unique, len(frame)):
                totals[d.name] = CT.counted(totals[d.name], int(frame[d.name].nunique()))
        added = R.decide(frame, lines, ColumnOptions(), ".", strict=False, totals=totals)
        assert [(d.kind, d.role, d.reason) for d in added.decisions] == \
            [(d.kind, d.role, d.reason) for d in whole.decisions]
    roles = {d.name: d.role for d in R.decide(synthetic, np.arange(n) + 2, ColumnOptions(),
                                              ".", strict=False).decisions}
    assert roles["row"] == roles["Kundennummer"] == roles["visit"] == "excluded"
    assert roles["customer_id"] == "identifier" and roles["x"] == "feature"
