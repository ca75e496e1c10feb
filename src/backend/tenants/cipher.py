"""Tenants' contact details encrypted at rest: Fernet tokens (AES-128-CBC with an
HMAC-SHA256, from ``cryptography``) under a :class:`~cryptography.fernet.MultiFernet`
of the keys in ``DAMPWATCH_TENANT_DATA_KEYS``.

The first key encrypts; every key decrypts, so a key is rotated by putting a new one
first, re-encrypting every stored value (:meth:`ContactCipher.rotate`, run by
``dampwatch tenants rotate-keys``), then removing the old key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.tenants.errors import TenantDataError
from dampwatch_core.errors import ConfigError
from dampwatch_core.settings import Settings

__all__ = ["ContactCipher", "new_key"]


def new_key() -> str:
    """A fresh Fernet key (URL-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


class ContactCipher:
    """Encrypts and decrypts one contact detail at a time."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError(
                "DAMPWATCH_TENANT_DATA_KEYS is not set: tenants' contact details cannot "
                "be read or stored without it (docs/tenants.md, Keys)"
            )
        fernets = []
        self._lookup_keys: list[bytes] = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise ConfigError(
                    f"DAMPWATCH_TENANT_DATA_KEYS: key {number} is not a Fernet key "
                    "(32 bytes in URL-safe base64)"
                ) from None
            self._lookup_keys.append(_lookup_key(key))
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> ContactCipher:
        raw = settings.tenant_data_keys.get_secret_value() if settings.tenant_data_keys else ""
        return cls([k.strip() for k in raw.split(",") if k.strip()])

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise TenantDataError(
                "a stored contact detail cannot be decrypted with any key in "
                "DAMPWATCH_TENANT_DATA_KEYS (was a key removed before rotating?)"
            ) from None

    def lookup(self, value: str | None) -> str | None:
        """A keyed hash of ``value`` under the first key (HMAC-SHA256, hex): stored
        beside a phone number so a reply from that number finds its tenant without
        decrypting every row. Not reversible without the key."""
        if value is None:
            return None
        return _hmac(self._lookup_keys[0], value)

    def lookups(self, value: str) -> list[str]:
        """``value``'s keyed hash under every key (rows not yet rotated carry an old one)."""
        return [_hmac(key, value) for key in self._lookup_keys]

    def rotate(self, token: str | None) -> str | None:
        """``token`` re-encrypted under the first key."""
        if token is None:
            return None
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise TenantDataError(
                "a stored contact detail cannot be decrypted with any key in "
                "DAMPWATCH_TENANT_DATA_KEYS; nothing was rotated"
            ) from None


def _lookup_key(fernet_key: str) -> bytes:
    """A key for lookups derived from a Fernet key (HKDF-SHA256), so that one setting
    holds every key and the hash never reuses the encryption key itself."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"dampwatch phone lookup"
    ).derive(base64.urlsafe_b64decode(fernet_key.encode("ascii")))


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
