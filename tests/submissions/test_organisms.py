"""The organisms file: read at first use and again when it changes; a broken one is reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from submissions.organisms import default_organism, organisms


def write(path: Path, text: str, *, mtime: int) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_the_shipped_default_organism_takes_files() -> None:
    organism = default_organism()
    assert organism.name == "sars-cov-2"
    assert organism.accepts_files
    assert organism.input_category_names == {"raw_reads", "assembly_notes"}


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    config = tmp_path / "organisms.json"
    write(config, '{"organisms": {"one": {}}}', mtime=1_000_000)
    with override_settings(ORGANISMS_CONFIG=str(config)):
        assert list(organisms()) == ["one"]
        write(config, '{"organisms": {"two": {}, "one": {}}}', mtime=2_000_000)
        assert list(organisms()) == ["two", "one"]
        assert default_organism().name == "two"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("organisms: {}", "one or more organisms"),
        ("organisms:\n  bad name: {}", "names are letters"),
        ("organisms:\n  x:\n    metadataSchema: {type: 12}", "metadataSchema is invalid"),
        ("organisms:\n  x:\n    sequences: sometimes", "sequences must be one of"),
        ("organisms:\n  x:\n    inputFileCategories: [{name: a}, a]", "listed twice"),
        ("organisms: [", "not valid YAML"),
    ],
)
def test_a_broken_file_is_reported_by_the_system_check(
    tmp_path: Path, text: str, problem: str
) -> None:
    config = tmp_path / "organisms.yaml"
    config.write_text(text)
    with override_settings(ORGANISMS_CONFIG=str(config)):
        with pytest.raises(ImproperlyConfigured, match=problem):
            organisms()
        [error] = [m for m in run_checks() if m.id == "submissions.E001"]
        assert problem in error.msg
