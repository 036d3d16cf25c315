"""Submission files read as a stream of text lines, gunzipped or zstd-decompressed on the fly,
within limits that bound the work of one request (settings SUBMISSION_MAX_*; docs/entries.md,
"Limits"). Nothing here holds more than one line and one read block at a time, so a file that
inflates without end is refused after at most SUBMISSION_MAX_DECOMPRESSED_BYTES were seen."""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from typing import IO, Any, Protocol

import zstandard
from django.conf import settings

from core.errors import ApplicationError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_BLOCK = 1024**2


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


Source = bytes | IO[bytes] | Any  # an uploaded file (Django's UploadedFile) reads like IO[bytes]


def too_large(code: str, message: str, **details: Any) -> ApplicationError:
    return ApplicationError(code, message, status=413, details=details)


def snake(part: str) -> str:
    return {"metadataFile": "metadata_file", "sequenceFile": "sequence_file"}.get(
        part, "file_mapping"
    )


def _size(source: Source) -> int:
    if isinstance(source, bytes):
        return len(source)
    size = getattr(source, "size", None)
    if isinstance(size, int):
        return size
    position = source.tell()
    end = source.seek(0, io.SEEK_END)
    source.seek(position)
    return int(end) - int(position)


def _opened(source: Source, part: str) -> Readable:
    """The decompressed byte stream of the file, after its size was checked as sent."""
    limit = settings.SUBMISSION_MAX_FILE_BYTES
    size = _size(source)
    if size > limit:
        raise too_large(
            "submission_file_too_large",
            f"{part} is {size} bytes; at most {limit} bytes are accepted (split the submission).",
            part=part,
            size=size,
            limit=limit,
        )
    raw: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source
    raw.seek(0)
    magic = raw.read(4)
    raw.seek(0)
    if magic[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic == ZSTD_MAGIC:
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return raw


def _blocks(stream: Readable, part: str) -> Iterator[bytes]:
    limit = settings.SUBMISSION_MAX_DECOMPRESSED_BYTES
    seen = 0
    while True:
        try:
            block = stream.read(READ_BLOCK)
        except (OSError, EOFError, zlib.error, zstandard.ZstdError) as exc:
            raise ApplicationError(
                f"invalid_{snake(part)}", f"{part}: not a readable compressed file ({exc})."
            ) from exc
        if not block:
            return
        seen += len(block)
        if seen > limit:
            raise too_large(
                "submission_decompressed_too_large",
                f"{part} holds more than {limit} bytes once decompressed; split the submission.",
                part=part,
                limit=limit,
            )
        yield block


def text_lines(source: Source, part: str) -> Iterator[str]:
    """The file's lines as UTF-8 text, each with its line end ("\\n"); a byte-order mark is
    dropped. Lines over SUBMISSION_MAX_LINE_BYTES are refused (413)."""
    max_line = settings.SUBMISSION_MAX_LINE_BYTES
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    offset = 0
    number = 0
    for block in _blocks(_opened(source, part), part):
        try:
            text = decoder.decode(block)
        except UnicodeDecodeError as exc:
            raise ApplicationError(
                f"invalid_{snake(part)}", f"{part} is not UTF-8 text (byte {offset + exc.start})."
            ) from exc
        offset += len(block)
        *complete, pending = (pending + text).split("\n")
        for line in complete:
            number += 1
            yield line + "\n"
        if len(pending) > max_line:
            raise too_large(
                "submission_line_too_long",
                f"{part} line {number + 1} is longer than {max_line} characters.",
                part=part,
                line=number + 1,
                limit=max_line,
            )
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            f"invalid_{snake(part)}", f"{part} is not UTF-8 text (byte {offset + exc.start})."
        ) from exc
    if pending:
        yield pending


def whole_text(source: Source, part: str) -> str:
    """Small parts (fileMapping): the whole text, within the same limits."""
    return "".join(text_lines(source, part))
