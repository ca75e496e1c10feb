"""``dampwatch templates`` and ``dampwatch messages``: the landlord's templates for
messages to tenants (list, edit, preview with the text's cost) and the messages queued
and sent (never a phone number or address)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dampwatch.commands._common import (
    add_json_flag,
    add_settings_flag,
    emit,
    open_store,
    settings_from_args,
)
from dampwatch_core.errors import ValidationError

if TYPE_CHECKING:  # the store and the templates are imported when a command runs
    from alerting.messages.templates import Template

STATUSES = (
    "queued",
    "cancelled",
    "failed",
    "created",
    "sending",
    "delivered",
    "permanent-failure",
    "temporary-failure",
    "technical-failure",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    templates = sub.add_parser("templates", help="templates of messages to tenants")
    tsub = templates.add_subparsers(dest="action", required=True, metavar="ACTION")
    lst = tsub.add_parser("list", help="every template at its current version")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list_templates)
    edit = tsub.add_parser(
        "edit",
        help="store a new version of a template (its wording is checked first)",
        description="The text comes from --body, --file, or standard input. Placeholders: "
        "((landlord_name)), ((report_phone)), ((report_web)), ((advice_line)); "
        "optional text: ((flag??text)).",
    )
    edit.add_argument("key")
    source = edit.add_mutually_exclusive_group()
    source.add_argument("--body", help="the new text")
    source.add_argument("--file", type=Path, help="read the new text from FILE")
    edit.add_argument("--subject", help="letters and emails: the heading")
    edit.add_argument("--actor", default="cli", help="who made the change (for the record)")
    add_json_flag(edit)
    add_settings_flag(edit)
    edit.set_defaults(func=run_edit)
    show = tsub.add_parser("preview", help="a template as a tenant sees it, with its cost")
    show.add_argument("key")
    show.add_argument("--body", help="preview this text instead of the stored one")
    add_json_flag(show)
    add_settings_flag(show)
    show.set_defaults(func=run_preview)

    messages = sub.add_parser("messages", help="messages to tenants: what was queued and sent")
    msub = messages.add_subparsers(dest="action", required=True, metavar="ACTION")
    mlist = msub.add_parser("list", help="newest first (no contact details)")
    mlist.add_argument("--status", choices=STATUSES)
    mlist.add_argument("--tenant", metavar="ID")
    mlist.add_argument("--flat", metavar="FLAT")
    mlist.add_argument("--limit", type=int, default=50)
    add_json_flag(mlist)
    add_settings_flag(mlist)
    mlist.set_defaults(func=run_list_messages)


def _template_row(t: Template) -> dict[str, object]:
    from alerting.messages.templates import preview

    shown = preview(t)
    return {
        "key": t.key,
        "channel": t.channel,
        "version": t.version,
        "subject": t.subject,
        "body": t.body,
        "preview": shown.describe(),
    }


def run_list_templates(args: argparse.Namespace) -> int:
    from alerting.messages.template_store import template_keys
    from dampwatch_core.db import make_engine, make_sessionmaker

    settings = settings_from_args(args)
    open_store(settings)
    with make_sessionmaker(make_engine(settings.database_url))() as session:
        rows = [_template_row(t) for t in template_keys(session, settings.landlord)]
    text = "\n".join(
        f"{r['key']:<18} {r['channel']:<7} v{r['version']:<3} {r['preview']}" for r in rows
    )
    emit(rows, args.json, text)
    return 0


def _new_body(args: argparse.Namespace) -> str:
    if args.body is not None:
        return str(args.body)
    if args.file is not None:
        try:
            return Path(args.file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"cannot read {args.file}: {exc}") from None
    return sys.stdin.read().strip()


def run_edit(args: argparse.Namespace) -> int:
    from alerting.messages.template_store import save_template
    from dampwatch_core.db import make_engine, make_sessionmaker
    from dampwatch_core.models import utcnow

    settings = settings_from_args(args)
    body = _new_body(args)
    if not body.strip():
        raise ValidationError("the template's text is empty")
    open_store(settings)
    with make_sessionmaker(make_engine(settings.database_url)).begin() as session:
        saved = save_template(
            session,
            landlord=settings.landlord,
            key=args.key,
            body=body,
            subject=args.subject,
            actor=args.actor,
            now=utcnow(),
        )
        row = _template_row(saved)
    emit(row, args.json, f"{saved.key}: version {saved.version} saved ({row['preview']})")
    return 0


def run_preview(args: argparse.Namespace) -> int:
    from alerting.messages.template_store import current_template
    from alerting.messages.templates import Template, check_wording, preview
    from dampwatch_core.db import make_engine, make_sessionmaker

    settings = settings_from_args(args)
    open_store(settings)
    with make_sessionmaker(make_engine(settings.database_url))() as session:
        template = current_template(session, settings.landlord, args.key)
    if args.body is not None:
        template = Template(template.key, template.channel, args.body, template.subject)
    values = {
        "landlord_name": settings.landlord_name,
        "report_phone": settings.tenant_report_phone,
        "report_web": settings.tenant_report_web,
        "advice_line": settings.tenant_advice_line,
    }
    shown = preview(template, values)
    problems = check_wording(template.key, template.channel, template.body)
    data = {
        "key": template.key,
        "version": template.version,
        "channel": template.channel,
        "text": shown.text,
        "cost": shown.describe(),
        "problems": problems,
        "encoding": shown.length.encoding.value if shown.length else None,
        "fragments": shown.length.fragments if shown.length else None,
        "units": shown.length.units if shown.length else None,
    }
    text = f"{shown.text}\n\n-- {shown.describe()}" + "".join(f"\n!! {p}" for p in problems)
    emit(data, args.json, text)
    return 0


def run_list_messages(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from dampwatch_core.db import make_engine, make_sessionmaker
    from dampwatch_core.models_messages import TenantMessage

    settings = settings_from_args(args)
    open_store(settings)
    query = select(TenantMessage).order_by(TenantMessage.id.desc()).limit(max(1, args.limit))
    if args.status:
        query = query.where(TenantMessage.status == args.status)
    if args.tenant is not None:
        query = query.where(TenantMessage.tenant_id == args.tenant)
    if args.flat:
        query = query.where(TenantMessage.flat_id == args.flat)
    with make_sessionmaker(make_engine(settings.database_url))() as session:
        rows = [
            {
                "id": m.id,
                "reference": m.reference,
                "tenant_id": m.tenant_id,
                "flat_id": m.flat_id,
                "purpose": m.purpose,
                "channel": m.channel,
                "template": f"{m.template_key} v{m.template_version}",
                "status": m.status,
                "reason": m.status_reason,
                "queued_at": m.queued_at.isoformat(),
                "send_after": m.send_after.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "body": m.body,
            }
            for m in session.scalars(query)
        ]
    text = (
        "\n".join(
            f"{r['id']:>6} {r['flat_id']:<10} {r['channel']:<6} {r['template']:<20} "
            f"{r['status']:<10} after {r['send_after']}"
            for r in rows
        )
        or "no messages"
    )
    emit(rows, args.json, text)
    return 0
