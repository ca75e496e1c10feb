"""``dampwatch partners``: organisations outreach cases are referred to; and
``dampwatch cases refer`` (registered under ``cases``)."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from alerting.channels.webhook import new_secret
from alerting.referrals import PARTNER_TRADE, refer_case
from backend.tenants import ContactCipher, TenantBook
from backend.tenants.records import parse_email
from dampwatch.commands._common import add_json_flag, add_settings_flag, emit, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import NotFoundError, ValidationError
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import Contractor, HazardCase
from dampwatch_core.models_tenants import Partner

__all__ = ["register", "register_refer"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("partners", help="partner organisations cases are referred to")
    psub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = psub.add_parser(
        "add",
        help="add a partner with a signed webhook (prints its secret once) or an email",
    )
    add.add_argument("name")
    how = add.add_mutually_exclusive_group(required=True)
    how.add_argument("--webhook-url", metavar="URL")
    how.add_argument("--email", metavar="ADDRESS")
    add.add_argument("--landlord", help="the landlord it works with (default: the setting)")
    add.add_argument("--service", default="", help="what it offers, for officers")
    add_json_flag(add)
    add_settings_flag(add)
    add.set_defaults(func=run_add)
    lst = psub.add_parser("list", help="list partners (secrets are never shown)")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)


def register_refer(cases: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    refer = cases.add_parser(
        "refer",
        help="refer an outreach case to a partner (needs the tenant's partner_referral)",
    )
    refer.add_argument("reference", help="the case, e.g. DM-000012")
    refer.add_argument("--partner", required=True, metavar="NAME")
    refer.add_argument("--by", required=True, metavar="EMAIL", help="who is referring it")
    add_json_flag(refer)
    add_settings_flag(refer)
    refer.set_defaults(func=run_refer)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValidationError(f"--webhook-url {url!r} is not an http(s) URL")
    return url


def run_add(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    secret = None
    with sessions.begin() as session:
        if session.scalars(select(Partner).where(Partner.name == args.name)).first():
            raise ValidationError(f"a partner named {args.name!r} already exists")
        partner = Partner(
            name=args.name,
            landlord=args.landlord or settings.landlord,
            service=args.service,
            enabled=True,
            channel="webhook" if args.webhook_url else "email",
        )
        if args.webhook_url:
            secret = new_secret()
            endpoint = Contractor(
                name=f"partner:{args.name}",
                trade=PARTNER_TRADE,
                webhook_url=_check_url(args.webhook_url),
                secret=secret,
                enabled=True,
            )
            session.add(endpoint)
            session.flush()
            partner.endpoint_id = endpoint.id
        else:
            partner.email = parse_email(args.email)
        session.add(partner)
        session.flush()
        row = {
            "id": partner.id,
            "name": partner.name,
            "landlord": partner.landlord,
            "channel": partner.channel,
            "webhook_secret": secret,
        }
    text = f"partner {row['name']} added ({row['channel']}, landlord {row['landlord']})"
    if secret:
        text += f"\nwebhook secret (shown once; give it to the partner): {secret}"
    emit(row, args.json, text)
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        rows = []
        for p in session.scalars(select(Partner).order_by(Partner.name)):
            endpoint = session.get(Contractor, p.endpoint_id) if p.endpoint_id else None
            rows.append(
                {
                    "name": p.name,
                    "landlord": p.landlord,
                    "channel": p.channel,
                    "webhook_url": endpoint.webhook_url if endpoint else None,
                    "email": p.email,
                    "enabled": p.enabled,
                    "service": p.service,
                }
            )
    text = "\n".join(
        f"{r['name']:<28} {r['landlord']:<10} {r['channel']:<8} {r['webhook_url'] or r['email']}"
        for r in rows
    )
    emit(rows, args.json, text + f"\n{len(rows)} partner(s)")
    return 0


def run_refer(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    cipher = ContactCipher.from_settings(settings)
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    now = utcnow()
    with sessions.begin() as session:
        case = session.scalars(
            select(HazardCase).where(HazardCase.reference == args.reference)
        ).first()
        if case is None:
            raise NotFoundError(f"no case {args.reference!r}")
        partner = session.scalars(select(Partner).where(Partner.name == args.partner)).first()
        if partner is None:
            raise NotFoundError(f"no partner {args.partner!r} (dampwatch partners list)")
        referral = refer_case(session, case, partner, TenantBook(cipher), actor=args.by, now=now)
        row: dict[str, Any] = {
            "referral": referral.reference,
            "case": case.reference,
            "partner": partner.name,
            "fields": referral.fields,
            "outbox_message_id": referral.outbox_message_id,
        }
    emit(
        row,
        args.json,
        f"{row['case']} referred to {row['partner']} as {row['referral']} "
        f"(sends: {', '.join(row['fields'])}); the outbox dispatcher delivers it",
    )
    return 0
