"""The simulators' error root."""

from __future__ import annotations

from dampwatch_core.errors import ValidationError

__all__ = ["SimulatorError"]


class SimulatorError(ValidationError):
    """A scenario, estate file or simulation request that cannot be used as given."""
