"""Whole-object digests read back from S3 in bounded memory.

Ranges are fetched by a few parallel GETs (one S3 stream gives ~100 MB/s) and fed to SHA-256
and MD5 in order, in one pass. Each range is read into one reused buffer of its own, piece by
piece, so the process holds at most `streams` ranges (4 of 8 MiB by default) whatever the
object's size; hashlib releases the GIL on large updates, so hashing overlaps the reads.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from filesharing.s3.base import bucket, client, translated_errors

HASH_CHUNK_SIZE = 8 * 1024 * 1024
HASH_STREAMS = 4
_READ_PIECE = 1024 * 1024


@dataclass(frozen=True)
class ObjectDigests:
    sha256_hex: str
    md5_hex: str
    size: int


def hash_object_digests(
    *,
    key: str,
    size: int,
    version_id: str = "",
    chunk_size: int = HASH_CHUNK_SIZE,
    streams: int = HASH_STREAMS,
) -> ObjectDigests:
    """SHA-256 and MD5 of the object's first `size` bytes (its size), in one pass."""
    s3, name = client(), bucket()
    buffers = [bytearray(chunk_size) for _ in range(min(streams, max(1, -(-size // chunk_size))))]

    def fetch(start: int, buffer: bytearray) -> memoryview:
        end = min(size, start + chunk_size)
        kwargs: dict[str, Any] = {"Bucket": name, "Key": key, "Range": f"bytes={start}-{end - 1}"}
        if version_id:
            kwargs["VersionId"] = version_id
        body = s3.get_object(**kwargs)["Body"]
        view, filled = memoryview(buffer), 0
        while filled < end - start:
            piece = body.read(min(_READ_PIECE, end - start - filled))
            if not piece:
                raise OSError(f"{key}: the object ended at {start + filled} of {size} bytes")
            view[filled : filled + len(piece)] = piece
            filled += len(piece)
        body.close()
        return view[:filled]

    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    starts = list(range(0, size, chunk_size))
    with translated_errors("read an object"), ThreadPoolExecutor(len(buffers)) as pool:
        window: list[tuple[Future[memoryview], bytearray]] = []
        for index, start in enumerate(starts[: len(buffers)]):
            window.append((pool.submit(fetch, start, buffers[index]), buffers[index]))
        following = iter(starts[len(buffers) :])
        while window:
            future, buffer = window.pop(0)
            data = future.result()
            sha256.update(data)
            md5.update(data)
            data.release()
            upcoming = next(following, None)
            if upcoming is not None:  # the buffer is free again: the next range goes into it
                window.append((pool.submit(fetch, upcoming, buffer), buffer))
    return ObjectDigests(sha256_hex=sha256.hexdigest(), md5_hex=md5.hexdigest(), size=size)
