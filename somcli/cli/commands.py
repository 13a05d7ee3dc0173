"""The commands that are not a clustering: inspect, embed and assign (the clustering
commands are in :mod:`somcli.cli.clustering`). A thin shell over :mod:`somcli.pipeline`:
options parsed into frozen settings (:mod:`somcli.cli.given`), the pipeline called, the
result printed or written; every error ends as one line on stderr and an exit code.
"""

from __future__ import annotations

import click

from somcli import errors
from somcli.cli import given as G
from somcli.cli import option_types as T
from somcli.cli import options as O
from somcli.cli import options_engine as OX
from somcli.cli import run as R
from somcli.cli.group import cli
from somcli.config import EmbedMethod

# ---------------------------------------------------------------- inspect

@cli.command(own="Profile")
@O.input_options
@O.column_options
@O.cleaning_options(allow_mask=True)
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@O.memory_option
@OX.engine_options
@O.common_options
@G.given(G.inspect)
def inspect(g: G.Inspect):
    """Profile INPUT: column roles, types, missing values, duplicates and what cleaning
    would do. Nothing is clustered. The profile goes to stdout."""
    from somcli.pipeline import inspect as run_inspect
    from somcli.report.inspect_view import render

    with g.console:
        if g.exe.engine == "local":
            profile = run_inspect.run(g.read, g.cols, g.cleaning, stdin=R.stdin())
        else:  # the statistics over every partition, as that engine's run sees them
            from somcli.backends import open_backend

            with open_backend(g.exe.engine, g.exe, g.console.progress) as be:
                profile = run_inspect.on_backend(be, g.read, g.cols, g.cleaning,
                                                 g.console.progress)
    if g.as_json:
        from somcli.io.write import dumps

        click.echo(dumps(profile, indent=2))
    else:
        render(profile)
    g.console.done()


# ---------------------------------------------------------------- embed

#: the options `somcli embed --help` shows (`--help-all`: every one)
EMBED_COMMON = ("columns", "dim", "epochs", "force", "id_column", "max_memory", "method",
                "model_out", "not_columns", "out", "output_file", "seed", "top")
EMBED_EXAMPLES = (
    "somcli embed ratings.csv -o out/             # codes, reconstruction, model",
    "somcli embed ratings.csv --dim 3 --top 2 -o out/",
    "somcli embed ratings.csv --method autoencoder -O codes.csv",
)


@cli.command(own="Embedding", common=EMBED_COMMON, examples=EMBED_EXAMPLES)
@O.input_options
@O.column_options
@click.option("--method", type=O.choice(EmbedMethod), default="rbm",
              help="rbm: a restricted Boltzmann machine (contrastive divergence) that sees only "
                   "each row's observed cells; autoencoder: one hidden layer trained on the "
                   "observed cells only (AutoRec).")
@click.option("--dim", type=click.IntRange(min=1), default=None, metavar="K",
              help="Size of the learned code (hidden units), at most the feature columns "
                   "(default 8, or the feature columns when fewer).")
@click.option("--epochs", type=click.IntRange(1, 100_000), default=None,
              help="Passes over the data (default 30 rbm, 50 autoencoder; at least 1,500 "
                   "steps on small tables).")
@click.option("--learning-rate", type=T.Finite(min=0, min_open=True), default=None,
              help="Learning rate (default 0.05 rbm, 0.01 autoencoder).")
@click.option("--batch-rows", type=click.IntRange(min=1), default=64,
              help="Rows per gradient step.")
@click.option("--holdout", type=T.Finite(0, 0.9), default=0.1, metavar="SHARE",
              help="Share of the observed cells kept out of training to measure how well "
                   "unseen cells are predicted (the report's held-out error).")
@click.option("--top", type=click.IntRange(min=0), default=0, metavar="N",
              help="Also write recommendations.csv: each row's N missing cells with the "
                   "highest reconstructed score (unseen items a user would like).")
@O.seed_option
@O.memory_option
@OX.engine_options
@O.output_options()
@G.given(G.embed)
def embed(g: G.Embed):
    """Learn a K-dimensional code for every row of INPUT with an RBM or an autoencoder
    trained on the observed cells; write embeddings (e0..eK-1 per row), every cell
    reconstructed (the gaps filled) and a report."""
    from somcli.pipeline import embed as run_embed

    if g.opts.top and g.out.out is None:
        raise click.UsageError("--top writes recommendations.csv beside the codes: add -o DIR "
                               "(stdout and -O carry the codes alone)")

    def job(be):
        return run_embed.run(be, g.read, g.cols, g.opts, g.console.progress, R.stdin())

    R.execute(g.console, g.out, job, g.exe)


# ---------------------------------------------------------------- assign

#: the options `somcli assign --help` shows (`--help-all`: every one)
ASSIGN_COMMON = ("engine", "fail_on_drift", "fmt", "force", "no_plots", "out", "output_file",
                 "summary_json", "wait")
ASSIGN_EXAMPLES = (
    "somcli assign model/model.json today.csv -o 'daily/{date}'",
    "somcli assign model/model.json today.csv --fail-on-drift -q",
    "cat new.csv | somcli assign model/model.json - > clusters.csv",
)


@cli.command(own="Assignment", common=ASSIGN_COMMON, examples=ASSIGN_EXAMPLES)
@click.argument("model", metavar="MODEL")
@O.input_options
@click.option("--json", "as_json", is_flag=True, hidden=True,
              help="Old name of --summary-json (kept for scripts).")
@click.option("--fail-on-drift", is_flag=True,
              help="Exit 1 when the drift report says INPUT drifted from the training data "
                   "(the results are written all the same), so cron can alert.")
@O.memory_option
@OX.engine_options
@OX.device_option
@O.output_options(plots=True, model=False, maps=True)
@G.given(G.assign)
def assign(g: G.Assign):
    """Assign the rows of INPUT to the clusters of a saved MODEL (model.json, or the folder
    holding it): the stored cleaning is replayed, never refitted, and the report has a
    drift section comparing INPUT with the training data."""
    from somcli.pipeline import assign as run_assign

    out = g.out
    plots = out.color_scale if out.plots and out.out is not None else None

    def job(be):
        return run_assign.run(be, g.model, g.read, g.console.progress, R.stdin(), g.explicit,
                              plots)

    report = R.execute(g.console, out, job, g.exe)
    drift = report.get("drift") or {}
    if g.fail_on_drift and drift.get("drifted"):
        raise errors.Drifted(f"{', '.join(g.read.inputs)}: drifted from the training data "
                             f"({drift.get('verdict')})", "exit 1 because of --fail-on-drift; "
                             "the results are written")
