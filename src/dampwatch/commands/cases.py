"""``dampwatch cases``: Awaab's Law deadlines for a hazard, from the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.clocks import Deadline, Severity, deadlines
from dampwatch_core.errors import ValidationError


def _instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset: write e.g. 2025-11-03T09:00+00:00 or ...Z"
        )
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("cases", help="damp and mould cases and their statutory clocks")
    cases = parser.add_subparsers(dest="cases_command", metavar="ACTION", required=True)
    due = cases.add_parser(
        "deadlines",
        help="every Awaab's Law due date for a hazard",
        description="Working days skip weekends and bank holidays of England and Wales "
        "(or those of --holidays); counting starts the day after the landlord became aware.",
    )
    due.add_argument(
        "--aware",
        type=_instant,
        required=True,
        metavar="ISO",
        help="when the landlord became aware (ISO 8601 with offset)",
    )
    due.add_argument("--severity", choices=[s.value for s in Severity], required=True)
    due.add_argument(
        "--investigated",
        type=_instant,
        metavar="ISO",
        help="when the investigation concluded, if it has",
    )
    due.add_argument(
        "--holidays",
        type=Path,
        metavar="FILE",
        help="the landlord's holiday list in GOV.UK bank-holidays JSON format",
    )
    due.add_argument("--json", action="store_true", help="print JSON for scripts")
    due.set_defaults(func=run_deadlines)


def _as_json(deadline: Deadline) -> dict[str, object]:
    return {
        "step": deadline.step.value,
        "severity": deadline.severity.value,
        "period": deadline.period,
        "runs_from": deadline.runs_from,
        "starts_at": deadline.starts_at.isoformat() if deadline.starts_at else None,
        "due_date": deadline.due_date.isoformat() if deadline.due_date else None,
        "due_at": deadline.due_at.isoformat() if deadline.due_at else None,
    }


def run_deadlines(args: argparse.Namespace) -> int:
    calendar = (
        WorkingCalendar.from_govuk_json(args.holidays)
        if args.holidays
        else WorkingCalendar.england_and_wales()
    )
    if args.investigated is not None and args.investigated < args.aware:
        raise ValidationError("--investigated is before --aware")
    found = deadlines(args.aware, Severity(args.severity), calendar, investigated=args.investigated)
    if args.json:
        print(json.dumps({"calendar": calendar.name, "deadlines": [_as_json(d) for d in found]}))
        return 0
    for d in found:
        if d.due_at is None or d.due_date is None:
            when = "waits for the investigation to conclude"
        elif d.period.endswith("hours"):
            when = f"by {d.due_at.astimezone(calendar.tz):%a %d %b %Y %H:%M %Z}"
        else:
            when = f"by the end of {d.due_date:%a %d %b %Y}"
        print(f"{d.step.value:<16} {d.period:<17} from {d.runs_from:<24} {when}")
    return 0
