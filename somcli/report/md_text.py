"""Text that goes into Markdown: numbers as a person reads them (:func:`fmt`), values from
the data made inert (:func:`esc`, :func:`code`), tables. report.md, report.html (through
report.md), the terminal summary and ``inspect`` all word things through these."""

from __future__ import annotations

import re
from collections import Counter


def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if value.is_integer() and abs(value) < 1e15:  # an id or a count: 50,000, not 5e+04
            return f"{int(value):,}"
        if abs(value) >= 1e15:
            return f"{value:.4e}"
        short = f"{value:,.{digits}g}"
        # a mean of 15,340.7 reads 15,341, not 1.534e+04 (small values keep 1.2e-05)
        return f"{value:,.0f}" if "e+" in short else short
    return str(value)


class Code(str):
    """A value from the data shown as inline code (column names, paths)."""


_SPECIAL = re.compile(r"([\\`*\[\]<>!|&])")  # what starts a link, an image, HTML or code
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)|\b(javascript|vbscript|data|file|mailto):")


def esc(value) -> str:
    """Any text that comes from the data or the user, made inert in Markdown (and in the
    HTML a renderer makes of it): every character with a meaning gets a backslash, URL
    schemes (``javascript:``, ``http:``) and ``www.`` cannot become links, line breaks
    become spaces. So ``![t](http://host/x.png)`` or ``<script>`` show as the text."""
    text = " ".join(str(value).split())
    text = _SPECIAL.sub(r"\\\1", text)
    text = _SCHEME.sub(lambda m: (m.group(1) or m.group(2)) + "\\:", text)
    return re.sub(r"(?i)\bwww\.", lambda m: m.group(0)[:-1] + "\\.", text)


def code(value) -> str:
    """A value as an inline code span (shown literally, never a link or HTML), fenced by
    more backticks than it holds; line breaks become spaces."""
    text = " ".join(str(value).split()) or " "
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def table(header: list, rows: list[list]) -> str:
    def cell(x):
        return code(x).replace("|", "\\|") if isinstance(x, Code) else esc(fmt(x))
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


LINES_SHOWN = 8  # line numbers a sentence lists before it counts the rest


def lines_list(lines: list[int]) -> str:
    """"lines 2, 5, 9", the first few of a long list and how many there are."""
    shown = ", ".join(str(x) for x in lines[:LINES_SHOWN])
    rest = len(lines) - LINES_SHOWN
    return f"lines {shown}" + (f", ... ({len(lines):,} lines)" if rest > 0 else "")


MAX_COLUMN_ROWS = 200  # a wider table lists the columns that stand out, then counts the rest


def columns_section(columns: list[dict]) -> list[str]:
    """report.md's column table (:func:`columns_shown`), and a count of the columns left out."""
    shown, left = columns_shown(columns)
    rows = [[c["position"], Code(c['name']), c["kind"], c["role"], c["missing"], c["reason"]]
            for c in shown]
    out = ["## Columns", "", table(["#", "column", "type", "role", "missing", "why"], rows)]
    if left:
        counts = Counter(f"{c['kind']} {c['role']}" + (" with gaps" if c["missing"] else "")
                         for c in left)
        out += ["", f"({len(left):,} more columns, in report.json: " + ", ".join(
            f"{esc(what)} {n:,}" for what, n in counts.most_common()) + ")"]
    return out + [""]


def columns_shown(columns: list[dict]) -> tuple[list[dict], list[dict]]:
    """Up to MAX_COLUMN_ROWS columns for the table, in file order: those that are not
    features without gaps first, then the first such features; and the columns left out
    (a 10,000-column table's report had 10,000 rows here, a second of rendering)."""
    if len(columns) <= MAX_COLUMN_ROWS:
        return columns, []
    plain = [i for i, c in enumerate(columns) if c["role"] == "feature" and not c["missing"]]
    plain_set = set(plain)
    odd = [i for i in range(len(columns)) if i not in plain_set][:MAX_COLUMN_ROWS]
    keep = set(odd) | set(plain[:MAX_COLUMN_ROWS - len(odd)])
    return ([c for i, c in enumerate(columns) if i in keep],
            [c for i, c in enumerate(columns) if i not in keep])
