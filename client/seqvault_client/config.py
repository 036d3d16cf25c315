"""Where the client keeps its server URL and token (mode 600) and its resume state.

The environment wins over the file: SEQVAULT_URL, SEQVAULT_TOKEN. SEQVAULT_CONFIG_DIR moves
the whole folder (default: $XDG_CONFIG_HOME/seqvault, else ~/.config/seqvault).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqvault_client.errors import SeqvaultError

CONFIG_FILE = "config.json"


def config_dir() -> Path:
    explicit = os.environ.get("SEQVAULT_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "seqvault"


@dataclass(frozen=True)
class Settings:
    url: str
    token: str


def load_settings(directory: Path | None = None) -> Settings:
    stored = read_json((directory or config_dir()) / CONFIG_FILE) or {}
    url = os.environ.get("SEQVAULT_URL") or stored.get("url") or ""
    token = os.environ.get("SEQVAULT_TOKEN") or stored.get("token") or ""
    if not url or not token:
        raise SeqvaultError(
            "Not signed in: run `seqvault login --url https://your-seqvault` "
            "(or set SEQVAULT_URL and SEQVAULT_TOKEN)."
        )
    return Settings(url=url.rstrip("/"), token=token)


def save_settings(settings: Settings, directory: Path | None = None) -> Path:
    path = (directory or config_dir()) / CONFIG_FILE
    write_json_private(path, {"url": settings.url, "token": settings.token})
    return path


def forget_settings(directory: Path | None = None) -> bool:
    path = (directory or config_dir()) / CONFIG_FILE
    if path.exists():
        path.unlink()
        return True
    return False


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_json_private(path: Path, data: dict[str, Any]) -> None:
    """Write atomically, readable by the owner only (the file may hold a token)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
