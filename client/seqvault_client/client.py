"""The Python API that pipelines use and the `seqvault` command is built on."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from seqvault_client.config import Settings, config_dir, load_settings
from seqvault_client.download import Downloader, DownloadOptions, DownloadResult
from seqvault_client.errors import SeqvaultError
from seqvault_client.http import Api
from seqvault_client.progress import Board
from seqvault_client.state import StateStore
from seqvault_client.upload import Uploader, UploadOptions, UploadResult


def collect_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files as given and every file under the given folders, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise SeqvaultError(f"{path}: no such file or folder")
    names: dict[str, Path] = {}
    for path in found:
        if path.name in names:
            raise SeqvaultError(
                f"{names[path.name]} and {path} have the same name; files are stored by name "
                "within a group, so upload them separately or rename one."
            )
        names[path.name] = path
    return found


class Client:
    """seqvault over HTTP. `Client.from_config()` uses `seqvault login`'s settings or the
    SEQVAULT_URL / SEQVAULT_TOKEN environment variables."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        config_directory: Path | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.api = Api(url, token, timeout=timeout)
        self.config_directory = config_directory or config_dir()

    @classmethod
    def from_config(cls, config_directory: Path | None = None) -> Client:
        settings: Settings = load_settings(config_directory)
        return cls(settings.url, settings.token, config_directory=config_directory)

    @property
    def url(self) -> str:
        return self.api.url

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- reads --------------------------------------------------------------------------------

    def groups(self) -> list[dict[str, Any]]:
        return list(self._pages("groups/", {}))

    def group_id(self, group: str | int) -> int:
        """A group by ID or by exact name."""
        if isinstance(group, int) or str(group).isdigit():
            return int(group)
        matches = [g["id"] for g in self.groups() if g["name"] == group]
        if not matches:
            raise SeqvaultError(f"No group named {group!r} among yours.")
        return int(matches[0])

    def files(self, *, group: str | int | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        params = {key: value for key, value in filters.items() if value is not None}
        if group is not None:
            params["group"] = self.group_id(group)
        yield from self._pages("files/", params)

    def file(self, file_id: str) -> dict[str, Any]:
        return dict(self.api.get(f"files/{file_id}/"))

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        answer = self.api.get(path, **params, page_size=1000)
        while True:
            if isinstance(answer, list):
                yield from answer
                return
            yield from answer["results"]
            if not answer.get("next"):
                return
            answer = self.api.get(answer["next"])

    # --- transfers ----------------------------------------------------------------------------

    def upload(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        group: str | int,
        options: UploadOptions | None = None,
        progress_to: TextIO | None = None,
        name: str | None = None,
        keep_going: bool = False,
    ) -> Iterator[UploadResult]:
        """Upload files and folders; yields one result per file as each one is settled. With
        `keep_going`, a file that cannot be uploaded yields a result with status "error" and
        the reason, and the next file goes; otherwise the error is raised. Progress goes to
        `progress_to`: a redrawn line on a terminal, else a timestamped line every 10 s."""
        files = collect_files(paths)
        if name is not None and len(files) != 1:
            raise SeqvaultError("A name can only be given when uploading one file.")
        board = Board(progress_to)
        uploader = Uploader(
            api=self.api,
            states=StateStore(self.config_directory / "uploads"),
            options=options or UploadOptions(),
            board=board,
        )
        try:
            group_id = self.group_id(group)
            named = [(path, name or path.name) for path in files]
            yield from uploader.upload_all(named, group_id=group_id, keep_going=keep_going)
        finally:
            board.close()

    def download(
        self,
        file_id: str,
        directory: str | os.PathLike[str] = ".",
        *,
        options: DownloadOptions | None = None,
        progress_to: TextIO | None = None,
    ) -> DownloadResult:
        board = Board(progress_to)
        try:
            downloader = Downloader(api=self.api, options=options or DownloadOptions(), board=board)
            return downloader.download(file_id, Path(directory))
        finally:
            board.close()

    def download_many(
        self,
        file_ids: Sequence[str],
        directory: str | os.PathLike[str] = ".",
        *,
        options: DownloadOptions | None = None,
        progress_to: TextIO | None = None,
    ) -> Iterator[DownloadResult | tuple[str, SeqvaultError]]:
        """Several files at once (`options.files_in_flight`); yields each result as it
        finishes, or (file ID, error) for a file that could not be downloaded."""
        board = Board(progress_to)
        try:
            downloader = Downloader(api=self.api, options=options or DownloadOptions(), board=board)
            yield from downloader.download_many(list(file_ids), Path(directory))
        finally:
            board.close()

    def entry_file_ids(self, entry: str) -> list[str]:
        """The IDs of the files attached to an entry version (`ACC.VER`) that the caller sees."""
        answer = self.api.get(f"entries/{entry}/")
        return list(dict.fromkeys(str(file["fileId"]) for file in answer.get("files", [])))
