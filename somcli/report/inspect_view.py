"""`somcli inspect` as a table on stdout (colour only on a terminal)."""

from __future__ import annotations

import sys

from somcli.report.markdown import cleaning_lines, fmt  # the report's wording, shared

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def render(profile: dict, stream=None) -> None:
    from rich.console import Console
    from rich.table import Table

    class Quiet(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1; somcli ends `| head` quietly
            raise BrokenPipeError(32, "broken pipe")

    stream = stream or sys.stdout
    console = Quiet(file=stream, highlight=False, soft_wrap=False,
                      width=None if stream.isatty() else 160)
    i = profile["input"]
    d = i["dialect"]
    console.print(f"{', '.join(i['files'])}: {fmt(i['rows'])} rows, {i['columns']} columns; "
                  f"delimiter {DELIMITERS.get(d['delimiter'], repr(d['delimiter']))}, "
                  f"encoding {d['encoding'].replace('utf-8-sig', 'utf-8')}, decimal '{d['decimal']}'")
    for note in i.get("notes", []):
        console.print(f"  note: {note}")
    t = Table(show_edge=False, pad_edge=False)
    for name, justify in (("#", "right"), ("column", "left"), ("type", "left"),
                          ("role", "left"), ("missing", "right"), ("unique", "right"),
                          ("values", "left"), ("why", "left")):
        t.add_column(name, justify=justify, overflow="fold")
    for c in profile["columns"]:
        if "min" in c:
            values = f"{fmt(c['min'], 4)} .. {fmt(c['max'], 4)}"
        else:
            values = ", ".join(c.get("examples", []))[:40]
        style = {"feature": "green", "identifier": "cyan", "label": "magenta",
                 "category": "blue", "date": "blue"}.get(c["role"], "dim")
        t.add_row(str(c["position"]), c["name"], c["kind"], f"[{style}]{c['role']}[/]",
                  str(c["missing"]), str(c["unique"]), values, c["reason"])
    console.print(t)
    for warning in profile.get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
    if profile.get("problem"):
        console.print(f"[red]problem:[/] {profile['problem']}")
    if profile.get("cleaning"):
        console.print("What kmeans/som would do:")
        for line in cleaning_lines(profile["cleaning"])[2:]:
            if line:
                console.print("  " + line.replace("`", ""))
