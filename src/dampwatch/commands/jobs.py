"""``dampwatch jobs list`` and ``dampwatch jobs run NAME``: the scheduled jobs, listed
or run once now, for operators and scripts.

The one list of jobs is :func:`all_jobs`: the backend's (scoring, downsampling,
housekeeping) and alerting's (the case rules' tick, the outbox). The scheduler
(``dampwatch scheduler``) registers each of them as its entry says; the outbox has no
interval there, because ``dampwatch up`` runs its dispatcher as a process of its own
(``dampwatch outbox dispatch``), but ``jobs run outbox`` sends what is due once.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.orm import Session, sessionmaker

from dampwatch.commands._common import add_json_flag, add_settings_flag, emit, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import ValidationError
from dampwatch_core.findings import Finding, FindingSink
from dampwatch_core.settings import Settings

if TYPE_CHECKING:
    from backend.scheduler import Job

__all__ = ["LoggedFindings", "all_jobs", "finding_sinks", "register"]

log = logging.getLogger(__name__)

#: how often the scheduler runs the case rules' tick (openings after the minimum
#: duration, reminders, escalations, post-repair verification, officer notices)
CASES_EVERY_S = 300


class LoggedFindings:
    """A finding sink that logs each finding (flat, kind, levels; no personal data)."""

    def publish(self, findings: Sequence[Finding]) -> None:
        for f in findings:
            log.info(
                "finding: %s %s %s -> %s (%s)",
                f.flat_id,
                f.kind.value,
                f.level_before.value,
                f.level_after.value,
                ", ".join(r["code"] for r in f.reasons) or "-",
            )


def run_case_rules(settings: Settings, sessions: sessionmaker[Session]) -> dict[str, int]:
    """The case rules' periodic tick (see ``alerting.cases.rules``)."""
    from alerting.cases.rules import CaseFindingSink
    from backend.tenants.consent import HouseholdConsent

    # the tick opens cases whose signal held: outreach ones only with consent
    return CaseFindingSink.for_store(
        sessions,
        officer_notices=settings.officer_webhook_url is not None,
        consent=HouseholdConsent(),
    ).tick()


def dispatch_outbox(settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Send every outbox message due now, once (retries wait for their time)."""
    from alerting.outbox import Dispatcher
    from dampwatch.commands.outbox import channels_for

    tried = 0
    with (
        httpx.Client(timeout=10.0) as client,
        Dispatcher(sessions, channels_for(client, settings, sessions)) as d,
    ):
        while sent := d.run_once():
            tried += sent
    return tried


def all_jobs() -> list[Job]:
    """Every job, in the order ``jobs list`` shows them."""
    from backend.scheduler import JOBS, Job

    return [
        *JOBS,
        Job(
            "cases",
            run_case_rules,
            CASES_EVERY_S,
            description="case rules: openings after the minimum duration, reminders, escalations",
        ),
        Job(
            "outbox",
            dispatch_outbox,
            None,
            description="send the outbox messages due now (dampwatch up runs a dispatcher)",
        ),
    ]


def finding_sinks(settings: Settings, sessions: sessionmaker[Session]) -> list[FindingSink]:
    """Where scoring's findings go: the log, the case rules, then tenants' tips."""
    from alerting.cases.rules import CaseFindingSink
    from alerting.messages.scheduling import TipFindingSink
    from backend.tenants.consent import HouseholdConsent
    from dampwatch.messaging import message_desk

    # Cases that serve a purpose (outreach) open only with the household's consent.
    notices = settings.officer_webhook_url is not None
    cases = CaseFindingSink.for_store(
        sessions, officer_notices=notices, consent=HouseholdConsent()
    )
    sinks: list[FindingSink] = [LoggedFindings(), cases]
    if settings.tenant_data_keys is not None:
        # tips after cases: a repair case the same run opens holds the flat's tip back
        sinks.append(TipFindingSink(sessions, message_desk(settings)))
    else:
        log.warning("DAMPWATCH_TENANT_DATA_KEYS is not set: no tips to tenants are planned")
    return sinks


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("jobs", help="the scheduled jobs: list them, or run one now")
    jsub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    lst = jsub.add_parser("list", help="every job, its interval and what it does")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)
    run = jsub.add_parser("run", help="run one job now, once")
    run.add_argument("name", metavar="NAME")
    add_json_flag(run)
    add_settings_flag(run)
    run.set_defaults(func=run_job)


def _every(seconds: object) -> str:
    return f"every {seconds} s" if seconds else "on demand"


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    rows = [
        {"name": j.name, "every_s": j.interval_s(settings), "description": j.description}
        for j in all_jobs()
    ]
    text = "\n".join(f"{r['name']:<20} {_every(r['every_s']):<16} {r['description']}" for r in rows)
    emit(rows, args.json, text)
    return 0


def run_job(args: argparse.Namespace) -> int:
    jobs = {j.name: j for j in all_jobs()}
    job = jobs.get(args.name)
    if job is None:
        raise ValidationError(f"no job {args.name!r}; jobs are: {', '.join(jobs)}")
    settings = settings_from_args(args)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    started = time.monotonic()
    try:
        result = job.run(settings, sessions, finding_sinks(settings, sessions))
    finally:
        engine.dispose()
    took = time.monotonic() - started
    emit(
        {"job": job.name, "result": result, "seconds": round(took, 3)},
        args.json,
        f"{job.name}: {result} ({took:.1f} s)",
    )
    return 0
