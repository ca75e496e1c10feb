"""The landlord's templates in the store: each edit is a new version; the newest is
used; a key never edited is the shipped default (version 0, not stored)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerting.messages.templates import (
    DEFAULT_TEMPLATES,
    Template,
    TemplateError,
    check_wording,
)
from dampwatch_core.models_messages import MessageTemplate

__all__ = ["current_template", "save_template", "template_keys"]


def _row_template(row: MessageTemplate) -> Template:
    return Template(row.key, row.channel, row.body, row.subject, row.version)


def current_template(session: Session, landlord: str, key: str) -> Template:
    """The newest stored version of ``key``, else the default; an unknown key is a
    TemplateError."""
    row = session.scalars(
        select(MessageTemplate)
        .where(MessageTemplate.landlord == landlord, MessageTemplate.key == key)
        .order_by(MessageTemplate.version.desc())
        .limit(1)
    ).first()
    if row is not None:
        return _row_template(row)
    if key not in DEFAULT_TEMPLATES:
        raise TemplateError(f"no template {key!r}; templates: {', '.join(DEFAULT_TEMPLATES)}")
    return DEFAULT_TEMPLATES[key]


def template_keys(session: Session, landlord: str) -> list[Template]:
    """Every template the landlord uses, at its current version."""
    stored = set(
        session.scalars(
            select(MessageTemplate.key).where(MessageTemplate.landlord == landlord).distinct()
        )
    )
    keys = sorted(set(DEFAULT_TEMPLATES) | stored)
    return [current_template(session, landlord, key) for key in keys]


def save_template(
    session: Session,
    *,
    landlord: str,
    key: str,
    body: str,
    subject: str | None,
    actor: str,
    now: dt.datetime,
) -> Template:
    """Store a new version of ``key`` after checking its wording (TemplateError lists
    every problem). The channel is the default's: a text stays a text."""
    base = current_template(session, landlord, key)
    problems = check_wording(key, base.channel, body)
    if problems:
        raise TemplateError(f"template {key!r} not saved: " + "; ".join(problems))
    latest = session.scalar(
        select(func.max(MessageTemplate.version)).where(
            MessageTemplate.landlord == landlord, MessageTemplate.key == key
        )
    )
    row = MessageTemplate(
        landlord=landlord,
        key=key,
        version=(latest or 0) + 1,
        channel=base.channel,
        subject=base.subject if subject is None else subject,
        body=body,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _row_template(row)
