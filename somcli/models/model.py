"""Saved models: ``model.json`` (validated against ``model_schema.json``) + ``model.npz``.

Never pickle: arrays are read with ``numpy.load(..., allow_pickle=False)``, every
array's SHA-256 is recorded in the JSON, and the JSON carries a checksum of its
own content. A truncated, edited, newer-format or pickle-carrying model is
refused with exit 65 and one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources

import numpy as np

from somcli.errors import DataError, InputError, OutputError, brief
from somcli.io.atomic import replace_file
from somcli.io.folder import check_name_length, io_error, mine, read_only, rename_hook
from somcli.models.model_check import MAX_JSON_BYTES, check_declared, check_reading, check_values
from somcli.prep.clean import Preprocessor
from somcli.prep.units import UnitRule
from somcli.version import __version__

FORMAT = "somcli-model"
FORMAT_VERSION = 1


@dataclass
class Model:
    meta: dict  # model.json without "arrays" and "checksum"
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------ reading the contents

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def features(self) -> list[str]:
        return [f["name"] for f in self.meta["schema"]["features"]]

    @property
    def clusters(self) -> int:
        return int(self.meta["algorithm"]["clusters"])

    def preprocessor(self) -> Preprocessor:
        schema, cleaning = self.meta["schema"], self.meta["cleaning"]
        rules = {f["name"]: UnitRule.from_dict(f["unit_rule"]) for f in schema["features"]
                 if f.get("unit_rule")}
        a = self.arrays
        return Preprocessor(self.features, rules, cleaning["missing"], cleaning["scale"],
                            a["center"], a["scale"], fill=a.get("fill"),
                            knn_reference=a.get("knn_reference"), knn_center=a.get("knn_center"),
                            knn_scale=a.get("knn_scale"),
                            knn_neighbors=int(cleaning["knn_neighbors"]))

    # ------------------------------------------------------------ files

    def save(self, json_path: str, npz_path: str | None = None) -> None:
        """Write both files so that a reader always finds a complete pair, old or new,
        whenever the writer is stopped (kill -9 included): the arrays go to
        ``NAME.npz.next`` first, then model.json is replaced (the switch), then the
        arrays are moved to ``NAME.npz``. :meth:`load` takes ``.next`` when it, and not
        ``NAME.npz``, matches model.json. Each file is written to a temporary name, synced
        and renamed into place. With ``json_path`` alone: a ``.json`` path (the arrays
        beside it) or a folder to hold model.json and model.npz (made when missing)."""
        if npz_path is None:
            json_path, npz_path = model_paths(os.fspath(json_path))
        try:
            self._save(json_path, npz_path)
        except OSError as exc:
            raise io_error(exc, json_path) from None

    def _save(self, json_path: str, npz_path: str) -> None:
        meta = dict(self.meta)
        meta["arrays"] = {name: _describe(a) for name, a in self.arrays.items()}
        meta["checksum"] = _checksum(meta)
        pending = npz_path + NEXT
        _atomic(pending, lambda fh: np.savez_compressed(fh, **self.arrays), binary=True)
        _atomic(json_path, lambda fh: fh.write(json.dumps(meta, indent=1, sort_keys=True)
                                               + "\n"))
        rename_hook()
        os.replace(pending, npz_path)

    @classmethod
    def load(cls, path: str, limit: int | None = None) -> Model:
        """Read and check a model; ``limit``: most bytes its arrays may take (default: the
        memory guard's default limit)."""
        json_path = path if not os.path.isdir(path) else os.path.join(path, "model.json")
        npz_path = npz_for(json_path)
        if not os.path.isfile(npz_path) and os.path.isfile(npz_path + NEXT):
            npz_path += NEXT  # a save stopped after its switch
        for p in (json_path, npz_path):
            if not os.path.isfile(p):
                raise InputError(f"{p}: no such model file",
                                 "pass the model.json written by `somcli som/kmeans -o DIR`")
        meta = _read_json(json_path)
        if limit is None:
            from somcli.runtime.memory import parse_limit

            limit = parse_limit(None)
        try:
            arrays = _read_npz(npz_path, meta, json_path, limit)
        except DataError:
            if not os.path.isfile(npz_path + NEXT):
                raise
            arrays = _read_npz(npz_path + NEXT, meta, json_path, limit)
        check_values(meta, arrays, json_path)
        meta.pop("checksum")
        meta.pop("arrays")
        return cls(meta, arrays)


def npz_for(json_path: str) -> str:
    base = json_path[:-5] if json_path.endswith(".json") else json_path
    return base + ".npz"


def model_paths(target: str, create: bool = True) -> tuple[str, str]:
    """--model-out PATH: a .json path (arrays beside it), or a folder to hold model.json.
    Refuses (exit 73) what cannot be written; ``create=False`` checks without creating
    the folder (before a run)."""
    if target.endswith(".json"):
        json_path = target
        folder = os.path.dirname(os.path.abspath(target))
    else:
        folder = target
        json_path = os.path.join(target, "model.json")
        if os.path.lexists(target) and not os.path.isdir(target):
            raise OutputError(f"{target}: exists and is not a folder",
                              "give --model-out a folder or a .json path")
    parent = folder if os.path.isdir(folder) else os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent):
        raise OutputError(f"{parent}: the folder does not exist", "create it first")
    check_name_length(folder, target)
    for p in (json_path, npz_for(json_path)):
        check_name_length(p, p)
        _replaceable(p)
    if not os.access(parent, os.W_OK | os.X_OK) or read_only(parent):
        raise OutputError(f"{parent}: not writable", "give --model-out another path")
    if create and not os.path.isdir(folder):
        try:
            os.mkdir(folder)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create ({exc.strerror})") from None
    return json_path, npz_for(json_path)


def _replaceable(path: str) -> None:
    """A model file somcli may replace: none yet, or a regular file of this user's (never a
    folder, link, device, FIFO or another user's file): 73 otherwise."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a folder", "give --model-out another path")
    if not stat.S_ISREG(st.st_mode) or not mine(st):
        what = ("a symbolic link" if stat.S_ISLNK(st.st_mode) else "another user's file"
                if stat.S_ISREG(st.st_mode) else "not a regular file")
        raise OutputError(f"{path}: is {what}, which somcli does not replace",
                          "give --model-out another path")


NEXT = ".next"  # the arrays of a model being saved, until model.json names them


def _describe(a: np.ndarray) -> dict:
    return {"shape": list(a.shape), "dtype": a.dtype.str, "sha256": _digest(a)}


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    # the raw bytes, no copy of a big matrix (any fixed-size dtype, so that forged files
    # with datetimes or structs get as far as the dtype check)
    h.update(memoryview(np.ascontiguousarray(a).reshape(-1).view(np.uint8)))
    return h.hexdigest()


def _checksum(meta: dict) -> str:
    body = {k: v for k, v in meta.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=True).encode()).hexdigest()


def _read_json(path: str) -> dict:
    import jsonschema

    try:
        if os.path.getsize(path) > MAX_JSON_BYTES:
            raise ValueError(f"{os.path.getsize(path)} bytes, a model.json is far smaller")
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except RecursionError:
        raise DataError(f"{path}: not a somcli model (nested too deeply)",
                        "re-create the model") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: not a readable somcli model ({brief(exc)})",
                        "the file is truncated or not JSON; re-create the model") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{path}: not a somcli model file")
    version = meta.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise DataError(f"{path}: model format {version} is newer than this somcli reads "
                        f"({FORMAT_VERSION}; somcli {__version__})", "upgrade somcli")
    schema = json.loads(resources.files("somcli").joinpath("model_schema.json").read_text())
    try:
        jsonschema.validate(meta, schema)
    except RecursionError:
        raise DataError(f"{path}: invalid model (nested too deeply)",
                        "re-create the model") from None
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise DataError(f"{path}: invalid model ({where}: {brief(exc.message)})",
                        "re-create the model") from None
    check_reading(meta, path)
    if meta["checksum"] != _checksum(meta):
        raise DataError(f"{path}: the model was changed after it was written (checksum "
                        "mismatch)", "re-create the model instead of editing it")
    return meta


def _read_npz(path: str, meta: dict, json_path: str, limit: int) -> dict[str, np.ndarray]:
    expected = meta["arrays"]
    check_declared(meta, path, json_path, limit)
    try:
        with np.load(path, allow_pickle=False) as z:
            if set(z.files) != set(expected):
                raise DataError(f"{path}: holds arrays {sorted(z.files)}, the model lists "
                                f"{sorted(expected)}", "re-create the model")
            arrays = {name: z[name] for name in z.files}
    except DataError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise DataError(f"{path}: carries pickled objects, which somcli never loads",
                            "re-create the model with somcli") from None
        raise DataError(f"{path}: not a valid array file ({brief(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, AttributeError) as exc:
        raise DataError(f"{path}: unreadable or truncated ({brief(exc)})",
                        "re-create the model") from None
    for name, a in arrays.items():
        if _digest(a) != expected[name]["sha256"]:
            raise DataError(f"{path}: array '{name}' does not match {os.path.basename(json_path)}"
                            " (changed or from another model)", "re-create the model")
    return arrays


def _atomic(path: str, write, binary: bool = False) -> None:
    """``write(fh)`` fills ``path``, replaced in one step (:func:`somcli.io.atomic.replace_file`)."""
    def fill(staged: str) -> None:
        with open(staged, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})
                  ) as fh:
            write(fh)

    replace_file(path, fill, prefix=".somcli-")


# ---------------------------------------------------------------- building models from runs

def build(d, kind: str, algorithm: dict, arrays: dict[str, np.ndarray], metrics: dict | None,
          seed: int, grid: dict | None = None, outliers: dict | None = None) -> Model:
    """A model from a run's :class:`~somcli.backends.base.Described` input (any
    backend), what its algorithm fitted, and the run's internal scores."""
    p = d.prep
    dialect = d.dialect
    decisions = {c.name: c for c in d.roles.decisions}
    features = [{"name": f, "kind": decisions[f].kind if f in decisions else "indicator",
                 "unit_rule": p.rules[f].to_dict() if f in p.rules else None}
                for f in d.roles.features]
    all_arrays = {"center": p.center, "scale": p.scale}
    for name in ("fill", "knn_reference", "knn_center", "knn_scale"):
        if getattr(p, name) is not None:
            all_arrays[name] = np.asarray(getattr(p, name), dtype=np.float64)
    all_arrays.update(arrays)
    fingerprint = d.fingerprint or _digest(np.ascontiguousarray(d.matrix))
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "somcli_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "kind": kind,
        "schema": {"features": features, "identifiers": d.roles.ids,
                   "carried": d.roles.carried,
                   "label": d.roles.label,
                   "reading": {"delimiter": dialect.delimiter, "decimal": dialect.decimal,
                               "encoding": dialect.encoding,
                               **({"format": dialect.format} if dialect.format != "csv"
                                  else {})}},
        "cleaning": {"missing": p.missing, "scale": p.scale_method,
                     "knn_neighbors": p.knn_neighbors},
        "algorithm": algorithm, "grid": grid, "outliers": outliers, "seed": seed,
        "training": {
            "rows": int(d.rows), "rows_used_for_fitting": d.n_fit,
            "fingerprint": fingerprint,
            "inputs": d.inputs,
            "feature_stats": d.cleaning.get("feature_stats", {}),
            "metrics": metrics,
            "quality": algorithm.get("quality", {}),
        },
    }
    return Model(meta, all_arrays)
