"""``dampwatch cases``: Awaab's Law deadlines for a hazard, from the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.clocks import Deadline, Severity, deadlines, is_breached, time_left
from alerting.cases.config import load_rules
from alerting.cases.desk import CaseDesk, case_clocks, get_case
from alerting.cases.states import ACTIVE_STATES, CaseKind, CaseState, TriggerSource
from dampwatch.commands._common import add_json_flag, add_settings_flag, settings_from_args
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import ValidationError
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import HazardCase


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
    _register_records(cases)


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


# -- case records: open by hand, list, show, move, assess, tick ----------------------


def _register_records(cases: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        add_json_flag(p)
        add_settings_flag(p)
        return p

    opened = common(
        cases.add_parser(
            "open",
            help="open a case by hand (a tenant's report or a staff observation)",
            description="The statutory clock runs from --reported (when the tenant reported "
            "it or staff saw it), which may be earlier than now.",
        )
    )
    opened.add_argument("flat_id")
    opened.add_argument("--kind", choices=[k.value for k in CaseKind], default="repair")
    opened.add_argument("--source", choices=["tenant_report", "staff"], default="tenant_report")
    opened.add_argument("--reported", type=_instant, required=True, metavar="ISO")
    opened.add_argument("--by", required=True, metavar="EMAIL", help="who is opening it")
    opened.add_argument("--description", required=True)
    opened.set_defaults(func=run_open)

    listed = common(cases.add_parser("list", help="cases with their deadlines"))
    listed.add_argument("--all", action="store_true", help="include resolved and closed cases")
    listed.set_defaults(func=run_list)

    shown = common(cases.add_parser("show", help="one case: clocks, time left, history"))
    shown.add_argument("reference")
    shown.set_defaults(func=run_show)

    moved = common(cases.add_parser("move", help="move a case to its next state"))
    moved.add_argument("reference")
    moved.add_argument("state", choices=[s.value for s in CaseState if s is not CaseState.OPEN])
    moved.add_argument("--by", required=True, metavar="EMAIL")
    moved.add_argument("--reason", default="", help="why (required to close)")
    moved.set_defaults(func=run_move)

    assessed = common(
        cases.add_parser(
            "assess", help="record the landlord's assessment: emergency or significant"
        )
    )
    assessed.add_argument("reference")
    assessed.add_argument("severity", choices=[s.value for s in Severity])
    assessed.add_argument("--by", required=True, metavar="EMAIL")
    assessed.add_argument("--reason", default="", help="the criteria it was assessed on")
    assessed.set_defaults(func=run_assess)

    ticked = common(cases.add_parser(
        "tick", help="open cases whose signal held long enough; remind and escalate; "
        "end post-repair watches"))
    ticked.add_argument("--rules", type=Path, metavar="FILE", help="case rules TOML")
    ticked.set_defaults(func=run_tick)

    kpi = common(cases.add_parser(
        "kpi", help="repair cases resolved, verified by the sensors, under watch, reopened"))
    kpi.set_defaults(func=run_kpi)
    from dampwatch.commands.partners import register_refer

    register_refer(cases)


def _store(args: argparse.Namespace) -> tuple[Engine, sessionmaker[Session], CaseDesk]:
    settings = settings_from_args(args)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    from dampwatch.messaging import case_desk

    return engine, make_sessionmaker(engine), case_desk(settings)


def _case_json(case: HazardCase, now: dt.datetime, *, full: bool = False) -> dict[str, Any]:
    clocks = []
    for deadline in case_clocks(case, WorkingCalendar.england_and_wales()):
        left = time_left(deadline, now)
        clocks.append(
            {
                **_as_json(deadline),
                "hours_left": None if left is None else round(left.total_seconds() / 3600, 1),
                "breached": is_breached(deadline, now=now),
            }
        )
    out: dict[str, Any] = {
        "reference": case.reference,
        "flat_id": case.flat_id,
        "kind": case.kind,
        "state": case.state,
        "severity": case.severity,
        "severity_assessed_by": case.severity_assessed_by,
        "trigger_source": case.trigger_source, "aware_at": case.aware_at.isoformat(),
        "opened_by": case.opened_by, "description": case.description,
        "escalation_level": case.escalation_level, "deadlines": clocks,
        "verify_until": case.verify_until.isoformat() if case.verify_until else None,
        "verification_outcome": case.verification_outcome,
        "reopened_count": case.reopened_count,
    }
    if full:
        out["verification"] = case.verification
        out["history"] = [
            {
                "at": h.at.isoformat(),
                "actor": h.actor,
                "event": h.event,
                "from": h.from_state,
                "to": h.to_state,
                "reason": h.reason,
            }
            for h in case.history
        ]
        out["work_orders"] = [
            {
                "reference": o.reference,
                "contractor": o.contractor.name,
                "status": o.status,
                "priority_code": o.priority_code,
            }
            for o in case.work_orders
        ]
    return out


def _print_case(row: dict[str, Any]) -> None:
    print(
        f"{row['reference']} {row['kind']} flat {row['flat_id']}: {row['state']}, "
        f"severity {row['severity']}, aware {row['aware_at']}"
    )
    for d in row["deadlines"]:
        flag = " BREACHED" if d["breached"] else ""
        due = d["due_at"] or "waits for the investigation"
        left = "" if d["hours_left"] is None else f" ({d['hours_left']} h left)"
        print(f"  {d['severity']:<12} {d['step']:<16} due {due}{left}{flag}")
    for h in row.get("history", []):
        print(f"  {h['at']} {h['actor']}: {h['event']} {h['from']} -> {h['to']} {h['reason']}")


def _emit(args: argparse.Namespace, rows: list[dict[str, Any]] | dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows if isinstance(rows, list) else [rows]:
        _print_case(row)


def run_open(args: argparse.Namespace) -> int:
    engine, sessions, desk = _store(args)
    now = utcnow()
    with sessions.begin() as session:
        case = desk.open_case(
            session,
            flat_id=args.flat_id,
            kind=CaseKind(args.kind),
            trigger=TriggerSource(args.source),
            aware_at=args.reported,
            actor=args.by,
            now=now,
            description=args.description,
        )
        row = _case_json(case, now)
    engine.dispose()
    _emit(args, row)
    return 0


def run_list(args: argparse.Namespace) -> int:
    engine, sessions, _desk = _store(args)
    now = utcnow()
    with sessions() as session:
        query = select(HazardCase).order_by(HazardCase.id)
        if not args.all:
            query = query.where(HazardCase.state.in_([s.value for s in ACTIVE_STATES]))
        rows = [_case_json(c, now) for c in session.scalars(query)]
    engine.dispose()
    _emit(args, rows)
    return 0


def run_show(args: argparse.Namespace) -> int:
    engine, sessions, _desk = _store(args)
    now = utcnow()
    with sessions() as session:
        row = _case_json(get_case(session, args.reference), now, full=True)
    engine.dispose()
    _emit(args, row)
    return 0


def run_move(args: argparse.Namespace) -> int:
    engine, sessions, desk = _store(args)
    now = utcnow()
    with sessions.begin() as session:
        case = get_case(session, args.reference)
        desk.move(session, case, CaseState(args.state), actor=args.by, now=now, reason=args.reason)
        row = _case_json(case, now)
    engine.dispose()
    _emit(args, row)
    return 0


def run_assess(args: argparse.Namespace) -> int:
    engine, sessions, desk = _store(args)
    now = utcnow()
    with sessions.begin() as session:
        case = get_case(session, args.reference)
        desk.assess(
            session, case, Severity(args.severity), actor=args.by, now=now, reason=args.reason
        )
        row = _case_json(case, now)
    engine.dispose()
    _emit(args, row)
    return 0


def run_tick(args: argparse.Namespace) -> int:
    # the rules read scoring's findings types; imported here so the other subcommands
    # never depend on them
    from alerting.cases.rules import CaseRulesEngine
    from backend.tenants.consent import HouseholdConsent

    rules = load_rules(args.rules)
    engine, sessions, desk = _store(args)
    desk.repair_trade = rules.repair.trade
    desk.verify_days = rules.verification.watch_days
    with sessions.begin() as session:
        counts = CaseRulesEngine(desk, rules, HouseholdConsent()).tick(session, utcnow())
    engine.dispose()
    if args.json:
        print(json.dumps(counts))
    else:
        print(", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def run_kpi(args: argparse.Namespace) -> int:
    from alerting.cases.verification import case_kpis

    engine, sessions, _desk = _store(args)
    with sessions() as session:
        kpis = case_kpis(session)
    engine.dispose()
    if args.json:
        print(json.dumps(kpis))
    else:
        print("\n".join(f"{k:<24} {v}" for k, v in kpis.items()))
    return 0
