"""Where a run's time goes, as it goes: a timeline on stderr of the run's steps (entered and
left), each picture asked of the helper and its arrival, and the exit, in seconds since
the process started its Python (the console script's own start: the helper is started
early exactly as `somcli` starts it).

    python benchmarks/run_timeline.py kmeans small.csv -o out -q
    python benchmarks/run_timeline.py som big.csv --map 20x20 -o out -q
    python benchmarks/run_timeline.py --wrap somcli.pipeline.steps.internal -- som ...

Run it from a folder outside the checkout to time another package copy
(``PYTHONPATH=/tmp/old python .../run_timeline.py ...``). It wraps functions by name, so a
step renamed since is reported as not found, not silently left out.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

T0 = time.perf_counter()
STEPS = ("somcli.pipeline.kmeans._choose_k", "somcli.pipeline.kmeans.fit_kmeans",
         "somcli.pipeline.som_outputs.cluster_units", "somcli.pipeline.som_outputs.scored_rows",
         "somcli.pipeline.som_outputs._outlier_rule", "somcli.pipeline.som_outputs.unit_names",
         "somcli.pipeline.steps.profiles", "somcli.pipeline.steps.internal",
         "somcli.pipeline.som.outputs", "somcli.pipeline.common.write")


def log(message: str) -> None:
    sys.stderr.write(f"[{time.perf_counter() - T0:7.3f}] {message}\n")


def wrap(path: str) -> None:
    module_name, name = path.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
        inner = getattr(module, name)
    except (ImportError, AttributeError):
        log(f"(not found: {path})")
        return

    def timed(*args, **kwargs):
        log(f"> {name}")
        try:
            return inner(*args, **kwargs)
        finally:
            log(f"< {name}")

    setattr(module, name, timed)


def main() -> None:
    args = sys.argv[1:]
    extra = []
    while args[:1] == ["--wrap"]:
        extra.append(args[1])
        args = args[2:]
    args = args[1:] if args[:1] == ["--"] else args
    from somcli.report import helper_process

    helper_process.early(args)
    from somcli.runtime import memory

    memory.settle()
    import somcli.cli as cli
    from somcli.report import painter

    log("command line imported")
    paint = painter.Painter.paint

    def logged_paint(self, requests, fallback, last=True):
        log(f"asked {sorted(fallback)}{' (last)' if last else ''}")
        futures = paint(self, requests, fallback, last)
        for picture, future in futures.items():
            future.add_done_callback(lambda _, p=picture: log(f"arrived {p}"))
        return futures

    painter.Painter.paint = logged_paint
    for path in (*STEPS, *extra):
        wrap(path)
    exit_ = os._exit

    def logged_exit(code):
        log(f"exit {code}")
        exit_(code)

    os._exit = logged_exit
    cli.main(args)


if __name__ == "__main__":
    main()
