"""Contractors report back through the API (SQLite and PostgreSQL): a contractor lists
its own open work orders and posts JobStatusUpdate and WorkOrderComplete reports for
them; every other role, another contractor, another landlord's contractor and an
unregistered organisation are refused, and a refused or malformed report changes
nothing."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import SYSTEM, CaseDesk
from alerting.cases.states import CaseKind, TriggerSource
from backend.app import create_app
from backend.auth.passwords import hash_password
from backend.auth.tokens import create_token
from backend.auth.users import add_user
from backend.registry import add_flat
from dampwatch.stack.ports import free_port
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models_cases import (
    CaseStatusChange,
    Contractor,
    HazardCase,
    WorkOrder,
    WorkOrderStatusUpdate,
)
from dampwatch_core.settings import Settings

PASSWORD = "a long test password"
_hash_once = functools.lru_cache(maxsize=16)(hash_password)

#: who -> (role, landlord, contractor organisation)
USERS = {
    "admin": ("admin", "north", None),
    "officer": ("officer", "north", None),
    "analyst": ("analyst", "north", None),
    "acme": ("contractor", "north", "Acme Damp Ltd"),
    "other": ("contractor", "north", "Other Repairs"),
    "acme_south": ("contractor", "south", "Acme Damp Ltd"),
    "nobody": ("contractor", "north", "Not Registered Ltd"),
}


@pytest.fixture(autouse=True)
def _hash_each_password_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backend.auth.users.hash_password", _hash_once)


@dataclass
class Desk:
    sessions: sessionmaker[Session]
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    #: flat -> its work order's reference
    orders: dict[str, str] = field(default_factory=dict)

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def desk(database_url: str) -> Iterator[Desk]:
    migrate(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    tokens: dict[str, str] = {}
    orders: dict[str, str] = {}
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with sessions.begin() as session:
        add_flat(session, "N-1", "1 North Row, Leeds", block="North", landlord="north")
        add_flat(session, "N-2", "2 North Row, Leeds", block="North", landlord="north")
        add_flat(session, "S-1", "1 South Row, Leeds", block="South", landlord="south")
        for name in ("Acme Damp Ltd", "Other Repairs"):
            session.add(
                Contractor(
                    name=name,
                    trade="damp_mould",
                    webhook_url="http://127.0.0.1:9/hook",
                    secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    enabled=True,
                    work_orders_assigned=0,
                )
            )
        session.flush()
        for who, (role, landlord, org) in USERS.items():
            user = add_user(
                session, f"{who}@example.org", role, PASSWORD, landlord=landlord, contractor=org
            )
            tokens[who] = create_token(session, user, "test")[1]
        d = CaseDesk(WorkingCalendar.england_and_wales())
        # round robin: N-1 -> Acme, N-2 -> Other, S-1 -> Acme (a south flat)
        for flat in ("N-1", "N-2", "S-1"):
            case = d.open_case(
                session,
                flat_id=flat,
                kind=CaseKind.REPAIR,
                trigger=TriggerSource.SENSOR,
                aware_at=now,
                actor=SYSTEM,
                now=now,
                description="Damp and mould investigation",
            )
            session.flush()
            orders[flat] = case.work_orders[0].reference
    settings = Settings(
        database_url=database_url,
        influx_url=f"http://127.0.0.1:{free_port()}",
        allowed_hosts="127.0.0.1,localhost",
    )  # type: ignore[call-arg]
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield Desk(sessions, client, tokens, orders)
    engine.dispose()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def scheduled(reference: str | None = None) -> dict[str, object]:
    start = _now() + dt.timedelta(days=2)
    body: dict[str, object] = {
        "TypeCode": "Scheduled",
        "EventTime": (_now() - dt.timedelta(minutes=5)).isoformat(),
        "Comments": "Survey booked with the tenant.\nAccess by the front door.",
        "RefinedAppointmentWindow": {
            "StartTime": start.isoformat(),
            "EndTime": (start + dt.timedelta(hours=4)).isoformat(),
        },
        "Evidence": [{"URI": "https://acme.example/jobs/1/photo.jpg", "Title": "wall"}],
    }
    if reference:
        body["RelatedWorkOrderReference"] = reference
    return body


def completion() -> dict[str, object]:
    return {
        "EventTime": (_now() - dt.timedelta(minutes=1)).isoformat(),
        "CompletedWorkElements": [
            {"WorkElementCode": "MOULD-WASH", "Description": "Mould wash", "Quantity": 1},
            {"Description": "Extractor fan fitted"},
        ],
        "OperativesUsed": 2,
        "Comments": "Fan fitted in the bathroom",
        "Evidence": [{"URI": "https://acme.example/jobs/1/after.jpg", "Title": "after"}],
    }


def _counts(desk: Desk) -> tuple[int, int, list[str]]:
    with desk.sessions() as session:
        updates = session.scalar(select(func.count()).select_from(WorkOrderStatusUpdate))
        trail = session.scalar(
            select(func.count())
            .select_from(CaseStatusChange)
            .where(CaseStatusChange.event == "contractor_report")
        )
        statuses = list(session.scalars(select(WorkOrder.status).order_by(WorkOrder.id)))
    return int(updates or 0), int(trail or 0), statuses


def test_a_contractor_lists_only_its_own_open_work_orders(desk: Desk) -> None:
    acme = desk.client.get("/api/v1/work-orders", headers=desk.bearer("acme"))
    assert acme.status_code == 200, acme.text
    assert [o["reference"] for o in acme.json()] == [desk.orders["N-1"]]
    assert acme.json()[0]["flat_id"] == "N-1" and acme.json()[0]["status"] == "raised"
    other = desk.client.get("/api/v1/work-orders", headers=desk.bearer("other"))
    assert [o["reference"] for o in other.json()] == [desk.orders["N-2"]]
    south = desk.client.get("/api/v1/work-orders", headers=desk.bearer("acme_south"))
    assert [o["reference"] for o in south.json()] == [desk.orders["S-1"]]
    nobody = desk.client.get("/api/v1/work-orders", headers=desk.bearer("nobody"))
    assert nobody.status_code == 403
    assert "not a registered contractor" in nobody.json()["detail"]


def test_status_update_is_recorded_on_the_work_order_and_the_case_trail(desk: Desk) -> None:
    ref = desk.orders["N-1"]
    response = desk.client.post(
        f"/api/v1/work-orders/{ref}/status", json=scheduled(ref), headers=desk.bearer("acme")
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "scheduled"
    with desk.sessions() as session:
        order = session.scalars(select(WorkOrder).where(WorkOrder.reference == ref)).one()
        assert order.status == "scheduled"
        (update,) = order.updates
        assert update.type_code == "Scheduled"
        assert update.reported_by == "acme@example.org"
        assert update.appointment_end is not None and update.appointment_start is not None
        assert update.appointment_end - update.appointment_start == dt.timedelta(hours=4)
        assert update.evidence[0]["URI"] == "https://acme.example/jobs/1/photo.jpg"
        case = session.get(HazardCase, order.case_id)
        assert case is not None and case.state == "open"  # the case is the landlord's to move
        (entry,) = [h for h in case.history if h.event == "contractor_report"]
        assert entry.actor == "acme@example.org" and "Scheduled" in entry.reason
    listed = desk.client.get("/api/v1/work-orders", headers=desk.bearer("acme")).json()
    assert listed[0]["status"] == "scheduled"


def test_completion_closes_the_work_order_and_no_report_follows_it(desk: Desk) -> None:
    ref = desk.orders["N-1"]
    done = desk.client.post(
        f"/api/v1/work-orders/{ref}/complete", json=completion(), headers=desk.bearer("acme")
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "complete"
    with desk.sessions() as session:
        order = session.scalars(select(WorkOrder).where(WorkOrder.reference == ref)).one()
        (update,) = order.updates
        assert update.type_code == "Complete"
        assert update.completion is not None
        assert update.completion["OperativesUsed"] == 2
        assert len(update.completion["CompletedWorkElements"]) == 2
    # a complete work order is no longer listed, and takes no more reports
    assert desk.client.get("/api/v1/work-orders", headers=desk.bearer("acme")).json() == []
    again = desk.client.post(
        f"/api/v1/work-orders/{ref}/status", json=scheduled(), headers=desk.bearer("acme")
    )
    assert again.status_code == 409, again.text
    assert set(again.json()) == {"detail", "errors"}
    assert _counts(desk)[:2] == (1, 1)


def test_other_roles_and_no_token_are_refused(desk: Desk) -> None:
    ref = desk.orders["N-1"]
    for who in ("admin", "officer", "analyst"):
        for method, path, body in (
            ("GET", "/api/v1/work-orders", None),
            ("POST", f"/api/v1/work-orders/{ref}/status", scheduled()),
            ("POST", f"/api/v1/work-orders/{ref}/complete", completion()),
        ):
            response = desk.client.request(method, path, json=body, headers=desk.bearer(who))
            assert response.status_code == 403, (who, path, response.text)
    assert desk.client.get("/api/v1/work-orders").status_code == 401
    posted = desk.client.post(f"/api/v1/work-orders/{ref}/status", json=scheduled())
    assert posted.status_code == 401
    assert _counts(desk) == (0, 0, ["raised"] * 3)


#: (who, whose flat's work order): each is refused
NOT_THEIRS = [
    ("other", "N-1"),  # another contractor's work order
    ("acme", "N-2"),  # ... seen from the other side
    ("acme", "S-1"),  # its own organisation's, but another landlord's flat
    ("acme_south", "N-1"),  # the same, from the south
    ("nobody", "N-1"),  # an organisation with no contractors row
]


def test_a_contractor_cannot_touch_another_work_order(desk: Desk) -> None:
    for who, flat in NOT_THEIRS:
        ref = desk.orders[flat]
        for path, body in (("status", scheduled()), ("complete", completion())):
            response = desk.client.post(
                f"/api/v1/work-orders/{ref}/{path}", json=body, headers=desk.bearer(who)
            )
            assert response.status_code == 403, (who, flat, response.text)
    assert _counts(desk) == (0, 0, ["raised"] * 3)


def test_another_work_order_is_refused_like_a_missing_one(desk: Desk) -> None:
    theirs = desk.client.post(
        f"/api/v1/work-orders/{desk.orders['N-2']}/status",
        json=scheduled(),
        headers=desk.bearer("acme"),
    )
    missing = desk.client.post(
        "/api/v1/work-orders/DM-999999-1/status", json=scheduled(), headers=desk.bearer("acme")
    )
    assert theirs.status_code == missing.status_code == 403
    assert theirs.json()["detail"].replace(desk.orders["N-2"], "X") == missing.json()[
        "detail"
    ].replace("DM-999999-1", "X")


def _bad_reports() -> list[tuple[str, dict[str, object]]]:
    future = (_now() + dt.timedelta(hours=1)).isoformat()
    no_window = scheduled()
    del no_window["RefinedAppointmentWindow"]
    backwards = scheduled()
    window = backwards["RefinedAppointmentWindow"]
    assert isinstance(window, dict)
    backwards["RefinedAppointmentWindow"] = {
        "StartTime": window["EndTime"],
        "EndTime": window["StartTime"],
    }
    return [
        ("status", scheduled() | {"TypeCode": "Complete"}),  # a completion has its own route
        ("status", scheduled() | {"TypeCode": "Cancelled"}),  # only the landlord cancels
        ("status", scheduled() | {"EventTime": future}),
        ("status", scheduled() | {"EventTime": "2026-01-05T09:30:00"}),  # no offset
        ("status", scheduled() | {"EventTime": "1999-12-31T00:00:00Z"}),
        ("status", no_window),
        ("status", backwards),
        ("status", scheduled() | {"Comments": "nul \x00 here"}),
        ("status", scheduled() | {"Evidence": [{"URI": "javascript:alert(1)"}]}),
        ("status", scheduled() | {"RelatedWorkOrderReference": "DM-000002-1"}),
        ("status", scheduled() | {"Unknown": 1}),
        ("complete", completion() | {"CompletedWorkElements": []}),
        ("complete", completion() | {"OperativesUsed": -1}),
    ]


def test_a_malformed_report_is_a_422_and_changes_nothing(desk: Desk) -> None:
    ref = desk.orders["N-1"]
    for path, body in _bad_reports():
        response = desk.client.post(
            f"/api/v1/work-orders/{ref}/{path}", json=body, headers=desk.bearer("acme")
        )
        assert response.status_code == 422, (body, response.text)
        assert set(response.json()) == {"detail", "errors"} and response.json()["detail"]
    body = scheduled() | {"EventTime": "2020-01-01T00:00:00Z"}
    response = desk.client.post(
        f"/api/v1/work-orders/{ref}/status", json=body, headers=desk.bearer("acme")
    )
    assert response.status_code == 422
    assert "before the work order was raised" in response.json()["detail"]
    not_json = desk.client.post(
        f"/api/v1/work-orders/{ref}/status",
        content=b"{",
        headers=desk.bearer("acme") | {"content-type": "application/json"},
    )
    assert not_json.status_code in (400, 422) and set(not_json.json()) == {"detail", "errors"}
    for bad in ("DM 1", "x" * 41):
        response = desk.client.post(
            f"/api/v1/work-orders/{bad}/status", json=scheduled(), headers=desk.bearer("acme")
        )
        assert response.status_code == 422, bad
    assert _counts(desk) == (0, 0, ["raised"] * 3)
