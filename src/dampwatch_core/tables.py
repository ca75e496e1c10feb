"""Checking the tables of a configuration file (estate, scenario, thresholds), one way:
unknown keys are refused with a suggestion, numbers are checked for type and range,
and a missing key is named. Errors are :class:`TableError` with a message relative to
the table; the caller adds the file and table (``demo.toml: [weather] …``) and raises
its own error type.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["REQUIRED", "TableError", "check_keys", "check_range", "number", "unknown_key"]

#: The default of a key that must be given.
REQUIRED: Final[Any] = ...


class TableError(ValueError):
    """A key or value of one table is wrong (the message names the key)."""


def unknown_key(key: str, known: Iterable[str]) -> str:
    """``unknown key 'sead' (did you mean 'seed'?)``."""
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}"


def check_keys(table: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse the first key of ``table`` that is not one of ``known``."""
    names = set(known)
    for key in table:
        if key not in names:
            raise TableError(unknown_key(key, names))


def check_range(key: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise TableError(f"{key}={value} is outside {lo:g}–{hi:g}")


def number(
    table: Mapping[str, Any],
    key: str,
    lo: float,
    hi: float,
    default: Any = REQUIRED,
    *,
    whole: bool = False,
) -> Any:
    """``table[key]``, a number (a whole one if ``whole``) in [lo, hi], or ``default``
    if absent (an error if the key is :data:`REQUIRED`). ``true``/``false`` are not
    numbers."""
    if key not in table:
        if default is REQUIRED:
            raise TableError(f"{key} is required")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TableError(f"{key} must be a number, not {value!r}")
    check_range(key, value, lo, hi)
    if whole and not isinstance(value, int):
        raise TableError(f"{key} must be a whole number, not {value!r}")
    return value
