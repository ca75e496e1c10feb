"""The flat simulator's error root."""

from __future__ import annotations

from dampwatch_core.errors import ValidationError

__all__ = ["FlatsimError"]


class FlatsimError(ValidationError):
    """A scenario file, estate file or simulation request that cannot be used as given.

    The message names the file, the key and what is allowed.
    """
