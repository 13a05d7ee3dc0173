"""The house rules of docs/architecture.md, checked on the source (an AST walk, nothing
imported): no file over 400 lines, no import loops between files, no private name
imported from another module, no import loops between packages, backends with generic
primitives only, dask and CuPy imported only by the backends, nothing imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "somcli"
MAX_LINES = 400


def modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]):
    """(imported module, names taken from it) for every import in the file, lazy ones too."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:  # `from somcli.pipeline import som`: a module
                    yield sub, []
                else:
                    yield base, [alias.name]


def graph():
    known = modules()
    edges: dict[str, set[str]] = {m: set() for m in known}
    private: list[str] = []
    third_party: dict[str, set[str]] = {m: set() for m in known}
    for name, path in known.items():
        for target, names in imports(name, path, known):
            if target in known:
                if target != name:
                    edges[name].add(target)
                private += [f"{name} imports {target}.{n}" for n in names
                            if n.startswith("_") and not n.startswith("__")
                        and target != name]
            else:
                third_party[name].add(target.split(".")[0])
    return known, edges, private, third_party


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_no_file_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long


def test_no_import_loops_between_files():
    _, edges, _, _ = graph()
    assert cycles(edges) == []


def test_no_private_name_is_imported_from_another_module():
    _, _, private, _ = graph()
    assert private == []


def packages(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between packages (``somcli.backends``, ...; a root module is its
    own node)."""
    def top(m: str) -> str:
        return ".".join(m.split(".")[:2])

    out: dict[str, set[str]] = {}
    for m, targets in edges.items():
        out.setdefault(top(m), set()).update(top(t) for t in targets if top(t) != top(m))
    for targets in list(out.values()):
        for t in targets:
            out.setdefault(t, set())
    return out


def test_no_import_loops_between_packages():
    """Data flows one way: e.g. the pipeline imports the backends, never the reverse (the
    per-block work lives below both, in algorithms/blocks.py)."""
    _, edges, _, _ = graph()
    assert cycles(packages(edges)) == []
    assert "somcli.pipeline" not in packages(edges)["somcli.backends"]


#: the Backend's primitives (DESIGN.md): generic, none named after an algorithm
PRIMITIVES = {"open", "parameters", "device_memory", "load", "replay", "map", "gather",
              "reduce", "take", "quantiles", "fingerprint", "distinct_rows", "here", "placed",
              "workers", "search", "rows_out"}


def test_backends_offer_generic_primitives_only():
    """A fit is partial sums in algorithms/ run through map/reduce; no backend grows a
    method for one algorithm (a k-means, an epoch)."""
    grown = []
    for path in (ROOT / "backends").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and node.name.endswith("Backend"):
                grown += [f"{path.name}: {node.name}.{f.name}" for f in node.body
                          if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                          and not f.name.startswith("_") and f.name not in PRIMITIVES
                          and f.name not in ("close", "rows")]
    assert grown == []


def test_commands_take_one_typed_settings_object_never_kw():
    """Each command declares what it reads (cli/given.py builds it once from Click's
    values); none takes ``**kw`` and pops names from it."""
    commands = [f for name in ("commands.py", "clustering.py")
                for f in ast.parse((ROOT / "cli" / name).read_text()).body
                if isinstance(f, ast.FunctionDef)
                and any("command" in ast.unparse(d) for d in f.decorator_list)]
    assert len(commands) >= 5
    assert [f.name for f in commands if f.args.kwarg is not None] == []
    assert all(any(ast.unparse(d).startswith("G.given(") for d in f.decorator_list)
               for f in commands if f.name != "cli")


def test_only_the_backends_import_dask_and_nothing_imports_the_cli():
    _, edges, _, third_party = graph()
    dask_users = sorted(m for m, libs in third_party.items()
                        if libs & {"dask", "distributed", "cupy"})
    assert dask_users and all(m.startswith("somcli.backends.") for m in dask_users), dask_users
    outside = [f"{m} imports {t}" for m, targets in edges.items() for t in targets
               if (t == "somcli.cli" or t.startswith("somcli.cli.")) and not
               (m == "somcli.cli" or m.startswith("somcli.cli.") or m == "somcli.__main__")]
    assert not outside  # the command line is a shell over the library, never under it


def test_the_command_line_is_one_package_and_the_root_stays_small():
    """Every module that imports Click lives in somcli/cli/; the root keeps the library's
    entry points and the few modules every layer shares (at most 8, as DESIGN.md says)."""
    known, _, _, third_party = graph()
    click_users = sorted(m for m, libs in third_party.items() if "click" in libs)
    assert click_users and all(m.startswith("somcli.cli.") for m in click_users), click_users
    root = sorted(m for m, p in known.items() if p.parent == ROOT)
    assert len(root) <= 8, root


if __name__ == "__main__":  # the house in figures, for closing notes
    known, edges, private, _ = graph()
    lines = sum(len(p.read_text().splitlines()) for p in known.values())
    print(f"{len(known)} modules, {lines} lines, "
          f"{sum(len(p.read_text().splitlines()) > MAX_LINES for p in known.values())} over "
          f"{MAX_LINES}; import loops: {cycles(edges)}; private imports: {len(private)}")
    for p in private:
        print("  ", p)


def test_each_choice_is_listed_once_and_the_json_schemas_agree():
    """--missing and --scale are tuples in config.py; the model and report schemas carry
    JSON copies, held equal here (issue 28: the list was written five times)."""
    import json

    from somcli.config import MISSING_METHODS, SCALES

    model = json.loads((ROOT / "model_schema.json").read_text())
    cleaning = model["properties"]["cleaning"]["properties"]
    assert tuple(cleaning["missing"]["enum"]) == MISSING_METHODS
    assert tuple(cleaning["scale"]["enum"]) == SCALES
    report = json.loads((ROOT / "report_schema.json").read_text())
    cleaning = report["properties"]["cleaning"]["properties"]
    assert tuple(cleaning["missing_method"]["enum"]) == MISSING_METHODS
    assert tuple(cleaning["scale"]["enum"]) == SCALES
    sources = [p.read_text() for p in ROOT.rglob("*.py") if p.name != "config.py"]
    assert not [s for s in sources if '"most-frequent", "knn"' in s]  # no second list


def test_no_option_writes_its_values_out_by_hand():
    """Every click.Choice takes a name (a tuple or Literal of config.py, or a registry),
    never a list written in the option: the values live once, where the settings are."""
    written = []
    for path in (ROOT / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("Choice") \
                    and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
                written.append(f"{path.name}: {ast.unparse(node)}")
    assert written == []


def test_an_option_no_setting_reads_is_caught():
    """``@given(build)``: a value Click parsed that the builder leaves unread fails loudly
    (a declared option that changes nothing is a bug), and the callback gets the settings."""
    import pytest

    from somcli.cli.given import given

    def build(values):
        return values.pop("k") * 2

    command = given(build)(lambda settings: settings)
    assert command(k=3) == 6
    with pytest.raises(AssertionError, match="seed"):
        command(k=3, seed=1)
