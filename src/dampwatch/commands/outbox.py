"""``dampwatch outbox``: see, replay and dispatch the messages waiting to go out."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import threading
from types import FrameType

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.channels import (
    CONTRACTOR_WEBHOOK,
    NOTIFY,
    OFFICER_WEBHOOK,
    PARTNER_EMAIL,
    Channel,
    ChannelRouter,
)
from alerting.channels.incoming_webhook import IncomingWebhookChannel
from alerting.channels.webhook import WebhookChannel
from alerting.outbox import Dispatcher, RetryPolicy, replay
from dampwatch.commands._common import add_json_flag, add_settings_flag, emit, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import Contractor, OutboxMessage
from dampwatch_core.settings import Settings

log = logging.getLogger(__name__)

STATUSES = ("pending", "delivering", "delivered", "failed")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("outbox", help="messages waiting to go out: list, retry, dispatch")
    osub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    lst = osub.add_parser("list", help="list outbox messages (newest first)")
    lst.add_argument("--status", choices=STATUSES, help="only messages in this state")
    lst.add_argument("--limit", type=int, default=50)
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)
    retry = osub.add_parser("retry", help="replay failed messages (same webhook-id)")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    retry.add_argument("--all-failed", action="store_true", help="replay every failed message")
    retry.add_argument(
        "--reenable", action="store_true", help="re-enable a contractor disabled by 410 Gone"
    )
    add_json_flag(retry)
    add_settings_flag(retry)
    retry.set_defaults(func=run_retry)
    run = osub.add_parser("dispatch", help="send due messages until stopped (or --until-idle)")
    run.add_argument("--until-idle", action="store_true", help="stop once nothing is due")
    run.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt")
    run.add_argument(
        "--base-delay",
        type=float,
        default=30.0,
        help="seconds before the first retry (doubles each time)",
    )
    run.add_argument("--max-delay", type=float, default=3600.0, help="longest backoff, s")
    run.add_argument(
        "--lease",
        type=float,
        default=60.0,
        help="seconds a claimed message stays this dispatcher's",
    )
    run.add_argument("--concurrency", type=int, default=8)
    run.add_argument("--batch-size", type=int, default=100)
    run.add_argument(
        "--channel",
        choices=(CONTRACTOR_WEBHOOK, OFFICER_WEBHOOK, NOTIFY, PARTNER_EMAIL),
        default=None,
        help="only this channel's messages (default: every configured channel): "
        "webhook: contractors' work orders; officer_webhook: officers' notices; "
        "notify: messages to tenants through GOV.UK Notify (DAMPWATCH_NOTIFY_* settings); "
        "email: partners' referrals by email through Notify",
    )
    run.add_argument(
        "--idle-wait", type=float, default=0.5, help="seconds to wait when nothing is due"
    )
    add_settings_flag(run)
    run.set_defaults(func=run_dispatch)


def channels_for(
    client: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> ChannelRouter:
    """Every channel this deployment has: contractors' signed webhooks, the officers'
    incoming webhook when ``officer_webhook_url`` is set, and GOV.UK Notify (messages
    to tenants, and partners' referrals by email) when ``notify_api_key`` is set."""
    channels: dict[str, Channel] = {CONTRACTOR_WEBHOOK: WebhookChannel(client)}
    if settings.officer_webhook_url is not None:
        channels[OFFICER_WEBHOOK] = IncomingWebhookChannel(
            client, settings.officer_webhook_url.get_secret_value()
        )
    if settings.notify_api_key is not None:
        from dampwatch.messaging import notify_channel, partner_email_channel

        channels[NOTIFY] = notify_channel(settings, sessions)
        channels[PARTNER_EMAIL] = partner_email_channel(settings)
    return ChannelRouter(channels)


def _row(m: OutboxMessage, contractor: Contractor | None) -> dict[str, object]:
    return {
        "id": m.id,
        "message_id": m.message_id,
        "event_type": m.event_type,
        "contractor": contractor.name if contractor else None,
        "contractor_enabled": contractor.enabled if contractor else None,
        "status": m.status,
        "attempts": m.attempts,
        "created_at": m.created_at.isoformat(),
        "next_attempt_at": m.next_attempt_at.isoformat(),
        "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
        "last_status_code": m.last_status_code,
        "last_error": m.last_error,
    }


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        query = select(OutboxMessage, Contractor).outerjoin(
            Contractor, Contractor.id == OutboxMessage.contractor_id
        )
        if args.status:
            query = query.where(OutboxMessage.status == args.status)
        rows = [
            _row(m, c)
            for m, c in session.execute(query.order_by(OutboxMessage.id.desc()).limit(args.limit))
        ]
    engine.dispose()
    lines = []
    for r in rows:
        held = "" if r["contractor_enabled"] is not False else " (contractor disabled)"
        lines.append(
            f"{r['id']:>6} {r['status']:<10}{held} {r['event_type']:<26} "
            f"{r['contractor'] or '-':<20} tries {r['attempts']:<3} "
            f"{r['last_error'] or ''}"
        )
    emit(rows, args.json, "\n".join(lines) + f"\n{len(rows)} message(s)")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine).begin() as session:
        rows = replay(
            session, now=utcnow(), ids=args.ids, all_failed=args.all_failed, reenable=args.reenable
        )
        ids = [r.id for r in rows]
    engine.dispose()
    emit({"requeued": ids}, args.json, f"{len(ids)} message(s) queued again: {ids}")
    return 0


def run_dispatch(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    policy = RetryPolicy(
        base_delay=dt.timedelta(seconds=args.base_delay),
        max_delay=dt.timedelta(seconds=args.max_delay),
        lease=dt.timedelta(seconds=args.lease),
    )
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    sessions = make_sessionmaker(engine)
    with httpx.Client(timeout=args.timeout, limits=limits) as client, Dispatcher(
        sessions,
        channels_for(client, settings, sessions),
        policy=policy,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        channel_name=args.channel,
    ) as dispatcher:
        _dispatch(dispatcher, args, stop)
    engine.dispose()
    return 0


def _dispatch(dispatcher: Dispatcher, args: argparse.Namespace, stop: threading.Event) -> None:
    log.info("outbox dispatcher running (%s)", args.channel or "every channel")
    if args.until_idle:
        while dispatcher.run_once():
            pass
    else:
        dispatcher.run(stop, idle_wait=args.idle_wait)
