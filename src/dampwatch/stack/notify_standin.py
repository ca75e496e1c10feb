"""A stand-in for GOV.UK Notify's API, for the local stack and the tests.

It answers the parts of Notify's v2 API DampWatch uses, as Notify does:

- every request carries ``Authorization: Bearer JWT``: HS256, signed with the API key's
  secret, ``iss`` the service id, ``iat`` within 30 s of now (checked with the official
  client's own ``decode_jwt_token``); otherwise 403 ``AuthError``;
- ``POST /v2/notifications/sms|email|letter`` validate the body like Notify: a known
  template id (a UUID) of the right type, every placeholder of the template given in
  ``personalisation``, a UK mobile number, an email address, a letter address of at
  least 3 lines ending in a real-looking UK postcode; a bad one is 400
  ``BadRequestError`` / ``ValidationError`` naming the field (never echoing its value);
- ``GET /v2/notifications`` lists what it received (newest first).

It records every notification it accepted, and can fire Notify's callbacks: a delivery
status (:meth:`NotifyStandin.fire_status`) and a received text
(:meth:`NotifyStandin.fire_inbound`) to the service's callback URLs with their bearer
tokens, through an injected HTTP client. Run alone: ``python -m
dampwatch.stack.notify_standin CONFIG.json`` (``dampwatch up`` does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = [
    "NotifyStandin",
    "StandinTemplate",
    "api_key_for",
    "is_uk_mobile",
    "is_uk_postcode",
    "main",
]

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\(\(([^()?]+?)(\?\?.*?)?\)\)", re.DOTALL)
_POSTCODE = re.compile(r"^(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def api_key_for(name: str, service_id: str, secret: str) -> str:
    """A Notify API key: ``name-serviceid-secret`` (both UUIDs)."""
    return f"{name}-{service_id}-{secret}"


def is_uk_mobile(number: str) -> bool:
    """Notify's rule for a UK mobile: 07 and 9 more digits, written with +44, 0044 or
    0, with spaces, dashes, dots or brackets."""
    digits = re.sub(r"[\s()\-.]", "", number)
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("0044"):
        digits = "0" + digits[4:]
    elif digits.startswith("44"):
        digits = "0" + digits[2:]
    return re.fullmatch(r"07\d{9}", digits) is not None


def is_uk_postcode(text: str) -> bool:
    return _POSTCODE.match(text.strip()) is not None


@dataclass(frozen=True)
class StandinTemplate:
    id: str
    type: str  # sms | letter | email
    body: str
    subject: str = ""

    def placeholders(self) -> list[str]:
        text = self.subject + " " + self.body
        return list(dict.fromkeys(m.group(1).strip() for m in _PLACEHOLDER.finditer(text)))


@dataclass
class Received:
    """One notification the stand-in accepted (what Notify would have sent)."""

    id: str
    type: str
    template_id: str
    reference: str | None
    recipient: str  # phone number, email, or the first address line
    personalisation: dict[str, str]
    created_at: str
    status: str = "created"


class _BadRequest(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


@dataclass
class NotifyStandin:
    """The stand-in's state and behaviour; :meth:`app` is its ASGI application."""

    service_id: str
    secret: str
    templates: Mapping[str, StandinTemplate]
    status_callback_url: str | None = None
    status_callback_token: str | None = None
    inbound_callback_url: str | None = None
    inbound_callback_token: str | None = None
    #: the service's own number tenants reply to
    inbound_number: str = "07700900000"
    callback_client: httpx.Client | None = None
    #: the local stack's demo: report each notification delivered a second later
    auto_deliver: bool = False
    received: list[Received] = field(default_factory=list)
    #: requests refused, as (status, error, message): what a test can look at
    refused: list[tuple[int, str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------ checking
    def _authorise(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _BadRequest(
                401, "AuthError", "Unauthorized: authentication token must be provided"
            )
        try:
            issuer = get_token_issuer(token)
        except TokenError as exc:
            raise _BadRequest(403, "AuthError", exc.message) from None
        if issuer != self.service_id:
            raise _BadRequest(403, "AuthError", "Invalid token: service not found")
        try:
            decode_jwt_token(token, self.secret)
        except TokenError as exc:
            raise _BadRequest(403, "AuthError", exc.message) from None

    def _template(self, body: Mapping[str, Any], kind: str) -> StandinTemplate:
        template_id = body.get("template_id")
        if not isinstance(template_id, str):
            raise _BadRequest(400, "ValidationError", "template_id is a required property")
        if not _UUID.match(template_id):
            raise _BadRequest(400, "ValidationError", "template_id is not a valid UUID")
        template = self.templates.get(template_id)
        if template is None or template.type != kind:
            raise _BadRequest(400, "BadRequestError", "Template not found")
        return template

    @staticmethod
    def _personalisation(body: Mapping[str, Any], template: StandinTemplate) -> dict[str, str]:
        given = body.get("personalisation") or {}
        if not isinstance(given, dict):
            raise _BadRequest(400, "ValidationError", "personalisation is not of type object")
        wanted = template.placeholders()
        if template.type == "letter":
            wanted = [p for p in wanted if not p.startswith("address_line_")]
        missing = [p for p in wanted if p not in given]
        if missing:
            raise _BadRequest(
                400, "BadRequestError", "Missing personalisation: " + ", ".join(missing)
            )
        return {str(k): str(v) for k, v in given.items()}

    @staticmethod
    def _reference(body: Mapping[str, Any]) -> str | None:
        reference = body.get("reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 1000):
            raise _BadRequest(400, "ValidationError", "reference is not a string of <= 1000")
        return reference

    def _accept(self, body: Mapping[str, Any], kind: str) -> Received:
        template = self._template(body, kind)
        personalisation = self._personalisation(body, template)
        reference = self._reference(body)
        if kind == "sms":
            phone = body.get("phone_number")
            if not isinstance(phone, str):
                raise _BadRequest(400, "ValidationError", "phone_number is a required property")
            if not is_uk_mobile(phone):
                raise _BadRequest(400, "ValidationError", "phone_number Not a UK mobile number")
            recipient = phone
        elif kind == "email":
            email = body.get("email_address")
            if not isinstance(email, str) or not _EMAIL.match(email):
                raise _BadRequest(400, "ValidationError", "email_address Not a valid email address")
            recipient = email
        else:
            lines = [personalisation.get(f"address_line_{i}", "").strip() for i in range(1, 8)]
            present = [line for line in lines if line]
            if len(present) < 3:
                raise _BadRequest(400, "ValidationError", "Address must be at least 3 lines")
            if not is_uk_postcode(present[-1]):
                raise _BadRequest(
                    400, "ValidationError", "Last line of address must be a real UK postcode"
                )
            recipient = present[0]
        received = Received(
            id=str(uuid.uuid4()),
            type=kind,
            template_id=template.id,
            reference=reference,
            recipient=recipient,
            personalisation=personalisation,
            created_at=dt.datetime.now(dt.UTC).isoformat(),
        )
        with self._lock:
            self.received.append(received)
        return received

    # ------------------------------------------------------------ the API
    def _error(self, exc: _BadRequest) -> JSONResponse:
        with self._lock:
            self.refused.append((exc.status, exc.error, exc.message))
        return JSONResponse(
            {"status_code": exc.status, "errors": [{"error": exc.error, "message": exc.message}]},
            status_code=exc.status,
        )

    async def _send(self, request: Request) -> JSONResponse:
        kind = request.path_params["kind"]
        try:
            self._authorise(request)
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise _BadRequest(400, "BadRequestError", "Invalid JSON supplied") from None
            if not isinstance(body, dict):
                raise _BadRequest(400, "ValidationError", "the body is not an object")
            received = self._accept(body, kind)
        except _BadRequest as exc:
            return self._error(exc)
        if self.auto_deliver and self.status_callback_url:
            threading.Timer(1.0, self._deliver_later, args=(received.id,)).start()
        template = self.templates[received.template_id]
        return JSONResponse(
            {
                "id": received.id,
                "reference": received.reference,
                "content": {
                    "body": received.personalisation.get("body", template.body),
                    "from_number": "DampWatch",
                }
                if kind == "sms"
                else {
                    "body": received.personalisation.get("body", template.body),
                    "subject": received.personalisation.get("subject", template.subject),
                },
                "uri": f"{request.base_url}v2/notifications/{received.id}",
                "template": {
                    "id": template.id,
                    "version": 1,
                    "uri": f"{request.base_url}v2/template/{template.id}",
                },
                **({"scheduled_for": None} if kind != "letter" else {"postage": "second"}),
            },
            status_code=201,
        )

    async def _list(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request)
        except _BadRequest as exc:
            return self._error(exc)
        with self._lock:
            items = list(reversed(self.received))
        reference = request.query_params.get("reference")
        if reference:
            items = [r for r in items if r.reference == reference]
        return JSONResponse(
            {
                "notifications": [
                    {
                        "id": r.id,
                        "reference": r.reference,
                        "type": r.type,
                        "status": r.status,
                        "template": {"id": r.template_id, "version": 1},
                        "body": r.personalisation.get("body", ""),
                        "created_at": r.created_at,
                    }
                    for r in items
                ],
                "links": {"current": str(request.url)},
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v2/notifications/{kind:str}", self._send, methods=["POST"]),
                Route("/v2/notifications", self._list, methods=["GET"]),
            ]
        )

    # ------------------------------------------------------------ callbacks
    def find(self, reference: str) -> Received:
        with self._lock:
            for r in self.received:
                if r.reference == reference:
                    return r
        raise KeyError(reference)

    def status_payload(self, received: Received, status: str) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC).isoformat()
        return {
            "id": received.id,
            "reference": received.reference,
            "to": received.recipient,
            "status": status,
            "created_at": received.created_at,
            "completed_at": now,
            "sent_at": received.created_at,
            "notification_type": received.type,
            "template_id": received.template_id,
            "template_version": 1,
        }

    def fire_status(
        self, notification_id: str, status: str, token: str | None = None
    ) -> httpx.Response:
        """POST a delivery receipt for a notification to the status callback (with
        ``token`` instead of the configured one, to test a refusal)."""
        with self._lock:
            found = [r for r in self.received if r.id == notification_id]
        if not found:
            raise KeyError(notification_id)
        found[0].status = status
        return self._post(
            self.status_callback_url,
            token or self.status_callback_token,
            self.status_payload(found[0], status),
        )

    def _deliver_later(self, notification_id: str) -> None:
        try:
            answer = self.fire_status(notification_id, "delivered")
        except (httpx.HTTPError, RuntimeError) as exc:
            log.warning("delivery receipt for %s not sent: %s", notification_id, type(exc).__name__)
            return
        if answer.status_code != 200:
            log.warning("delivery receipt for %s answered %d", notification_id, answer.status_code)

    def fire_inbound(
        self,
        source_number: str,
        message: str,
        received_at: dt.datetime | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        """POST a received text to the inbound callback, as Notify forwards it."""
        when = received_at or dt.datetime.now(dt.UTC)
        payload = {
            "id": str(uuid.uuid4()),
            "source_number": source_number,
            "destination_number": self.inbound_number,
            "message": message,
            "date_received": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return self._post(self.inbound_callback_url, token or self.inbound_callback_token, payload)

    def _post(
        self, url: str | None, token: str | None, payload: Mapping[str, Any]
    ) -> httpx.Response:
        if not url or not token:
            raise RuntimeError("no callback URL or token configured")
        client = self.callback_client or httpx.Client(timeout=10)
        try:
            return client.post(url, json=payload, headers={"Authorization": f"Bearer {token}"})
        finally:
            if self.callback_client is None:
                client.close()


def load_config(path: Path) -> NotifyStandin:
    """The stand-in from a JSON file: service_id, secret, templates [{id, type, body,
    subject}], the callback URLs and tokens."""
    raw = json.loads(path.read_text())
    templates = {
        t["id"]: StandinTemplate(t["id"], t["type"], t["body"], t.get("subject", ""))
        for t in raw["templates"]
    }
    return NotifyStandin(
        service_id=raw["service_id"],
        secret=raw["secret"],
        templates=templates,
        status_callback_url=raw.get("status_callback_url"),
        status_callback_token=raw.get("status_callback_token"),
        inbound_callback_url=raw.get("inbound_callback_url"),
        inbound_callback_token=raw.get("inbound_callback_token"),
        auto_deliver=bool(raw.get("auto_deliver", False)),
    )


def default_templates(ids: Sequence[str]) -> list[dict[str, str]]:
    """The three ``((body))`` templates DampWatch sends through (sms, letter, email)."""
    sms, letter, email = ids
    return [
        {"id": sms, "type": "sms", "body": "((body))"},
        {"id": letter, "type": "letter", "subject": "((subject))", "body": "((body))"},
        {"id": email, "type": "email", "subject": "((subject))", "body": "((body))"},
    ]


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description="a stand-in GOV.UK Notify API")
    parser.add_argument("config", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    standin = load_config(args.config)
    uvicorn.run(standin.app(), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
