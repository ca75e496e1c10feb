"""The case, contractor and outbox commands, run in-process against a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from dampwatch.cli import main
from dampwatch_core.models_cases import OutboxMessage


@pytest.fixture
def cli(sessions: sessionmaker[Session], database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.env"
    empty.write_text("")
    monkeypatch.setenv("DAMPWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("DAMPWATCH_SETTINGS_FILE", str(empty))

    def run(*argv: str, code: int = 0) -> object:
        capsys.readouterr()
        assert main(list(argv)) == code
        out = capsys.readouterr()
        return json.loads(out.out) if "--json" in argv and code == 0 else out.err

    return run


def test_officer_opens_assesses_and_moves_a_case(cli) -> None:  # type: ignore[no-untyped-def]
    added = cli("contractors", "add", "Acme Damp", "--webhook-url", "https://acme.example/dw",
                "--json")
    assert added["secret"].startswith("whsec_")
    listed = cli("contractors", "list", "--json")
    assert "secret" not in listed[0] and listed[0]["enabled"] is True
    case = cli("cases", "open", "F1", "--reported", "2025-12-06T15:30Z",
               "--by", "officer@example.org", "--description", "Tenant reports mould", "--json")
    ref = case["reference"]
    assert case["trigger_source"] == "tenant_report" and case["severity"] == "pending"
    due = {(d["severity"], d["step"]): d["due_date"] for d in case["deadlines"]}
    assert due[("significant", "investigate")] == "2025-12-19"
    assert all(d["breached"] for d in case["deadlines"] if d["due_at"])  # long past
    err = cli("cases", "open", "F1", "--reported", "2025-12-06T15:30Z", "--by", "x@example.org",
              "--description", "again", code=2)
    assert ref in err
    cli("cases", "assess", ref, "emergency", "--by", "lead@example.org", "--json")
    err = cli("cases", "move", ref, "resolved", "--by", "lead@example.org", code=2)
    assert "cannot move from open to resolved" in err
    err = cli("cases", "move", ref, "closed", "--by", "lead@example.org", code=2)
    assert "needs a reason" in err
    cli("cases", "move", ref, "acknowledged", "--by", "lead@example.org", "--reason", "seen")
    shown = cli("cases", "show", ref, "--json")
    assert [(h["event"], h["actor"]) for h in shown["history"]] == [
        ("opened", "officer@example.org"), ("work_order", "system"),
        ("assessed", "lead@example.org"), ("transition", "lead@example.org")]
    assert {d["severity"] for d in shown["deadlines"]} == {"emergency"}
    assert [c["reference"] for c in cli("cases", "list", "--json")] == [ref]


def test_outbox_list_and_retry(cli, sessions: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    cli("contractors", "add", "Acme Damp", "--webhook-url", "http://127.0.0.1:9/dw", "--json")
    cli("cases", "open", "F2", "--reported", "2025-12-06T15:30Z", "--by", "o@example.org",
        "--description", "mould", "--json")
    [row] = cli("outbox", "list", "--json")
    assert row["status"] == "pending" and row["event_type"] == "work_order.RaiseRepair"
    err = cli("outbox", "retry", str(row["id"]), code=2)
    assert "not failed" in err
    with sessions.begin() as session:
        session.execute(update(OutboxMessage).values(status="failed", last_error="HTTP 422"))
    assert cli("outbox", "list", "--status", "failed", "--json")[0]["last_error"] == "HTTP 422"
    assert cli("outbox", "retry", "--all-failed", "--json") == {"requeued": [row["id"]]}
    assert cli("outbox", "list", "--json")[0]["status"] == "pending"
