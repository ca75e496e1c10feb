"""The gateway's error root."""

from __future__ import annotations

from dampwatch_core.errors import DampWatchError

__all__ = ["GatewayError"]


class GatewayError(DampWatchError):
    """Raised by the gateway for its own failures."""
