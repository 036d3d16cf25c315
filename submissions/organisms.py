"""Organisms, read from the file `settings.ORGANISMS_CONFIG` (YAML or JSON).

The file is read once and again whenever it changes on disk or the setting changes, so an
edited configuration needs no restart. A broken file is reported by `manage.py check` (see
`submissions.checks`) and by every request that needs it.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from core.errors import ApplicationError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SEQUENCES_MODES = ("required", "optional", "none")


@dataclass(frozen=True)
class FileCategory:
    name: str
    description: str = ""


@dataclass(frozen=True)
class Organism:
    name: str
    display_name: str
    metadata_schema: dict[str, Any]
    input_file_categories: tuple[FileCategory, ...] = ()
    output_file_categories: tuple[FileCategory, ...] = ()
    segments: tuple[str, ...] = ("main",)
    sequences: str = "optional"

    @property
    def accepts_files(self) -> bool:
        return bool(self.input_file_categories)

    @cached_property
    def input_category_names(self) -> frozenset[str]:
        return frozenset(category.name for category in self.input_file_categories)

    @cached_property
    def output_category_names(self) -> frozenset[str]:
        return frozenset(category.name for category in self.output_file_categories)

    @cached_property
    def validator(self) -> Validator:
        cls = validator_for(self.metadata_schema, default=Draft202012Validator)
        return cls(self.metadata_schema, format_checker=FormatChecker())


_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


@receiver(setting_changed)
def _forget_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "ORGANISMS_CONFIG":
        _cache.clear()


def organisms() -> dict[str, Organism]:
    """Every configured organism by name, in the file's order (the first is the default)."""
    path = Path(settings.ORGANISMS_CONFIG)
    try:
        stamp = (str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        raise ImproperlyConfigured(f"ORGANISMS_CONFIG {path} cannot be read: {exc}") from exc
    with _cache_lock:
        if _cache.get("stamp") != stamp:
            _cache["organisms"] = _load(path)
            _cache["stamp"] = stamp
        loaded: dict[str, Organism] = _cache["organisms"]
    return loaded


def default_organism() -> Organism:
    return next(iter(organisms().values()))


def organism_get(name: str | None) -> Organism:
    """The named organism, or the default one when no name is given."""
    if not name:
        return default_organism()
    found = organisms().get(name)
    if found is None:
        raise ApplicationError(
            "unknown_organism",
            f"No organism {name!r}; this instance has: {', '.join(organisms())}.",
            status=404,
            details={"organism": name, "organisms": list(organisms())},
        )
    return found


def _load(path: Path) -> dict[str, Organism]:
    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ImproperlyConfigured(f"{path} is not valid YAML or JSON: {exc}") from exc
    entries = raw.get("organisms") if isinstance(raw, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ImproperlyConfigured(f"{path} must map `organisms` to one or more organisms.")
    return {name: _organism(path, name, spec) for name, spec in entries.items()}


def _organism(path: Path, name: Any, spec: Any) -> Organism:
    where = f"{path}: organism {name!r}"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ImproperlyConfigured(f"{where}: names are letters, digits, '-' and '_'.")
    if not isinstance(spec, dict):
        raise ImproperlyConfigured(f"{where} must be a mapping.")
    schema = spec.get("metadataSchema", {"type": "object"})
    if not isinstance(schema, dict):
        raise ImproperlyConfigured(f"{where}: metadataSchema must be a JSON Schema object.")
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        raise ImproperlyConfigured(f"{where}: metadataSchema is invalid: {exc.message}") from exc
    sequences = spec.get("sequences", "optional")
    if sequences not in SEQUENCES_MODES:
        raise ImproperlyConfigured(f"{where}: sequences must be one of {SEQUENCES_MODES}.")
    segments = spec.get("segments", ["main"])
    if (
        not isinstance(segments, list)
        or not segments
        or not all(isinstance(s, str) and NAME_PATTERN.match(s) for s in segments)
    ):
        raise ImproperlyConfigured(f"{where}: segments must be a list of names.")
    return Organism(
        name=name,
        display_name=str(spec.get("displayName", name)),
        metadata_schema=schema,
        input_file_categories=_categories(where, spec.get("inputFileCategories", [])),
        output_file_categories=_categories(where, spec.get("outputFileCategories", [])),
        segments=tuple(segments),
        sequences=sequences,
    )


def _categories(where: str, raw: Any) -> tuple[FileCategory, ...]:
    if not isinstance(raw, list):
        raise ImproperlyConfigured(f"{where}: file categories must be a list.")
    categories = []
    for item in raw:
        spec = {"name": item} if isinstance(item, str) else item
        name = spec.get("name") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ImproperlyConfigured(f"{where}: file category {item!r} needs a plain name.")
        categories.append(FileCategory(name=name, description=str(spec.get("description", ""))))
    if len({c.name for c in categories}) != len(categories):
        raise ImproperlyConfigured(f"{where}: a file category is listed twice.")
    return tuple(categories)
