"""What each data command was given: one typed settings object per command, built once
from the values Click parsed.

A command's callback takes one of these (``@given(build)``), never ``**kw``: each builder
turns the command's option values into the frozen settings of :mod:`somcli.config` (and
the pipeline's options), and every value must be used exactly once, so an option declared
but read by nothing is an internal error the tests catch, not a silent no-op.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

import click

from somcli.cli import options as O
from somcli.cli import options_embed as OE
from somcli.cli import options_engine as OX
from somcli.cli import run as R
from somcli.cli.console import Console
from somcli.config import (
    CleanOptions,
    ColumnOptions,
    Execution,
    OutputOptions,
    ReadOptions,
)


def given(build: Callable[[dict], object]):
    """The command's callback gets ``build(values)``; values left unread are a bug."""
    def decorate(fn):
        @functools.wraps(fn)
        def callback(**values):
            settings = build(values)
            if values:
                raise AssertionError(f"options no setting reads: {sorted(values)}")
            return fn(settings)

        return callback

    return decorate


@dataclass(frozen=True, kw_only=True)
class Inspect:
    console: Console
    read: ReadOptions
    cols: ColumnOptions
    cleaning: CleanOptions
    exe: Execution
    as_json: bool


@dataclass(frozen=True, kw_only=True)
class Clustering:
    """What kmeans and som share: where the rows come from, how they are cleaned, where
    the run happens and what it writes, and ``--embed`` (None: the rows themselves)."""

    console: Console
    read: ReadOptions
    cols: ColumnOptions
    cleaning: CleanOptions
    exe: Execution
    out: OutputOptions
    embed: object | None  # pipeline.embed.EmbedOptions


@dataclass(frozen=True, kw_only=True)
class Embed:
    console: Console
    read: ReadOptions
    cols: ColumnOptions
    exe: Execution
    out: OutputOptions
    opts: object  # pipeline.embed.EmbedOptions


@dataclass(frozen=True, kw_only=True)
class Assign:
    console: Console
    read: ReadOptions
    exe: Execution
    out: OutputOptions
    model: str
    fail_on_drift: bool
    explicit: frozenset[str]


# ---------------------------------------------------------------- builders

def _run(kw: dict, writes: bool = True) -> dict:
    """What every data command has: its console, input, engine and (``writes``) outputs."""
    console, read = R.console(kw), O.read_from(kw)
    exe, single = OX.engine_from(kw)  # --single-file: nothing to join without outputs
    kw.pop("max_memory")  # resolved once, in read.memory_limit
    out = {"out": replace(O.output_from(kw, read.inputs), single_file=single)} if writes else {}
    return {"console": console, "read": read, "exe": exe} | out


def inspect(kw: dict) -> Inspect:
    return Inspect(**_run(kw, writes=False), cols=O.columns_from(kw),
                   cleaning=O.cleaning_from(kw), as_json=kw.pop("as_json"))


def clustering(kw: dict, seed: int) -> dict:
    """_run, the columns and the cleaning, and --embed (with the options' ``seed``)."""
    shared = _run(kw) | {"cols": O.columns_from(kw), "cleaning": O.cleaning_from(kw)}
    embed = OE.embed_from(kw, seed)
    cols = shared["cols"] if embed is None else OE.sparse_columns(shared["cols"])
    return shared | {"embed": embed, "cols": cols}


def embed(kw: dict) -> Embed:
    from somcli.pipeline.embed import EmbedOptions

    opts = EmbedOptions(method=kw.pop("method"), dim=kw.pop("dim"), epochs=kw.pop("epochs"),
                        rate=kw.pop("learning_rate"), batch=kw.pop("batch_rows"),
                        holdout=kw.pop("holdout"), top=kw.pop("top"), seed=kw.pop("seed"))
    return Embed(**_run(kw), cols=OE.sparse_columns(O.columns_from(kw)), opts=opts)


def assign(kw: dict) -> Assign:
    model, fail_on_drift = kw.pop("model"), kw.pop("fail_on_drift")
    if kw.pop("as_json"):  # the old name of --summary-json
        kw["summary_json"] = True
    return Assign(**_run(kw), model=model, fail_on_drift=fail_on_drift, explicit=explicit())


def explicit() -> frozenset[str]:
    """The parameters given on the command line, by a variable or a settings file (not
    left at their defaults)."""
    ctx = click.get_current_context()
    return frozenset(p.name for p in ctx.command.params if is_explicit(ctx, p.name))


def is_explicit(ctx: click.Context, name: str) -> bool:
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)
