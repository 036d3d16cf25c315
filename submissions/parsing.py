"""Reading a submission as Loculus clients send it: a metadata TSV, an optional FASTA, and files
cited by ID in `files.<category>` columns (`name:fileId` pairs separated by spaces) or in a
`fileMapping` JSON `{submissionId: {category: [{fileId, name}]}}`.

Malformed input answers 400; content that parses but does not fit answers 422. Every message
names the rows, IDs or lines at fault.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from core.errors import ApplicationError
from submissions.errors import refusal
from submissions.organisms import Organism
from submissions.reading import Source, text_lines, too_large, whole_text

FILES_PREFIX = "files."


@dataclass(frozen=True)
class FileCitation:
    """A file cited by ID under a category and the name it has in the entry."""

    category: str
    name: str
    file_id: str  # canonical UUID text; malformed IDs are refused while parsing


@dataclass
class SubmittedRow:
    line: int  # line of the metadata file (the header is line 1)
    submission_id: str
    metadata: dict[str, str]
    accession: str | None = None
    sequences: dict[str, str] = field(default_factory=dict)
    files: list[FileCitation] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"row {self.line} ({self.submission_id})"


def parse_submission(
    *,
    organism: Organism,
    metadata_tsv: Source,
    sequence_fasta: Source | None = None,
    file_mapping: Source | None = None,
    revision: bool = False,
) -> list[SubmittedRow]:
    """Files are bytes or uploaded files, read as streams within the SUBMISSION_MAX_* limits
    (413 beyond them; see submissions.reading)."""
    rows = _metadata_rows(text_lines(metadata_tsv, "metadataFile"), revision=revision)
    if sequence_fasta is not None:
        _attach_sequences(rows, organism, text_lines(sequence_fasta, "sequenceFile"))
    elif organism.sequences == "required":
        raise refusal(
            "metadata_without_sequence",
            f"Organism {organism.name} needs a sequenceFile; no sequence for",
            [row.submission_id for row in rows],
        )
    if file_mapping is not None:
        _attach_file_mapping(rows, whole_text(file_mapping, "fileMapping"))
    return rows


# --- metadata -------------------------------------------------------------------------------


def _bad_metadata(message: str) -> ApplicationError:
    return ApplicationError("invalid_metadata_file", f"metadataFile: {message}")


def _too_many_rows(limit: int) -> ApplicationError:
    return too_large(
        "submission_too_many_rows",
        f"A submission has at most {limit} rows; split it into several.",
        limit=limit,
    )


def _records(lines: Iterator[str]) -> Iterator[list[str]]:
    try:
        yield from csv.reader(lines, delimiter="\t")
    except csv.Error as exc:
        raise _bad_metadata(f"not a TSV table ({exc}).") from exc


def _metadata_rows(lines: Iterator[str], *, revision: bool) -> list[SubmittedRow]:
    records = _records(lines)
    first = next(records, None)
    if first is None or not any(cell.strip() for cell in first):
        raise _bad_metadata("the file is empty; the first line names the columns.")
    header = [cell.strip() for cell in first]
    repeated = sorted(name for name, count in Counter(header).items() if count > 1)
    if repeated:
        raise _bad_metadata(f"columns named twice: {', '.join(repeated)}.")
    key = "accession" if revision else "submissionId"
    if key not in header:
        raise _bad_metadata(f"no `{key}` column (columns: {', '.join(header)}).")
    limit = settings.SUBMISSION_MAX_ROWS
    filled: list[tuple[int, list[str]]] = []
    ragged: list[str] = []
    for number, cells in enumerate(records, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            ragged.append(str(number))
        filled.append((number, cells))
        if len(filled) > limit:
            raise _too_many_rows(limit)
    if ragged:
        raise refusal(
            "invalid_metadata_file",
            f"metadataFile: these lines do not have {len(header)} cells (one per column)",
            ragged,
            status=400,
        )
    rows = [
        _row(number, dict(zip(header, (c.strip() for c in cells), strict=True)), revision)
        for number, cells in filled
    ]
    if not rows:
        raise _bad_metadata("no rows below the header.")
    _refuse_missing_and_duplicate_keys(rows, revision=revision)
    return rows


def _row(line: int, cells: dict[str, str], revision: bool) -> SubmittedRow:
    accession = cells.pop("accession", "") if revision else None
    submission_id = cells.pop("submissionId", "") or (accession or "")
    files = [
        citation
        for column in [c for c in cells if c.startswith(FILES_PREFIX)]
        for citation in _cell_citations(line, column, cells.pop(column))
    ]
    metadata = {name: value for name, value in cells.items() if value != ""}
    return SubmittedRow(line, submission_id, metadata, accession=accession, files=files)


def _cell_citations(line: int, column: str, cell: str) -> Iterator[FileCitation]:
    category = column[len(FILES_PREFIX) :]
    for item in cell.split():
        name, separator, file_id = item.rpartition(":")
        canonical = _uuid(file_id)
        if not separator or not name or canonical is None:
            raise ApplicationError(
                "invalid_file_reference",
                f"metadataFile line {line}, column {column}: {item!r} is not name:fileId "
                "(the file's name, a colon, and the ID request-uploads answered).",
                details={"line": line, "column": column, "value": item},
            )
        yield FileCitation(category=category, name=name, file_id=canonical)


def _uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except (ValueError, TypeError, AttributeError):
        return None


def _refuse_missing_and_duplicate_keys(rows: list[SubmittedRow], *, revision: bool) -> None:
    key = "accession" if revision else "submissionId"
    missing = [
        str(row.line) for row in rows if not (row.accession if revision else row.submission_id)
    ]
    if missing:
        raise refusal(
            f"missing_{'accession' if revision else 'submission_id'}",
            f"metadataFile: no {key} on lines",
            missing,
        )
    values = [(row.accession if revision else row.submission_id) or "" for row in rows]
    duplicates = sorted(value for value, count in Counter(values).items() if count > 1)
    if duplicates:
        raise refusal(
            f"duplicate_{'accession' if revision else 'submission_id'}",
            f"metadataFile: each {key} may appear once; repeated",
            duplicates,
        )
    if revision:
        ids = Counter(row.submission_id for row in rows)
        repeated = sorted(value for value, count in ids.items() if count > 1)
        if repeated:
            raise refusal(
                "duplicate_submission_id",
                "metadataFile: each submissionId may appear once; repeated",
                repeated,
            )


# --- sequences ------------------------------------------------------------------------------


def _fasta_records(lines: Iterator[str], max_records: int) -> list[tuple[int, str, str]]:
    """(line, ID, sequence) of each record. A sequence gathers in a byte buffer: one byte per
    letter, whatever the number of lines it was wrapped in."""
    records: list[tuple[int, str, str]] = []
    current: tuple[int, str] | None = None
    sequence = bytearray()

    def finish() -> None:
        if current is not None:
            records.append((*current, sequence.decode()))
            if len(records) > max_records:
                raise _too_many_rows(max_records)
            sequence.clear()

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            finish()
            identifier = line[1:].split()[0] if line[1:].split() else ""
            if not identifier:
                raise ApplicationError(
                    "invalid_sequence_file", f"sequenceFile line {number}: a header without an ID."
                )
            current = (number, identifier)
        elif current is None:
            raise ApplicationError(
                "invalid_sequence_file",
                f"sequenceFile line {number}: sequence data before the first '>' header.",
            )
        else:
            sequence += line.replace(" ", "").encode()
    finish()
    return records


def _attach_sequences(rows: list[SubmittedRow], organism: Organism, lines: Iterator[str]) -> None:
    if organism.sequences == "none":
        raise ApplicationError(
            "sequences_not_accepted",
            f"Organism {organism.name} takes no sequences; leave out the sequenceFile.",
            status=422,
        )
    records = _fasta_records(lines, settings.SUBMISSION_MAX_ROWS * len(organism.segments))
    counts = Counter(identifier for _, identifier, _ in records)
    repeated = sorted(identifier for identifier, count in counts.items() if count > 1)
    if repeated:
        raise refusal("duplicate_sequence_id", "sequenceFile: sequence IDs repeated", repeated)
    by_id = {row.submission_id: row for row in rows}
    unmatched = []
    for _, identifier, sequence in records:
        submission_id, segment = _split_segment(identifier, organism)
        row = by_id.get(submission_id)
        if row is None or segment is None:
            unmatched.append(identifier)
        else:
            row.sequences[segment] = sequence
    if unmatched:
        raise refusal(
            "sequence_without_metadata",
            "sequenceFile: no metadata row has the submissionId of sequences",
            unmatched,
        )
    if organism.sequences == "required":
        without = [row.submission_id for row in rows if not row.sequences]
        if without:
            raise refusal("metadata_without_sequence", "No sequence for submissionIds", without)


def _split_segment(identifier: str, organism: Organism) -> tuple[str, str | None]:
    if len(organism.segments) == 1:
        return identifier, organism.segments[0]
    submission_id, _, segment = identifier.rpartition("_")
    return submission_id, segment if segment in organism.segments else None


# --- file mapping ---------------------------------------------------------------------------


def _bad_mapping(message: str) -> ApplicationError:
    return ApplicationError(
        "invalid_file_mapping",
        f"fileMapping: {message} The shape is {{submissionId: {{category: [{{fileId, name}}]}}}}.",
    )


def _attach_file_mapping(rows: list[SubmittedRow], text: str) -> None:
    try:
        mapping: Any = json.loads(text)
    except ValueError as exc:
        raise _bad_mapping(f"not JSON ({exc}).") from exc
    if not isinstance(mapping, dict):
        raise _bad_mapping("not an object.")
    by_id = {row.submission_id: row for row in rows}
    unknown = sorted(key for key in mapping if key not in by_id)
    if unknown:
        raise refusal(
            "file_mapping_unknown_submission",
            "fileMapping names submissionIds that no metadata row has",
            unknown,
        )
    for submission_id, categories in mapping.items():
        if not isinstance(categories, dict):
            raise _bad_mapping(f"{submission_id!r} does not map categories to lists.")
        for category, files in categories.items():
            if not isinstance(files, list):
                raise _bad_mapping(f"{submission_id!r}/{category!r} is not a list.")
            by_id[submission_id].files.extend(
                _mapping_citation(submission_id, category, item) for item in files
            )


def _mapping_citation(submission_id: str, category: str, item: Any) -> FileCitation:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise _bad_mapping(f"{submission_id!r}/{category!r}: {item!r} lacks fileId or name.")
    canonical = _uuid(item.get("fileId"))  # type: ignore[arg-type]
    if canonical is None:
        raise ApplicationError(
            "invalid_file_reference",
            f"fileMapping {submission_id!r}/{category!r}: {item.get('fileId')!r} is not a file ID.",
            details={"submissionId": submission_id, "category": category},
        )
    return FileCitation(category=category, name=item["name"], file_id=canonical)
