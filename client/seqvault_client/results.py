"""What a transfer reports for each file, and its `--json` form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def camel_keys(data: dict[str, Any]) -> dict[str, Any]:
    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(word.title() for word in rest)

    return {camel(key): value for key, value in data.items()}


@dataclass
class UploadResult:
    path: str
    name: str
    file_id: str
    size: int
    sha256: str
    status: str  # the file's status on the server: verified, uploaded, failed, … or error
    deduplicated: bool = False
    resumed: bool = False
    parts_sent: list[int] = field(default_factory=list)
    failure_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_json(self) -> dict[str, Any]:
        """The command's --json form, named as the API names things."""
        return camel_keys(asdict(self))
