"""`somcli inspect` as a table on stdout (colour only on a terminal)."""

from __future__ import annotations

import sys

from somcli.io import formats
from somcli.report.markdown import cleaning_lines, fmt  # the report's wording, shared

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


COLUMNS = (("#", "right"), ("column", "left"), ("type", "left"), ("role", "left"),
           ("missing", "right"), ("unique", "right"), ("values", "left"), ("why", "left"))
SHORT = {"#", "type", "role", "missing", "unique"}  # never wrapped on a terminal


def render(profile: dict, stream=None) -> None:
    """A terminal gets a table that fits its width (COLUMNS) with colour; a pipe or a file
    gets plain text: one line per column, fields aligned with spaces, no box drawing and no
    escape codes, so grep, cut and awk work on it."""
    stream = stream or sys.stdout
    tty = stream.isatty()
    lines = [_heading(profile)]
    lines += [f"  note: {note}" for note in profile["input"].get("notes", [])]
    rows = [_row(c) for c in profile["columns"]]
    tail = [f"warning: {w}" for w in profile.get("warnings", [])]
    if profile.get("problem"):
        tail.append(f"problem: {profile['problem']}")
    if profile.get("cleaning"):
        tail.append("What kmeans/som would do:")
        tail += ["  " + ln.replace("`", "")  # the text as it is: no Markdown escapes
                 for ln in cleaning_lines(profile["cleaning"], esc=str, code=str)[2:] if ln]
    if tty:
        _rich(stream, lines, rows, tail, profile["columns"])
    else:
        stream.write("\n".join(lines + _plain(rows) + tail) + "\n")


def _heading(profile: dict) -> str:
    i = profile["input"]
    d = i["dialect"]
    head = f"{', '.join(i['files'])}: {fmt(i['rows'])} rows, {i['columns']} columns; "
    if d.get("format", "csv") != "csv":  # a columnar file has no delimiter nor encoding
        return head + formats.what(d["format"])
    return (head + f"delimiter {DELIMITERS.get(d['delimiter'], repr(d['delimiter']))}, "
            f"encoding {d['encoding'].replace('utf-8-sig', 'utf-8')}, decimal '{d['decimal']}'")


def _row(c: dict) -> list[str]:
    if "min" in c:
        values = f"{fmt(c['min'], 4)} .. {fmt(c['max'], 4)}"
    else:
        values = ", ".join(c.get("examples", []))[:40]
    return [str(c["position"]), c["name"], c["kind"], c["role"], str(c["missing"]),
            "many" if c["unique"] is None else str(c["unique"]), values, c["reason"]]


def _plain(rows: list[list[str]]) -> list[str]:
    table = [[name for name, _ in COLUMNS]] + [[" ".join(v.split()) for v in r] for r in rows]
    widths = [max(len(r[j]) for r in table) for j in range(len(COLUMNS))]
    out = []
    for r in table:
        cells = [v.rjust(w) if how == "right" else v.ljust(w)
                 for v, w, (_, how) in zip(r, widths, COLUMNS, strict=True)]
        out.append("  ".join(cells).rstrip())
    return out


def _rich(stream, lines, rows, tail, columns) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    class Quiet(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1; somcli ends `| head` quietly
            raise BrokenPipeError(32, "broken pipe")

    console = Quiet(file=stream, highlight=False, soft_wrap=False)  # width: COLUMNS or tty
    for line in lines:
        console.print(escape(line))
    t = Table(show_edge=False, pad_edge=False)
    for name, justify in COLUMNS:
        t.add_column(name, justify=justify, overflow="fold", no_wrap=name in SHORT,
                     min_width=8 if name == "column" else None)
    for r, c in zip(rows, columns, strict=True):
        style = {"feature": "green", "identifier": "cyan", "label": "magenta",
                 "category": "blue", "date": "blue"}.get(c["role"], "dim")
        cells = [escape(v) for v in r]
        cells[3] = f"[{style}]{cells[3]}[/]"
        t.add_row(*cells)
    console.print(t)
    for line in tail:
        head, _, rest = line.partition(": ")
        colour = {"warning": "yellow", "problem": "red"}.get(head)
        console.print(f"[{colour}]{head}:[/] {escape(rest)}" if colour else escape(line))
