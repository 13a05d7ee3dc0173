"""Commands about somcli itself rather than data: ``completion`` (the shell script that
completes somcli's commands, options and file names) and ``config`` (the settings a run
would use, merged from the config files, SOMCLI_* variables and defaults)."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
INSTALL = {
    "bash": 'eval "$(somcli completion bash)"   # in ~/.bashrc',
    "zsh": 'eval "$(somcli completion zsh)"    # in ~/.zshrc',
    "fish": "somcli completion fish > ~/.config/fish/completions/somcli.fish",
}


@click.command()
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
def completion(shell: str):
    """Print the completion script for SHELL (bash, zsh or fish) on stdout.

    \b
    bash:  eval "$(somcli completion bash)"   # in ~/.bashrc
    zsh:   eval "$(somcli completion zsh)"    # in ~/.zshrc
    fish:  somcli completion fish > ~/.config/fish/completions/somcli.fish
    """
    from click.shell_completion import get_completion_class

    root = click.get_current_context().find_root().command
    script = get_completion_class(shell)(root, {}, "somcli", "_SOMCLI_COMPLETE").source()
    click.echo(script)
