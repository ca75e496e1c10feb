"""Reading what people type or export: timestamps and CSV files with a header row.

One way to do each, so the API's time parameters, ``dampwatch analyse`` and the flat
import accept the same forms and fail with the same kind of message.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from dampwatch_core.errors import ValidationError

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")

__all__ = [
    "NoOffsetError",
    "TimestampError",
    "TimestampRangeError",
    "csv_rows",
    "parse_timestamp",
]


class TimestampError(ValueError):
    """``text`` is neither Unix seconds nor ISO 8601."""


class NoOffsetError(TimestampError):
    """An ISO 8601 time without a UTC offset (it would be read in the machine's zone)."""


class TimestampRangeError(TimestampError):
    """An ISO 8601 time a Unix timestamp cannot hold; ``year`` says which side."""

    def __init__(self, message: str, year: int) -> None:
        super().__init__(message)
        self.year = year


def parse_timestamp(text: str, name: str = "ts") -> int:
    """Unix seconds from Unix seconds or ISO 8601 with a UTC offset (``Z`` or
    ``+01:00``). Raises a :class:`TimestampError` naming ``name`` when ``text`` is
    neither (:class:`NoOffsetError` when an ISO time has no offset,
    :class:`TimestampRangeError` when it cannot be a timestamp)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimestampError(f"{name} {text!r} is neither Unix seconds nor ISO 8601") from None
    if parsed.tzinfo is None:
        raise NoOffsetError(f"{name} {text!r} has no UTC offset (e.g. +00:00)")
    try:
        return int(parsed.timestamp())
    except (OverflowError, ValueError):
        raise TimestampRangeError(f"{name} {text!r} is out of range", parsed.year) from None


def csv_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` of each row of the CSV at ``path`` (UTF-8, with or without
    a BOM; header names stripped). Raises :class:`ValidationError` if the file cannot
    be read or its header lacks one of ``required``."""
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [c for c in required if c not in header]
        if missing:
            raise ValidationError(f"{path}:1: header lacks column(s) {', '.join(missing)}")
        for row in reader:
            # line_num is where the record ends; a quoted line break moves its start up
            breaks = sum(len(_LINE_BREAKS.findall(v)) for v in row.values() if isinstance(v, str))
            yield reader.line_num - breaks, row
