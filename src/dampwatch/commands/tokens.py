"""``dampwatch tokens``: create, list and revoke API tokens."""

from __future__ import annotations

import argparse

from backend.auth import audit
from backend.auth.tokens import create_token, list_tokens, revoke_token
from backend.auth.users import find_user
from dampwatch.commands._common import add_json_flag, add_settings_flag, emit, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import NotFoundError, ValidationError
from dampwatch_core.models_auth import User


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("tokens", help="create, list and revoke API tokens")
    tsub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = tsub.add_parser("create", help="a new API token for a user, printed once")
    create.add_argument("--user", required=True, metavar="EMAIL")
    create.add_argument("--name", default="", help="what it is for, e.g. 'reporting'")
    create.add_argument("--expires", type=int, metavar="DAYS", help="default: never")
    add_json_flag(create)
    add_settings_flag(create)
    create.set_defaults(func=run_create)

    lst = tsub.add_parser("list", help="list tokens (never the tokens themselves)")
    lst.add_argument("--user", metavar="EMAIL")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)

    rev = tsub.add_parser("revoke", help="revoke a token by its id (as list shows)")
    rev.add_argument("token_id")
    add_json_flag(rev)
    add_settings_flag(rev)
    rev.set_defaults(func=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        user = find_user(session, args.user)
        if user is None:
            raise NotFoundError(f"no user {args.user!r}; add one with `dampwatch users add`")
        if user.disabled_at is not None:
            raise ValidationError(f"{user.email} is disabled")
        row, token = create_token(session, user, args.name, args.expires)
        audit.record(
            session,
            audit.TOKEN_CREATED,
            audit.cli_actor(),
            subject_type="token",
            subject_id=row.public_id,
            landlord=user.landlord,
            detail={"user_id": user.id, "name": row.name, "expires_days": args.expires},
        )
        result = {
            "id": row.public_id,
            "user": user.email,
            "name": row.name,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            "token": token,
        }
    emit(
        result,
        args.json,
        f"token {result['id']} for {result['user']}"
        f" (expires {result['expires_at'] or 'never'}):\n{token}\n"
        "(shown once; send it as 'Authorization: Bearer TOKEN')",
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        user = None
        if args.user:
            user = find_user(session, args.user)
            if user is None:
                raise NotFoundError(f"no user {args.user!r}")
        emails = {u.id: u.email for u in session.query(User)}
        rows = [
            {
                "id": t.public_id,
                "user": emails.get(t.user_id),
                "name": t.name,
                "created_at": t.created_at.isoformat(),
                "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked": t.revoked_at is not None,
            }
            for t in list_tokens(session, user)
        ]
    lines = [f"{'ID':<13} {'USER':<32} {'NAME':<16} {'STATE':<8} LAST USED"]
    for r in rows:
        lines.append(
            f"{r['id']!s:<13} {r['user']!s:<32} {r['name']!s:<16} "
            f"{'revoked' if r['revoked'] else 'active':<8} {r['last_used_at'] or 'never'}"
        )
    emit(rows, args.json, "\n".join(lines) + f"\n{len(rows)} token(s)")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        row = revoke_token(session, args.token_id)
        audit.record(
            session,
            audit.TOKEN_REVOKED,
            audit.cli_actor(),
            subject_type="token",
            subject_id=row.public_id,
        )
        result = {"id": row.public_id, "revoked_at": row.revoked_at}
    emit(result, args.json, f"revoked token {result['id']}")
    return 0
