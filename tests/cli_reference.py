"""The generated reference files, and the test that keeps them current:

- docs/cli.md, the CLI reference, from --help;
- the value lists of somcli/model_schema.json and somcli/report_schema.json that
  ``somcli/config.py`` defines (the clustering kinds, the embedding methods, --missing,
  --scale, --umatrix-stat), so that a new algorithm is one line in config.py.

    python tests/cli_reference.py --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import get_args

from click.testing import CliRunner

from somcli import config as C
from somcli.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cli.md"
HEAD = ("# somcli command-line reference\n\n"
        "Generated from `--help-all` (`--help` where a command has no more) by "
        "`python tests/cli_reference.py --write`; "
        "`tests/test_cli.py` fails when it is stale.\n")

#: schema file -> (path of keys to an "enum", its values from config.py)
ENUMS = {
    "model_schema.json": [
        (("properties", "kind"), (*C.CLUSTERINGS, *C.EMBED_METHODS)),
        (("properties", "cleaning", "properties", "missing"), C.MISSING_METHODS),
        (("properties", "cleaning", "properties", "scale"), C.SCALES),
        (("properties", "algorithm", "properties", "params", "properties", "umatrix_stat"),
         get_args(C.UmatrixStat)),
    ],
    "report_schema.json": [
        (("properties", "command"), (*C.CLUSTERINGS, "assign", "embed")),
        (("properties", "model", "properties", "kind"), C.CLUSTERINGS),
        (("properties", "embedding", "properties", "method"), C.EMBED_METHODS),
        (("properties", "cleaning", "properties", "missing_method"), C.MISSING_METHODS),
        (("properties", "cleaning", "properties", "scale"), C.SCALES),
    ],
}


def reference() -> str:
    parts = [HEAD]
    for name in [None, *sorted(cli.commands)]:
        every = name is not None and any(p.name == "help_all" for p in cli.commands[name].params)
        args = ([name] if name else []) + ["--help-all" if every else "--help"]
        text = CliRunner().invoke(cli, args, prog_name="somcli", terminal_width=100).stdout
        title = f"somcli {name}" if name else "somcli"
        parts.append(f"## `{title}`\n\n```\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def schema(name: str) -> str:
    """The schema file ``name`` with config.py's value lists in it."""
    doc = json.loads((ROOT / "somcli" / name).read_text())
    for keys, values in ENUMS[name]:
        node = doc
        for key in keys:
            node = node[key]
        node["enum"] = list(values)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def generated() -> dict[Path, str]:
    """Every generated file -> what it should hold."""
    return {DOC: reference()} | {ROOT / "somcli" / n: schema(n) for n in ENUMS}


def stale() -> list[str]:
    return [str(p.relative_to(ROOT)) for p, text in generated().items()
            if not p.exists() or p.read_text() != text]


def current() -> str:
    return DOC.read_text() if DOC.exists() else ""


def write() -> None:
    for path, text in generated().items():
        path.write_text(text)


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(reference())
