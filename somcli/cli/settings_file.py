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
import stat

import click

from somcli.errors import UsageError

PROJECT_FILE = "somcli.toml"
ENV_FILE = "SOMCLI_CONFIG"
ENV_PREFIX = "SOMCLI"
SHARED = "defaults"
NOT_SETTINGS = ("config_file", "help_all")  # options a file or variable never sets


def name_variables(group: click.Group, commands) -> None:
    """Give every option of ``commands`` its environment variables:
    ``SOMCLI_<COMMAND>_<OPTION>`` (``SOMCLI_ASSIGN_WAIT``), then ``SOMCLI_<OPTION>``
    (``SOMCLI_MAX_MEMORY``, for every command), named after the long flag."""
    for name in commands:
        for param in group.commands[name].params:
            flag = next((o[2:] for o in param.opts if o.startswith("--")), param.name)
            if isinstance(param, click.Option) and flag and param.envvar is None and \
                    param.name not in NOT_SETTINGS:
                key = flag.upper().replace("-", "_")
                param.envvar = [f"{ENV_PREFIX}_{name.upper()}_{key}", f"{ENV_PREFIX}_{key}"]


MAX_BYTES = 1 << 20  # a settings file holds a few dozen options, never data
MAX_DEPTH = 8  # tables and arrays inside each other; options need two ([som] map = ...)


def find(given: str | None) -> tuple[str | None, str | None]:
    """The settings file a run reads, and why a found one is ignored: the one given, else
    $SOMCLI_CONFIG, else ./somcli.toml when it can be trusted (:func:`untrusted`)."""
    if given is not None:
        if not given:
            raise UsageError("--config '': give a settings file's name")
        return given, None
    if os.environ.get(ENV_FILE):
        return os.environ[ENV_FILE], None
    try:
        os.lstat(PROJECT_FILE)
    except OSError:
        return None, None
    why = untrusted(PROJECT_FILE)
    if why:
        return None, (f"./{PROJECT_FILE} ignored: {why}; a settings file in the working folder "
                      "is read only when it is a regular file of yours, not writable by others")
    return PROJECT_FILE, None


def _owner_ok(st: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or st.st_uid in (os.geteuid(), 0)


def untrusted(path: str) -> str | None:
    """Why a settings file that somcli found by itself must not be read (None: it may be):
    the rule ssh and git apply to their own files. It must be a regular file (through a
    link only when the link is the user's too) owned by the user or root, and writable by
    neither its group nor others."""
    try:
        link = os.lstat(path)
        if stat.S_ISLNK(link.st_mode) and not _owner_ok(link):
            return "it is a symbolic link of another user's"
        st = os.stat(path)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    return _untrusted_stat(st)


def _untrusted_stat(st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return f"it is {_kind(st)}, not a regular file"
    if not _owner_ok(st):
        return "another user owns it"
    if st.st_mode & 0o022:
        return "others can write to it (chmod go-w)"
    return None


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    return ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or
            stat.S_ISBLK(mode) else "a folder" if stat.S_ISDIR(mode) else "a socket"
            if stat.S_ISSOCK(mode) else "not a regular file")


def _read(path: str, found: bool = False) -> bytes:
    """The file's bytes: a regular file of at most MAX_BYTES, opened without blocking (a
    FIFO or device is refused before a byte is read, and never waited for). ``found``: a
    file somcli found by itself, whose trust is checked again on the open file (it may
    have been swapped since :func:`find` looked)."""
    hint = "check --config or $SOMCLI_CONFIG"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such settings file", hint) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the settings file ({exc.strerror})", hint) \
            from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UsageError(f"{path}: the settings file is {_kind(st)}, not a regular file",
                         "give a TOML file")
    with os.fdopen(fd, "rb") as fh:
        why = _untrusted_stat(st) if found else None
        if why:
            raise UsageError(f"{path}: not read: {why}", "see docs/operations.md: Settings files")
        try:
            data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the settings file ({exc.strerror})") \
                from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{path}: larger than {MAX_BYTES >> 10} KiB, too large for a settings "
                         "file", "give a TOML file of options")
    return data


def load(path: str, found: bool = False) -> dict:
    """A settings file's tables, checked: 64 naming the file for one that is not a regular
    file, too large, not UTF-8, not TOML, nested too deeply or not made of tables."""
    import tomllib

    data = _read(path, found)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start})", "save the settings file as UTF-8") from None
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except RecursionError:
        data = None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})", "see docs/operations.md: Settings files") \
            from None
    if data is None or _depth(data) > MAX_DEPTH:
        raise UsageError(f"{path}: tables or arrays nested too deeply",
                         "a settings file holds [tables] of option = value")
    for table, values in data.items():
        if not isinstance(values, dict):
            raise UsageError(f"{path}: '{table}' must be a table ([{table}]) of option "
                             "settings", "put options under [defaults] or [COMMAND]")
    return data


def _depth(value, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


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
            out[names[key]] = _checked(value, _param(command, names[key]),
                                     f"{path}: [{table}] {key!r}", name)
    return out


def _param(command: click.Command, name: str) -> click.Parameter:
    return next(p for p in command.params if p.name == name)


SCALARS = (str, int, float, bool)


def _checked(value, param: click.Parameter, where: str, command: str):
    """A value of the shape its option takes: one scalar, or a list of them for an option
    given several times (``--na-values``); 64 naming the file and key otherwise."""
    many = getattr(param, "multiple", False) or param.nargs != 1
    if isinstance(value, SCALARS) or (many and isinstance(value, list)
                                      and all(isinstance(v, SCALARS) for v in value)):
        return [value] if many and not isinstance(value, list) and param.nargs == 1 else value
    what = ("a table" if isinstance(value, dict) else "a list" if isinstance(value, list)
            else f"a {type(value).__name__}")
    wants = "a value or a list of values" if many else "one value (text, number or true/false)"
    raise UsageError(f"{where} is {what}; it takes {wants}", f"see `somcli {command} --help`")


def _for_another_command(key: str) -> bool:
    root = click.get_current_context().find_root().command
    return any(key in option_names(cmd) for cmd in getattr(root, "commands", {}).values())


def option_names(command: click.Command) -> dict[str, str]:
    """Every spelling a settings file may use for an option -> its parameter name."""
    names: dict[str, str] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in NOT_SETTINGS:
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
    """The --config callback (eager): the command's settings become its defaults. A
    working-folder file that is not trusted is ignored, with a warning the run prints."""
    path, ignored = find(given)
    if ignored:
        ctx.meta.setdefault("somcli.warnings", []).append(ignored)
    if path is None:
        return None
    found = not given and not os.environ.get(ENV_FILE)
    raw = section(load(path, found), ctx.command, ctx.info_name, path)
    if found:  # read without being named: say so, so that nobody wonders where -k 4 came from
        ctx.meta.setdefault("somcli.notes", []).append(f"settings read from ./{PROJECT_FILE}")
    ctx.default_map = {**(ctx.default_map or {}), **{k: _as_click(v) for k, v in raw.items()}}
    ctx.meta["somcli.settings"] = raw
    ctx.meta["somcli.settings_file"] = path
    return path


def config_option(f):
    return click.option("--config", "config_file", metavar="FILE", is_eager=True,
                        expose_value=False, callback=apply,
                        help=f"Settings file (TOML; default: ${ENV_FILE}, else ./{PROJECT_FILE} "
                             "when there is one). Command-line options win.")(f)
