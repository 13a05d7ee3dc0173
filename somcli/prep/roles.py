"""Column roles: which columns are features, identifiers, a label, or left out, and why.

Every decision carries its reason, so the report can say what happened to each
column. Rules, in order: explicit options (-c, -C, --id-column, --label-column);
then text columns are dates, categories (few repeated values) or identifiers, and are
carried into the outputs; constant and mostly-missing columns are excluded; numbers
that are not measurements (counters, calendar fields, codes: see
:mod:`somcli.prep.column_rules`) are left out with the reason and the way back (-c);
numbers written as text with one unit are parsed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from somcli.config import ColumnOptions
from somcli.errors import DataError, UsageError
from somcli.prep import column_rules as CR
from somcli.prep.column_totals import Totals, facts_of
from somcli.prep.units import UnitRule, read_text_column, source_of

FEATURE, IDENTIFIER, LABEL, EXCLUDED = "feature", "identifier", "label", "excluded"
CATEGORY, DATE = "category", "date"
CARRIED = (IDENTIFIER, CATEGORY, DATE)  # roles whose columns go into the outputs as they are
NUMERIC = "numeric"  # _kind's word for a plain numeric column, before _facts names it
_ID_NAME = re.compile(r"(^|[^a-z])(id|key|code|uuid)$", re.IGNORECASE)
_CAMEL_ID = re.compile(r"[a-z](ID|Id)$")


@dataclass(frozen=True)
class ColumnDecision:
    position: int  # 1-based, as in the file
    name: str
    kind: str  # number, integer, text, boolean, empty
    role: str
    reason: str
    missing: int
    unique: int | None  # None: not counted (a float column of more than 100,000 rows)
    rule: UnitRule | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rule"] = self.rule.to_dict() if self.rule else None
        return d


@dataclass
class Roles:
    decisions: list[ColumnDecision]
    features: list[str]
    ids: list[str]
    label: str | None
    values: dict[str, np.ndarray]  # float64 feature values (units parsed), by feature name
    warnings: list[str] = field(default_factory=list)  # borderline decisions, for the report
    encoded: dict[str, UnitRule] = field(default_factory=dict)  # indicator feature -> rule
    names: list[str] = field(default_factory=list)  # the identifiers that name a row: naming()
    every: list[str] | None = None  # -a: every input column, carried into the assignments

    @property
    def carried(self) -> list[str]:
        """Identifier, category and date columns: carried into the outputs as they are."""
        return [d.name for d in self.decisions if d.role in CARRIED]

    @property
    def shown(self) -> list[str]:
        """The input columns the assignments carry: every one with -a, else the identifier,
        category, date and label columns."""
        if self.every is not None:
            return list(self.every)
        return self.carried + ([self.label] if self.label and self.label not in self.carried
                               else [])

    @property
    def sources(self) -> list[str]:
        """The columns the features are read from (a one-hot category once)."""
        return list(dict.fromkeys(source_of(f, self.encoded) for f in self.features))

    @property
    def categories(self) -> list[str]:
        return [d.name for d in self.decisions if d.role == CATEGORY]

    @property
    def rules(self) -> dict[str, UnitRule]:
        return {d.name: d.rule for d in self.decisions
                if d.rule is not None and d.role == FEATURE} | self.encoded

    def decision(self, name: str) -> ColumnDecision:
        return next(d for d in self.decisions if d.name == name)


def select(spec: str | None, columns: list[str], option: str) -> list[str]:
    """Resolve "-c" style lists: names, 1-based indices and ranges like 2-4."""
    if spec is None:
        return []
    if spec in columns:
        return [spec]
    chosen: list[str] = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        if token in columns:
            chosen.append(token)
        elif token.isdigit() and 1 <= int(token) <= len(columns):
            chosen.append(columns[int(token) - 1])
        elif re.fullmatch(r"\d+-\d+", token):
            lo, hi = (int(x) for x in token.split("-"))
            if not (1 <= lo <= hi <= len(columns)):
                raise UsageError(f"{option} {token}: the range is outside 1-{len(columns)}")
            chosen.extend(columns[lo - 1:hi])
        else:
            raise UsageError(f"{option}: no column '{token}'",
                             "the columns are: " + ", ".join(map(repr, columns)))
    return list(dict.fromkeys(chosen))


def decide(frame: pd.DataFrame, lines: np.ndarray, opts: ColumnOptions, decimal: str,
           strict: bool = True, levels: dict[str, list[str]] | None = None,
           totals: dict[str, Totals] | None = None) -> Roles:
    """Decide every column's role. ``strict=False`` (inspect) reports problems as reasons
    instead of raising, and accepts a table without features. Where ``frame`` is a sample
    of the table (the Dask engine's): ``levels``, a one-hot category's values, and
    ``totals``, each column's counts and facts over every row
    (:mod:`somcli.prep.column_totals`), which the rules then read instead of the sample's."""
    columns = [str(c) for c in frame.columns]
    explicit = select(opts.columns, columns, "-c/--columns")
    dropped = set(select(opts.not_columns, columns, "-C/--not-columns"))
    forced_ids = set()
    for name in opts.id_columns:
        forced_ids.update(select(name, columns, "--id-column"))
    label = None
    if opts.label_column is not None:
        (label,) = select(opts.label_column, columns, "--label-column")[:1] or [None]
    for name in explicit:
        if name in forced_ids or name == label:
            raise UsageError(f"column '{name}' is both a feature (-c) and an identifier or label")
    n = len(frame)
    warnings: list[str] = []
    decisions: list[ColumnDecision] = []
    values: dict[str, np.ndarray] = {}
    for pos, name in enumerate(columns, start=1):
        series = frame[name]
        t = totals.get(name) if totals else None
        missing = t.missing if t else int(series.isna().sum())
        unique = t.unique if t else _distinct(series)
        rows = t.n if t else n
        set_aside = (name in forced_ids or name == label or name in dropped
                     or bool(explicit and name not in explicit))
        try:
            try:
                kind, numbers, rule = _kind(series, name, lines, decimal, name in explicit,
                                            [] if set_aside else warnings)
            except DataError:
                if not set_aside:
                    raise
                kind, numbers, rule = "text", None, None
            kind, numbers, facts = _facts(kind, numbers, t, n)
            role, reason = _role(name, kind, facts, numbers, missing, unique, rows, opts,
                                 explicit, dropped, forced_ids, label, warnings)
            if role == IDENTIFIER and kind == "text" and name not in forced_ids:
                role, reason = _text_role(name, series, unique, rows)
        except DataError as exc:
            if strict:
                raise
            kind, numbers, rule, role, reason = "text", None, None, EXCLUDED, exc.one_line()
        if role == FEATURE:
            values[name] = numbers
            if rule is not None:
                reason += "; " + (rule.describe() or "numbers stored as text")
        decisions.append(ColumnDecision(pos, name, kind, role, reason, missing, unique,
                                        rule if role == FEATURE else None))
    encoded = _one_hot(frame, decisions, values, explicit, opts, decimal, levels or {})
    order = explicit or [d.name for d in decisions if d.role in (FEATURE, CATEGORY)]
    order = [f for name in order for f in ([r for r in encoded if encoded[r].source == name]
                                           or [name])]
    features = [c for c in order if c in values]
    if not features and strict:
        summary = "; ".join(f"{d.name}: {d.reason}" for d in decisions[:6])
        raise DataError("no numeric column to cluster (" + summary + ")",
                        "choose columns with -c, or check the delimiter with -d")
    ids = [d.name for d in decisions if d.role == IDENTIFIER]
    return Roles(decisions, features, ids, label, {c: values[c] for c in features}, warnings,
                 encoded, naming(frame, ids))


def naming(frame: pd.DataFrame, ids: list[str]) -> list[str]:
    """The identifiers the report names a row by: the one with the most distinct values
    (the first of equals), and the next most distinct too when the first repeats."""
    counts = {c: frame[c].nunique() for c in ids}
    ranked = sorted(ids, key=lambda c: -counts[c])
    if not ranked:
        return []
    first = ranked[0]
    return ranked[:1] if counts[first] >= frame[first].notna().sum() else ranked[:2]


def _one_hot(frame, decisions, values, explicit, opts, decimal, known) -> dict[str, UnitRule]:
    """Category columns as indicator features (``--categorical onehot``, or a category
    named in -c): one per value, ``column=value``; fills ``values`` and returns the rules."""
    from somcli.prep.units import category_text, indicator

    encoded: dict[str, UnitRule] = {}
    for i, d in enumerate(decisions):
        wanted = d.name in explicit or (not explicit and opts.categorical == "onehot")
        if d.role != CATEGORY or not wanted:
            continue
        series = frame[d.name]
        levels = known.get(d.name) or sorted(set(category_text(series).dropna()))
        for level in levels:
            name = f"{d.name}={level}"
            encoded[name] = UnitRule("", False, decimal, source=d.name, level=level)
            values[name] = indicator(series, level)
        how = "named in -c" if d.name in explicit else "--categorical onehot"
        decisions[i] = replace(d, reason=f"category of {len(levels)} values, one-hot encoded as "
                               f"{len(levels)} features weighted like one column ({how})")
    return encoded


def _kind(series, name, lines, decimal, explicit, warnings=None):
    """(kind, float values or None, unit rule); raises DataError for mixed columns; a
    column of numbers with decimal points under the decimal comma is text, with a warning
    (``warnings``)."""
    if series.isna().all():
        return "empty", None, None
    if pd.api.types.is_bool_dtype(series):
        return "boolean", series.astype(float).to_numpy(), None
    if pd.api.types.is_numeric_dtype(series):
        dtype = series.dtype if series.dtype in (np.float32, np.float64) else np.float64
        numbers = series.to_numpy(dtype=dtype, na_value=np.nan)  # a view for float columns
        return NUMERIC, numbers, None  # integer or number: by its facts (_facts)
    text = read_text_column(series, decimal)
    if text.values is not None:
        return "number", text.values, text.rule
    if explicit and (fmt := CR.date_format(series)) is not None:  # a date named in -c
        from somcli.prep.units import days

        return "date", days(series, fmt), UnitRule("", False, decimal, date=fmt)
    if text.other_mark and decimal == ",":  # (was silently text: a feature lost without a
        if warnings is not None:  # word; not refused: codes such as 4.2 or times such
            warnings.append(  # as 12.30 read the same way, and are text)
                f"column '{name}' holds numbers with decimal points ('{text.first_bad[1]}') "
                "but the decimal mark is ',': kept as text, not a feature (pass --decimal . "
                "if the file writes its numbers so, or write the column with commas)")
        return "text", None, None
    if text.numeric_share >= 0.5 or text.other_mark:
        _refuse_mixed(name, text, lines)
    return "text", None, None


def _refuse_mixed(name, text, lines):
    if text.other_mark:
        raise DataError(f"column '{name}' holds numbers with decimal commas ('{text.first_bad[1]}')",
                        f"pass --decimal , (and -d ';' if needed), or leave it out with -C '{name}'")
    if text.first_bad is None:
        raise DataError(f"column '{name}' mixes units (e.g. % and $)",
                        f"clean the column, or leave it out with -C '{name}'")
    row, value = text.first_bad
    shown = value if len(value) <= 40 else value[:37] + "..."
    raise DataError(
        f"column '{name}' is mostly numbers but line {int(lines[row])} holds '{shown}'",
        f"mark such values missing with --na-values '{shown}', leave the column out with "
        f"-C '{name}', or keep it as an identifier with --id-column '{name}'",
    )


def _facts(kind: str, numbers, t: Totals | None, n: int):
    """(kind, numbers, facts): the facts of the sample's ``n`` numbers, or of every row
    (``t``); a plain numeric column is an integer one when every value is whole, and a
    column empty in the sample may hold numbers or text later."""
    if t is None or t.facts is None:
        f = facts_of(numbers) if numbers is not None else None
    else:
        f = t.facts
        if kind == "empty" and t.missing < t.n:  # values only after the sample
            if not f.finite:
                return "text", None, None
            kind, numbers = NUMERIC, np.full(n, np.nan)  # the sample's rows are gaps
    if kind == NUMERIC:
        kind = "integer" if f.integral else "number"
    return kind, numbers, f


def _role(name, kind, facts, numbers, missing, unique, n, opts, explicit, dropped, forced_ids,
          label, warnings):
    if name == label:
        return LABEL, "known classes (--label-column): used only to score the clusters"
    if name in forced_ids:
        return IDENTIFIER, "identifier (--id-column)"
    if name in dropped:
        return EXCLUDED, "left out (-C/--not-columns)"
    if explicit and name not in explicit:  # -c picks features; identifiers stay carried
        if kind == "text":
            return IDENTIFIER, "text"
        if kind == "integer" and _is_integer_id(name, numbers, missing, unique, n):
            return IDENTIFIER, "integer identifier (named like an id, every value unique)"
        return EXCLUDED, "not listed in -c/--columns"
    if kind == "empty":
        if name in explicit:
            raise DataError(f"column '{name}' has no values", "drop it from -c")
        return EXCLUDED, "every value is missing"
    if kind == "text":
        if name in explicit and CR.is_category(unique, n):
            return CATEGORY, "category (named in -c)"
        if name in explicit:
            raise DataError(f"column '{name}' holds text, not numbers: somcli clusters numeric "
                            "columns", f"drop '{name}' from -c (text columns are carried into "
                            "the outputs, and a text column of a few repeated values is "
                            "profiled per cluster as a category)")
        return IDENTIFIER, "text"
    if name in explicit:
        return FEATURE, "numeric (chosen with -c)"
    if missing / n > opts.max_missing:
        return EXCLUDED, (f"{missing} of {n} values missing ({missing / n:.0%}), more than "
                          f"--max-missing {opts.max_missing:g}")
    if facts is not None and facts.finite == 0:  # as an all-missing column
        return EXCLUDED, "no finite value: every value is infinite or too large to compute with"
    if unique == 1 or (facts is not None and facts.lo == facts.hi):
        return EXCLUDED, "constant: every value is the same"
    if facts is not None and CR.no_spread(facts):
        return EXCLUDED, ("constant: the values differ by less than the arithmetic's "
                          "resolution (the scaler could not tell them apart)")
    back = f"; -c '{name}' uses it as a feature"
    if kind == "integer" and CR.row_counter(facts):
        start = int(facts.first)
        return EXCLUDED, f"row counter ({start}..{start + n - 1} in order), not a measurement"
    if kind == "integer" and _is_integer_id(name, numbers, missing, unique, n):
        return IDENTIFIER, "integer identifier (named like an id, every value unique)"
    if kind == "integer" and CR.is_label_name(name, unique, n):
        if CR.is_category(unique, n):
            return CATEGORY, (f"named like a label ({unique} classes): carried and profiled "
                              f"per cluster, not a feature; --label-column '{name}' scores "
                              "the clusters against it" + back)
        return EXCLUDED, (f"named like an outcome ({unique if unique is not None else 'many'} "
                          "values), not a measurement" + back)
    if kind == "integer" and _looks_like_id(name) and not CR.is_category(unique, n, name,
                                                                           integer=True):
        return IDENTIFIER, ("integer identifier (named like an id; its values repeat, as "
                            "one id per group does)" + back)
    if kind == "integer" and CR.shuffled_counter(facts, unique):  # (a gap or two allowed)
        return EXCLUDED, (f"distinct integers filling {int(facts.lo)}.."
                          f"{int(facts.hi)} in any order: a shuffled counter or code, "
                          "not a measurement" + back)
    if kind == "integer" and missing == 0 and (groups := CR.counter_groups(facts)):
        return EXCLUDED, (f"counter (1, 2, 3, ... restarting in each of {groups} groups), "
                          "not a measurement" + back)
    if kind == "integer":
        field_, named = CR.calendar_field(name, facts, unique)
        if named:
            return EXCLUDED, (f"calendar field ({field_}, {int(facts.lo)}.."
                              f"{int(facts.hi)}), not a measurement" + back)
        if field_:
            warnings.append(f"column '{name}' holds values like years ({int(facts.lo)}.."
                            f"{int(facts.hi)}) and is used as a number; if it is a "
                            f"calendar field, leave it out with -C '{name}'")
        if CR.is_code_name(name):
            return EXCLUDED, "a code (named like a number, zip or phone), not a quantity" + back
        if CR.is_category(unique, n, name, integer=True):
            return CATEGORY, (f"category: {unique} integer codes named like a type or group, "
                              "carried and profiled per cluster" + back)
    return FEATURE, "numeric"


def _text_role(name, series, unique, n) -> tuple[str, str]:
    """A text column: constant, a date, a category (few repeated values) or an identifier."""
    if unique == 1 and series.notna().all():
        return EXCLUDED, "constant: every value is the same"
    fmt = CR.date_format(series)
    if fmt is not None:
        return DATE, f"date ({fmt}): carried into the outputs, not a feature"
    if CR.is_category(unique, n):
        hint = (f"; --label-column '{name}' scores the clusters against it"
                if CR.is_label_name(name, unique, n) else "")
        return CATEGORY, (f"category: {unique} values, each repeated; carried into the outputs "
                          "and profiled per cluster, not a feature" + hint)
    return IDENTIFIER, "text: carried into the outputs as an identifier, never a feature"


DISTINCT_LIMIT = 100_000


def _distinct(series: pd.Series) -> int | None:
    """Distinct values, counted for text and integer-like columns and for floats up to
    100,000 rows (a hash of every float of a big column costs more than it tells)."""
    if len(series) > DISTINCT_LIMIT and pd.api.types.is_float_dtype(series):
        return None
    return int(series.nunique(dropna=True))


def _is_integer_id(name, numbers, missing, unique, n) -> bool:
    return missing == 0 and _looks_like_id(name) and \
        (unique if unique is not None else int(pd.Series(numbers).nunique())) == n


def _looks_like_id(name: str) -> bool:
    return bool(_ID_NAME.search(name.strip()) or _CAMEL_ID.search(name.strip()))
