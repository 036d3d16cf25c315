"""Submission files are read as streams within limits: a file too large as sent, one that
inflates beyond the decompressed limit (gzip or zstd bombs), too many rows, a line without end.
Each is refused with 413 and its own code, and nothing is stored. Memory while refusing them is
measured by bench/submission_limits.py against a real gunicorn."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
import zstandard
from django.test import override_settings

from submissions.models import SequenceEntry
from tests.submissions.conftest import error, row, submit, tsv

pytestmark = pytest.mark.django_db
MIB = 1024**2


def refused(response: Any, code: str) -> dict[str, Any]:
    assert response.status_code == 413, response.content
    assert error(response)["code"] == code
    assert SequenceEntry.objects.count() == 0
    return error(response)["details"]


def test_a_gzip_bomb_of_256_mib_is_refused_with_413(submitter: Any) -> None:
    # 261 KB of gzip that inflates to 256 MiB of zeros: one line that never ends
    bomb = gzip.compress(b"\0" * (256 * MIB), compresslevel=9)
    assert len(bomb) < 300_000
    details = refused(submit(submitter, bomb), "submission_line_too_long")
    assert details["part"] == "metadataFile"


def test_a_bomb_of_valid_rows_is_refused_at_the_row_limit(submitter: Any) -> None:
    header = tsv([row("s0")]).split(b"\n")[0] + b"\n"
    line = tsv([row("s1")]).split(b"\n")[1] + b"\n"
    bomb = gzip.compress(header + line * 5_000_000)
    assert len(bomb) < 1_000_000
    details = refused(submit(submitter, bomb), "submission_too_many_rows")
    assert details["limit"] == 10_000


def test_a_fasta_bomb_is_refused_at_the_decompressed_limit(submitter: Any) -> None:
    bomb = zstandard.ZstdCompressor(level=3).compress(
        b">s1\n" + (b"A" * 60 + b"\n") * (256 * MIB // 61)
    )
    with override_settings(SUBMISSION_MAX_DECOMPRESSED_BYTES=8 * MIB):
        details = refused(
            submit(submitter, [row("s1")], fasta=bomb), "submission_decompressed_too_large"
        )
    assert details == {"part": "sequenceFile", "limit": 8 * MIB}


def test_a_50_mb_tsv_is_refused_before_it_is_read(submitter: Any) -> None:
    line = tsv([row("s1")]).split(b"\n")[1] + b"\n"
    big = tsv([row("s0")]) + line * (50_000_000 // len(line))
    assert len(big) > 50_000_000
    details = refused(submit(submitter, big), "submission_file_too_large")
    assert details["limit"] == 32 * MIB


def test_a_file_over_the_limit_as_sent_is_refused_with_its_size(submitter: Any) -> None:
    metadata = tsv([row(f"s{n}") for n in range(200)])
    with override_settings(SUBMISSION_MAX_FILE_BYTES=len(metadata) - 1):
        details = refused(submit(submitter, metadata), "submission_file_too_large")
    assert details == {"part": "metadataFile", "size": len(metadata), "limit": len(metadata) - 1}


def test_rows_beyond_the_setting_are_refused(submitter: Any) -> None:
    with override_settings(SUBMISSION_MAX_ROWS=3):
        refused(submit(submitter, [row(f"s{n}") for n in range(4)]), "submission_too_many_rows")
        accepted = submit(submitter, [row(f"s{n}") for n in range(3)])
    assert accepted.status_code == 200, accepted.content


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.ZstdCompressor().compress])
def test_compressed_metadata_and_sequences_are_read(submitter: Any, compress: Any) -> None:
    metadata = compress(tsv([row("s1"), row("s2")]))
    fasta = compress(b">s1\nACGT\nACGT\n>s2\nTTTT\n")
    response = submit(submitter, metadata, fasta=fasta)
    assert response.status_code == 200, response.content
    assert [e["submissionId"] for e in response.json()] == ["s1", "s2"]
    stored = {e.submission_id: e.sequences for e in SequenceEntry.objects.all()}
    assert [list(stored["s1"].values()), list(stored["s2"].values())] == [["ACGTACGT"], ["TTTT"]]


def test_a_broken_compressed_file_is_a_400(submitter: Any) -> None:
    broken = gzip.compress(tsv([row("s1")]))[:-12] + b"garbage!"
    response = submit(submitter, broken)
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_metadata_file"
