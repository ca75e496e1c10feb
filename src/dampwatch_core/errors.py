"""The one error root every DampWatch package raises from.

Callers catch :class:`DampWatchError`; third-party errors are translated at the
boundary of the adapter that met them, and say whether a retry can help.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ContractError",
    "DampWatchError",
    "NotFoundError",
    "ServiceUnavailable",
    "ValidationError",
]


class DampWatchError(Exception):
    """Root of every error DampWatch raises on purpose."""

    retryable: bool = False


class ValidationError(DampWatchError):
    """Input that breaks a rule; the message says which."""


class ContractError(ValidationError):
    """A payload or topic that breaks the MQTT wire contract v1.

    ``reason`` is a short machine-readable code (``not_json``, ``out_of_range`` ...)
    used as a metrics label and stored with quarantined messages; the message is the
    human explanation.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotFoundError(DampWatchError):
    """A flat, device or other entity that does not exist."""


class ConfigError(DampWatchError):
    """A setting that is missing or invalid; the message names it."""


class ServiceUnavailable(DampWatchError):
    """A backing service (broker, InfluxDB, database) could not be reached."""

    retryable = True
