"""``dampwatch contractors``: the endpoints repair work orders are sent to."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from sqlalchemy import select

from alerting.channels.webhook import new_secret
from dampwatch.commands._common import add_json_flag, add_settings_flag, emit, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import ValidationError
from dampwatch_core.models_cases import Contractor


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("contractors", help="contractors and their signed webhook endpoints")
    csub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = csub.add_parser(
        "add",
        help="add a contractor; prints its signing secret once",
        description="The secret (Standard Webhooks whsec_ form) is printed once: give it to "
        "the contractor, who verifies every delivery with it.",
    )
    add.add_argument("name")
    add.add_argument("--webhook-url", required=True, metavar="URL")
    add.add_argument(
        "--trade",
        default="damp_mould",
        help="the trade it takes work orders for (default damp_mould)",
    )
    add_json_flag(add)
    add_settings_flag(add)
    add.set_defaults(func=run_add)
    lst = csub.add_parser("list", help="list contractors (secrets are never shown)")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValidationError(f"--webhook-url {url!r} is not an http(s) URL")
    return url


def run_add(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    url = _check_url(args.webhook_url)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    secret = new_secret()
    with sessions.begin() as session:
        if session.scalars(select(Contractor).where(Contractor.name == args.name)).first():
            raise ValidationError(f"a contractor named {args.name!r} already exists")
        contractor = Contractor(
            name=args.name, trade=args.trade, webhook_url=url, secret=secret, enabled=True
        )
        session.add(contractor)
        session.flush()
        row = {
            "id": contractor.id,
            "name": contractor.name,
            "trade": contractor.trade,
            "webhook_url": url,
            "secret": secret,
        }
    engine.dispose()
    emit(
        row,
        args.json,
        f"contractor {row['id']} {args.name} ({args.trade}) -> {url}\n"
        f"signing secret (shown once, keep it safe): {secret}",
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        rows = [
            {
                "id": c.id,
                "name": c.name,
                "trade": c.trade,
                "webhook_url": c.webhook_url,
                "enabled": c.enabled,
                "disabled_reason": c.disabled_reason,
            }
            for c in session.scalars(select(Contractor).order_by(Contractor.id))
        ]
    engine.dispose()
    text = "\n".join(
        f"{r['id']:>4} {r['name']:<24} {r['trade']:<14} "
        f"{'enabled' if r['enabled'] else 'DISABLED: ' + str(r['disabled_reason'])} "
        f"{r['webhook_url']}"
        for r in rows
    )
    emit(rows, args.json, text + f"\n{len(rows)} contractor(s)")
    return 0
