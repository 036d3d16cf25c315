"""Resume state of multipart uploads: one small JSON file per (server, local file, group).

It names the file and upload on the server; which parts arrived is always asked of the server
(S3's part list), so a state file can never claim more than S3 holds.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from seqvault_client.config import read_json, write_json_private

STATE_VERSION = 1


class StateStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def key(*, url: str, path: Path, group_id: int) -> str:
        identity = f"{url}\n{os.path.abspath(path)}\n{group_id}"
        return hashlib.sha256(identity.encode()).hexdigest()[:32]

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        data = read_json(self._path(key))
        if data is None or data.get("version") != STATE_VERSION:
            return None
        return data

    def save(self, key: str, data: dict[str, Any]) -> None:
        write_json_private(self._path(key), {"version": STATE_VERSION, **data})

    def remove(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
