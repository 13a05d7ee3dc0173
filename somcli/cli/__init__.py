"""The command line: Click commands (``commands.py``) over the library, and everything
only the command line needs: how a run ends (``group.py``), how a data command runs
(``run.py``), option bundles and value types, the console on stderr, settings files and
``SOMCLI_*`` variables, completion and ``config show``. Nothing outside this package
imports it (``somcli.__main__`` aside)."""

from somcli.cli.commands import cli, main

__all__ = ["cli", "main"]
