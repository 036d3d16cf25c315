"""File names follow Loculus's rules so that names survive every file system and TSV cell."""

from __future__ import annotations

import re
import unicodedata

from core.errors import ApplicationError

MAX_NAME_LENGTH = 255
FORBIDDEN_CHARACTERS = frozenset('<>:"/\\|?*')


def filename_problem(name: str) -> str | None:
    """Why `name` is not an acceptable file name, or None when it is."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if name in {".", ".."}:
        return "is a relative path"
    for character in name:
        if character in FORBIDDEN_CHARACTERS:
            return f"contains the forbidden character {character!r}"
        if character.isspace():
            return "contains whitespace"
        if unicodedata.category(character)[0] == "C":
            return f"contains the control character U+{ord(character):04X}"
    return None


def validate_filename(name: str, *, where: str = "") -> None:
    problem = filename_problem(name)
    if problem is not None:
        label = f"{where}: " if where else ""
        raise ApplicationError(
            "invalid_filename",
            f"{label}file name {name!r} {problem}.",
            details={"name": name, "problem": problem, "where": where},
        )


# A media type as HTTP states it (RFC 9110): type/subtype and parameters, printable ASCII only,
# so that it can be sent as a Content-Type header to S3 and back to downloaders.
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(
    rf"{_TCHARS}/{_TCHARS}(?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|\"[ -~]*\"))*"
)


def validate_content_type(value: str, *, where: str = "") -> None:
    if value and _CONTENT_TYPE.fullmatch(value) is None:
        label = f"{where}: " if where else ""
        raise ApplicationError(
            "invalid_content_type",
            f"{label}content type {value!r} is not a media type such as "
            "'application/gzip' (printable ASCII, type/subtype and parameters).",
            details={"contentType": value, "where": where},
        )
