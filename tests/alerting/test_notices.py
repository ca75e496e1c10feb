"""Officers' notices through the outbox (SQLite and PostgreSQL): a new high-risk case
and each deadline due within 24 h reach a real local incoming-webhook endpoint once,
beside (not instead of) the contractor's signed work order; nothing is queued when no
officers' channel is configured, and a dispatcher without that channel fails the
notice with a reason instead of losing it."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from whreceiver import Receiver

from alerting.cases.rules import CaseFindingSink
from alerting.channels import CONTRACTOR_WEBHOOK, OFFICER_WEBHOOK, ChannelRouter
from alerting.channels.incoming_webhook import IncomingWebhookChannel
from alerting.channels.webhook import WebhookChannel, new_secret
from alerting.outbox import Dispatcher
from dampwatch_core.const import Level
from dampwatch_core.findings import Finding, FindingKind, Reason, ReasonCode, ReasonKind
from dampwatch_core.models_cases import Contractor, HazardCase, OutboxMessage

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class ChatEndpoint:
    """A Teams/Slack-style incoming webhook: keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                endpoint.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/T000/B000/secret"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def chat() -> Iterator[ChatEndpoint]:
    endpoint = ChatEndpoint()
    yield endpoint
    endpoint.stop()


def finding(flat: str, kind: FindingKind, at: dt.datetime) -> Finding:
    reason = (
        Reason(
            kind=ReasonKind.DAMP,
            code=ReasonCode.SURFACE_RH_OVER_80,
            room="bedroom",
            message="bedroom wall wet for 41 h of the last 7 days",
            hours=41,
        )
        if kind is FindingKind.DAMP
        else Reason(
            kind=ReasonKind.COLD,
            code=ReasonCode.BELOW_18C,
            room="living_room",
            message="living room below 18 °C",
            hours=60,
        )
    )
    return Finding(
        flat_id=flat,
        kind=kind,
        level_before=Level.MEDIUM,
        level_after=Level.HIGH,
        period_start=at - 7 * 24 * H,
        period_end=at,
        reasons=(reason,),
    )


def outbox(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with sessions() as session:
        return [
            (m.channel, m.event_type, m.status)
            for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def test_high_risk_cases_and_deadlines_due_reach_the_officers_once(
    sessions: sessionmaker[Session], chat: ChatEndpoint
) -> None:
    secret = new_secret()
    contractor = Receiver(secret).start()
    try:
        with sessions.begin() as session:
            session.add(
                Contractor(
                    name="Acme Damp",
                    trade="damp_mould",
                    webhook_url=contractor.url,
                    secret=secret,
                    enabled=True,
                    work_orders_assigned=0,
                )
            )
        clock = Clock(T0)
        sink = CaseFindingSink.for_store(sessions, clock=clock, officer_notices=True)
        sink.publish([finding("F1", FindingKind.DAMP, T0), finding("F2", FindingKind.COLD, T0)])
        clock.now = T0 + 13 * H
        counts = sink.tick()
        assert counts["opened"] == 1  # the repair case; outreach waits 48 h
        # pending assessment: the emergency clocks (24 h from awareness) are due in 11 h
        assert counts["noticed"] >= 1
        assert sink.tick()["noticed"] == 0  # each deadline once
        clock.now = T0 + 49 * H
        assert sink.tick()["opened"] == 1  # the outreach case
        queued = outbox(sessions)
        officer = [e for c, e, _ in queued if c == OFFICER_WEBHOOK]
        assert officer.count("officer.case_opened") == 2
        assert "officer.deadline_due" in officer
        contractor_msgs = [e for c, e, _ in queued if c == CONTRACTOR_WEBHOOK]
        assert contractor_msgs == ["work_order.RaiseRepair"]  # outreach: no contractor
        with (
            httpx.Client(timeout=5) as client,
            Dispatcher(
                sessions,
                ChannelRouter(
                    {
                        CONTRACTOR_WEBHOOK: WebhookChannel(client),
                        OFFICER_WEBHOOK: IncomingWebhookChannel(client, chat.url),
                    }
                ),
            ) as dispatcher,
        ):
            while dispatcher.run_once():
                pass
        assert {s for _, _, s in outbox(sessions)} == {"delivered"}
        assert len(contractor.accepted) == 1
        texts = [str(b["text"]) for b in chat.bodies]
        assert len(texts) == len(officer)
        with sessions() as session:
            refs = [
                c.reference for c in session.scalars(select(HazardCase).order_by(HazardCase.id))
            ]
        assert any(refs[0] in t and "New high risk repair case" in t for t in texts)
        assert any(refs[1] in t and "outreach" in t for t in texts)
        assert any("investigation is due by 2026-01-13 09:00 UTC" in t for t in texts)
    finally:
        contractor.stop()


def test_no_officers_channel_no_notices(sessions: sessionmaker[Session]) -> None:
    clock = Clock(T0)
    sink = CaseFindingSink.for_store(sessions, clock=clock)
    sink.publish([finding("F1", FindingKind.DAMP, T0)])
    clock.now += 13 * H
    assert sink.tick()["noticed"] == 0
    assert [c for c, _, _ in outbox(sessions)] == []  # no contractor either: unrouted


def test_a_dispatcher_without_the_channel_fails_the_notice_with_a_reason(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(T0)
    sink = CaseFindingSink.for_store(sessions, clock=clock, officer_notices=True)
    sink.publish([finding("F1", FindingKind.DAMP, T0)])
    clock.now += 13 * H
    sink.tick()
    with (
        httpx.Client(timeout=5) as client,
        Dispatcher(
            sessions, ChannelRouter({CONTRACTOR_WEBHOOK: WebhookChannel(client)})
        ) as dispatcher,
    ):
        assert dispatcher.run_once() >= 1
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert rows and all(r.status == "failed" for r in rows)
        assert all("no 'officer_webhook' channel" in (r.last_error or "") for r in rows)
