"""Click value types of somcli's options: -k, --outliers, --map, finite floats, seeds."""

from __future__ import annotations

import re

import click


class KType(click.ParamType):
    """-k N or -k auto (and, for maps, -k units: every unit its own cluster)."""

    def __init__(self, units: bool = False):
        self.words = ("auto", "units") if units else ("auto",)
        self.name = "N|" + "|".join(self.words)

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value is None:
            return value
        if str(value).lower() in self.words:
            return str(value).lower()
        try:
            k = int(value)
        except ValueError:
            self.fail(f"{value!r} is not a whole number or {' or '.join(map(repr, self.words))}",
                      param, ctx)
        if k < 2:
            self.fail(f"{k}: ask for at least 2 clusters", param, ctx)
        return k


class OutlierType(click.ParamType):
    """--outliers robust or --outliers Q (a quantile strictly between 0 and 1)."""

    name = "robust|Q"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, float):
            return value
        if str(value).lower() == "robust":
            return None
        try:
            q = float(value)
        except ValueError:
            self.fail(f"{value!r} is not 'robust' or a number", param, ctx)
        if not 0 < q < 1:
            self.fail(f"{value!r}: give a quantile between 0 and 1 (both excluded)", param, ctx)
        return q


class MapType(click.ParamType):
    """--map ROWSxCOLS or auto."""

    name = "ROWSxCOLS|auto"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, tuple):
            return value
        if str(value).lower() == "auto":
            return None
        m = re.fullmatch(r"\s*(\d+)\s*[xX*,]\s*(\d+)\s*", str(value))
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1 or \
                int(m.group(1)) * int(m.group(2)) < 2:
            self.fail(f"{value!r}: give ROWSxCOLS like 10x8 (at least 2 units), or 'auto'",
                      param, ctx)
        return int(m.group(1)), int(m.group(2))


class Finite(click.FloatRange):
    """A float in a range that is a real number: 'nan' and 'inf' are refused (exit 64)."""

    name = "float"

    def convert(self, value, param, ctx):
        import math

        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


SEED = click.IntRange(0, 2**32 - 1)  # what numpy's generators take
