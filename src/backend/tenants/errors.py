"""The tenants package's errors, under the project's one root."""

from __future__ import annotations

from dampwatch_core.errors import DampWatchError, ValidationError

__all__ = ["ConsentMissing", "TenantDataError", "TenantInputError"]


class TenantDataError(DampWatchError):
    """Stored tenant data cannot be used (e.g. it cannot be decrypted)."""


class TenantInputError(ValidationError):
    """A tenant, tenancy or consent given that breaks a rule; the message says which."""


class ConsentMissing(ValidationError):
    """A purpose that the tenant has not agreed to (or has withdrawn)."""
