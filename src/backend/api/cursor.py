"""The readings cursor: an opaque token that carries the window, the resolution and the
position of the next page, so a client pages with ``?cursor=`` alone. Every field is
checked when it comes back; a token that does not decode is a 422."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from backend.api.timeparams import MAX_TS, MIN_TS
from backend.params import invalid
from backend.readings import Position, Resolution

__all__ = ["CURSOR_PATTERN", "ReadingsCursor", "decode_cursor", "encode_cursor"]

CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"
VERSION = 1
MAX_SKIP = 1_000_000


@dataclass(frozen=True)
class ReadingsCursor:
    start: int
    end: int
    resolution: Resolution
    position: Position


def encode_cursor(cursor: ReadingsCursor) -> str:
    raw = json.dumps(
        [
            VERSION,
            cursor.start,
            cursor.end,
            cursor.resolution,
            cursor.position.ts,
            cursor.position.skip,
        ],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> ReadingsCursor:
    """The cursor in ``token``; a 422 naming ``cursor`` when it is not one we issued."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, start, end, resolution, ts, skip = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise invalid("cursor", "not a cursor this API issued") from None
    ints = (start, end, ts, skip)
    if (
        version != VERSION
        or not all(type(v) is int for v in ints)
        or resolution not in ("raw", "hourly")
        or not MIN_TS <= start <= ts < end <= MAX_TS
        or not 0 <= skip <= MAX_SKIP
    ):
        raise invalid("cursor", "not a cursor this API issued")
    return ReadingsCursor(start, end, resolution, Position(ts, skip))
