"""Numbers stored as text: "5.8%", "1,234", "$12", "12 EUR"-free symbols only.

A column is parsed only when every non-missing value is a number written one
unambiguous way: at most one unit symbol across the column, thousands
separators only in valid groups of three. Anything else stays text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

CURRENCY = "$€£¥"
#: decimal mark -> the thousands separators beside it: 1,234.5 and the Swiss 1'234.5;
#: 1.234,5, 1 234,5 with a (narrow) no-break space as French writes it, 1'234,5
THOUSANDS = {".": ",'\u2019", ",": ". \u00a0\u202f'\u2019"}
_NUM = {  # (a group never starts with 0: 0,670 is a decimal)
    mark: rf"(?P<num>[1-9]\d{{0,2}}(?:[{seps}]\d{{3}})+(?:\{mark}\d+)?|\d+(?:\{mark}\d*)?"
          rf"|\{mark}\d+)"
    for mark, seps in THOUSANDS.items()}
_EXP = r"(?P<exp>[eE][-+]?\d+)?"


def _pattern(decimal: str) -> re.Pattern[str]:
    """A number with at most one sign (the typographic minus, U+2212, too), one unit
    symbol before or after, and, as accountants write a negative amount, parentheses
    around it all: (1,234.50); or the minus after it, as SAP exports write it: 1.234,50-."""
    return re.compile(
        rf"^(?P<open>\(?)\s*(?P<sign1>[-+\u2212]?)\s*(?P<pre>[{CURRENCY}]?)\s*(?P<sign2>[-+\u2212]?)"
        rf"{_NUM[decimal]}{_EXP}(?P<trail>[-\u2212]?)\s*(?P<post>%|[{CURRENCY}]?)\s*"
        rf"(?P<close>\)?)$"
    )


def _valid(m: re.Match[str] | None) -> bool:
    """One sign at most (before or after), one unit symbol at most, parentheses both or
    neither (and then no sign)."""
    return m is not None and len(m["sign1"] + m["sign2"] + m["trail"]) <= 1 \
        and not (m["pre"] and m["post"]) and bool(m["open"]) == bool(m["close"]) \
        and not (m["open"] and (m["sign1"] or m["sign2"] or m["trail"]))


_PATTERNS = {d: _pattern(d) for d in _NUM}
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3])\.[0-5]\d$")  # 08.30: a time of day, not 8.3


@dataclass(frozen=True)
class UnitRule:
    """How a text column was read as numbers; replayed on new data by ``assign``."""

    unit: str  # "%", "$", ... or "" (thousands separators only)
    thousands: bool
    decimal: str
    date: str = ""  # a strptime format: dates read as days since 1970-01-01
    source: str = ""  # an indicator feature: the category column it reads ...
    level: str = ""  # ... and the value it marks (1 for that value, 0 for another)
    negative: bool = False  # some values were negative amounts in parentheses: (1,234)
    trailing: bool = False  # some values were negative with the minus after them: 1.234-

    def describe(self) -> str:
        if self.source:
            return f"1 where '{self.source}' is '{self.level}', else 0"
        if self.date:
            return f"dates ({self.date}) read as days since 1970-01-01"
        parts = []
        if self.unit == "%":
            parts.append("percent sign removed (5.8% is read as 5.8)")
        elif self.unit:
            parts.append(f"currency sign '{self.unit}' removed")
        if self.thousands:
            parts.append("thousands separators removed")
        if self.negative:
            parts.append("amounts in parentheses read as negative ((12) is -12)")
        if self.trailing:
            parts.append("a minus after the number read as negative (12- is -12)")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        out = {"unit": self.unit, "thousands": self.thousands, "decimal": self.decimal}
        out |= {"date": self.date} if self.date else {}
        out |= {"negative": True} if self.negative else {}
        out |= {"trailing": True} if self.trailing else {}
        return out | ({"source": self.source, "level": self.level} if self.source else {})

    @classmethod
    def from_dict(cls, d: dict) -> UnitRule:
        return cls(str(d["unit"]), bool(d["thousands"]), str(d["decimal"]), str(d.get("date", "")),
                   str(d.get("source", "")), str(d.get("level", "")),
                   bool(d.get("negative", False)), bool(d.get("trailing", False)))


@dataclass(frozen=True)
class TextColumn:
    """What a text column holds: numbers under a rule, or not numbers (and where not)."""

    values: np.ndarray | None  # float64 when every value parsed
    rule: UnitRule | None
    numeric_share: float  # share of non-missing values that parse
    first_bad: tuple[int, str] | None  # (row position, value) of the first failure
    other_mark: bool  # all values are numbers written with the other decimal mark (1,5
    #                   while the mark is '.', 7.5% while it is ',')


def read_text_column(series: pd.Series, decimal: str) -> TextColumn:
    """Try to read a text column as numbers with one unit symbol."""
    present = series.dropna()
    strings = present.astype(str).str.strip()
    pattern = _PATTERNS[decimal]
    units: set[str] = set()
    thousands = negative = trailing = False
    out = np.full(len(series), np.nan)
    positions = np.flatnonzero(series.notna().to_numpy())
    n_ok = 0
    first_bad = None
    for pos, text in zip(positions, strings, strict=True):
        m = pattern.match(text)
        if not _valid(m):
            if first_bad is None:
                first_bad = (int(pos), text)
            continue
        unit = m["pre"] or m["post"]
        if unit:
            units.add(unit)
        num = m["num"]
        grouped = _has_groups(num, decimal)
        thousands |= grouped
        negative |= bool(m["open"])
        trailing |= bool(m["trail"])
        out[pos] = _to_float(m, decimal)
        n_ok += 1
    share = n_ok / len(strings) if len(strings) else 0.0
    if first_bad is None and len(units) <= 1 and len(strings):
        rule = UnitRule(units.pop() if units else "", thousands, decimal, negative=negative,
                        trailing=trailing)
        return TextColumn(out, rule, 1.0, None, False)
    return TextColumn(None, None, share, first_bad, _other_mark(strings, decimal))


def _other_mark(strings: pd.Series, decimal: str) -> bool:
    """Every value reads as a number written with the other decimal mark, and one at least
    has that mark: "1,5", "1.234,56", "12,5 %" while the mark is '.', or "7.5%", "0.25"
    while it is ',' (a column that failed to read with the file's mark; times of day such
    as "08.30" are not numbers). The column's
    numbers were written the other way: a table that mixes the two, or the wrong mark."""
    if not len(strings):
        return False
    other_mark = "," if decimal == "." else "."
    if decimal == "." and bool(strings.str.match(_DECIMAL_COMMA).all()):
        return True
    if decimal == "," and bool(strings.str.match(_CLOCK).all()):
        return False  # times of day written with a dot, as a comma country writes them
    other = _PATTERNS[other_mark]
    return bool(strings.str.contains(other_mark, regex=False).any()) and all(
        _valid(other.match(text)) for text in strings)


def apply_rule(series: pd.Series, rule: UnitRule) -> np.ndarray:
    """Replay a stored rule; values that do not fit become NaN (counted as missing)."""
    if rule.source:
        return indicator(series, rule.level)
    if rule.date:
        return days(series, rule.date)
    pattern = _PATTERNS[rule.decimal]
    out = np.full(len(series), np.nan)
    for pos, value in enumerate(series.to_numpy()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, int | float | np.number):
            out[pos] = float(value)
            continue
        m = pattern.match(str(value).strip())
        if _valid(m) and (m["pre"] or m["post"]) in ("", rule.unit):
            out[pos] = _to_float(m, rule.decimal)
    return out


def source_of(feature: str, rules: dict) -> str:
    """The input column a feature is read from: its own, or a one-hot category's."""
    rule = rules.get(feature)
    return rule.source if rule is not None and rule.source else feature


def category_text(series: pd.Series) -> pd.Series:
    """A category column's values as text (integer codes too), missing kept missing."""
    text = series.astype(object).where(series.notna(), None)
    return text.map(lambda v: v if v is None else (str(int(v)) if isinstance(v, float) and
                                                    float(v).is_integer() else str(v)))


def indicator(series: pd.Series, level: str) -> np.ndarray:
    """1.0 where the column holds ``level``, 0.0 where it holds another value, NaN where
    it holds none."""
    text = category_text(series)
    return np.where(text.isna(), np.nan, (text == level).astype(float)).astype(np.float64)


EPOCH = np.datetime64("1970-01-01T00:00:00")


def days(series: pd.Series, fmt: str) -> np.ndarray:
    """Dates written in ``fmt`` as days since 1970-01-01 (fractions for times); NaN for
    values that are not such dates."""
    parsed = pd.to_datetime(series.astype(object).where(series.notna(), None), format=fmt,
                            errors="coerce")
    stamps = parsed.to_numpy(dtype="datetime64[ns]")
    out = (stamps - EPOCH) / np.timedelta64(1, "D")
    return np.where(np.isnat(stamps), np.nan, out).astype(np.float64)


def _has_groups(num: str, decimal: str) -> bool:
    integer = num.split(decimal)[0]
    return any(c in integer for c in THOUSANDS[decimal])


def _to_float(m: re.Match[str], decimal: str) -> float:
    num = m["num"]
    integer, _, frac = num.partition(decimal)
    integer = "".join(c for c in integer if c not in THOUSANDS[decimal])
    text = f"{integer or '0'}.{frac or '0'}"
    sign = -1.0 if set(m["sign1"] + m["sign2"] + m["trail"]) & {"-", "\u2212"} or m["open"] \
        else 1.0
    return sign * float(text + (m["exp"] or ""))
