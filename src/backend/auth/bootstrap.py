"""The local stack's first admin, so the demo stays one command."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select

from backend.auth.passwords import new_password
from backend.auth.users import add_user
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models_auth import User

__all__ = ["FIRST_ADMIN_EMAIL", "FIRST_ADMIN_SECRET", "ensure_first_admin"]

FIRST_ADMIN_EMAIL = "admin@localhost.localdomain"
#: key of its password in the state dir's secrets file
FIRST_ADMIN_SECRET = "dashboard_admin"  # noqa: S105 (a key name)


def ensure_first_admin(
    database_url: str, secrets_file: Path, landlord: str = "default"
) -> tuple[str, str] | None:
    """Create an admin if the store has no user yet, keeping its password in
    ``secrets_file`` (JSON, written 0600). Returns (email, password) when it created
    one, else None (the password is then only in the secrets file)."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            if session.scalars(select(User.id).limit(1)).first() is not None:
                return None
            secrets: dict[str, str] = (
                json.loads(secrets_file.read_text()) if secrets_file.exists() else {}
            )
            password = new_password()
            secrets[FIRST_ADMIN_SECRET] = password
            fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(secrets, fh)
            secrets_file.chmod(0o600)
            add_user(
                session,
                FIRST_ADMIN_EMAIL,
                "admin",
                password,
                landlord=landlord,
                actor="dampwatch up",
            )
            return FIRST_ADMIN_EMAIL, password
    finally:
        engine.dispose()
