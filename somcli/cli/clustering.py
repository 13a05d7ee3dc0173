"""The clustering commands, kmeans and som: each one's settings (a frozen dataclass over
:class:`somcli.cli.given.Clustering`), the builder that makes them from the parsed
options, and its Click command, side by side. A new clustering command is one more such
section here (the rest of a new algorithm: ``somcli.config.CLUSTERINGS``, its module in
``algorithms/`` and in ``pipeline/``; see docs/architecture.md "Where to add things").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import click

from somcli.cli import given as G
from somcli.cli import option_types as T
from somcli.cli import options as O
from somcli.cli import options_embed as OE
from somcli.cli import options_engine as OX
from somcli.cli import run as R
from somcli.cli.group import cli
from somcli.config import (
    Decay,
    Init,
    KMeansOptions,
    Neighborhood,
    Precision,
    SomOptions,
    Topology,
    Trainer,
    UmatrixStat,
    UnitOptions,
)

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


@dataclass(frozen=True, kw_only=True)
class KMeans(G.Clustering):
    opts: KMeansOptions


def kmeans_settings(kw: dict) -> KMeans:
    opts = KMeansOptions(k=kw.pop("k"), k_max=kw.pop("k_max"), n_init=kw.pop("n_init"),
                         minibatch_rows=kw.pop("minibatch_rows"), seed=kw.pop("seed"))
    return KMeans(**G.clustering(kw, opts.seed), opts=opts)


@cli.command(own="k-means", common=KMEANS_COMMON, examples=KMEANS_EXAMPLES)
@O.input_options
@O.column_options
@O.cleaning_options()
@click.option("-k", "k", type=T.KType(), default="auto", show_default=True,
              help="Number of clusters of the rows, or auto: k-means for each k in "
                   "2..--k-max on the rows, keeping the best Calinski-Harabasz among stable "
                   "solutions without tiny clusters (or one whose clusters are separated by "
                   "gaps when the best one's are not).")
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
@G.given(kmeans_settings)
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


@dataclass(frozen=True, kw_only=True)
class Som(G.Clustering):
    opts: SomOptions
    units: UnitOptions
    resume: str | None  # a model to train on
    explicit: frozenset[str]  # options given on the command line (not defaults)


def som_settings(kw: dict) -> Som:
    size = kw.pop("map_size")
    opts = SomOptions(
        rows=size[0] if size else None, cols=size[1] if size else None,
        max_units=kw.pop("max_units"), topology=kw.pop("topology"), init=kw.pop("init"),
        train=kw.pop("train"), epochs=kw.pop("epochs"), sigma=kw.pop("sigma"),
        sigma_end=kw.pop("sigma_end"), decay=kw.pop("decay"),
        learning_rate=kw.pop("learning_rate"), neighborhood=kw.pop("neighborhood"),
        seed=kw.pop("seed"))
    units = UnitOptions(k=kw.pop("k"), k_max=kw.pop("k_max"),
                        umatrix_stat=kw.pop("umatrix_stat"), outliers=kw.pop("outlier_q"))
    shared = G.clustering(kw, opts.seed)
    shared["exe"] = replace(shared["exe"], threads=kw.pop("threads"), dtype=kw.pop("dtype"))
    return Som(**shared, opts=opts, units=units, resume=kw.pop("resume"), explicit=G.explicit())


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
                   "clusters (or one whose clusters are separated by gaps when the best "
                   "one's are not); units: every map unit is its own cluster.")
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
@G.given(som_settings)
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
