"""The input's feature values, exactly, beside the scaled matrix (issue 14 #6).

Outputs that quote the input (``outliers.csv``, the cluster means in the report) must give
the values the file holds, not a float32 round trip of them (7.504633374180918, not
7.504633671519322; 1, not 1.000000071). Keeping every value a second time in float64
would triple a float32 run's matrix, so each block keeps only what the scaled matrix
cannot give back:

* a column whose values were written with few decimal places or few significant digits
  (most tables: prices, counts, rates) is recovered from the scaled matrix by rounding to
  that many places or digits, checked on every value when the block is made;
* a column that does not come back that way (17-digit values in a float32 run) is kept
  as it was read, in float64;
* in a float64 run, a column of such values mostly comes back from the matrix exactly:
  only the values that do not (a few percent) are kept, with their rows;
* the cells that were missing are kept as row positions, so a quote of a filled gap is
  empty, as in the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_DIGITS = 15  # a float64 holds any 15-digit decimal exactly
_EXACT_POWERS = 22  # 10**22 is the largest power of ten a float64 holds exactly


@dataclass
class Quotes:
    """What one block needs to give back its rows' input values."""

    rounding: list  # per feature: ("places", P) or ("digits", D) to round to, or None
    kept: dict[int, np.ndarray] = field(default_factory=dict)  # feature -> values as read
    places: dict[int, int] = field(default_factory=dict)  # kept feature -> its decimal places
    #: feature -> (the values times 10**P as int32, P): a column of P-place decimals the
    #: scaled matrix cannot give back (float32 runs), in half the memory of keeping it
    scaled: dict[int, tuple] = field(default_factory=dict)
    fixes: dict[int, tuple] = field(default_factory=dict)  # feature -> (rows, values as read)
    gaps: dict[int, np.ndarray] = field(default_factory=dict)  # feature -> missing rows

    def compact(self) -> None:
        """Keep each kept column of P-place decimals as int32 x 10**P where they fit: once
        the table as read is gone, its column is freed (4M x 10 in float32: 107 MB less
        for the rest of the run; made during cleaning it raised the peak instead)."""
        for j, places in list(self.places.items()):
            raw = self.kept[j]
            gaps = np.isnan(raw)
            ints = _as_int32(raw, gaps, places)
            if ints is not None:
                self.scaled[j] = (ints, places)
                if gaps.any():
                    self.gaps[j] = np.flatnonzero(gaps)
                del self.kept[j]
            del self.places[j]


def round_to(values: np.ndarray, how: tuple[str, int]) -> np.ndarray:
    """``values`` rounded to ``P`` decimal places or ``D`` significant digits, each the
    float64 nearest that decimal (an integer divided by an exact power of ten: both
    correctly rounded, so the result is what parsing the decimal gives)."""
    kind, n = how
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "places":  # one power for the column: the same numbers, a third the time
            p = int(np.clip(n, -_EXACT_POWERS, _EXACT_POWERS))
            power = 10.0 ** abs(p)
            out = values * power if p >= 0 else values / power  # one array, worked in place
            np.round(out, out=out)
            if p >= 0:
                out /= power
            else:
                out *= power
            out += 0.0
            return out
        magnitude = np.floor(np.log10(np.abs(values)))
        places = np.where(np.isfinite(magnitude), n - 1 - magnitude, 0)
        places = np.clip(places, -_EXACT_POWERS, _EXACT_POWERS)
        up = 10.0 ** np.maximum(places, 0)
        down = 10.0 ** np.maximum(-places, 0)
        out = np.where(places >= 0, np.round(values * up) / up, np.round(values / down) * down)
    return out + 0.0  # -0.0 (a tiny negative rounded) is written 0


CHUNK = 1 << 18  # rows compared at a time: a column's temporaries stay a few MB


def _chunks(n: int):
    return ((a, min(a + CHUNK, n)) for a in range(0, n, CHUNK))


def rounding_of(values: np.ndarray) -> tuple[str, int] | None:
    """The fewest decimal places, else significant digits, every value round-trips through
    (None: more than 15 digits). Found on a sample of the values, checked on them all."""
    sample = values[::max(1, len(values) // SAMPLE)]
    for kind in ("places", "digits"):
        found = _fewest(sample, kind)
        if found is not None and sample is not values:
            found = found if _holds(values, kind, found) else _fewest(values, kind, found + 1)
        if found is not None:
            return kind, found
    return None


def sampled_rounding(values: np.ndarray) -> tuple[str, int] | None:
    """What :func:`rounding_of` finds on its sample, before it checks every value: its
    answer whenever every value holds at it."""
    sample = values[::max(1, len(values) // SAMPLE)]
    for kind in ("places", "digits"):
        found = _fewest(sample, kind)
        if found is not None:
            return kind, found
    return None


SAMPLE = 4096  # values the search for a column's digits starts on
KEEP_ROWS = 2048  # blocks of at most this many rows keep their columns as read
FIXES = 0.1  # a column with more values than this share not coming back is kept whole


def _holds(values: np.ndarray, kind: str, n: int) -> bool:
    return all(np.array_equal(round_to(values[a:b], (kind, n)), values[a:b])
               for a, b in _chunks(len(values)))


def _fewest(values: np.ndarray, kind: str, low: int | None = None) -> int | None:
    high = MAX_DIGITS
    if kind == "places" and len(values):  # the scaled integers must stay below 2**53
        largest = max(float(np.max(np.abs(values))), 1.0)
        high = min(high, int(np.floor(np.log10(2.0**53 / largest))))
    low = (0 if kind == "places" else 1) if low is None else low
    if high < low or not _holds(values, kind, high):
        return None
    while low < high:  # the property holds from some n on: find the least
        mid = (low + high) // 2
        low, high = (low, mid) if _holds(values, kind, mid) else (mid + 1, high)
    return low


def build(raw_column, X: np.ndarray, center: np.ndarray, scale: np.ndarray,
          threads: int = 1, keep_rows: int = KEEP_ROWS) -> Quotes:
    """The quotes of one block: ``raw_column(j)`` gives feature ``j`` as read (float64,
    NaN or infinite where the cell was missing); ``X`` is the block's scaled matrix.
    Columns are looked at on ``threads`` threads (numpy's rounding releases the GIL); a
    block of at most ``keep_rows`` rows keeps them as read (the same values back)."""
    from somcli.runtime.parallel import ordered

    d = X.shape[1]
    quotes = Quotes([None] * d)
    if len(X) <= keep_rows:  # a short block keeps its columns as read: the search for each
        for j in range(d):  # column's digits cost 0.1 ms a column (1.1 s on 10,000 columns)
            raw = np.asarray(raw_column(j), dtype=np.float64)
            quotes.kept[j] = np.where(np.isfinite(raw), raw, np.nan)
        return quotes

    def back(j: int, a: int, b: int) -> np.ndarray:
        """Rows a..b of feature j as the scaled matrix gives them back."""
        return np.asarray(X[a:b, j], dtype=np.float64) * scale[j] + center[j]

    def column(j: int):
        raw = np.asarray(raw_column(j), dtype=np.float64)
        gaps = ~np.isfinite(raw)
        any_gap = bool(gaps.any())
        present = raw[~gaps] if any_gap else raw

        def comes_back(how) -> bool:  # every present value, by rounding the scaled one?
            for a, b in _chunks(len(raw)):
                got, want = back(j, a, b), raw[a:b]
                if any_gap:
                    keep = ~gaps[a:b]
                    got, want = got[keep], want[keep]
                if not np.array_equal(round_to(got, how), want):
                    return False
            return True

        # the sample's rounding, when every value comes back by it, is rounding_of's
        # answer (each value is then a rounded one, which rounds to itself): the check of
        # every value as read is spared (1M x 10: a third of this function's passes)
        how = found = sampled_rounding(present)
        if how is None or not comes_back(how):
            how = found = rounding_of(present)
            if how is not None and not comes_back(how):
                how = None
        if how is None:
            wrong, count = [], 0
            for a, b in _chunks(len(raw)):  # stops once too many do not come back
                rows = a + np.flatnonzero(~gaps[a:b] & (back(j, a, b) != raw[a:b]))
                wrong.append(rows)
                count += len(rows)
                if count > FIXES * len(raw):
                    break
            if count > FIXES * len(raw):
                places = found[1] if found is not None and found[0] == "places" else None
                if raw.flags.c_contiguous and not np.isinf(raw).any():
                    # the column as read, shared, not copied (a float32 run of 4M x 10
                    # six-decimal values kept every column: 305 MB more at its peak);
                    # compact() makes it int32 once the table as read is gone
                    return "kept", raw, None, places
                return "kept", np.where(gaps, np.nan, raw), None, places
            wrong = np.concatenate(wrong) if wrong else np.empty(0, np.int64)
            fixes = (wrong, raw[wrong])  # float64: most values come back as read
        else:
            fixes = None
        return how, fixes, np.flatnonzero(gaps) if any_gap else None, None

    with np.errstate(invalid="ignore", over="ignore"):
        for j, (how, values, gaps, places) in enumerate(ordered(column, range(d), threads)):
            if how == "kept":
                quotes.kept[j] = values
                if places is not None:
                    quotes.places[j] = places
                continue
            quotes.rounding[j] = how
            if values is not None:
                quotes.fixes[j] = values
            if gaps is not None:
                quotes.gaps[j] = gaps
    return quotes


def _as_int32(raw: np.ndarray, gaps: np.ndarray, places: int) -> np.ndarray | None:
    """The column times 10**places as int32 (gaps as 0: their rows are kept apart), or
    None when a value does not fit."""
    if places > _EXACT_POWERS:
        return None
    power = 10.0 ** places
    ints = np.empty(len(raw), dtype=np.int32)
    for a, b in _chunks(len(raw)):
        v = np.where(gaps[a:b], 0.0, raw[a:b]) * power
        np.round(v, out=v)
        if len(v) and float(np.max(np.abs(v))) >= 2**31:
            return None
        ints[a:b] = v
    return ints


def exact(X: np.ndarray, quotes: Quotes | None, center: np.ndarray, scale: np.ndarray,
          rows: np.ndarray | slice) -> np.ndarray:
    """The input values of ``rows`` of a block (float64, NaN where the cell was missing);
    without quotes, the scaled values taken back to the original units."""
    with np.errstate(invalid="ignore", over="ignore"):
        back = np.asarray(X[rows], dtype=np.float64) * scale + center
    if quotes is None:
        return back
    index = (np.arange(*rows.indices(len(X))) if isinstance(rows, slice)  # (not an arange
             else np.flatnonzero(rows) if np.asarray(rows).dtype == bool  # of every row
             else np.asarray(rows) % max(len(X), 1))  # per call)
    for j in range(back.shape[1]):
        if j in quotes.kept:
            back[:, j] = quotes.kept[j][index]
            continue
        if j in quotes.scaled:
            ints, places = quotes.scaled[j]
            back[:, j] = ints[index] / 10.0 ** places + 0.0  # as round_to gives it
        elif quotes.rounding[j] is not None:
            back[:, j] = round_to(back[:, j], quotes.rounding[j])
        for where, values in [quotes.fixes[j]] if j in quotes.fixes else []:
            at = np.minimum(np.searchsorted(where, index), max(len(where) - 1, 0))
            hit = where[at] == index if len(where) else np.zeros(len(index), dtype=bool)
            back[hit, j] = values[at[hit]]
        if j in quotes.gaps:
            back[np.isin(index, quotes.gaps[j]), j] = np.nan
    return back
