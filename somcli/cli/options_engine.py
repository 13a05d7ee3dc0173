"""The Engine options: where a run computes (--engine, the Dask cluster's options,
--device) and the :class:`~somcli.config.Execution` they make."""

from __future__ import annotations

import click

from somcli.backends import ENGINES
from somcli.cli.options import choice, stack
from somcli.config import Device


def engine_options(f):
    return stack(
        click.option("--engine", type=click.Choice(ENGINES), default="local",
                     show_default=True,
                     help="local: this process. dask: a Dask cluster (--scheduler, "
                          "--scheduler-file or DASK_SCHEDULER_ADDRESS; with none, a local "
                          "cluster on 127.0.0.1 for this run). Needs somcli[dask]."),
        click.option("--scheduler", metavar="ADDR", help="Dask scheduler, e.g. tcp://host:8786."),
        click.option("--scheduler-file", type=click.Path(dir_okay=False), metavar="PATH",
                     help="Dask scheduler file (written by `dask scheduler --scheduler-file`)."),
        click.option("--blocksize", default="64MB", show_default=True, metavar="SIZE",
                     help="Dask engine: bytes of CSV per partition."),
        click.option("--single-file", is_flag=True,
                     help="Dask engine: join the per-partition assignment files into one "
                          "assignments file (default: a folder assignments/ of part files)."),
        group="Engine",
    )(f)


def device_option(f):
    return stack(click.option(
        "--device", type=choice(Device), default="cpu",
        show_default=True, help="Where the SOM's training, the best-unit search and k-means "
        "run: cpu, cuda (a GPU through CuPy: pip install 'somcli[gpu]'; exit 69 when none is "
        "usable) or auto (the GPU when one is usable, else the CPU with a note). Reading, "
        "cleaning and writing stay on the CPU. Local engine only."), group="Engine")(f)


def engine_from(kw: dict):
    """(Execution, --single-file); dask-only options without --engine dask are refused."""
    from somcli.config import DaskOptions, Execution

    engine, device = kw.pop("engine"), kw.pop("device", "cpu")
    if engine == "dask" and device != "cpu":
        raise click.UsageError("--device cuda|auto runs with the local engine only (the Dask "
                               "engine computes on its workers' CPUs)")
    scheduler, scheduler_file = kw.pop("scheduler"), kw.pop("scheduler_file")
    blocksize, single = kw.pop("blocksize"), kw.pop("single_file")
    if engine != "dask":
        if scheduler or scheduler_file or single:
            raise click.UsageError("--scheduler, --scheduler-file and --single-file need "
                                   "--engine dask")
        return Execution(engine=engine, device=device), single
    if scheduler and scheduler_file:
        raise click.UsageError("give --scheduler or --scheduler-file, not both")
    blocksize = _blocksize(blocksize)
    return Execution(engine=engine, dask=DaskOptions(scheduler=scheduler,
                                                     scheduler_file=scheduler_file,
                                                     blocksize=blocksize)), single


def _blocksize(text: str) -> int:
    """--blocksize: bytes per partition, at least 1 KB (Dask's size syntax, where a KB is
    1,000 bytes: 64MB, 100KB, 1KB)."""
    from somcli.backends.dask_cluster.client import parse_size

    try:
        size = parse_size(text)
    except ImportError:
        return text  # the engine says what to install
    except (ValueError, TypeError):
        raise click.BadParameter(f"{text!r}: give a size like 64MB or 100KB",
                                 param_hint="--blocksize") from None
    if size < 1000:
        raise click.BadParameter(f"{text!r}: at least 1KB per partition",
                                 param_hint="--blocksize")
    return size
