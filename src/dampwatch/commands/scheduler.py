"""``dampwatch scheduler``: run the backend's scheduled jobs."""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Sequence
from types import FrameType

from dampwatch.commands._common import add_settings_flag, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.findings import Finding, FindingSink

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("scheduler", help="run scheduled jobs (risk scoring, housekeeping)")
    add_settings_flag(parser)
    parser.set_defaults(func=run)


class LoggedFindings:
    """A finding sink that logs each finding (flat, kind, levels; no personal data).
    Consumers that act on findings (tickets, webhooks) are wired here beside it."""

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


def run(args: argparse.Namespace) -> int:
    from alerting.cases.rules import CaseFindingSink
    from alerting.messages.scheduling import TipFindingSink
    from backend.scheduler import build_scheduler
    from backend.tenants.consent import HouseholdConsent
    from dampwatch.messaging import message_desk

    settings = settings_from_args(args)
    migrate(settings.database_url)
    # Scoring's findings are logged and become cases (the composition root wires them:
    # neither package imports the other). The outbox dispatcher sends what cases queue.
    sessions = make_sessionmaker(make_engine(settings.database_url))
    # Cases that serve a purpose (outreach) open only with the household's consent.
    cases = CaseFindingSink.for_store(sessions, consent=HouseholdConsent())
    sinks: list[FindingSink] = [LoggedFindings(), cases]
    if settings.tenant_data_keys is not None:
        # tips after cases: a repair case the same run opens holds the flat's tip back
        sinks.append(TipFindingSink(sessions, message_desk(settings)))
    else:
        log.warning("DAMPWATCH_TENANT_DATA_KEYS is not set: no tips to tenants are planned")
    scheduler = build_scheduler(settings, finding_sinks=sinks)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
    return 0
