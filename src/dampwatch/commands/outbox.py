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

from alerting.channels.webhook import WebhookChannel
from alerting.outbox import Dispatcher, RetryPolicy, replay
from dampwatch.commands._common import add_json_flag, add_settings_flag, emit, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import Contractor, OutboxMessage

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
        "--idle-wait", type=float, default=0.5, help="seconds to wait when nothing is due"
    )
    add_settings_flag(run)
    run.set_defaults(func=run_dispatch)


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
    with (
        httpx.Client(timeout=args.timeout, limits=limits) as client,
        Dispatcher(
            make_sessionmaker(engine),
            WebhookChannel(client),
            policy=policy,
            batch_size=args.batch_size,
            concurrency=args.concurrency,
        ) as dispatcher,
    ):
        log.info("outbox dispatcher running")
        if args.until_idle:
            while dispatcher.run_once():
                pass
        else:
            dispatcher.run(stop, idle_wait=args.idle_wait)
    engine.dispose()
    return 0
