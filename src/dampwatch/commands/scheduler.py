"""``dampwatch scheduler``: run the backend's scheduled jobs."""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from dampwatch.commands._common import add_settings_flag, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("scheduler", help="run scheduled jobs (risk scoring, housekeeping)")
    add_settings_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend.scheduler import build_scheduler
    from dampwatch.commands.jobs import all_jobs, finding_sinks

    settings = settings_from_args(args)
    migrate(settings.database_url)
    # Every job from the one list (dampwatch jobs list). Scoring's findings are logged
    # and become cases (the composition root wires them: neither package imports the
    # other); the outbox dispatcher, a process of its own, sends what cases queue.
    sinks = finding_sinks(settings, make_sessionmaker(make_engine(settings.database_url)))
    scheduler = build_scheduler(settings, all_jobs(), finding_sinks=sinks)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
    return 0
