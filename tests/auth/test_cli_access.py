"""``dampwatch users`` and ``dampwatch tokens``: one-time secrets, stored hashed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.auth.passwords import verify_password
from backend.auth.tokens import find_token
from dampwatch.cli import main
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models import utcnow
from dampwatch_core.models_auth import ApiToken, AuditEvent, User


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "dampwatch.env"
    path.write_text(f"DAMPWATCH_DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite'}\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_add_list_disable_and_tokens(
    settings_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    s = str(settings_file)
    code, out, _ = run(
        capsys, "users", "add", "Ann@Council.example", "--role", "officer",
        "--landlord", "north", "--json", "--settings", s,
    )  # fmt: skip
    assert code == 0
    added = json.loads(out)
    assert added["email"] == "ann@council.example" and added["landlord"] == "north"
    password = added["password"]
    assert len(password) >= 20

    monkeypatch.setattr("sys.stdin", io.StringIO("a chosen passphrase\n"))
    code, out, _ = run(
        capsys, "users", "add", "cat@acme.example", "--role", "contractor",
        "--contractor", "Acme Damp Ltd", "--password-stdin", "--settings", s,
    )  # fmt: skip
    assert code == 0 and "password" not in out

    code, _, err = run(capsys, "users", "add", "x@y.z", "--role", "contractor", "--settings", s)
    assert code == 2 and "--contractor" in err and "\n" not in err.strip()

    code, out, _ = run(
        capsys, "tokens", "create", "--user", "ann@council.example", "--name", "reports",
        "--expires", "30", "--json", "--settings", s,
    )  # fmt: skip
    assert code == 0
    created = json.loads(out)
    token = created["token"]

    engine = make_engine(f"sqlite:///{settings_file.parent / 'db.sqlite'}")
    with make_sessionmaker(engine)() as session:
        ann = session.scalars(select(User).where(User.email == "ann@council.example")).one()
        assert password not in ann.password_hash and verify_password(ann.password_hash, password)
        cat = session.scalars(select(User).where(User.email == "cat@acme.example")).one()
        assert verify_password(cat.password_hash, "a chosen passphrase")
        row = session.scalars(select(ApiToken)).one()
        assert token not in (row.token_hash, row.public_id)
        assert find_token(session, token, utcnow()) is not None
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["user.created", "user.created", "token.created"]

    code, out, _ = run(capsys, "tokens", "list", "--json", "--settings", s)
    listed = json.loads(out)
    assert [t["id"] for t in listed] == [created["id"]] and token not in out

    code, out, _ = run(capsys, "users", "list", "--settings", s)
    assert "ann@council.example" in out and "2 user(s)" in out and password not in out

    assert run(capsys, "tokens", "revoke", created["id"], "--settings", s)[0] == 0
    assert run(capsys, "users", "disable", "ann@council.example", "--settings", s)[0] == 0
    code, out, _ = run(capsys, "users", "list", "--json", "--settings", s)
    assert next(u for u in json.loads(out) if u["email"].startswith("ann"))["disabled"]
    with make_sessionmaker(engine)() as session:
        assert find_token(session, token, utcnow()) is None
    code, _, err = run(capsys, "tokens", "create", "--user", "nobody@x.y", "--settings", s)
    assert code == 2 and "no user" in err
    engine.dispose()


def test_first_admin_created_once_and_kept_in_the_secrets_file(tmp_path: Path) -> None:
    from backend.auth.bootstrap import FIRST_ADMIN_SECRET, ensure_first_admin
    from dampwatch_core.db import migrate

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"gateway": "kept"}))
    created = ensure_first_admin(url, secrets)
    assert created is not None
    email, password = created
    assert secrets.stat().st_mode & 0o777 == 0o600
    kept = json.loads(secrets.read_text())
    assert kept == {"gateway": "kept", FIRST_ADMIN_SECRET: password}
    assert ensure_first_admin(url, secrets) is None  # not again, not a new password
    assert json.loads(secrets.read_text())[FIRST_ADMIN_SECRET] == password
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        admin = session.scalars(select(User)).one()
        assert (admin.email, admin.role) == (email, "admin")
        assert verify_password(admin.password_hash, password)
    engine.dispose()


def test_device_changes_are_audited(
    settings_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    s = str(settings_file)
    with settings_file.open("a") as fh:
        fh.write(f"DAMPWATCH_BROKER_PASSWORD_FILE={tmp_path / 'passwd'}\n")
    engine = make_engine(f"sqlite:///{settings_file.parent / 'db.sqlite'}")
    from backend.registry import add_flat
    from dampwatch_core.db import migrate

    migrate(str(engine.url))
    with make_sessionmaker(engine).begin() as session:
        add_flat(session, "F-1", "1 Test Row")
    dev = "esp32-audit0000001"
    assert (
        run(capsys, "devices", "add", dev, "--flat", "F-1", "--room", "bedroom", "--settings", s)[0]
        == 0
    )
    assert run(capsys, "devices", "decommission", dev, "--settings", s)[0] == 0
    with make_sessionmaker(engine)() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        got = [(e.action, e.subject_id) for e in events]
        assert all("password" not in str(e.detail) for e in events)
    assert got == [("device.added", dev), ("device.decommissioned", dev)]
    engine.dispose()
