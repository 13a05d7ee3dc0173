"""Option bundles shared by the commands, defined once (as csvkit and sqlite-utils do).

Each bundle is a decorator adding its options, plus a function that pops its
values from the command's keyword arguments and builds the frozen config.
"""

from __future__ import annotations

import os
import re
from typing import get_args

import click

from somcli.cli.option_types import SEED, Finite
from somcli.config import (
    COLOR_SCALES,
    DEDUPE_METHODS,
    DEFAULT_NA_VALUES,
    FORMATS,
    MISSING_METHODS,
    SCALES,
    Categorical,
    CleanOptions,
    ColumnOptions,
    DecimalMark,
    OutputOptions,
    ReadOptions,
)


def stack(*decorators, group: str | None = None):
    """Apply option decorators in reading order; with ``group``, the options they add are
    listed under that heading in --help (see command_group.GroupedCommand)."""
    def apply(f):
        before = len(getattr(f, "__click_params__", []))
        for d in reversed(decorators):
            f = d(f)
        for param in getattr(f, "__click_params__", [])[before:]:
            if group and not hasattr(param, "somcli_group"):
                param.somcli_group = group
        return f
    return apply


def engine(*decorators):
    """Command-specific options listed under Engine in --help (--dtype, --threads)."""
    return stack(*decorators, group="Engine")


# ---------------------------------------------------------------- input

def input_options(f):
    return stack(
        click.argument("inputs", nargs=-1, metavar="[INPUT]..."),
        click.option("-d", "--delimiter", metavar="CHAR",
                     help="Field delimiter (default: detected among , ; TAB |). 'tab' for TAB."),
        click.option("-t", "--tabs", is_flag=True, help="The input is tab-separated."),
        click.option("--quotechar", default='"', show_default=True, metavar="CHAR",
                     help="Character that quotes fields."),
        click.option("-e", "--encoding", default="utf-8", show_default=True,
                     help="Input encoding (a UTF-8 or UTF-16 byte-order mark is honoured; a file that "
                          "is not UTF-8 but Western European Windows-1252 is read as "
                          "such, with a warning)."),
        click.option("--decimal", type=choice(DecimalMark), default=None,
                     help="Decimal mark (default: '.', or ',' for ;-separated files whose "
                          "numbers use decimal commas)."),
        click.option("-H", "--no-header-row", is_flag=True,
                     help="The first line is data; columns are named column_1, column_2, ..."),
        click.option("-K", "--skip-lines", type=click.IntRange(min=0), default=None, metavar="N",
                     help="Skip N lines (a preamble) before the header (default: title lines "
                          "above the table, each with one value, are found and skipped; "
                          "-K 0 reads from the first line)."),
        click.option("--keep-totals", is_flag=True,
                     help="Keep rows at the top or bottom of a table that are its totals or "
                          "averages (a 'Total' or 'Summe' row whose numbers are the other "
                          "rows' sums) and the notes below it ('Source: ...'): by default "
                          "they are left out, with a note."),
        click.option("--na-values", multiple=True, metavar="LIST",
                     help="Comma-separated tokens read as missing, besides the default ones "
                          f"({', '.join(DEFAULT_NA_VALUES[:8])}, ...). An empty cell is "
                          "always missing. Repeatable."),
        click.option("--na-values-only", is_flag=True,
                     help="Read only the --na-values tokens (and empty cells) as missing, "
                          "not the default ones."),
        group="Input",
    )(f)


def read_from(kw: dict) -> ReadOptions:
    delimiter = kw.pop("delimiter")
    tabs = kw.pop("tabs")
    if tabs and delimiter not in (None, "\t", "tab", "\\t"):
        raise click.UsageError("-t/--tabs and -d/--delimiter disagree; give one")
    if tabs or delimiter in ("tab", "\\t", "TAB"):
        delimiter = "\t"
    if delimiter is not None and not _one_char(delimiter):
        raise click.BadParameter(f"{delimiter!r}: must be one ASCII character, not a line end "
                                 "(or 'tab')", param_hint="-d/--delimiter")
    quotechar = kw.pop("quotechar")
    if not _one_char(quotechar):
        raise click.BadParameter(f"{quotechar!r}: must be one ASCII character, not a line end",
                                 param_hint="--quotechar")
    if delimiter is not None and delimiter == quotechar:
        raise click.UsageError("-d/--delimiter and --quotechar must differ")
    na = tuple(t for item in kw.pop("na_values") for t in item.split(","))
    if kw.pop("na_values_only"):
        na_values = na
    else:
        na_values = DEFAULT_NA_VALUES + tuple(t for t in na if t not in DEFAULT_NA_VALUES)
    from somcli.runtime.memory import parse_limit

    return ReadOptions(
        memory_limit=parse_limit(kw.get("max_memory")),
        inputs=tuple(kw.pop("inputs")) or ("-",), delimiter=delimiter,
        encoding=kw.pop("encoding"), decimal=kw.pop("decimal"),
        header=not kw.pop("no_header_row"), skip_lines=kw.pop("skip_lines"),
        quotechar=quotechar, na_values=na_values, all_columns=kw.pop("all_columns", False),
        keep_totals=kw.pop("keep_totals"),
    )


def _one_char(text: str) -> bool:
    """One character the CSV parser can split on: ASCII, and not a line end or NUL."""
    return len(text) == 1 and text.isascii() and text not in "\r\n\0"


# ---------------------------------------------------------------- columns

def column_options(f):
    return stack(
        click.option("-c", "--columns", metavar="LIST",
                     help="Feature columns: names, 1-based indices or ranges, e.g. '2,4-6'. "
                          "Default: every numeric column that is not excluded by a rule."),
        click.option("-C", "--not-columns", metavar="LIST",
                     help="Columns to leave out (same syntax as -c)."),
        click.option("--id-column", multiple=True, metavar="COL",
                     help="Treat COL as an identifier: carried to the outputs, never a "
                          "feature. Repeatable. Text columns are identifiers anyway."),
        click.option("--label-column", metavar="COL",
                     help="Known classes, used only to score the clusters (ARI, NMI, purity)."),
        click.option("--categorical", type=choice(Categorical), default="none",
                     show_default=True,
                     help="onehot: category columns become features, one indicator per value, "
                          "each category weighted like one standardized column; none: they "
                          "are carried and profiled only. A category named in -c is one-hot "
                          "encoded either way."),
        click.option("--max-missing", type=Finite(0, 1), default=0.5,
                     show_default=True, metavar="SHARE",
                     help="Exclude a column when more than this share of its values is missing."),
        group="Columns",
    )(f)


def columns_from(kw: dict) -> ColumnOptions:
    return ColumnOptions(columns=kw.pop("columns"), not_columns=kw.pop("not_columns"),
                         id_columns=tuple(kw.pop("id_column")),
                         label_column=kw.pop("label_column"), max_missing=kw.pop("max_missing"),
                         categorical=kw.pop("categorical"))


# ---------------------------------------------------------------- cleaning

def cleaning_options(allow_mask: bool = False):
    methods = [m for m in MISSING_METHODS if allow_mask or m != "mask"]
    mask_help = (" mask: the SOM ignores missing components (batch training only)."
                 if allow_mask else "")

    def deco(f):
        return stack(
            click.option("--missing", type=click.Choice(methods), default="median",
                         show_default=True,
                         help="Missing values (and inf): fill per column, knn: from the 5 "
                              "nearest rows, drop: leave such rows out of fitting (they get an "
                              "empty cluster)." + mask_help),
            click.option("--dedupe", type=click.Choice(DEDUPE_METHODS), default="none",
                         show_default=True,
                         help="Rows sharing an id (see --dedupe-by) are fitted once: the first, "
                              "the last, or their mean. Every row is still assigned."),
            click.option("--dedupe-by", metavar="COL",
                         help="Identifier column that names an entity for --dedupe (default: "
                              "the identifier with most distinct values)."),
            click.option("--scale", type=click.Choice(SCALES),
                         default="standard", show_default=True, help="Feature scaling."),
            group="Cleaning",
        )(f)
    return deco


def cleaning_from(kw: dict) -> CleanOptions:
    return CleanOptions(missing=kw.pop("missing"), dedupe=kw.pop("dedupe"),
                        dedupe_by=kw.pop("dedupe_by"), scale=kw.pop("scale"))


# ---------------------------------------------------------------- output

def output_options(plots: bool = False, model: bool = True, maps: bool = False):
    def deco(f):
        opts = [
            click.option("-o", "--out", metavar="DIR",
                         help="Write all results into DIR (created; its parent must exist). "
                              "Without it the assignments go to stdout and nothing else does."),
            click.option("-O", "--output", "output_file", metavar="FILE",
                         help="Write the assignments alone to FILE (in --format), replacing it "
                              "in one step; nothing goes to stdout."),
            click.option("--force", is_flag=True,
                         help="Replace the results in an existing, non-empty --out folder."),
            click.option("-a", "--all-columns", is_flag=True,
                         help="The assignments carry every input column (as read), not only the "
                              "identifier, category, date and label columns."),
            click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv",
                         show_default=True, help="Format of the assignments."),
            click.option("--safe-csv/--no-safe-csv", default=True, show_default=True,
                         help="Prefix text cells starting with = + - @ with a quote so "
                              "spreadsheets do not run them as formulas (numbers untouched; "
                              "files only: stdout gets the values as they came)."),
            click.option("--no-html", is_flag=True,
                         help="Do not write report.html (report.md and report.json are "
                              "written all the same)."),
            click.option("--precision", type=click.IntRange(1, 17), default=None, metavar="N",
                         help="Round the numbers somcli computes (distances, scores, centroids, "
                              "codebooks) to N significant digits. Default: the shortest text "
                              "that reads back as the stored value. Input values are never "
                              "rounded."),
        ]
        if plots:
            opts.append(click.option("--no-plots", is_flag=True,
                                     help="Do not draw the pictures (PNG, SVG)."))
        if maps:
            opts.append(click.option(
                "--color-scale", type=click.Choice(COLOR_SCALES), default="auto", show_default=True,
                help="How map values become colours (U-matrix, hits, component planes): "
                     "robust spans the 2nd-98th percentile (skewed values do not swamp the "
                     "picture), linear the full range, log a log scale, quantile ten bands "
                     "of equal counts; auto is log for a positive column whose 98th "
                     "percentile is over 10 times its median, robust otherwise."))
        if model:
            opts.append(click.option(
                "--model-out", metavar="PATH",
                help="Also write the fitted model (model.json + model.npz) to PATH: a .json "
                     "path or a folder. With -o the model is in DIR anyway."))
        opts += [
            click.option("--summary-json", is_flag=True,
                         help="Print one JSON line with the run's summary on stdout at the end "
                              "(the assignments must then go to -o)."),
            click.option("--wait", type=Finite(min=0), default=0.0, show_default=True,
                         metavar="SECONDS",
                         help="If another run is writing the same -o folder, wait this long "
                              "for it, then exit 75."),
        ]
        return stack(*opts, common_options, group="Output")(f)
    return deco


def output_from(kw: dict, inputs=()) -> OutputOptions:
    """The output options; ``-o`` may hold {date}, {time} and {stem} (the input's name)."""
    out = kw.pop("out")
    summary = kw.pop("summary_json")
    if out == "-":
        raise click.BadParameter("'-' is not a folder: leave -o out to write the assignments "
                                 "to stdout", param_hint="-o/--out")
    if out is not None:
        out = expand_placeholders(out, inputs)
        from somcli.io.folder import has_control_characters

        if not out or has_control_characters(out):
            raise click.BadParameter(f"{out!r}: give a folder name without control characters "
                                     "(newlines, tabs)", param_hint="-o/--out")
    output_file = kw.pop("output_file")
    if out is not None and os.path.splitext(out)[1].lower() in DATA_EXTENSIONS:
        raise click.BadParameter(f"{out!r} looks like a file, but -o names a folder of results; "
                                 f"for the assignments alone in a file, use -O {out}",
                                 param_hint="-o/--out")
    if output_file is not None and out is not None:
        raise click.UsageError("give -o DIR (every result) or -O FILE (the assignments), "
                               "not both")
    if output_file is not None and (not output_file or output_file == "-" or
                                    os.path.isdir(output_file)):
        raise click.BadParameter(f"{output_file!r}: give a file name (leave -O out for "
                                 "stdout)", param_hint="-O/--output")
    fmt = kw.pop("fmt")
    if output_file is not None:
        fmt = _format_of(output_file, fmt)
    if summary and out is None:
        raise click.UsageError("--summary-json prints the summary on stdout, so the "
                               "assignments must go to a folder: add -o DIR")
    return OutputOptions(out=out, force=kw.pop("force"), format=fmt,
                         plots=not kw.pop("no_plots", False), safe_csv=kw.pop("safe_csv"),
                         model_out=kw.pop("model_out", None), summary_json=summary,
                         wait=kw.pop("wait"), output_file=output_file,
                         precision=kw.pop("precision"), html=not kw.pop("no_html"),
                         color_scale=kw.pop("color_scale", "auto"))


def _format_of(output_file: str, fmt: str) -> str:
    """-O FILE's format: --format when given, else FILE's extension (.csv, .tsv, .json,
    .ndjson); an extension of a format somcli does not write is refused (64)."""
    given = click.get_current_context().get_parameter_source("fmt")
    if given not in (None, click.core.ParameterSource.DEFAULT):
        return fmt
    ext = os.path.splitext(output_file)[1].lower().lstrip(".")
    if ext in FORMATS:
        return ext
    if ext in ("parquet", "arrow", "feather", "xlsx", "xls"):
        raise click.BadParameter(f"{output_file!r}: somcli writes the assignments as "
                                 f"{', '.join(FORMATS)}, not .{ext}",
                                 param_hint="-O/--output")
    return fmt


DATA_EXTENSIONS = (".csv", ".tsv", ".json", ".ndjson", ".txt", ".parquet", ".xlsx", ".gz")


def expand_placeholders(path: str, inputs) -> str:
    import datetime
    import os

    now = datetime.datetime.now()
    first = next((i for i in inputs if i != "-"), None)
    stem = "stdin" if first is None else os.path.basename(first).split(".")[0] or "input"
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
    values = {"date": now.strftime("%Y-%m-%d"), "time": now.strftime("%H%M%S"), "stem": stem}

    def one(m: re.Match) -> str:
        if m.group(0) in ("{{", "}}"):
            return m.group(0)[0]
        if m.group(1) not in values:
            raise click.BadParameter(f"{path!r}: only {{date}}, {{time}} and {{stem}} may "
                                     f"appear in braces, not {m.group(0)}",
                                     param_hint="-o/--out")
        return values[m.group(1)]

    # only the documented names, never str.format (which would read attributes)
    token = r"\{\{|\}\}|\{([^{}]*)\}"
    if re.search(r"[{}]", re.sub(token, "", path)):
        raise click.BadParameter(f"{path!r}: an unmatched brace (write {{{{ or }}}} for a "
                                 "literal one)", param_hint="-o/--out")
    return re.sub(token, one, path)


def choice(values) -> click.Choice:
    """The choices of an option whose values are a ``Literal`` type of config.py."""
    return click.Choice(get_args(values))


def seed_option(f):
    return click.option("--seed", type=SEED, default=0, show_default=True,
                        help="Seed for every random choice.")(f)


def memory_option(f):
    return stack(click.option(
        "--max-memory", metavar="SIZE",
        help="Refuse (exit 65) a run estimated to need more than SIZE, e.g. 8G, 500M or 60% "
             "(default: 75% of the memory available at the start). Inputs are read up to a "
             "quarter of SIZE of text, and a model's arrays up to SIZE."), group="Engine")(f)


def common_options(f):
    from somcli.cli.settings_file import config_option

    return stack(
        click.option("--help-all", is_flag=True, is_eager=True, expose_value=False,
                     callback=_help_all, help="Show every option (--help shows the common "
                                              "ones and examples)."),
        click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors on stderr."),
        click.option("-v", "--verbose", is_flag=True,
                     help="Log each step; show the traceback on errors."),
        config_option,
        group="General",
    )(f)


def _help_all(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        ctx.meta["somcli.help_all"] = True
        click.echo(ctx.get_help())
        ctx.exit()


_FLAG_LETTERS = set("qvtHh")  # the one-letter flags that can be combined, as in -qv


def asked_verbose(args: list[str]) -> bool:
    """Whether the command line asks for -v/--verbose (read before Click parses it, so
    that even a usage error can show its traceback)."""
    for a in args:
        if a == "--":
            return False
        if a == "--verbose" or (a.startswith("-") and not a.startswith("--") and len(a) > 1
                                and set(a[1:]) <= _FLAG_LETTERS and "v" in a):
            return True
    return False


# ---------------------------------------------------------------- value types
