"""Hostile input to the parsers never escapes as anything but a refusal with a code."""

from __future__ import annotations

import gzip
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from submissions.api.pipeline import _result
from submissions.organisms import default_organism
from submissions.parsing import parse_submission

TSV_ALPHABET = st.sampled_from(
    ["\t", "\n", "\r", '"', ":", " ", "a", "1", "é", "\x00", "files.raw_reads", "submissionId"]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    metadata=st.lists(TSV_ALPHABET, max_size=40).map("".join),
    fasta=st.none() | st.binary(max_size=40),
    mapping=st.none() | JSON.map(lambda value: json.dumps(value).encode()),
)
def test_any_submission_parses_or_is_refused(
    metadata: str, fasta: bytes | None, mapping: bytes | None
) -> None:
    refused: ApplicationError | None = None
    try:
        rows = parse_submission(
            organism=default_organism(),
            metadata_tsv=metadata.encode(),
            sequence_fasta=fasta,
            file_mapping=mapping,
        )
    except ApplicationError as exc:
        refused = exc
    if refused is not None:
        assert refused.code and refused.message
        assert 400 <= refused.status_code < 500
    else:
        assert all(row.submission_id for row in rows)


@settings(max_examples=300, deadline=None)
@given(item=JSON | st.fixed_dictionaries({"accession": JSON, "version": JSON, "data": JSON}))
def test_any_pipeline_line_reads_or_is_refused(item: Any) -> None:
    refused: ApplicationError | None = None
    try:
        result = _result(1, item)
    except ApplicationError as exc:
        refused = exc
    if refused is not None:
        assert refused.code == "invalid_processed_data"
    else:
        assert result.version >= 1


def test_gzipped_files_are_read() -> None:
    metadata = b"submissionId\tgeoLocCountry\ns1\tCH\n"
    [row] = parse_submission(
        organism=default_organism(),
        metadata_tsv=gzip.compress(metadata),
        sequence_fasta=gzip.compress(b">s1\nAC\nGT\n"),
    )
    assert (row.submission_id, row.metadata, row.sequences) == (
        "s1",
        {"geoLocCountry": "CH"},
        {"main": "ACGT"},
    )
