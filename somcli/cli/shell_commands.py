"""Commands about somcli itself rather than data: ``completion`` (the shell script that
completes somcli's commands, options and file names) and ``config`` (the settings a run
would use, merged from the config files, SOMCLI_* variables and defaults)."""

from __future__ import annotations

import os

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


def data_commands(group: click.Group) -> list[str]:
    """The commands that read data and take settings: every command of the group's own
    class (a new command is found here, not listed)."""
    from somcli.cli.group import GroupedCommand

    return [name for name, command in group.commands.items()
            if isinstance(command, GroupedCommand)]


@click.group()
def config():
    """The settings a run reads from files and SOMCLI_* variables."""


@config.command()
@click.argument("commands", nargs=-1, metavar="[COMMAND]...")
@click.option("--config", "config_file", metavar="FILE",
              help="Settings file to show (default: $SOMCLI_CONFIG, else ./somcli.toml).")
def show(commands, config_file):
    """Print the settings each COMMAND (default: all) would run with, as TOML: every option's
    value and where it comes from (command line defaults, the settings file, a SOMCLI_*
    variable, named beside it)."""
    from click.core import ParameterSource

    from somcli.cli.settings_file import ENV_FILE, find, load, section

    root_ctx = click.get_current_context().find_root()
    root = root_ctx.command
    path, ignored = find(config_file)
    if ignored:
        click.echo(f"somcli: warning: {ignored}", err=True)
    data = load(path, not config_file and not os.environ.get(ENV_FILE)) if path else {}
    lines = []  # printed once every value is known good: a failing show prints nothing
    known = data_commands(root)
    for name in commands or known:
        command = root.get_command(root_ctx, name)
        if command is None or name not in known:
            raise click.BadParameter(f"{name!r}: one of {', '.join(known)}",
                                     param_hint="COMMAND")
        section(data, command, name, path)  # a key a run refuses is refused here (64)
        args = ["--config", path] if path else []
        ctx = command.make_context(name, args, parent=root_ctx, resilient_parsing=True)
        lines.append(f"[{name}]" + (f"  # from {_comment(path)}" if path else ""))
        for param in command.params:
            if not isinstance(param, click.Option) or not param.expose_value:
                continue
            source = ctx.get_parameter_source(param.name)
            names = param.envvar if isinstance(param.envvar, list) else [param.envvar]
            env = next((n for n in names if n and n in os.environ), names[0])
            if source in (ParameterSource.DEFAULT_MAP, ParameterSource.ENVIRONMENT):
                _as_a_run_would(ctx, param)  # a value a run refuses is refused here (64)
            if source == ParameterSource.DEFAULT_MAP:
                value, where = ctx.meta["somcli.settings"][param.name], path
            elif source == ParameterSource.ENVIRONMENT:
                value, where = os.environ.get(env), f"${env}"
            else:
                value, where = param.get_default(ctx), f"default; ${env}"
                if "Sentinel" in repr(value):  # Click's "no default"
                    value = None
            key = next((o[2:] for o in param.opts if o.startswith("--")), param.name)
            if value is None or value == ():
                lines.append(f"# {key} =  (not set; ${env})")
            else:
                lines.append(f"{key} = {_toml(value)}  # {_comment(where)}")
        lines.append("")
    click.echo("\n".join(lines))


def _as_a_run_would(ctx: click.Context, param: click.Option) -> None:
    """Convert a value from the settings file or the environment as a run does, so that
    `config show` fails where the run would (Click's resilient parsing dropped the error)."""
    ctx.resilient_parsing = False
    try:
        value, _ = param.consume_value(ctx, {})
        param.process_value(ctx, value)
    finally:
        ctx.resilient_parsing = True


def _comment(text: str) -> str:
    """A file or variable name inside a TOML comment: control characters (a newline would
    end the comment and start a line of settings) written as escapes."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def _toml(value) -> str:
    """A value as TOML: flags as booleans, numbers as themselves, text as a basic string
    with only what TOML requires escaped (an emoji stays one character)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + "".join(_escape(c) for c in str(value)) + '"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
            "\f": "\\f", "\r": "\\r"}


def _escape(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    code = ord(c)
    if code < 0x20 or code == 0x7F:
        return f"\\u{code:04x}"
    if 0xD800 <= code < 0xE000:  # a byte that was not UTF-8 (an environment variable's)
        raise click.UsageError("a setting holds bytes that are not UTF-8; TOML cannot "
                               "show them")
    return c
