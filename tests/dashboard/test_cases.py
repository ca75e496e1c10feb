"""The case queue and case actions without a browser: order by the next statutory
deadline, the counts, the filters, every action through the desk with its history and
audit entry, and each refusal (role, landlord, CSRF, a move the case cannot make)."""

from __future__ import annotations

import datetime as dt
import re

from dashharness import (
    act,
    add_contractor,
    add_person,
    csrf_of,
    now,
    open_case,
    signed_in,
    store,
)
from sqlalchemy import select

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.clocks import Severity
from alerting.cases.desk import CaseDesk
from alerting.cases.states import CaseKind, CaseState
from backend.dashboard.actions import ActionRequest, CaseAction, apply_action
from backend.dashboard.queue import CaseFilter, next_clock, queue_counts, queue_page
from backend.registry import add_flat
from dampwatch_core.models_auth import AuditEvent
from dampwatch_core.models_cases import HazardCase
from dampwatch_core.settings import Settings

QUEUE_ROW = re.compile(r'<a class="govuk-link" href="/cases/([A-Z]+-\d+)">')
CAL = WorkingCalendar.england_and_wales()


def seed_queue(settings: Settings) -> dict[str, str]:
    """Four open cases: one overdue, one due within 24 h, one due in days, one outreach.
    Returns name -> reference."""
    with store(settings) as s:
        add_contractor(s)
        overdue = open_case(s, "A-1", hours_ago=30)  # pending: emergency 24 h passed
        soon = open_case(s, "B-2", hours_ago=2)  # pending: emergency due in 22 h
        later = open_case(s, "C-3", hours_ago=0.1)
        CaseDesk(CAL).assess(s, later, Severity.SIGNIFICANT, actor="o@x", now=now())
        cold = open_case(s, "B-2", hours_ago=1, kind=CaseKind.OUTREACH)
        return {
            "overdue": overdue.reference,
            "soon": soon.reference,
            "later": later.reference,
            "cold": cold.reference,
        }


def test_the_queue_puts_the_next_deadline_first_and_counts(seeded_settings: Settings) -> None:
    refs = seed_queue(seeded_settings)
    add_person(seeded_settings, "ann@council.example", "officer")
    with signed_in(seeded_settings, "ann@council.example") as c:
        html = c.get("/cases").text
        order = [refs["overdue"], refs["soon"], refs["cold"], refs["later"]]
        assert QUEUE_ROW.findall(html) == order
        assert re.search(r'id="count-overdue">1<', html)
        assert re.search(r'id="count-24h">2<', html)  # the outreach and the repair
        assert re.search(r'id="count-open">4<', html)
        assert "overdue" in html and "investigate" in html
        only = c.get("/cases", params={"kind": "outreach"}).text
        assert QUEUE_ROW.findall(only) == [refs["cold"]]
        block = c.get("/cases", params={"block": "Ash & Oak House"}).text
        assert QUEUE_ROW.findall(block) == [refs["later"]]
        with store(seeded_settings) as s:
            acme = s.scalars(select(HazardCase)).first()
            assert acme is not None and acme.work_orders
            contractor_id = acme.work_orders[0].contractor_id
        by_contractor = c.get("/cases", params={"contractor": contractor_id}).text
        assert set(QUEUE_ROW.findall(by_contractor)) == {
            refs["overdue"],
            refs["soon"],
            refs["later"],
        }
        assert QUEUE_ROW.findall(c.get("/cases", params={"contractor": 999}).text) == []
        assert c.get("/cases", params={"state": "nonsense"}).status_code == 422
        assert c.get("/cases", params={"state": "resolved"}).status_code == 422  # not open
        # the form's "all" sends empty fields: no filter
        every = {"kind": "", "state": "", "block": "", "contractor": ""}
        assert QUEUE_ROW.findall(c.get("/cases", params=every).text) == order
        assert c.get("/cases", params={"page": 0}).status_code == 422


def test_sql_order_and_the_shown_clock_agree(seeded_settings: Settings) -> None:
    """The queue sorts in SQL and shows the clock computed in Python: for every case,
    in every stage, the two agree (the 'met' rule is spelled in both)."""
    with store(seeded_settings) as s:
        add_contractor(s)
        desk_cases = [
            open_case(s, f, hours_ago=h) for f, h in (("A-1", 3), ("B-2", 50), ("C-3", 1))
        ]
        # assessed significant, its summary sent: the make-safe clock (5 working days)
        # leads, not the summary's (3 working days, done)
        d = open_case(s, "B-2", hours_ago=5, kind=CaseKind.OUTREACH)
        officer = _principal()
        t = now()
        a, b, c = desk_cases
        for case, steps in (
            (
                d,
                [
                    CaseAction.ACKNOWLEDGE,
                    CaseAction.ASSESS,
                    CaseAction.RECORD_INVESTIGATION,
                    CaseAction.SUMMARY_SENT,
                ],
            ),
            (a, [CaseAction.ACKNOWLEDGE, CaseAction.RECORD_INVESTIGATION]),
            (b, [CaseAction.ACKNOWLEDGE, CaseAction.RECORD_INVESTIGATION, CaseAction.SUMMARY_SENT]),
            (c, [CaseAction.ACKNOWLEDGE, CaseAction.RECORD_INVESTIGATION, CaseAction.MADE_SAFE]),
        ):
            for step in steps:
                form = {
                    "action": step.value,
                    "root_cause": "condensation",
                    "severity": "significant",
                }

                apply_action(
                    s,
                    CaseDesk(CAL),
                    case,
                    ActionRequest.from_form(form),
                    user=officer,
                    landlord="default",
                    now=t,
                )
        s.flush()
        s.expire_all()
        rows = queue_page(s, CaseFilter(), now=t, limit=10, offset=0)
        assert len(rows) == 4
        (led,) = [r for r in rows if r.case.id == d.id]
        assert led.clock is not None and led.clock.step == "make_safe"
        for row in rows:
            expected = next_clock(row.case, t)
            assert expected is not None
            assert row.clock == expected
            assert row.next_due == expected.due_at, (row.case.reference, row.clock)
        dues = [r.next_due for r in rows]
        assert dues == sorted(d for d in dues if d is not None)
        counts = queue_counts(s, CaseFilter(), now=t, calendar=CAL)
        assert counts.open == 4


def _principal():  # type: ignore[no-untyped-def]
    from backend.auth.deps import Principal

    return Principal(1, "ann@council.example", "officer", "default", None, "session", "x")


def test_an_officer_takes_a_case_through_every_action(seeded_settings: Settings) -> None:
    with store(seeded_settings) as s:
        add_contractor(s)
        ref = open_case(s, "B-2", hours_ago=1).reference
    add_person(seeded_settings, "ann@council.example", "officer")
    with signed_in(seeded_settings, "ann@council.example") as c:
        for action, fields, state in (
            ("acknowledge", {}, "acknowledged"),
            ("assess", {"severity": "significant", "reason": "wall damp, no leak"}, "acknowledged"),
            (
                "record_investigation",
                {"root_cause": "condensation", "reason": "cold wall"},
                "investigating",
            ),
            ("summary_sent", {}, "investigating"),
            ("made_safe", {}, "made_safe"),
            ("works_scheduled", {}, "works_scheduled"),
            ("resolve", {"reason": "insulated the wall"}, "resolved"),
        ):
            status, _ = act(c, ref, action, **fields)
            assert status == 303, (action, status)
            page = c.get(f"/cases/{ref}").text
            assert f'id="case-state">{state.replace("_", " ")}<' in page, action
        page = c.get(f"/cases/{ref}").text
        assert 'id="actions"' not in page  # a resolved case has no action left
    with store(seeded_settings) as s:
        case = s.scalars(select(HazardCase).where(HazardCase.reference == ref)).one()
        assert case.severity == "significant" and case.severity_assessed_by == "ann@council.example"
        assert case.investigated_at is not None and case.resolved_at is not None
        events = [h.event for h in case.history]
        assert "investigated" in events and "written_summary" in events
        assert {h.actor for h in case.history if h.event != "work_order"} >= {"ann@council.example"}
        # the clocks that run from the investigation now have due times
        summary = [d for d in case.deadlines if d.step == "written_summary"]
        assert summary and all(d.due_at is not None for d in summary)
        assert {d.severity for d in case.deadlines} == {"significant"}
        audit = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == ref)).all()
        assert audit == [
            "case.acknowledge",
            "case.assess",
            "case.record_investigation",
            "case.summary_sent",
            "case.made_safe",
            "case.works_scheduled",
            "case.resolve",
        ]


def test_recording_the_investigation_calls_the_apps_desk_hook(seeded_settings: Settings) -> None:
    """The composition root hands the app a desk whose hook queues the tenant's written
    summary: the dashboard's *record the investigation* must go through it, once."""
    with store(seeded_settings) as s:
        add_contractor(s)
        ref = open_case(s, "B-2", hours_ago=1).reference
    add_person(seeded_settings, "ann@council.example", "officer")
    called: list[str] = []
    desk = CaseDesk(CAL, after_investigation=lambda _s, case, _now: called.append(case.reference))
    with signed_in(seeded_settings, "ann@council.example", case_desk=desk) as c:
        assert act(c, ref, "acknowledge")[0] == 303
        assert called == []
        assert act(c, ref, "record_investigation", root_cause="condensation")[0] == 303
        assert act(c, ref, "made_safe")[0] == 303  # already investigated: not again
    assert called == [ref]


def test_every_refusal(seeded_settings: Settings) -> None:
    with store(seeded_settings) as s:
        add_flat(s, "N-1", "1 North Road", block="North", landlord="north")
        s.flush()
        ref = open_case(s, "B-2", hours_ago=1).reference
        north = open_case(s, "N-1", hours_ago=1).reference
    add_person(seeded_settings, "ann@council.example", "officer")
    add_person(seeded_settings, "cat@council.example", "analyst")
    add_person(seeded_settings, "nora@north.example", "officer", landlord="north")
    with signed_in(seeded_settings, "cat@council.example") as c:
        page = c.get(f"/cases/{ref}")
        assert page.status_code == 200 and 'id="actions"' not in page.text  # sees, no forms
        r = c.post(
            f"/cases/{ref}/actions",
            data={"csrf_token": csrf_of(page.text), "action": "acknowledge"},
        )
        assert r.status_code == 403 and "analyst role" in r.text
        assert c.get(f"/cases/{ref}/evidence").status_code == 403
    with signed_in(seeded_settings, "nora@north.example") as c:
        assert c.get(f"/cases/{ref}").status_code == 403  # another landlord's
        assert c.get("/cases/DM-999999").status_code == 403  # same words as not existing
        html = c.get("/cases").text
        assert QUEUE_ROW.findall(html) == [north]
        status, _ = act(c, north, "acknowledge")
        assert status == 303
        page = c.get(f"/cases/{north}")
        r = c.post(
            f"/cases/{ref}/actions",
            data={"csrf_token": csrf_of(page.text), "action": "acknowledge"},
        )
        assert r.status_code == 403
    with signed_in(seeded_settings, "ann@council.example") as c:
        r = c.post(f"/cases/{ref}/actions", data={"action": "acknowledge"})
        assert r.status_code == 403 and "security token" in r.text
        r = c.post(f"/cases/{ref}/actions", data={"action": "acknowledge", "csrf_token": "forged"})
        assert r.status_code == 403
        status, text = act(c, ref, "resolve")
        assert status == 422 and "cannot move from open to resolved" in text
        status, text = act(c, ref, "close")
        assert status == 422 and "needs a reason" in text
        status, text = act(c, ref, "assess", severity="catastrophic")
        assert status == 422 and "severity" in text
        status, text = act(c, ref, "record_investigation", root_cause="condensation")
        assert status == 422 and "acknowledge it" in text
        status, text = act(c, ref, "explode")
        assert status == 422 and "action" in text
        assert c.get("/cases/not a ref").status_code == 422
        status, _ = act(c, ref, "close", reason="duplicate of a tenant report")
        assert status == 303
    with store(seeded_settings) as s:
        case = s.scalars(select(HazardCase).where(HazardCase.reference == ref)).one()
        assert case.state == CaseState.CLOSED.value
        assert case.closed_reason == "duplicate of a tenant report"
        refused = s.scalars(
            select(AuditEvent).where(AuditEvent.subject_id == ref, AuditEvent.action.like("case.%"))
        ).all()
        assert [e.action for e in refused] == ["case.close"]  # nothing refused was recorded


def test_an_admin_is_told_404_for_an_unknown_case(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/cases/DM-424242")
    assert r.status_code == 404 and 'id="error"' in r.text
    _ = dt
