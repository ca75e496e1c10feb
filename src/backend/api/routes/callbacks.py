"""GOV.UK Notify's callbacks: delivery receipts and received texts.

Notify calls these, not a user: each carries ``Authorization: Bearer TOKEN`` with the
token set for it in Notify (``notify_status_token``, ``notify_inbound_token``), checked
in constant time. No token, or a wrong one, or none configured: 401. The body is
validated; what it holds is handed to the message rules (``app.state.notify_callbacks``,
wired by the composition root). A phone number in a body is neither logged nor
answered back.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from backend.api.schemas import BAD_BODY, ERRORS, ErrorPublic
from backend.deps import SessionDep, SettingsDep
from dampwatch_core.models import utcnow
from dampwatch_core.notify_callbacks import DeliveryReceipt, NotifyCallbacks, ReceivedText

__all__ = ["CALLBACKS_PREFIX", "router"]

log = logging.getLogger(__name__)

CALLBACKS_PREFIX = "/api/v1/callbacks/notify"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="notify",
    description="The bearer token set for this callback in Notify.",
)
_REFUSALS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic, "description": "No bearer token, or not the callback's"},
    404: {"model": ErrorPublic, "description": "No message has that notification id"},
}

router = APIRouter(
    prefix=CALLBACKS_PREFIX, tags=["callbacks"], responses={**ERRORS, **BAD_BODY, **_REFUSALS}
)


def _check(credentials: HTTPAuthorizationCredentials | None, expected: SecretStr | None) -> None:
    if expected is None or not expected.get_secret_value():
        raise HTTPException(401, "this callback's bearer token is not configured")
    given = credentials.credentials if credentials is not None else ""
    if not given or not hmac.compare_digest(
        given.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        raise HTTPException(401, "the callback's bearer token is missing or wrong")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _handler(request: Request) -> NotifyCallbacks:
    handler: NotifyCallbacks | None = getattr(request.app.state, "notify_callbacks", None)
    if handler is None:
        raise HTTPException(503, "Notify callbacks are not configured")
    return handler


class NotifyStatusIn(BaseModel):
    """Notify's delivery receipt (fields DampWatch does not use are ignored)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    reference: str | None = Field(default=None, max_length=1000)
    status: str = Field(min_length=1, max_length=32, pattern=r"^[a-z-]+$")
    completed_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    notification_type: Literal["sms", "letter", "email"] | None = None


class NotifyInboundIn(BaseModel):
    """A received text as Notify forwards it."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    source_number: str = Field(min_length=1, max_length=32)
    destination_number: str | None = Field(default=None, max_length=32)
    message: str = Field(max_length=2000)
    date_received: dt.datetime


class CallbackAck(BaseModel):
    ok: bool
    action: str


def _aware(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return utcnow()
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@router.post("/status")
def delivery_status(
    request: Request,
    body: NotifyStatusIn,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Credentials,
) -> CallbackAck:
    _check(credentials, settings.notify_status_token)
    handler = _handler(request)
    receipt = DeliveryReceipt(
        notify_id=body.id,
        reference=body.reference,
        status=body.status,
        at=_aware(body.completed_at or body.sent_at or body.created_at),
    )
    with session.begin():
        known = handler.delivery_status(session, receipt)
    if not known:
        raise HTTPException(404, "no message has that notification id")
    return CallbackAck(ok=True, action="status_recorded")


@router.post("/inbound")
def received_text(
    request: Request,
    body: NotifyInboundIn,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Credentials,
) -> CallbackAck:
    _check(credentials, settings.notify_inbound_token)
    handler = _handler(request)
    text = ReceivedText(
        notify_id=body.id,
        source_number=body.source_number,
        content=body.message,
        received_at=_aware(body.date_received),
    )
    with session.begin():
        action = handler.received_text(session, text)
    log.info("received text %s: %s", body.id, action)
    return CallbackAck(ok=True, action=action)
