"""The JSON Schema of report.json (``somcli/report_schema.json``, shipped with the
package): what a script reading a report may rely on."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def schema() -> dict:
    return json.loads(resources.files("somcli").joinpath("report_schema.json").read_text())


def problems(report: dict) -> list[str]:
    """Where ``report`` breaks the schema ('path: message'); empty when it is valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or 'top level'}: {e.message}"
            for e in sorted(validator.iter_errors(report), key=lambda e: list(e.path))]
