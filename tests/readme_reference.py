"""The README's option reference, generated from --help (run with --write to update it).

    python tests/readme_reference.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from somcli.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- BEGIN CLI REFERENCE -->", "<!-- END CLI REFERENCE -->"


def reference() -> str:
    parts = []
    for name in [None, *sorted(cli.commands)]:
        args = ([name] if name else []) + ["--help"]
        text = CliRunner().invoke(cli, args, prog_name="somcli", terminal_width=100).stdout
        title = f"somcli {name}" if name else "somcli"
        parts.append(f"### `{title}`\n\n```\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def current() -> str:
    text = README.read_text()
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def write() -> None:
    text = README.read_text()
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    README.write_text(f"{head}{BEGIN}\n{reference()}\n{END}{tail}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(reference())
