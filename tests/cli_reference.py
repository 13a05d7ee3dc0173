"""docs/cli.md, the CLI reference, generated from --help (a test keeps it current).

    python tests/cli_reference.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from somcli.cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
HEAD = ("# somcli command-line reference\n\n"
        "Generated from `--help-all` (`--help` where a command has no more) by "
        "`python tests/cli_reference.py --write`; "
        "`tests/test_cli.py` fails when it is stale.\n")


def reference() -> str:
    parts = [HEAD]
    for name in [None, *sorted(cli.commands)]:
        every = name is not None and any(p.name == "help_all" for p in cli.commands[name].params)
        args = ([name] if name else []) + ["--help-all" if every else "--help"]
        text = CliRunner().invoke(cli, args, prog_name="somcli", terminal_width=100).stdout
        title = f"somcli {name}" if name else "somcli"
        parts.append(f"## `{title}`\n\n```\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def current() -> str:
    return DOC.read_text() if DOC.exists() else ""


def write() -> None:
    DOC.write_text(reference())


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(reference())
