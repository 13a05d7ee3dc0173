"""The command group under every somcli command: how a run ends.

Every failure becomes one line on stderr, ``somcli: error: ...``, and a documented exit
code (:mod:`somcli.errors`); ``-v/--verbose`` adds the traceback; a closed stdout ends
the run quietly with exit 0; SIGTERM is an interrupt like Ctrl-C.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings

import click

from somcli import errors
from somcli.cli import options as O
from somcli.runtime import interrupts
from somcli.version import __version__


class _PipeClosed(Exception):
    """stdout's reader left; not an OSError, so that Click passes it to us untouched."""


class GroupedCommand(click.Command):
    """A command whose --help lists its options under headings (Input, Columns, Cleaning,
    the command's own, Output, Engine, General), each with its default."""

    ORDER = ("Input", "Columns", "Cleaning", None, "Output", "Engine", "General")
    TITLES = {"Columns": "Column"}
    ALWAYS = {"quiet", "verbose", "config_file", "help", "help_all"}

    def __init__(self, *args, own: str = "Command", common=None, examples=(), **kwargs):
        """``own``: the heading of the command's own options; ``common``: the options
        ``--help`` shows (``--help-all``: every one; None: all); ``examples``: lines shown
        as typed. Declared with the command (``@cli.command(own=..., ...)``)."""
        super().__init__(*args, **kwargs)
        self.own, self.examples = own, tuple(examples)
        self.common = None if common is None else frozenset(common)

    def format_options(self, ctx, formatter) -> None:
        common = None if ctx.meta.get("somcli.help_all") else self.common
        sections: dict[str | None, list] = {}
        hidden = 0
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            if common is not None and param.name not in common | self.ALWAYS and \
                    param is not self.get_help_option(ctx):
                hidden += 1
                continue
            help_option = param is self.get_help_option(ctx)
            group = "General" if help_option else getattr(param, "somcli_group", None)
            sections.setdefault(group, []).append(record)
        for group in self.ORDER:
            if sections.get(group):
                title = self.TITLES.get(group, group) or self.own
                with formatter.section(f"{title} options"):
                    formatter.write_dl(sections[group])
        if self.examples:
            with formatter.section("Examples"):
                for line in self.examples:  # as typed: never rewrapped
                    formatter.write(f"{'':>{formatter.current_indent}}{line}\n")
        if hidden:
            formatter.write_paragraph()
            formatter.write(f"{hidden} more options (input format, cleaning, training, outputs, "
                            f"engines):\n  somcli {self.name} --help-all\n")


class SomcliGroup(click.Group):
    """Maps every failure to one stderr line and an exit code from :mod:`somcli.errors`."""

    command_class = GroupedCommand

    def invoke(self, ctx):
        # Click turns a closed pipe into exit 1 and an EOFError into "Aborted!": both
        # are ours to report
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Click would print an empty line before our own
            raise errors.Interrupted("interrupted") from None
        except BrokenPipeError:
            raise _PipeClosed() from None
        except EOFError as exc:
            raise errors.IOFailure(f"an input ended early ({exc or 'truncated file?'})",
                                   "check or re-create the file") from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        verbose = O.asked_verbose(list(sys.argv[1:] if args is None else args))
        _quiet_library_warnings()
        code = errors.OK
        saved = interrupts.install()
        try:
            rv = super().main(args, prog_name or "somcli", complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else errors.OK
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help(), err=True)
            code = errors.USAGE
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _fail(f"{exc.format_message()}{_origin(exc)}{hint}", errors.USAGE, verbose)
        except click.ClickException as exc:
            _fail(exc.format_message(), errors.USAGE, verbose)
        except click.exceptions.Abort:
            _fail("interrupted", errors.INTERRUPTED, verbose)
        except errors.SomcliError as exc:
            _fail(exc.one_line(), exc.exit_code, verbose)
        except KeyboardInterrupt:
            _fail("interrupted; no output was written", errors.INTERRUPTED, verbose)
        except (BrokenPipeError, _PipeClosed):
            _quiet_stdout()
            code = errors.OK
        except MemoryError:
            _fail("out of memory; lower --max-memory so that somcli refuses such runs before "
                  "starting, or use fewer rows, a smaller map or --dtype float32",
                  errors.DATA, verbose)
        except Exception as exc:  # a bug: one line, the traceback with -v
            _fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback "
                  "and report it)", errors.INTERNAL, verbose)
        finally:
            interrupts.restore(saved)
        if standalone_mode:
            sys.exit(code)
        return code


def _origin(exc: click.UsageError) -> str:
    """Where a refused value came from, when not the command line: the SOMCLI_* variable
    or the settings file and key (the user looks for it there)."""
    import os

    from click.core import ParameterSource

    param, ctx = getattr(exc, "param", None), exc.ctx
    if param is None or ctx is None or not param.name:
        return ""
    source = ctx.get_parameter_source(param.name)
    if source == ParameterSource.ENVIRONMENT:
        names = param.envvar if isinstance(param.envvar, list) else [param.envvar]
        found = next((n for n in names if n and n in os.environ), None)
        return f" (from ${found})" if found else ""
    if source == ParameterSource.DEFAULT_MAP:
        path = ctx.meta.get("somcli.settings_file")
        flag = next((o[2:] for o in param.opts if o.startswith("--")), param.name)
        return f" (from {path}, key {flag!r})" if path else ""
    return ""


def _quiet_library_warnings() -> None:
    """numpy's floating-point RuntimeWarnings are handled by somcli's own checks (gaps,
    huge values); other library warnings become one plain 'somcli: warning:' line."""
    warnings.simplefilter("ignore", RuntimeWarning)

    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"somcli: warning: {' '.join(str(message).split())}", err=True)

    warnings.showwarning = show


def _fail(message: str, code: int, verbose: bool = False) -> None:
    if verbose:
        traceback.print_exc(file=sys.stderr)
    message = " ".join(str(message).split())
    message = "".join(c if c.isprintable() else "?" for c in message)  # one line, no NULs
    click.echo(f"somcli: error: {message}", err=True)
    sys.exit(code)


def _quiet_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# ---------------------------------------------------------------- the group

@click.group(cls=SomcliGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                 "max_content_width": 100,
                                                 "show_default": True})
@click.version_option(__version__, "-V", "--version", prog_name="somcli")
def cli():
    """Cluster CSV data from the shell: k-means and self-organizing maps.

    INPUT is a CSV/TSV file (.gz, .bz2, .xz, .zip by extension), a Parquet or
    Arrow file, a quoted glob, or '-' / nothing for stdin. Assignments go to
    stdout unless -o DIR is given; messages go to stderr. Exit codes: 0 ok,
    1 drifted (assign --fail-on-drift), 64 usage, 65 data, 66 input,
    69 unavailable, 70 internal, 73 output, 74 I/O, 75 locked, 130 interrupted.
    """
