"""Referral to a partner, end to end through the commands: a webhook partner is added
(its secret printed once), an outreach case is referred only with the tenant's
partner_referral consent, and the outbox delivers a Standard Webhooks-signed message
that a real local receiver verifies, holding only what the referral needs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.channels.webhook import WebhookChannel
from alerting.outbox import Dispatcher
from dampwatch.cli import main
from dampwatch_core.models_cases import CaseStatusChange, OutboxMessage
from dampwatch_core.models_tenants import Referral

sys.path.insert(0, str(Path(__file__).parent.parent / "alerting"))
from whreceiver import Receiver  # (the contractor tests' verifying receiver)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cfg(tmp_path: Path, database_url: str, key: str) -> str:
    path = tmp_path / "dampwatch.env"
    path.write_text(
        f"DAMPWATCH_DATABASE_URL={database_url}\nDAMPWATCH_TENANT_DATA_KEYS={key}\n"
        "DAMPWATCH_LANDLORD=north\n"
    )
    return str(path)


def tenants_csv(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.csv"
    path.write_text(
        "tenant_id,flat_id,name,start_date,phone,email,channel,consents,consent_given_how\n"
        "T1,N1,Ann Example,2025-01-01,07400 123456,ann@example.org,sms,"
        "underheating_outreach;partner_referral,doorstep visit\n"
        "T2,N2,Bob Example,2025-01-01,07400 654321,bob@example.org,sms,"
        "underheating_outreach,doorstep visit\n"
    )
    return path


def open_case(capsys: pytest.CaptureFixture[str], cfg: str, flat: str, kind: str) -> str:
    code, out, err = run(
        capsys,
        "cases",
        "open",
        flat,
        "--kind",
        kind,
        "--reported",
        "2026-11-30T09:00+00:00",
        "--by",
        "o@example.org",
        "--description",
        "Warm-home support",
        "--json",
        "--settings",
        cfg,
    )
    assert code == 0, err
    return str(json.loads(out)["reference"])


def test_referral_reaches_the_partner_signed_and_minimal(
    sessions: sessionmaker[Session],
    cfg: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "tenants", "import", str(tenants_csv(tmp_path)), "--settings", cfg)[0] == 0
    receiver = Receiver("whsec_placeholder")
    code, out, err = run(
        capsys,
        "partners",
        "add",
        "Warm Homes Leeds",
        "--webhook-url",
        receiver.url,
        "--service",
        "home energy visits",
        "--json",
        "--settings",
        cfg,
    )
    assert code == 0, err
    receiver.secret = json.loads(out)["webhook_secret"]
    assert receiver.secret.startswith("whsec_")
    code, out, _ = run(capsys, "partners", "list", "--settings", cfg)
    assert "Warm Homes Leeds" in out and receiver.secret not in out

    outreach = open_case(capsys, cfg, "N1", "outreach")
    code, out, err = run(
        capsys,
        "cases",
        "refer",
        outreach,
        "--partner",
        "Warm Homes Leeds",
        "--by",
        "o@example.org",
        "--json",
        "--settings",
        cfg,
    )
    assert code == 0, err
    referral = json.loads(out)
    assert referral["fields"] == [
        "address",
        "name",
        "phone",
        "postcode",
        "preferred_channel",
        "preferred_language",
    ]

    receiver.start()
    try:
        with (
            httpx.Client(timeout=5) as client,
            Dispatcher(sessions, WebhookChannel(client)) as dispatcher,
        ):
            assert dispatcher.run_once() == 1
    finally:
        receiver.stop()
    [seen] = receiver.seen
    assert seen.valid and seen.status == 200
    [payload] = receiver.accepted.values()
    assert payload["schema"] == "dampwatch-referral/1"
    assert payload["referral_reference"] == referral["referral"]
    assert payload["case_reference"] == outreach
    household = payload["household"]
    assert household == {
        "name": "Ann Example",
        "preferred_language": "en",
        "preferred_channel": "sms",
        "phone": "+447400123456",
        "address": "N1 Tower Road, Leeds",
        "postcode": "LS1 1AA",
    }
    text = json.dumps(payload)
    for never in ("ann@example.org", "T1", "Bob", "654321", "underheating_outreach"):
        assert never not in text  # no email when SMS is preferred, no ids, no other tenant
    with sessions() as session:
        row = session.scalars(select(Referral)).one()
        assert row.outbox_message_id is not None
        message = session.get(OutboxMessage, row.outbox_message_id)
        assert message is not None and message.status == "delivered"
        trail = session.scalars(
            select(CaseStatusChange).where(CaseStatusChange.event == "referred")
        ).one()
        assert "Warm Homes Leeds" in trail.reason

    # once per partner and case
    code, _, err = run(
        capsys,
        "cases",
        "refer",
        outreach,
        "--partner",
        "Warm Homes Leeds",
        "--by",
        "o@example.org",
        "--settings",
        cfg,
    )
    assert code == 2 and "already referred" in err


def test_referral_refused_without_consent_or_for_a_repair(
    sessions: sessionmaker[Session],
    cfg: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "tenants", "import", str(tenants_csv(tmp_path)), "--settings", cfg)[0] == 0
    assert (
        run(
            capsys,
            "partners",
            "add",
            "Advice Charity",
            "--email",
            "help@charity.example",
            "--settings",
            cfg,
        )[0]
        == 0
    )
    assert (
        run(
            capsys,
            "partners",
            "add",
            "South Warmth",
            "--email",
            "s@warm.example",
            "--landlord",
            "south",
            "--settings",
            cfg,
        )[0]
        == 0
    )
    no_consent = open_case(capsys, cfg, "N2", "outreach")  # T2 gave no partner_referral
    code, _, err = run(
        capsys,
        "cases",
        "refer",
        no_consent,
        "--partner",
        "Advice Charity",
        "--by",
        "o@example.org",
        "--settings",
        cfg,
    )
    assert code == 2 and "has agreed to partner_referral" in err
    repair = open_case(capsys, cfg, "N1", "repair")
    code, _, err = run(
        capsys,
        "cases",
        "refer",
        repair,
        "--partner",
        "Advice Charity",
        "--by",
        "o@example.org",
        "--settings",
        cfg,
    )
    assert code == 2 and "only outreach cases" in err
    outreach = open_case(capsys, cfg, "N1", "outreach")
    code, _, err = run(
        capsys,
        "cases",
        "refer",
        outreach,
        "--partner",
        "South Warmth",
        "--by",
        "o@example.org",
        "--settings",
        cfg,
    )
    assert code == 2 and "works with landlord 'south'" in err
    # withdrawn: refused again
    assert (
        run(
            capsys,
            "tenants",
            "consent",
            "T1",
            "--withdraw",
            "partner_referral",
            "--how",
            "phone call",
            "--settings",
            cfg,
        )[0]
        == 0
    )
    code, _, err = run(
        capsys,
        "cases",
        "refer",
        outreach,
        "--partner",
        "Advice Charity",
        "--by",
        "o@example.org",
        "--settings",
        cfg,
    )
    assert code == 2 and "has agreed to partner_referral" in err
    with sessions() as session:
        assert session.scalars(select(Referral)).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []
    # given again: the email partner's referral waits in the outbox for the email sender
    assert (
        run(
            capsys,
            "tenants",
            "consent",
            "T1",
            "--give",
            "partner_referral",
            "--how",
            "phone call",
            "--settings",
            cfg,
        )[0]
        == 0
    )
    code, _out, err = run(
        capsys,
        "cases",
        "refer",
        outreach,
        "--partner",
        "Advice Charity",
        "--by",
        "o@example.org",
        "--settings",
        cfg,
    )
    assert code == 0, err
    with sessions() as session:
        message = session.scalars(select(OutboxMessage)).one()
        assert (message.channel, message.contractor_id) == ("email", None)
        body = json.loads(message.body)
        assert body["to"] == "help@charity.example"
        assert body["referral"]["household"]["phone"] == "+447400123456"
