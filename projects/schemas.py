"""The JSON Schemas that metadata files may name in `$schema`: every `schemas/*.json` of this
app, registered under its `$id` (ArtifactDB's schema names, e.g. "compiled_report/v1.json").
Schemas may refer to each other by `$id`."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
MAX_PROBLEMS = 10


@functools.cache
def registered_schemas() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text())
        schema_id = schema.get("$id")
        if not isinstance(schema_id, str) or not schema_id:
            raise ImproperlyConfigured(f"{path.name} has no $id.")
        if schema_id in found:
            raise ImproperlyConfigured(f"{path.name} repeats the $id {schema_id}.")
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
        found[schema_id] = schema
    return found


@functools.cache
def _registry() -> Registry:
    resources = [
        (schema_id, Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema_id, schema in registered_schemas().items()
    ]
    return Registry().with_resources(resources)


@functools.cache
def _validator(schema_id: str) -> Validator:
    schema = registered_schemas()[schema_id]
    cls = validator_for(schema, default=Draft202012Validator)
    return cls(schema, registry=_registry(), format_checker=FormatChecker())


def schema_type(schema_id: str) -> str:
    """ArtifactDB's `_extra.type`: the schema's name in words ("compiled report")."""
    return schema_id.split("/", 1)[0].replace("_", " ")


def schema_problems(document: Any) -> list[str]:
    """Why a metadata document is refused: no `$schema`, an unknown one, or what its schema
    says (at most MAX_PROBLEMS, each with where it is)."""
    if not isinstance(document, dict):
        return ["is not a JSON object"]
    schema_id = document.get("$schema")
    if not isinstance(schema_id, str) or not schema_id:
        return ["has no $schema naming its JSON Schema"]
    if schema_id not in registered_schemas():
        known = ", ".join(sorted(registered_schemas()))
        return [f"names the unknown schema {schema_id!r} (known: {known})"]
    body = {key: value for key, value in document.items() if key not in ("$schema", "_extra")}
    errors = sorted(_validator(schema_id).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [
        f"does not match {schema_id}: "
        + (f"at /{'/'.join(str(p) for p in error.absolute_path)}: " if error.absolute_path else "")
        + error.message
        for error in errors[:MAX_PROBLEMS]
    ]
