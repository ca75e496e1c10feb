"""Request parameters of the API and the dashboard with their bounds, spelled once: ids
by pattern, numbers by range, free-text filters without control characters. A request
outside them is a 422 with a message, never a server error (SQLite cannot bind an
integer past 2^63, PostgreSQL no NUL in text)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from fastapi.exceptions import RequestValidationError

from backend.registry import FLAT_ID_RE
from dampwatch_core.contract import DEVICE_ID_RE

__all__ = [
    "CODE_PATTERN",
    "MAX_OFFSET",
    "TEXT_PATTERN",
    "DeviceIdPath",
    "FlatIdFilter",
    "FlatIdPath",
    "Offset",
    "invalid",
]

#: The deepest offset a list accepts: more flats than a region has homes.
MAX_OFFSET = 10_000_000
#: Printable text: no control characters (NUL among them), for free-text filters.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
#: Codes such as quarantine reasons: ``not_json``, ``out_of_range``.
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

FlatIdPath = Annotated[str, Path(pattern=FLAT_ID_RE.pattern, max_length=64, description="flat id")]
DeviceIdPath = Annotated[
    str, Path(pattern=DEVICE_ID_RE.pattern, max_length=64, description="device id")
]
FlatIdFilter = Annotated[
    str | None, Query(pattern=FLAT_ID_RE.pattern, max_length=64, description="only this flat")
]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]


def invalid(name: str, message: str, *, location: str = "query") -> RequestValidationError:
    """A 422 naming the parameter, in the same shape as FastAPI's own validation."""
    return RequestValidationError(
        [{"loc": (location, name), "msg": message, "type": "value_error"}]
    )
