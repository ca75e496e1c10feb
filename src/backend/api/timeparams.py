"""Time parameters in the API: Unix seconds or ISO 8601 with an offset."""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException

__all__ = ["parse_time"]


def parse_time(value: str, name: str) -> int:
    """Unix seconds from ``value``; 422 with a message when it is neither form."""
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(
            422, f"'{name}' must be Unix seconds or ISO 8601 with an offset, not {value!r}"
        ) from None
    if parsed.tzinfo is None:
        raise HTTPException(422, f"'{name}' needs a UTC offset (e.g. 2025-11-03T08:00:00+00:00)")
    return int(parsed.timestamp())
