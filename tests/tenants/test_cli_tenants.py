"""``dampwatch tenants``: import (line-numbered errors, all rows or none), show (the
read audited), consent, end-tenancy (erasure), rotate-keys (data still readable under
the new key alone). No phone number or email reaches a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.tenants import ContactCipher, TenantBook, new_key
from dampwatch.cli import main
from dampwatch_core.models_auth import AuditEvent
from dampwatch_core.models_tenants import Consent, Tenant

PHONE = "07400 123456"
E164 = "+447400123456"
WriteCsv = Callable[[Sequence[dict[str, str]]], Path]
EMAIL = "ann@example.org"


def settings(tmp_path: Path, database_url: str, keys: str) -> str:
    path = tmp_path / f"dampwatch-{abs(hash(keys)) % 10_000}.env"
    path.write_text(f"DAMPWATCH_DATABASE_URL={database_url}\nDAMPWATCH_TENANT_DATA_KEYS={keys}\n")
    return str(path)


def row(**kw: str) -> dict[str, str]:
    base = {
        "tenant_id": "T1",
        "flat_id": "N1",
        "name": "Ann Example",
        "start_date": "2025-04-01",
        "phone": PHONE,
        "email": EMAIL,
        "postal_address": "N1 Tower Road|Leeds|LS1 1AA",
        "consents": "damp_monitoring;sms_tips",
        "consent_given_how": "paper form",
    }
    base.update(kw)
    return base


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_import_is_all_or_nothing_with_line_numbers(
    sessions: sessionmaker[Session],
    database_url: str,
    key: str,
    tmp_path: Path,
    write_csv: WriteCsv,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = settings(tmp_path, database_url, key)
    bad = write_csv(
        [
            row(),
            row(tenant_id="T2", flat_id="N2", phone="+33 6 12 34 56 78"),  # line 3
            row(tenant_id="T3", flat_id="NOPE"),  # line 4
            row(tenant_id="T4", flat_id="N2", consents="damp_monitoring;gossip"),  # line 5
            row(tenant_id="T5", flat_id="N2", channel="sms", phone="0113 496 0000"),  # line 6
            row(tenant_id="T1", flat_id="N2"),  # line 7: T1 again
            row(tenant_id="T6", flat_id="N2", email="not an address"),  # line 8
        ]
    )
    code, out, err = run(capsys, "tenants", "import", str(bad), "--settings", cfg)
    assert code == 1
    assert "nothing imported: 6 row(s) wrong" in out
    lines = err.strip().splitlines()
    assert [line.split(":")[1] for line in lines] == ["3", "4", "5", "6", "7", "8"]
    assert "not a UK number" in lines[0]
    assert "flat 'NOPE' does not exist" in lines[1]
    assert "'gossip' is not one of" in lines[2]
    assert "not a UK mobile" in lines[3]
    assert "already on line 2" in lines[4]
    assert "not a valid email" in lines[5]
    assert "612345678" not in err and "not an address" not in err
    assert count(sessions, Tenant) == 0  # the good first row was not imported either

    good = write_csv(
        [
            row(),
            row(tenant_id="T2", flat_id="N2", phone="", channel="letter", email="", consents=""),
        ]
    )
    code, out, err = run(capsys, "tenants", "import", str(good), "--settings", cfg, "--json")
    assert code == 0, err
    assert json.loads(out) == {"added": 2, "updated": 0, "rejected": []}
    assert count(sessions, Tenant) == 2 and count(sessions, Consent) == 2
    code, out, _ = run(capsys, "tenants", "import", str(good), "--settings", cfg, "--json")
    assert json.loads(out)["updated"] == 2 and count(sessions, Consent) == 2  # idempotent
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("7400123456", "123456", EMAIL, "Tower Road"):
        assert secret not in logged


def test_show_consent_and_end_tenancy(
    sessions: sessionmaker[Session],
    database_url: str,
    key: str,
    tmp_path: Path,
    write_csv: WriteCsv,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = settings(tmp_path, database_url, key)
    assert run(capsys, "tenants", "import", str(write_csv([row()])), "--settings", cfg)[0] == 0
    code, out, _ = run(capsys, "tenants", "show", "T1", "--settings", cfg, "--json")
    assert code == 0
    shown = json.loads(out)
    assert (shown["phone"], shown["email"], shown["phone_is_mobile"]) == (E164, EMAIL, True)
    assert [c["purpose"] for c in shown["consents"]] == ["damp_monitoring", "sms_tips"]
    with sessions() as session:
        [read] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "personal_data.read")
        ).all()
        assert read.subject_id == "T1" and read.actor.startswith("cli")
        assert "phone" in read.detail["fields"] and E164 not in json.dumps(read.detail)

    code, out, _ = run(
        capsys,
        "tenants",
        "consent",
        "T1",
        "--withdraw",
        "sms_tips",
        "--how",
        "phone call",
        "--settings",
        cfg,
    )
    assert code == 0 and "sms_tips withdrawn" in out
    code, _, err = run(
        capsys,
        "tenants",
        "consent",
        "T1",
        "--give",
        "research",
        "--basis",
        "whim",
        "--how",
        "form",
        "--settings",
        cfg,
    )
    assert code == 2 and "lawful basis 'whim'" in err
    code, out, _ = run(
        capsys,
        "tenants",
        "consent",
        "T1",
        "--give",
        "underheating_outreach",
        "--how",
        "doorstep visit",
        "--at",
        "2026-11-30T10:00:00+00:00",
        "--settings",
        cfg,
    )
    assert code == 0

    code, out, err = run(
        capsys,
        "tenants",
        "end-tenancy",
        "T1",
        "--flat",
        "N1",
        "--on",
        "2026-11-30",
        "--settings",
        cfg,
    )
    assert code == 0, err
    assert "contact details erased" in out
    assert "damp_monitoring, underheating_outreach" in out
    with sessions() as session:
        tenant = session.get(Tenant, "T1")
        assert tenant is not None and tenant.erased_at is not None
        assert (tenant.name, tenant.phone_enc, tenant.email_enc, tenant.postal_address_enc) == (
            None,
            None,
            None,
            None,
        )
        assert all(c.withdrawn_at is not None for c in tenant.consents)
    code, out, _ = run(capsys, "tenants", "show", "T1", "--settings", cfg)
    assert "(erased)" in out and E164 not in out


def test_rotation_keeps_data_readable(
    sessions: sessionmaker[Session],
    database_url: str,
    key: str,
    tmp_path: Path,
    write_csv: WriteCsv,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = settings(tmp_path, database_url, key)
    assert run(capsys, "tenants", "import", str(write_csv([row()])), "--settings", old)[0] == 0
    with sessions() as session:
        before = session.execute(text("SELECT phone_enc, email_enc FROM tenants")).one()
    fresh = new_key()
    both = settings(tmp_path, database_url, f"{fresh},{key}")
    code, out, _ = run(capsys, "tenants", "rotate-keys", "--settings", both, "--json")
    assert code == 0 and json.loads(out) == {"rotated": 1}
    with sessions() as session:
        after = session.execute(text("SELECT phone_enc, email_enc FROM tenants")).one()
    assert after[0] != before[0] and after[1] != before[1]
    only_new = settings(tmp_path, database_url, fresh)
    code, out, _ = run(capsys, "tenants", "show", "T1", "--settings", only_new, "--json")
    assert code == 0 and json.loads(out)["phone"] == E164
    with sessions() as session:  # the phone's lookup hash was rotated too
        assert TenantBook(ContactCipher([fresh])).tenants_with_phone(session, PHONE) == ["T1"]
    # the old key alone no longer reads what was rotated
    code, _, err = run(capsys, "tenants", "show", "T1", "--settings", old)
    assert code == 2 and "cannot be decrypted" in err


def test_no_key_no_tenants(
    sessions: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    write_csv: WriteCsv,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "nokey.env"
    path.write_text(f"DAMPWATCH_DATABASE_URL={database_url}\n")
    code, _, err = run(
        capsys, "tenants", "import", str(write_csv([row()])), "--settings", str(path)
    )
    assert code == 2 and "DAMPWATCH_TENANT_DATA_KEYS is not set" in err
    bad = settings(tmp_path, database_url, "not-a-key")
    code, _, err = run(capsys, "tenants", "import", str(write_csv([row()])), "--settings", bad)
    assert code == 2 and "key 1 is not a Fernet key" in err and "not-a-key" not in err
