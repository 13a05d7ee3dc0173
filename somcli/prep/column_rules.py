"""The statistician's rules for columns that hold numbers which are not measurements, and
for text columns that are categories or dates. Each rule reads a column's values and its
name; none knows any particular table.

- counters: integers that go up by one row after row (1, 2, 3, ...), also when they
  restart for each group (1..50, 1..50, ...);
- calendar fields: a name that says year, month, day, week, hour or quarter *and*
  values in that field's range (a name alone, or values alone, only warn);
- codes: integers named like a number or code that is not a quantity (zip, postal code,
  PLZ, phone, Telefon, "... number", "... no");
- categories: text (or integer codes named like a type or group) with few distinct
  values, each repeated;
- labels: integers named like the answer a table was made to predict (target, label,
  class, outcome...): a category (few values) or left out, with the --label-column hint;
- shuffled counters: distinct integers filling a consecutive range in any order;
- dates: text that parses as dates (ISO 8601 and the common day/month orders).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from somcli.prep.column_totals import Facts

CATEGORY_MAX_LEVELS = 50  # more distinct values than this: not a category
CATEGORY_MIN_REPEAT = 3  # rows per distinct value, on average, at least
COUNTER_MIN_ROWS = 10
COUNTER_STEP_SHARE = 0.9  # share of consecutive rows that go up by exactly one

_SEP = r"(^|[^a-z])"
CALENDAR = {  # field -> (name pattern, lowest, highest value)
    "year": (re.compile(_SEP + r"(year|yr|yyyy)s?$", re.I), 1800, 2200),
    "quarter": (re.compile(_SEP + r"(quarter|qtr)$", re.I), 1, 4),
    "month": (re.compile(_SEP + r"(month|mon|mnth|mm)$", re.I), 1, 12),
    "week": (re.compile(_SEP + r"(week|wk|weeknum|weekofyear)$", re.I), 1, 53),
    "day": (re.compile(_SEP + r"(day|dd|dayofmonth|dom)$", re.I), 1, 31),
    "weekday": (re.compile(_SEP + r"(weekday|dow|dayofweek)$", re.I), 0, 7),
    "hour": (re.compile(_SEP + r"(hour|hr|hh)$", re.I), 0, 23),
    "minute": (re.compile(_SEP + r"(minute)s?$", re.I), 0, 59),
}
_CODE_NAME = re.compile(r"(zip|postal|postcode|postleitzahl|phone|telefon|fax)|nummer\.?$|" +
                        _SEP + r"(number|no|num|nr)\.?$|" + _SEP + r"(plz|tel)([^a-z]|$)", re.I)
_CATEGORY_NAME = re.compile(_SEP + r"(type|class|category|group|code|status|kind|region|"
                            r"origin|sex|gender)$", re.I)
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
                 "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y%m%d")
DATE_SAMPLE = 200


def counter_groups(f: Facts) -> int | None:
    """Number of runs when the integers count up by one and restart at their lowest value
    (1 for a plain row counter); None when they do not."""
    if f.n < COUNTER_MIN_ROWS or not f.all_finite:
        return None
    if f.ups / (f.n - 1) < COUNTER_STEP_SHARE:
        return None
    start = f.lo
    if f.restarts and not (f.restart_lo == start == f.restart_hi):
        return None
    if f.first != start or start not in (0, 1):
        return None
    return 1 + f.restarts


def row_counter(f: Facts) -> bool:
    """0, 1, 2, ... or 1, 2, 3, ... row after row, every row."""
    return f.n >= 3 and f.all_finite and f.first in (0, 1) and f.ups == f.n - 1


def calendar_field(name: str, f: Facts, distinct: int | None) -> tuple[str, bool]:
    """(field, named) for integer values in a calendar field's range: ``named`` when the
    name says so too. ("", False) when no field fits."""
    if f.finite == 0 or not f.whole:
        return "", False
    lo, hi = f.lo, f.hi
    for field, (pattern, low, high) in CALENDAR.items():
        if pattern.search(name.strip()) and low <= lo and hi <= high:
            return field, True
    if 1800 <= lo and hi <= 2200 and distinct is not None and distinct <= 30 and \
            f.finite >= CATEGORY_MIN_REPEAT * distinct:
        return "year", False  # values like years, repeated, named otherwise: a warning
    return "", False


_LABEL_NAMES = {"target", "label", "labels", "class", "classes", "truth", "ground_truth",
                "ground truth", "groundtruth", "outcome", "response"}


def is_label_name(name: str, distinct: int | None, n: int) -> bool:
    """Named like the answer a table was made to predict (``target``, ``label``, ``class``,
    ``truth``, ``outcome``, ``response``; ``y`` only with few repeated values: a y that
    varies is a coordinate)."""
    key = name.strip().lower()
    return key in _LABEL_NAMES or (key == "y" and is_category(distinct, n))


SHUFFLED_MIN_ROWS = 20
SHUFFLED_FILL = 0.95  # share of its range a column of distinct integers fills
SHUFFLED_REPEATS = 0.02  # share of rows that may repeat a value (duplicated rows of a table)
SHUFFLED_GAPS = 0.02  # share of rows that may have no value (one gap at least)


def shuffled_counter(f: Facts, distinct: int | None) -> bool:
    """Distinct integers that fill (nearly) a consecutive range, in any order: a row number
    or code after a sort or shuffle, whatever its name (``Kundennummer``). Measurements
    that happen to be a permutation of a range are vanishingly rare past 20 rows. A few
    repeats are allowed (a duplicated row repeats its code, and is reported as such), and
    a gap or two (the blank code of a totals row or of a row not yet numbered)."""
    present = f.finite
    if present < SHUFFLED_MIN_ROWS or distinct is None \
            or distinct < (1 - SHUFFLED_REPEATS) * present \
            or f.n - present > max(1.0, SHUFFLED_GAPS * f.n):
        return False
    return distinct >= SHUFFLED_FILL * (f.hi - f.lo + 1)


def no_spread(f: Facts) -> bool:
    """The scaler's rule for a constant column (scikit-learn's): a spread within a few
    float64 steps of the values' size, or of 1 for values below 1 (subnormal ones too)."""
    return not f.hi - f.lo > 10 * np.finfo(np.float64).eps * max(abs(f.mean), 1.0)


def is_code_name(name: str) -> bool:
    return bool(_CODE_NAME.search(name.strip()))


def is_category(distinct: int | None, n: int, name: str = "", integer: bool = False) -> bool:
    """Few distinct values, each repeated (for integers, also a name that says so)."""
    if distinct is None or distinct < 2 or distinct > CATEGORY_MAX_LEVELS:
        return False
    if distinct * CATEGORY_MIN_REPEAT > n:
        return False
    return not integer or bool(_CATEGORY_NAME.search(name.strip()))


def date_format(series: pd.Series) -> str | None:
    """The format every value (of a sample) parses with, or None."""
    present = series.dropna().astype(str).str.strip()
    present = present[present != ""]
    if present.empty:
        return None
    sample = present.iloc[:DATE_SAMPLE]
    if not sample.str.match(r"^\d{1,4}[-/.]?\d{1,2}[-/.]?\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$").all():
        return None
    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None
