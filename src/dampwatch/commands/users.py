"""``dampwatch users``: add, list and disable the people who sign in."""

from __future__ import annotations

import argparse
import sys

from backend.auth.passwords import new_password
from backend.auth.users import add_user, disable_user, list_users
from dampwatch.commands._common import add_json_flag, add_settings_flag, emit, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models_auth import ROLES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("users", help="add, list and disable users (sign-in and API)")
    usub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = usub.add_parser("add", help="add a user; prints a one-time password")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--landlord", default=None, help="default: the settings' landlord")
    add.add_argument("--contractor", metavar="NAME", help="organisation (contractor role)")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of generating one",
    )
    add_json_flag(add)
    add_settings_flag(add)
    add.set_defaults(func=run_add)

    lst = usub.add_parser("list", help="list users")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)

    dis = usub.add_parser("disable", help="disable a user: sessions end, tokens stop working")
    dis.add_argument("email")
    add_json_flag(dis)
    add_settings_flag(dis)
    dis.set_defaults(func=run_disable)


def run_add(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        generated = False
    else:
        password = new_password()
        generated = True
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        user = add_user(
            session,
            args.email,
            args.role,
            password,
            landlord=args.landlord or settings.landlord,
            contractor=args.contractor,
        )
        result: dict[str, object] = {
            "email": user.email,
            "role": user.role,
            "landlord": user.landlord,
            "contractor": user.contractor,
        }
    if generated:
        result["password"] = password
    emit(
        result,
        args.json,
        f"added {result['email']} ({result['role']}, landlord {result['landlord']})"
        + (f"\npassword: {password}\n(shown once: hand it over safely)" if generated else ""),
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        rows = [
            {
                "email": u.email,
                "role": u.role,
                "landlord": u.landlord,
                "contractor": u.contractor,
                "disabled": u.disabled_at is not None,
                "last_signin_at": u.last_signin_at.isoformat() if u.last_signin_at else None,
            }
            for u in list_users(session)
        ]
    lines = [f"{'EMAIL':<32} {'ROLE':<11} {'LANDLORD':<16} {'STATE':<9} LAST SIGN-IN"]
    for r in rows:
        state = "disabled" if r["disabled"] else "active"
        lines.append(
            f"{r['email']!s:<32} {r['role']!s:<11} {r['landlord']!s:<16} {state:<9} "
            f"{r['last_signin_at'] or 'never'}"
        )
    emit(rows, args.json, "\n".join(lines) + f"\n{len(rows)} user(s)")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        user = disable_user(session, args.email)
        result = {"email": user.email, "disabled_at": user.disabled_at}
    emit(result, args.json, f"disabled {result['email']}")
    return 0
