"""CSV exports for the housing management system: flats with their risk, and cases.
Cells that a spreadsheet would run as a formula are prefixed with ``'``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

__all__ = ["CASE_COLUMNS", "FLAT_COLUMNS", "csv_rows", "safe_cell"]

FLAT_COLUMNS = (
    "flat_id",
    "address",
    "block",
    "postcode",
    "landlord",
    "band",
    "damp_level",
    "cold_level",
    "score",
    "assessed_at",
)
CASE_COLUMNS = (
    "reference",
    "flat_id",
    "block",
    "kind",
    "state",
    "severity",
    "trigger_source",
    "aware_at",
    "investigated_at",
    "made_safe_at",
    "resolved_at",
    "next_step",
    "next_due_at",
    "breached",
    "contractor",
    "work_order_status",
    "closed_reason",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A value as CSV text; a leading formula character is neutralised."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value)
    if text.startswith(_FORMULA) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_rows(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The header, then one CSV line per row, as text chunks to stream."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for i, row in enumerate(rows):
        writer.writerow([safe_cell(v) for v in row])
        if i % 500 == 499:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
