"""Fixtures for the tenants tests: a migrated store (SQLite, then PostgreSQL) with
flats in two landlords, a cipher with a fresh key, and a tenant-file writer."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.tenants import ContactCipher, new_key
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import Flat

HEADER = [
    "tenant_id",
    "flat_id",
    "name",
    "start_date",
    "end_date",
    "phone",
    "email",
    "postal_address",
    "language",
    "channel",
    "consents",
    "consent_given_at",
    "consent_given_how",
]


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Flats N1, N2 (landlord north) and S1 (landlord south)."""
    migrate(database_url)
    engine = make_engine(database_url)
    maker = make_sessionmaker(engine)
    with maker.begin() as session:
        for flat, landlord in (("N1", "north"), ("N2", "north"), ("S1", "south")):
            session.add(
                Flat(
                    id=flat,
                    address=f"{flat} Tower Road, Leeds",
                    postcode="LS1 1AA",
                    landlord=landlord,
                )
            )
    yield maker
    engine.dispose()


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
def cipher(key: str) -> ContactCipher:
    return ContactCipher([key])


WriteCsv = Callable[[Sequence[dict[str, str]]], Path]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    def write(rows: Sequence[dict[str, str]]) -> Path:
        path = tmp_path / "tenants.csv"
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=HEADER)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: row.get(k, "") for k in HEADER})
        return path

    return write
