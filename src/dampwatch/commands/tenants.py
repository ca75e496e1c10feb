"""``dampwatch tenants``: import tenants, show one, record consent, end a tenancy,
rotate the contact-details key (docs/tenants.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from backend.auth import audit
from backend.tenants import ContactCipher
from backend.tenants.importer import import_tenants_csv
from backend.tenants.records import parse_basis, parse_purpose
from backend.tenants.store import (
    contact_details,
    end_tenancy,
    get_tenant,
    give_consent,
    holds_for_flat,
    rotate_keys,
    withdraw_consent,
)
from dampwatch.commands._common import (
    add_json_flag,
    add_settings_flag,
    emit,
    open_store,
    settings_from_args,
)
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.errors import ValidationError
from dampwatch_core.models import utcnow
from dampwatch_core.models_tenants import PURPOSES, Tenant


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("tenants", help="tenants, their tenancies and consents")
    tsub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = tsub.add_parser(
        "import",
        help="import tenants from a CSV (all rows or none; docs/tenants.md)",
        description="Header: tenant_id,flat_id,name,start_date[,end_date,phone,email,"
        "postal_address,language,channel,consents,consent_given_at,consent_given_how]. "
        "If any row is wrong, every wrong row is reported and nothing is imported.",
    )
    imp.add_argument("csv", type=Path)
    _common(imp)
    imp.set_defaults(func=run_import)
    show = tsub.add_parser(
        "show", help="a tenant's details, tenancies and consents (the read is audited)"
    )
    show.add_argument("tenant_id")
    _common(show)
    show.set_defaults(func=run_show)
    consent = tsub.add_parser("consent", help="record a purpose given or withdrawn")
    consent.add_argument("tenant_id")
    which = consent.add_mutually_exclusive_group(required=True)
    which.add_argument("--give", metavar="PURPOSE", help=f"one of {', '.join(PURPOSES)}")
    which.add_argument("--withdraw", metavar="PURPOSE")
    consent.add_argument(
        "--how", required=True, help="how it was given or withdrawn, e.g. 'phone call'"
    )
    consent.add_argument(
        "--basis", default="consent", help="lawful basis of a grant (default consent)"
    )
    consent.add_argument("--at", help="when (ISO 8601 with offset; default now)")
    _common(consent)
    consent.set_defaults(func=run_consent)
    end = tsub.add_parser(
        "end-tenancy",
        help="end a tenancy; a tenant with no other tenancy has contact details erased",
    )
    end.add_argument("tenant_id")
    end.add_argument("--flat", required=True)
    end.add_argument("--on", required=True, help="the last day of the tenancy (YYYY-MM-DD)")
    _common(end)
    end.set_defaults(func=run_end)
    rot = tsub.add_parser(
        "rotate-keys",
        help="re-encrypt every contact detail under the first key of DAMPWATCH_TENANT_DATA_KEYS",
    )
    _common(rot)
    rot.set_defaults(func=run_rotate)


def _common(parser: argparse.ArgumentParser) -> None:
    add_json_flag(parser)
    add_settings_flag(parser)


def _open(args: argparse.Namespace) -> tuple[Any, ContactCipher]:
    settings = settings_from_args(args)
    cipher = ContactCipher.from_settings(settings)
    open_store(settings)
    return make_sessionmaker(make_engine(settings.database_url)), cipher


def _when(text: str | None) -> dt.datetime:
    if not text:
        return utcnow()
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--at {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ValidationError(f"--at {text!r} needs a UTC offset (e.g. +00:00)")
    return value.astimezone(dt.UTC)


def run_import(args: argparse.Namespace) -> int:
    sessions, cipher = _open(args)
    with sessions.begin() as session:
        # all rows or none: with any error the importer has stored nothing
        report = import_tenants_csv(
            session, args.csv, cipher, actor=audit.cli_actor(), now=utcnow()
        )
    for line, message in report.errors:
        print(f"{args.csv}:{line}: {message}", file=sys.stderr)
    if report.errors:
        text = f"nothing imported: {len(report.errors)} row(s) wrong"
    else:
        text = f"{report.added} tenant(s) added, {report.updated} updated"
    emit(
        {
            "added": report.added,
            "updated": report.updated,
            "rejected": [{"line": n, "error": m} for n, m in report.errors],
        },
        args.json,
        text,
    )
    return 1 if report.errors else 0


def _tenant_view(tenant: Tenant, details: Any, holds: list[Any]) -> dict[str, Any]:
    return {
        "tenant_id": tenant.id,
        "landlord": tenant.landlord,
        "name": details.name,
        "phone": details.phone,
        "phone_is_mobile": details.phone_is_mobile,
        "email": details.email,
        "postal_address": details.postal_address,
        "language": tenant.preferred_language,
        "channel": tenant.preferred_channel,
        "erased_at": tenant.erased_at,
        "tenancies": [
            {"flat_id": t.flat_id, "start_date": t.start_date, "end_date": t.end_date}
            for t in tenant.tenancies
        ],
        "consents": [
            {
                "purpose": c.purpose,
                "lawful_basis": c.lawful_basis,
                "given_at": c.given_at,
                "given_how": c.given_how,
                "withdrawn_at": c.withdrawn_at,
                "withdrawn_how": c.withdrawn_how,
            }
            for c in tenant.consents
        ],
        "cases_not_opened": [
            {
                "flat_id": h.flat_id,
                "case_kind": h.case_kind,
                "reason": h.reason,
                "first_at": h.first_at,
                "last_at": h.last_at,
                "times": h.times,
            }
            for h in holds
        ],
    }


def run_show(args: argparse.Namespace) -> int:
    sessions, cipher = _open(args)
    with sessions.begin() as session:
        tenant = get_tenant(session, args.tenant_id)
        details = contact_details(
            session, tenant, cipher, actor=audit.cli_actor(), purpose="dampwatch tenants show"
        )
        holds = [h for t in tenant.tenancies for h in holds_for_flat(session, t.flat_id)]
        view = _tenant_view(tenant, details, holds)
    lines = [
        f"{view['tenant_id']} ({view['landlord']}): {view['name'] or '(erased)'}",
        f"  phone {view['phone'] or '-'}"
        f"{' (mobile)' if view['phone_is_mobile'] else ''}, email {view['email'] or '-'}",
        f"  prefers {view['channel']} in {view['language']}",
    ]
    lines += [
        f"  tenancy {t['flat_id']} from {t['start_date']} to {t['end_date'] or 'now'}"
        for t in view["tenancies"]
    ]
    for c in view["consents"]:
        state = (
            f"withdrawn {c['withdrawn_at']:%Y-%m-%d} ({c['withdrawn_how']})"
            if c["withdrawn_at"]
            else "given"
        )
        lines.append(
            f"  {c['purpose']:<22} {c['lawful_basis']:<12} {c['given_at']:%Y-%m-%d} "
            f"({c['given_how']}) {state}"
        )
    lines += [
        f"  no {h['case_kind']} case for {h['flat_id']}: {h['reason']} (since "
        f"{h['first_at']:%Y-%m-%d %H:%M}, {h['times']} time(s))"
        for h in view["cases_not_opened"]
    ]
    emit(view, args.json, "\n".join(lines))
    return 0


def run_consent(args: argparse.Namespace) -> int:
    sessions, _cipher = _open(args)
    at = _when(args.at)
    actor = audit.cli_actor()
    with sessions.begin() as session:
        if args.give:
            purpose = parse_purpose(args.give)
            give_consent(
                session,
                args.tenant_id,
                purpose,
                parse_basis(args.basis),
                at=at,
                how=args.how,
                actor=actor,
            )
            result = {"tenant_id": args.tenant_id, "purpose": purpose.value, "given": True}
            text = f"{args.tenant_id}: {purpose.value} given ({args.basis}, {args.how})"
        else:
            purpose = parse_purpose(args.withdraw)
            changed = withdraw_consent(
                session, args.tenant_id, purpose, at=at, how=args.how, actor=actor
            )
            result = {"tenant_id": args.tenant_id, "purpose": purpose.value, "withdrawn": changed}
            text = (
                f"{args.tenant_id}: {purpose.value} withdrawn"
                if changed
                else f"{args.tenant_id}: {purpose.value} was not given; nothing to withdraw"
            )
    emit(result, args.json, text)
    return 0


def run_end(args: argparse.Namespace) -> int:
    sessions, _cipher = _open(args)
    try:
        on = dt.date.fromisoformat(args.on)
    except ValueError:
        raise ValidationError(f"--on {args.on!r} is not a date (YYYY-MM-DD)") from None
    with sessions.begin() as session:
        report = end_tenancy(
            session, args.tenant_id, args.flat, on, actor=audit.cli_actor(), now=utcnow()
        )
    text = f"tenancy of {report.flat_id} by {report.tenant_id} ends {report.end_date}"
    if report.erased:
        text += "; contact details erased, consents withdrawn: " + (
            ", ".join(report.withdrawn) or "none"
        )
    emit(
        {
            "tenant_id": report.tenant_id,
            "flat_id": report.flat_id,
            "end_date": report.end_date,
            "erased": report.erased,
            "withdrawn": report.withdrawn,
        },
        args.json,
        text,
    )
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    sessions, cipher = _open(args)
    with sessions.begin() as session:
        count = rotate_keys(session, cipher, actor=audit.cli_actor())
    emit(
        {"rotated": count},
        args.json,
        f"{count} tenant(s) re-encrypted under the first key; the old key may now be removed",
    )
    return 0
