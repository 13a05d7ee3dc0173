"""How a data command runs once its options are parsed: the console, stdin, and
:func:`execute` (lock, refuse a bad output early, open the backend, run, write, summarise).
"""

from __future__ import annotations

import sys

import click

from somcli.cli.console import Console
from somcli.config import Execution


def console(kw) -> Console:
    """The run's console; it first says what the option callbacks noted (a settings file
    in the working folder that was read, or ignored and why)."""
    out = Console(quiet=kw.pop("quiet"), verbose=kw.pop("verbose"))
    meta = click.get_current_context().meta
    for note in meta.pop("somcli.notes", []):
        out.line(f"somcli: {note}")
    for warning in meta.pop("somcli.warnings", []):
        out.warn(warning)
    return out


def stdin():
    return sys.stdin.buffer if sys.stdin is not None else None


def learned(be, read, cols, embed, console: Console, dtype, cluster):
    """--embed: learn the embedding, then ``cluster(data)`` on the rows' codes."""
    from somcli.pipeline.learned_space import clustered

    return clustered(be, read, cols, embed, console.progress, stdin(), dtype, cluster)


def execute(console: Console, out, job, exe: Execution) -> dict:
    """Lock the output folder, refuse a bad one before any work, open the backend, run,
    write, summarise. The backend stays open until the result is written (the Dask
    workers write their part of the outputs then)."""
    from somcli.backends import open_backend
    from somcli.io.folder import OutputFolder
    from somcli.io.lock import locked
    from somcli.io.write import dumps
    from somcli.pipeline.common import write
    from somcli.report.markdown import render

    if exe.engine == "dask" and out.format == "json":
        raise click.UsageError("--engine dask writes the assignments in parts: use --format "
                               "csv, tsv or ndjson")
    with console, locked(out.out, out.wait):  # the spinner ends, whatever ends the run
        if out.out is not None:
            OutputFolder(out.out, out.force)  # refuses now (exit 73), before any work
        if out.output_file is not None:
            from somcli.io import output_file

            output_file.check(out.output_file)  # likewise
        if out.model_out:
            from somcli.models.model import model_paths

            model_paths(out.model_out, create=False)
        name, fallback = _backend_name(exe, console)
        with open_backend(name, exe, console.progress) as backend:
            result = job(backend)
            if exe.device != "cpu" and name != "gpu":  # the report says where it ran, and why
                result.report.parameters["device"] = "cpu" + (f" ({fallback})" if fallback
                                                              else "")
            settings = click.get_current_context().meta.get("somcli.settings_file")
            if settings:  # the run is reproducible only with the file it read
                result.report.parameters["settings_file"] = settings
            for warning in result.report.warnings:
                console.warn(warning)
            if out.out is None:
                console.done()  # the assignments go to stdout: no spinner in the data
            else:
                console.progress("writing")
            report = write(result, out, render)
    command = click.get_current_context().info_name  # assign of an embedding: "assign"
    console.summary({**report, "command": command or report["command"]},
                    report.get("files", []), out.out)
    if out.summary_json:
        from somcli.report.summary import summary

        click.echo(dumps(summary(report, out.out)))
    return report


def _backend_name(exe: Execution, console: Console) -> tuple[str, str | None]:
    """The backend to open: the GPU one for --device cuda (or auto, when a GPU is usable;
    otherwise a warning says why the run stays on the CPU), and that reason."""
    if exe.device == "cpu" or exe.engine != "local":
        return exe.engine, None
    from somcli.backends import gpu

    if exe.device == "auto" and gpu.find("auto") is None:
        why = gpu.why_not().removeprefix("--device cuda: ")
        console.warn(f"--device auto: running on the CPU ({why})")
        return exe.engine, f"--device auto: {why}"
    return "gpu", None
