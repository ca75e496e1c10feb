"""Passwords: argon2id (argon2-cffi's RFC 9106 low-memory profile), verified in
constant time by the library; a dummy verify for unknown users keeps timing alike."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "hash_password",
    "needs_rehash",
    "new_password",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12
#: long enough that a generated password needs no complexity rules
_GENERATED_BYTES = 18

_hasher = PasswordHasher()
#: a hash of nothing anyone knows, verified when the email has no account
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def new_password() -> str:
    """A random one-time password (24 URL-safe characters, 144 bits)."""
    return secrets.token_urlsafe(_GENERATED_BYTES)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``None`` (no such user) costs the same and is
    always False."""
    try:
        ok = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
