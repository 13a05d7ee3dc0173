"""Click value types of somcli's options: -k, --outliers, --map, finite floats, seeds."""

from __future__ import annotations

import re

import click

from somcli.config import EMBED_METHODS


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


class EmbedType(click.ParamType):
    """--embed METHOD[:K]: rbm or autoencoder, K hidden units (default: None, 8 or the
    feature columns when fewer)."""

    name = "METHOD[:K]"
    METHODS = EMBED_METHODS

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, tuple):
            return value
        method, _, dim = str(value).partition(":")
        if method not in self.METHODS:
            self.fail(f"{value!r}: the method is {' or '.join(self.METHODS)} (e.g. rbm:8)",
                      param, ctx)
        try:
            k = int(dim) if dim else None
        except ValueError:
            self.fail(f"{value!r}: K after ':' is a whole number (e.g. rbm:8)", param, ctx)
        if k is not None and k < 1:
            self.fail(f"{value!r}: K is at least 1", param, ctx)
        return method, k


class WordOr(click.ParamType):
    """A value, or one word that means "somcli decides" (None)."""

    word = "auto"
    parsed: type = object  # an already converted value passes through

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, self.parsed):
            return value
        if str(value).lower() == self.word:
            return None
        return self.parse(value, param, ctx)

    def parse(self, value, param, ctx):
        raise NotImplementedError


class OutlierType(WordOr):
    """--outliers robust or --outliers Q (a quantile strictly between 0 and 1)."""

    name, word, parsed = "robust|Q", "robust", float

    def parse(self, value, param, ctx):
        try:
            q = float(value)
        except ValueError:
            self.fail(f"{value!r} is not 'robust' or a number", param, ctx)
        if not 0 < q < 1:
            self.fail(f"{value!r}: give a quantile between 0 and 1 (both excluded)", param, ctx)
        return q


class MapType(WordOr):
    """--map ROWSxCOLS or auto."""

    name, parsed = "ROWSxCOLS|auto", tuple

    def parse(self, value, param, ctx):
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
