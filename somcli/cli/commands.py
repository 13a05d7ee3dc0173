"""The somcli command line: a thin shell over :mod:`somcli.pipeline`.

Commands parse options into frozen configs, call the pipeline, and print.
Every error ends here as one line on stderr and a documented exit code.
"""

from __future__ import annotations

import click

from somcli import errors
from somcli.cli import given as G
from somcli.cli import option_types as T
from somcli.cli import options as O
from somcli.cli import options_embed as OE
from somcli.cli import options_engine as OX
from somcli.cli import run as R
from somcli.cli.group import SomcliGroup
from somcli.config import (
    Decay,
    EmbedMethod,
    Init,
    Neighborhood,
    Precision,
    Topology,
    Trainer,
    UmatrixStat,
)
from somcli.version import __version__


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


# ---------------------------------------------------------------- kmeans

#: the options `somcli kmeans|som --help` show (`--help-all`: every one)
CLUSTERING_COMMON = ("columns", "embed", "engine", "fmt", "force", "id_column", "k",
                     "label_column", "max_memory", "missing", "model_out", "no_plots",
                     "not_columns", "out", "output_file", "scale", "seed")
KMEANS_COMMON = (*CLUSTERING_COMMON, "k_max")
KMEANS_EXAMPLES = (
    "somcli kmeans data.csv                      # k chosen, assignments on stdout",
    "somcli kmeans data.csv -k 5 -o out/ --model-out model/",
    "somcli kmeans 'exports/*.csv.gz' -k 5 -O clusters.json",
    "somcli kmeans ratings.csv --embed rbm -k 4 -o out/",
)


@cli.command(own="k-means", common=KMEANS_COMMON, examples=KMEANS_EXAMPLES)
@O.input_options
@O.column_options
@O.cleaning_options()
@click.option("-k", "k", type=T.KType(), default="auto", show_default=True,
              help="Number of clusters of the rows, or auto: k-means for each k in "
                   "2..--k-max on the rows, keeping the best Calinski-Harabasz among stable "
                   "solutions without tiny clusters.")
@click.option("--k-max", type=click.IntRange(min=2), default=10, show_default=True,
              help="Largest number of clusters of the rows that -k auto tries.")
@click.option("--n-init", type=click.IntRange(min=1), default=None,
              help="k-means++ restarts (default 10, or 3 above 100,000 rows).")
@click.option("--minibatch-rows", type=click.IntRange(min=1), default=200_000,
              show_default=True, help="Use MiniBatchKMeans above this many rows.")
@O.seed_option
@OE.embed_option
@O.memory_option
@OX.engine_options
@OX.device_option
@O.output_options(plots=True)
@G.given(G.kmeans)
def kmeans(g: G.KMeans):
    """Cluster INPUT with k-means (scikit-learn) and write assignments, centroids and a report."""
    import contextlib

    from somcli.pipeline import kmeans as run_kmeans
    from somcli.report.painter import Painter

    plots = g.out.plots and g.out.out is not None

    def job(be):
        def cluster(data=None):
            return run_kmeans.run(be, g.read, g.cols, g.cleaning, g.opts,
                                  progress=g.console.progress, stdin=R.stdin(), data=data,
                                  plots=plots, painter=painter)

        return cluster() if g.embed is None else R.learned(be, g.read, g.cols, g.embed,
                                                           g.console, "float64", cluster)

    # a helper process imports matplotlib now, while this one reads and fits
    painter = Painter.start() if plots and g.exe.engine == "local" else None
    with painter or contextlib.nullcontext():
        R.execute(g.console, g.out, job, g.exe)


# ---------------------------------------------------------------- som

SOM_COMMON = (*CLUSTERING_COMMON, "map_size", "topology", "epochs")
SOM_EXAMPLES = (
    "somcli som data.csv -o out/                 # map, clusters, pictures, report",
    "somcli som data.csv -k 4 --map 12x10 -o out/",
    "somcli som ratings.csv --missing mask -o out/  # gaps ignored, not filled",
    "somcli som data.csv -k 3 | head               # assignments on stdout",
)


@cli.command(own="Map and training", common=SOM_COMMON, examples=SOM_EXAMPLES)
@O.input_options
@O.column_options
@O.cleaning_options(allow_mask=True)
@click.option("--map", "map_size", type=T.MapType(), default="auto", show_default=True,
              help="Map size ROWSxCOLS, or auto: about 5*sqrt(rows) units shaped by the data's "
                   "two main principal components (at most --max-units).")
@click.option("--max-units", type=click.IntRange(min=4), default=2500, show_default=True,
              help="Cap for the automatic map size.")
@click.option("--topology", type=O.choice(Topology), default="hex", show_default=True,
              help="Unit layout: hexagonal (six neighbours, the SOM Toolbox's default) or "
                   "rectangular (four).")
@click.option("--init", type=O.choice(Init), default="pca", show_default=True,
              help="Initial codebook: the plane of the two main principal components, or rows "
                   "drawn at random (--seed).")
@click.option("--train", type=O.choice(Trainer), default="batch",
              show_default=True,
              help="batch: somcli's vectorized Kohonen batch rule (update after each pass); "
                   "online: MiniSom, update after each row, rows in random order (slow).")
@click.option("--epochs", type=click.IntRange(1, 1_000_000), default=None,
              help="Passes over the data (default 20 batch, 10 online).")
@click.option("--sigma", type=T.Finite(min=0, min_open=True), default=None,
              help="Start radius of the neighbourhood (default max(1.5, longer side / 4)).")
@click.option("--sigma-end", type=T.Finite(min=0, min_open=True), default=None,
              help="End radius (default 1, or --sigma if smaller).")
@click.option("--decay", type=O.choice(Decay), default="linear",
              show_default=True, help="How the radius shrinks from --sigma to --sigma-end.")
@click.option("--learning-rate", type=T.Finite(min=0, min_open=True), default=0.5,
              show_default=True, help="Learning rate (online training only: the start rate).")
@click.option("--neighborhood", type=O.choice(Neighborhood),
              default="gaussian", show_default=True,
              help="Neighbourhood function (mexican_hat: online only).")
@click.option("-k", "k", type=T.KType(units=True), default="auto", show_default=True,
              help="Group the map's units into N clusters (k-means on the codebook, weighted "
                   "by hits); auto: that for each k in 2..--k-max, keeping the best "
                   "Calinski-Harabasz on the rows among stable solutions without tiny "
                   "clusters; units: every map unit is its own cluster.")
@click.option("--k-max", type=click.IntRange(min=2), default=10, show_default=True,
              help="Largest number of clusters of the units that -k auto tries.")
@click.option("--umatrix-stat", type=O.choice(UmatrixStat),
              default="mean", show_default=True,
              help="How a unit's distances to its neighbours make its U-matrix value.")
@click.option("--outliers", "outlier_q", type=T.OutlierType(), default="robust",
              show_default=True,
              help="robust: flag rows whose QE is more than 3 robust SDs above the typical "
                   "row's on the log scale (nothing on tables under 20 rows); Q: flag rows "
                   "whose outlier score is above the Q quantile (e.g. 0.99: 1% of rows).")
@O.engine(
    click.option("--dtype", type=O.choice(Precision), default="float32",
                 show_default=True,
                 help="Precision of the batch engine's arithmetic. float32 gives float64's map "
                      "(near ties are decided in float64) at less cost."),
    click.option("--threads", type=click.IntRange(min=1), default=None,
                 help="Worker threads for the batch engine (default: SOMCLI_THREADS if set, "
                      "else every CPU; OMP_NUM_THREADS is left to the libraries)."))
@click.option("--resume", metavar="MODEL",
              help="Continue training a saved SOM (model.json) on INPUT: same grid, columns and "
                   "cleaning; 5 epochs at the model's final radius unless --epochs/--sigma; "
                   "clusters keep their numbers.")
@O.seed_option
@OE.embed_option
@O.memory_option
@OX.engine_options
@OX.device_option
@O.output_options(plots=True, maps=True)
@G.given(G.som)
def som(g: G.Som):
    """Train a self-organizing map on INPUT; write assignments (cluster, BMU, QE, outlier
    score), the codebook, U-matrices, outliers, pictures and a report."""
    import contextlib

    from somcli.report.painter import Painter

    out, exe = g.out, g.exe
    plots = out.color_scale if out.plots and out.out is not None else None
    if g.resume:
        _refuse_with_resume(g.explicit)
        if g.embed is not None:
            raise click.UsageError("--embed and --resume: a resumed map keeps its model's space")

    def job(be):
        from somcli.pipeline import som as run_som

        if g.resume:
            return run_som.resume(be, g.resume, g.read, g.opts, g.units, exe,
                                  g.console.progress, R.stdin(), plots, g.explicit)

        def cluster(data=None):
            return run_som.run(be, g.read, g.cols, g.cleaning, g.opts, g.units, exe,
                               progress=g.console.progress, stdin=R.stdin(), plots=plots,
                               painter=painter, data=data)

        return cluster() if g.embed is None else R.learned(be, g.read, g.cols, g.embed,
                                                           g.console, exe.float_type, cluster)

    # big inputs: a helper process imports matplotlib now, while this one imports and reads
    local = exe.engine == "local"
    painter = Painter.start() if plots and not g.resume and local else None
    with painter or contextlib.nullcontext():
        R.execute(g.console, out, job, exe)


RESUME_FIXED = ("map_size", "topology", "columns", "not_columns", "id_column", "label_column",
                "missing", "scale", "dedupe", "dedupe_by", "max_missing", "k", "init", "train")


def _refuse_with_resume(explicit: frozenset[str]) -> None:
    ctx = click.get_current_context()
    given = [p.opts[-1] for p in ctx.command.params
             if p.name in RESUME_FIXED and p.name in explicit]
    if given:
        raise click.UsageError(f"{', '.join(given)} cannot change when resuming: the model "
                               "fixes the grid, the columns, the cleaning and the clusters")


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


def _add_commands() -> None:
    from somcli.cli.settings_file import name_variables
    from somcli.cli.shell_commands import completion, config, data_commands

    name_variables(cli, data_commands(cli))
    cli.add_command(completion)
    cli.add_command(config)


_add_commands()
