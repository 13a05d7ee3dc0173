"""What a model file must hold before any of it is used.

model.json's checksum is not a signature: anyone can edit a model and compute it again.
So every part that somcli uses is checked against what the model itself says: the
arrays' declared dtypes and shapes (read from each ``.npy`` header *before* an array is
loaded, so a small file declaring a huge array costs nothing), their values (finite,
in range), and the parameters that the commands read. Anything wrong is one line and
exit 65 (:class:`DataError`), never a crash or a run on garbage.
"""

from __future__ import annotations

import math
import zipfile

import numpy as np

from somcli.algorithms.embedding import METHODS
from somcli.config import CLUSTERINGS, FILLS
from somcli.errors import DataError, brief

MAX_JSON_BYTES = 64 * 2**20  # model.json holds names and statistics, never data


def _bad(path: str, what: str) -> DataError:
    return DataError(f"{path}: invalid model ({what})", "re-create the model with somcli")


def check_reading(meta: dict, path: str) -> None:
    """The stored reading options, as strictly as the command line checks its own (the
    schema fixes the delimiter's and decimal mark's shapes): a known text encoding."""
    import codecs

    encoding = meta["schema"]["reading"]["encoding"]
    try:
        text = getattr(codecs.lookup(encoding), "_is_text_encoding", True)
    except LookupError:
        text = False
    if not text:
        raise _bad(path, f"schema/reading/encoding: {encoding[:64]!r} is not a text encoding")


def expected_arrays(meta: dict, path: str) -> dict[str, tuple]:
    """name -> (shape, dtype kinds) of every array the model must hold, from model.json;
    raises when model.json's own parts disagree (features, grid, clusters, cleaning)."""
    d = len(meta["schema"]["features"])
    floats = "f"
    if meta["kind"] in EMBEDDINGS:
        return _embedding_arrays(meta, path, d)
    k = meta["algorithm"]["clusters"]
    if k < 1:
        raise _bad(path, f"a {meta['kind']} model with {k} clusters")
    embedded = meta.get("embedding")
    if embedded is not None:  # --embed: the clustering is of the codes
        if not isinstance(embedded, dict) or embedded.get("name") not in EMBEDDINGS:
            raise _bad(path, "an embedding of an unknown kind")
        inner = _embedding_arrays({**meta, "kind": embedded["name"], "algorithm": embedded},
                                  path, d)
        want_codes = {f"embed_{n}": v for n, v in inner.items() if n not in ("center", "scale")}
        width = embedded["dim"]  # the codebook's or centroids' columns: the codes'
        want_codes |= {"code_center": ((width,), floats), "code_scale": ((width,), floats)}
    else:
        width = d
    want: dict[str, tuple] = {"center": ((d,), floats), "scale": ((d,), floats)}
    missing = meta["cleaning"]["missing"]
    if missing in FILLS:
        want["fill"] = ((d,), floats)
    if missing == "knn":
        want.update(knn_reference=((None, d), floats), knn_center=((d,), floats),
                    knn_scale=((d,), floats))
    want["cluster_shares"] = ((k,), floats)
    try:
        want |= algorithm(meta["kind"]).model_arrays(meta, k, width)
    except ValueError as exc:
        raise _bad(path, str(exc)) from None
    if embedded is not None:
        want |= want_codes
    for f in meta["schema"]["features"]:
        rule = f.get("unit_rule")
        if rule is not None and not (isinstance(rule.get("unit"), str)
                                     and isinstance(rule.get("thousands"), bool)
                                     and rule.get("decimal") in (".", ",")):
            raise _bad(path, f"feature {f['name']!r}: a unit rule without unit, thousands "
                             "and decimal")
    return want


def algorithm(kind: str):
    """The module of ``somcli.algorithms`` that declares what a model of this clustering
    kind holds (``model_arrays``, ``check_model``, ``COORDINATES``); the schema allowed
    only these kinds."""
    import importlib

    if kind not in CLUSTERINGS:
        raise ValueError(f"a model of kind {kind!r}")
    return importlib.import_module(f"somcli.algorithms.{kind}")


#: model kind -> the weights an embedding model holds, by (rows, cols) with d features, K dims
EMBEDDINGS = {kind: method.WEIGHTS for kind, method in METHODS.items()}


def _embedding_arrays(meta: dict, path: str, d: int) -> dict[str, tuple]:
    dim = meta["algorithm"].get("dim")
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= d:
        raise _bad(path, f"an embedding of {dim!r} dimensions for {d} features")
    if meta["cleaning"]["missing"] != "mask" or meta["cleaning"]["scale"] != "minmax":
        raise _bad(path, "an embedding model's cleaning must be mask and minmax")
    sizes = {"d": d, "K": dim}
    want: dict[str, tuple] = {"center": ((d,), "f"), "scale": ((d,), "f"),
                              "code_fill": ((d,), "f")}
    for name, shape in EMBEDDINGS[meta["kind"]].items():
        want[name] = (tuple(sizes[s] for s in shape), "f")
    return want


def check_declared(meta: dict, npz_path: str, json_path: str, limit: int) -> None:
    """Compare model.json's array list, and each ``.npy`` header in the npz, with what the
    model needs, before loading any array; refuse arrays larger than ``limit`` bytes."""
    want = expected_arrays(meta, json_path)
    listed = meta["arrays"]
    if set(listed) != set(want):
        raise _bad(json_path, f"arrays {sorted(listed)}, a {meta['kind']} model with "
                              f"--missing {meta['cleaning']['missing']} has {sorted(want)}")
    total = 0
    try:
        with zipfile.ZipFile(npz_path) as z:
            members = {i.filename: i for i in z.infolist()}
            if set(members) != {f"{n}.npy" for n in want}:
                raise DataError(f"{npz_path}: holds {sorted(members)}, the model lists "
                                f"{sorted(f'{n}.npy' for n in want)}", "re-create the model")
            for name, (shape, kinds) in want.items():
                with z.open(members[f"{name}.npy"]) as fh:
                    declared_shape, dtype = _npy_header(fh, npz_path, name)
                if dtype.hasobject:
                    raise DataError(f"{npz_path}: array '{name}' carries pickled objects, "
                                    "which somcli never loads", "re-create the model with "
                                    "somcli")
                info = listed[name]
                if list(declared_shape) != list(info["shape"]) or dtype.str != info["dtype"]:
                    raise DataError(f"{npz_path}: array '{name}' is {dtype.str}{declared_shape}, "
                                    f"{json_path} says {info['dtype']}{tuple(info['shape'])}",
                                    "re-create the model")
                if dtype.kind not in kinds or dtype.fields is not None or dtype.itemsize > 8:
                    raise _bad(json_path, f"array '{name}' has dtype {dtype.str}")
                if len(shape) != len(declared_shape) or any(
                        s is not None and s != t for s, t in zip(shape, declared_shape,
                                                                 strict=False)):
                    raise _bad(json_path, f"array '{name}' has shape {tuple(declared_shape)}, "
                                          f"the model needs {shape}")
                size = math.prod(declared_shape) * dtype.itemsize
                if members[f"{name}.npy"].file_size < size:
                    raise DataError(f"{npz_path}: array '{name}' declares {size:,} bytes but "
                                    f"holds {members[f'{name}.npy'].file_size:,}",
                                    "the file is truncated or edited; re-create the model")
                total += size
    except DataError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{npz_path}: unreadable or truncated ({brief(exc)})",
                        "re-create the model") from None
    if total > limit:
        raise DataError(f"{npz_path}: its arrays need {total / 2**30:.1f} GiB, more than the "
                        f"memory limit ({limit / 2**30:.1f} GiB)",
                        "raise --max-memory if the model is really this big")


def _npy_header(fh, npz_path: str, name: str):
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"npy format {version}")
    except (ValueError, TypeError, SyntaxError) as exc:
        raise DataError(f"{npz_path}: member '{name}' is not a valid .npy array "
                        f"({brief(exc)})", "re-create the model") from None
    return tuple(int(s) for s in shape), np.dtype(dtype)


def check_values(meta: dict, arrays: dict[str, np.ndarray], path: str) -> None:
    """The loaded arrays' values: finite where numbers are used, in range where they index."""
    for name, a in arrays.items():
        if name == "knn_reference":  # the training rows, gaps (NaN) included
            if np.isinf(a).any():
                raise _bad(path, f"array '{name}' holds infinite values")
        elif a.dtype.kind == "f" and not np.isfinite(a).all():
            raise _bad(path, f"array '{name}' holds NaN or infinite values")
    if (arrays["scale"] <= 0).any():
        raise _bad(path, "array 'scale' holds values that are not positive")
    _check_ranges(meta, arrays, path)
    shares = arrays.get("cluster_shares", np.zeros(0))
    if ((shares < 0) | (shares > 1)).any():
        raise _bad(path, "array 'cluster_shares' holds values outside 0..1")
    if meta["kind"] not in EMBEDDINGS:
        wrong = algorithm(meta["kind"]).check_model(meta, arrays)
        if wrong:
            raise _bad(path, wrong)


#: The largest weight or bias an RBM or autoencoder can learn here (inputs in [0, 1],
#: sigmoid units: a unit saturates long before this), and the largest coordinate a map
#: or centroid may hold (its squared distances stay finite in float64).
WEIGHT_MAX = 1e6
COORDINATE_MAX = 1e150


def _check_ranges(meta: dict, arrays: dict[str, np.ndarray], path: str) -> None:
    """Values no training produces, though finite: an embedding's weights past WEIGHT_MAX,
    its column means outside [0, 1] (the inputs' range), its codes' centre or scale past
    what such weights give (a scale below 1e-12 of its centre is 1 after training),
    coordinates that overflow when distances are taken."""
    kind = meta["kind"] if meta["kind"] in EMBEDDINGS else (meta.get("embedding") or {}).get(
        "name")
    prefix = "" if meta["kind"] in EMBEDDINGS else "embed_"
    limits: dict[str, tuple[float, float]] = {}
    if kind in EMBEDDINGS:
        limits |= {prefix + n: (-WEIGHT_MAX, WEIGHT_MAX) for n in EMBEDDINGS[kind]}
        limits[prefix + "code_fill"] = (0.0, 1.0)
    if "code_center" in arrays:  # codes are net inputs: |code| <= (d + 1) * WEIGHT_MAX
        bound = (len(meta["schema"]["features"]) + 1) * WEIGHT_MAX
        limits |= {"code_center": (-bound, bound), "code_scale": (0.0, 2 * bound)}
    coordinates = ["center"] if meta["kind"] in EMBEDDINGS else [
        "center", *algorithm(meta["kind"]).COORDINATES]
    for name in coordinates:
        limits.setdefault(name, (-COORDINATE_MAX, COORDINATE_MAX))
    for name, (low, high) in limits.items():
        a = arrays.get(name)
        if a is None or not a.size:
            continue
        lo, hi = float(a.min()), float(a.max())
        if lo < low or hi > high:
            worst = lo if lo < low else hi
            raise _bad(path, f"array '{name}' holds {worst:.3g}, outside {low:g}..{high:g}, "
                             "which no training produces")
    if "code_center" in arrays:
        center, scale = arrays["code_center"], arrays["code_scale"]
        small = scale < 1e-12 * np.maximum(np.abs(center), 1.0) * (1 - 1e-9)
        if small.any():  # training scales a code that small by 1 instead
            raise _bad(path, f"array 'code_scale' holds {scale[small][0]:.3g}, smaller than "
                             "any training leaves")
