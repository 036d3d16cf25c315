"""Service refusals put next to the rows they concern.

Refusals of submissions name their rows and IDs in `details["items"]`: "row 3 (s1): …",
"Submission s1 (row 3) raw_reads/a.fastq", "SV_000001.1 (IN_PROCESSING)", a file ID, or a line
number. Each item is placed on the metadata lines and attachment rows it names; what names no
row stays in the form's general message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.errors import ApplicationError

_ROW = re.compile(r"\brow (\d+)\b")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
PREVIEW_LINES = 500


@dataclass
class MetadataLine:
    number: int  # as in the file: the header is line 1
    cells: list[str]
    key: str  # submissionId (or accession when revising)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AttachmentKey:
    """One attachment row of the form: its entry, its file, and `category/name`."""

    key: str
    file_id: str
    label: str


@dataclass
class PlacedErrors:
    header: list[str]
    lines: list[MetadataLine]
    attachments: dict[int, list[str]]  # attachment form index → problems
    unplaced: list[str]

    @property
    def placed(self) -> bool:
        return any(line.errors for line in self.lines) or bool(self.attachments)


def metadata_lines(text: str, *, key_column: str) -> tuple[list[str], list[MetadataLine]]:
    rows = text.splitlines()
    if not rows:
        return [], []
    header = [cell.strip() for cell in rows[0].split("\t")]
    index = header.index(key_column) if key_column in header else None
    lines = []
    for number, raw in enumerate(rows[1:], start=2):
        if not raw.strip():
            continue
        cells = raw.split("\t")
        key = cells[index].strip() if index is not None and index < len(cells) else ""
        lines.append(MetadataLine(number, cells, key))
    return header, lines


def place_errors(
    error: ApplicationError,
    *,
    text: str,
    key_column: str,
    attachment_keys: Sequence[AttachmentKey | None],
) -> PlacedErrors:
    """`attachment_keys`: each attachment row of the form by index (None for blank rows)."""
    header, lines = metadata_lines(text, key_column=key_column)
    by_number = {line.number: line for line in lines}
    items = [str(item) for item in error.details.get("items", [])]
    if not items and isinstance(error.details.get("line"), int):
        items = [f"row {error.details['line']}: {error.message}"]
    attachments: dict[int, list[str]] = {}
    unplaced = []
    for item in items:
        targets = _lines_named(item, lines, by_number)
        for line in targets:
            line.errors.append(item)
        rows = _attachments_named(item, attachment_keys)
        for index in rows:
            attachments.setdefault(index, []).append(item)
        if not targets and not rows:
            unplaced.append(item)
    shown = [line for i, line in enumerate(lines) if i < PREVIEW_LINES or line.errors]
    return PlacedErrors(header, shown, attachments, unplaced)


def _lines_named(
    item: str, lines: list[MetadataLine], by_number: dict[int, MetadataLine]
) -> list[MetadataLine]:
    if item.isdigit():
        return [by_number[int(item)]] if int(item) in by_number else []
    row = _ROW.search(item)
    if row:
        found = by_number.get(int(row.group(1)))
        return [found] if found else []
    first = item.split(" ")[0]
    named = [
        line
        for line in lines
        if line.key and (first == line.key or first.rsplit(".", 1)[0] == line.key)
    ]
    if named:
        return named
    ids = _UUID.findall(item)
    return [line for line in lines if any(i in "\t".join(line.cells) for i in ids)]


def _attachments_named(item: str, keys: Sequence[AttachmentKey | None]) -> list[int]:
    ids = set(_UUID.findall(item))
    first = item.split(" ")[0]
    cited = _ROW.search(item) is not None
    found = []
    for index, attachment in enumerate(keys):
        if attachment is None:
            continue
        key = attachment.key
        if (
            attachment.file_id in ids
            or (
                cited
                and attachment.label in item
                and (f"Submission {key} (" in item or f"Accession {key} (" in item)
            )
            or (not cited and (first == key or first.rsplit(".", 1)[0] == key))
        ):
            found.append(index)
    return found
