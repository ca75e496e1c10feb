"""``dampwatch tenants import``: a CSV of tenants, all or nothing.

Every row is checked first (fields, flats, landlords, a tenant named twice); if any
row is wrong, each wrong row is reported with its line number and nothing is stored.
Otherwise all rows are stored in the caller's transaction. Errors never repeat a
phone number or email address from the file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from backend.auth import audit
from backend.tenants.cipher import ContactCipher
from backend.tenants.errors import TenantInputError
from backend.tenants.records import CSV_COLUMNS, REQUIRED_COLUMNS, TenantRecord, record_from_row
from backend.tenants.store import save_tenant
from dampwatch_core.errors import ValidationError
from dampwatch_core.models import Flat
from dampwatch_core.models_tenants import Tenant
from dampwatch_core.parsing import csv_rows

__all__ = ["TenantImportReport", "import_tenants_csv"]


@dataclass
class TenantImportReport:
    added: int = 0
    updated: int = 0
    #: (line, message); when not empty, nothing was imported
    errors: list[tuple[int, str]] = field(default_factory=list)


def import_tenants_csv(
    session: Session,
    path: Path,
    cipher: ContactCipher,
    *,
    actor: audit.Actor | str,
    now: dt.datetime,
) -> TenantImportReport:
    report = TenantImportReport()
    records: list[TenantRecord] = []
    seen: dict[str, int] = {}
    for line, row in csv_rows(path, REQUIRED_COLUMNS):
        try:
            if None in row:
                raise TenantInputError("row has more fields than the header")
            unknown = sorted(set(row) - set(CSV_COLUMNS))
            if unknown:
                raise TenantInputError(f"unknown column(s) {', '.join(unknown)}")
            record = record_from_row(row, today=now.date())
            if record.tenant_id in seen:
                raise TenantInputError(
                    f"tenant {record.tenant_id!r} is already on line {seen[record.tenant_id]}"
                )
            seen[record.tenant_id] = line
            flat = session.get(Flat, record.flat_id)
            if flat is None:
                raise TenantInputError(
                    f"flat {record.flat_id!r} does not exist (import it with "
                    "'dampwatch flats import')"
                )
            existing = session.get(Tenant, record.tenant_id)
            if existing is not None and existing.landlord != flat.landlord:
                raise TenantInputError(
                    f"tenant {record.tenant_id!r} belongs to landlord {existing.landlord!r}, "
                    f"flat {record.flat_id!r} to {flat.landlord!r}"
                )
            records.append(record)
        except ValidationError as exc:
            report.errors.append((line, str(exc)))
    if report.errors:
        return report
    for record in records:
        if session.get(Tenant, record.tenant_id) is None:
            report.added += 1
        else:
            report.updated += 1
        save_tenant(session, record, cipher, actor=actor, now=now)
    return report
