"""Settings from a file and the environment: ``--config FILE`` (TOML), else ``$SOMCLI_CONFIG``,
else ``somcli.toml`` in the working folder; ``SOMCLI_<COMMAND>_<OPTION>`` variables.

A file has a ``[defaults]`` table for every command and one table per command
(``[som]``, ``[kmeans]``, ``[assign]``, ``[inspect]``); keys are option names as on the
command line (``map``, ``max-memory``, ``no-plots``). What wins, first to last: the
command line, the environment, the command's table, ``[defaults]``, somcli's default
(Click's order: command line, environment, ``default_map``, default).
"""

from __future__ import annotations

import os

import click

from somcli.errors import UsageError

PROJECT_FILE = "somcli.toml"
ENV_FILE = "SOMCLI_CONFIG"
ENV_PREFIX = "SOMCLI"
SHARED = "defaults"


def name_variables(group: click.Group, commands) -> None:
    """Give every option of ``commands`` its environment variables:
    ``SOMCLI_<COMMAND>_<OPTION>`` (``SOMCLI_ASSIGN_WAIT``), then ``SOMCLI_<OPTION>``
    (``SOMCLI_MAX_MEMORY``, for every command), named after the long flag."""
    for name in commands:
        for param in group.commands[name].params:
            flag = next((o[2:] for o in param.opts if o.startswith("--")), param.name)
            if isinstance(param, click.Option) and flag and param.envvar is None:
                key = flag.upper().replace("-", "_")
                param.envvar = [f"{ENV_PREFIX}_{name.upper()}_{key}", f"{ENV_PREFIX}_{key}"]


def find(given: str | None) -> str | None:
    """The settings file a run reads: the one given, else $SOMCLI_CONFIG, else
    ./somcli.toml when there is one."""
    if given:
        return given
    if os.environ.get(ENV_FILE):
        return os.environ[ENV_FILE]
    return PROJECT_FILE if os.path.isfile(PROJECT_FILE) else None


def load(path: str) -> dict:
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such settings file", "check --config or $SOMCLI_CONFIG") \
            from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the settings file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})", "see README: Settings files") \
            from None
    for table, values in data.items():
        if not isinstance(values, dict):
            raise UsageError(f"{path}: '{table}' must be a table ([{table}]) of option "
                             "settings", "put options under [defaults] or [COMMAND]")
    return data


def section(data: dict, command: click.Command, name: str, path: str) -> dict:
    """The settings of one command (its table over ``[defaults]``): parameter names ->
    values as written, every key checked against the command's options."""
    names = option_names(command)
    out = {}
    for table in (SHARED, name):
        for key, value in data.get(table, {}).items():
            if key not in names:
                if table == SHARED and _for_another_command(key):
                    continue  # a [defaults] key only some commands have
                raise UsageError(f"{path}: [{table}] {key!r} is not an option of "
                                 f"`somcli {name}`", f"see `somcli {name} --help`")
            out[names[key]] = value
    return out


def _for_another_command(key: str) -> bool:
    root = click.get_current_context().find_root().command
    return any(key in option_names(cmd) for cmd in getattr(root, "commands", {}).values())


def option_names(command: click.Command) -> dict[str, str]:
    """Every spelling a settings file may use for an option -> its parameter name."""
    names: dict[str, str] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in ("config_file",):
            continue
        for flag in param.opts + param.secondary_opts:
            if flag.startswith("--"):
                names[flag[2:]] = param.name
        names[param.name] = param.name
        names[param.name.replace("_", "-")] = param.name
    return names


def _as_click(value):
    """A TOML value as Click converts it from the command line (text), flags as booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def apply(ctx: click.Context, _param, given: str | None):
    """The --config callback (eager): the command's settings become its defaults."""
    path = find(given)
    if path is None:
        return None
    raw = section(load(path), ctx.command, ctx.info_name, path)
    ctx.default_map = {**(ctx.default_map or {}), **{k: _as_click(v) for k, v in raw.items()}}
    ctx.meta["somcli.settings"] = raw
    ctx.meta["somcli.settings_file"] = path
    return path


def config_option(f):
    return click.option("--config", "config_file", metavar="FILE", is_eager=True,
                        expose_value=False, callback=apply,
                        help=f"Settings file (TOML; default: ${ENV_FILE}, else ./{PROJECT_FILE} "
                             "when there is one). Command-line options win.")(f)
