"""Users, passwords, tokens, sessions, the sign-in lockout and the audit trail, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from backend.auth import audit
from backend.auth.passwords import hash_password, verify_password
from backend.auth.sessions import SessionPolicy, load_session, start_session
from backend.auth.tokens import create_token, find_token, revoke_token
from backend.auth.users import (
    SigninOutcome,
    SigninPolicy,
    add_user,
    disable_user,
    sign_in,
)
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import ValidationError
from dampwatch_core.models import utcnow
from dampwatch_core.models_auth import AuditEvent, User

PASSWORD = "correct horse battery"


@pytest.fixture
def db(database_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _user(db: sessionmaker[Session], email: str = "Officer@Example.org", **kw: str) -> User:
    with db.begin() as s:
        return add_user(s, email, kw.pop("role", "officer"), PASSWORD, **kw)


def test_password_hash_is_argon2id_and_verifies() -> None:
    h = hash_password(PASSWORD)
    assert h.startswith("$argon2id$")
    assert verify_password(h, PASSWORD)
    assert not verify_password(h, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)
    assert not verify_password("not a hash", PASSWORD)


def test_add_user_refuses_bad_input(db: sessionmaker[Session]) -> None:
    _user(db)
    with db.begin() as s:
        for email, role, kw in [
            ("officer@example.org", "officer", {}),  # exists (case folded)
            ("nobody", "officer", {}),
            ("a@b.c", "boss", {}),
            ("a@b.c", "contractor", {}),  # no organisation
            ("a@b.c", "officer", {"contractor": "Acme"}),
            ("a@b.c", "officer", {"landlord": "bad\nname"}),
        ]:
            with pytest.raises(ValidationError):
                add_user(s, email, role, PASSWORD, **kw)
        with pytest.raises(ValidationError):
            add_user(s, "short@b.c", "officer", "tooshort")


def test_token_shown_once_stored_hashed_and_checked(db: sessionmaker[Session]) -> None:
    user = _user(db)
    with db.begin() as s:
        row, token = create_token(s, s.get(User, user.id), "ci", expires_days=1)  # type: ignore[arg-type]
        assert token not in (row.token_hash, row.public_id) and token.startswith("dwt_")
    now = utcnow()
    with db() as s:
        assert find_token(s, token, now) is not None
        assert find_token(s, token[:-1] + ("A" if token[-1] != "A" else "B"), now) is None
        assert find_token(s, "dwt_" + row.public_id + "_" + "x" * 43, now) is None
        assert find_token(s, "", now) is None
        assert find_token(s, token, now + timedelta(days=1, seconds=1)) is None  # expired
        stored = s.scalars(text("SELECT token_hash FROM api_tokens")).all()
        assert token not in str(stored)
    with db.begin() as s:
        revoke_token(s, row.public_id)
    with db() as s:
        assert find_token(s, token, now) is None


def test_disabled_user_loses_tokens_and_sessions(db: sessionmaker[Session]) -> None:
    user = _user(db)
    policy = SessionPolicy()
    with db.begin() as s:
        u = s.get(User, user.id)
        assert u is not None
        _, token = create_token(s, u)
        _, cookie = start_session(s, u, policy)
    with db.begin() as s:
        disable_user(s, user.email)
    with db.begin() as s:
        assert find_token(s, token, utcnow()) is None
        assert load_session(s, cookie, policy) is None
        result = sign_in(s, user.email, PASSWORD, SigninPolicy())
        assert result.outcome is SigninOutcome.FAILED


def test_session_idle_and_absolute_expiry(db: sessionmaker[Session]) -> None:
    user = _user(db)
    policy = SessionPolicy(idle=timedelta(minutes=30), max_age=timedelta(hours=2))
    t0 = utcnow()
    with db.begin() as s:
        u = s.get(User, user.id)
        assert u is not None
        _, cookie = start_session(s, u, policy, now=t0)
    with db.begin() as s:  # active every 20 min: still alive at 1 h 40
        for minutes in (20, 40, 60, 80, 100):
            assert load_session(s, cookie, policy, now=t0 + timedelta(minutes=minutes))
    with db.begin() as s:  # the absolute limit
        assert load_session(s, cookie, policy, now=t0 + timedelta(minutes=121)) is None
    with db.begin() as s:
        u = s.get(User, user.id)
        assert u is not None
        _, cookie = start_session(s, u, policy, now=t0)
    with db.begin() as s:  # idle for 30 minutes
        assert load_session(s, cookie, policy, now=t0 + timedelta(minutes=30)) is None
    with db.begin() as s:  # and it stays ended
        assert load_session(s, cookie, policy, now=t0 + timedelta(minutes=1)) is None


def test_lockout_after_repeated_failures_known_or_unknown_email(
    db: sessionmaker[Session],
) -> None:
    user = _user(db)
    policy = SigninPolicy(max_failures=3, window=timedelta(minutes=15))
    t0 = utcnow()
    for email in (user.email, "nobody@example.org"):
        with db.begin() as s:
            for i in range(3):
                r = sign_in(s, email, "wrong password", policy, now=t0 + timedelta(seconds=i))
                assert r.outcome is SigninOutcome.FAILED
        with db.begin() as s:  # locked, even with the right password
            r = sign_in(s, email, PASSWORD, policy, now=t0 + timedelta(minutes=5))
            assert r.outcome is SigninOutcome.LOCKED
    with db.begin() as s:  # the lock ends
        r = sign_in(s, user.email, PASSWORD, policy, now=t0 + timedelta(minutes=16))
        assert r.outcome is SigninOutcome.OK
    with db.begin() as s:  # and a success clears the count
        for i in range(2):
            sign_in(s, user.email, "wrong", policy, now=t0 + timedelta(minutes=17, seconds=i))
        r = sign_in(s, user.email, PASSWORD, policy, now=t0 + timedelta(minutes=18))
        assert r.outcome is SigninOutcome.OK
    with db() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count(audit.SIGNIN_FAILED) == 8
    assert actions.count(audit.SIGNIN_LOCKED) == 2
    assert actions.count(audit.SIGNIN_OK) == 2


def test_failures_spread_out_do_not_lock(db: sessionmaker[Session]) -> None:
    user = _user(db)
    policy = SigninPolicy(max_failures=3, window=timedelta(minutes=15))
    t0 = utcnow()
    with db.begin() as s:
        for i in range(6):
            sign_in(s, user.email, "wrong", policy, now=t0 + timedelta(minutes=10 * i))
        r = sign_in(s, user.email, PASSWORD, policy, now=t0 + timedelta(minutes=61))
        assert r.outcome is SigninOutcome.OK


def test_audit_log_is_append_only(db: sessionmaker[Session]) -> None:
    _user(db)
    with db() as s:
        assert s.scalars(select(AuditEvent)).first() is not None
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with db() as s, pytest.raises(DBAPIError, match="append-only"):
            s.execute(text(statement))
            s.commit()
    with db() as s:
        assert s.scalars(select(AuditEvent.actor)).all() == [audit.cli_actor()]


def test_personal_data_read_is_recorded_without_values(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        audit.record_personal_data_read(
            s, "officer@example.org", tenant_id="T-1", fields=["phone", "name"], purpose="case"
        )
    with db() as s:
        event = s.scalars(select(AuditEvent)).one()
    assert (event.action, event.subject_type, event.subject_id) == (
        audit.PERSONAL_DATA_READ,
        "tenant",
        "T-1",
    )
    assert event.detail == {"fields": ["name", "phone"], "purpose": "case"}


def test_audit_csv_neutralises_formulas(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        audit.record(s, "user.created", "=HYPERLINK(1)", subject_id="-2")
    with db() as s:
        lines = "".join(audit.audit_csv(audit.query_events(s))).splitlines()
    assert lines[0] == ",".join(audit.CSV_COLUMNS)
    assert "'=HYPERLINK(1)" in lines[1] and ",'-2," in lines[1]


def test_token_and_csrf_compared_in_constant_time(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    import hmac

    from backend.auth import csrf, tokens

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    user = _user(db)
    with db.begin() as s:
        u = s.get(User, user.id)
        assert u is not None
        _, token = create_token(s, u)
    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    with db() as s:
        assert find_token(s, token, utcnow()) is not None
    assert len(calls) == 1
    monkeypatch.setattr(csrf.hmac, "compare_digest", spy)
    assert csrf.tokens_match("abc", "abc") and not csrf.tokens_match("abc", "abd")
    assert len(calls) == 3
