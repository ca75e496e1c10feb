"""The alerting package's error root (under DampWatch's own)."""

from __future__ import annotations

from dampwatch_core.errors import ValidationError

__all__ = ["AlertingError", "CalendarError"]


class AlertingError(ValidationError):
    """Root of every error the alerting package raises on purpose."""


class CalendarError(AlertingError):
    """A holiday list that cannot be read, or a date it does not cover."""
