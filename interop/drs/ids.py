"""DRS IDs and URIs. A file is the blob `<file UUID>`; an entry version is the bundle
`<accession>.<version>` of its categories; a category of it is the bundle
`<accession>.<version>~<category>` of its files. Hostname-based URIs: `drs://<host>/<id>`."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest

CATEGORY_SEPARATOR = "~"
_ENTRY = re.compile(
    r"^(?P<av>[A-Za-z0-9_]{1,32}\.\d{1,9})(?:~(?P<category>[A-Za-z0-9_.-]{1,64}))?$"
)


@dataclass(frozen=True)
class DrsId:
    file_id: uuid.UUID | None = None
    accession_version: str = ""
    category: str = ""


def drs_id_parse(text: str) -> DrsId | None:
    try:
        return DrsId(file_id=uuid.UUID(text))
    except ValueError:
        pass
    match = _ENTRY.match(text)
    if match is None:
        return None
    return DrsId(accession_version=match["av"], category=match["category"] or "")


def category_bundle_id(accession_version: str, category: str) -> str:
    return f"{accession_version}{CATEGORY_SEPARATOR}{category}"


def drs_hostname(request: HttpRequest) -> str:
    return settings.DRS_HOSTNAME or request.get_host()


def drs_uri(request: HttpRequest, object_id: str) -> str:
    return f"drs://{drs_hostname(request)}/{quote(object_id, safe='')}"
