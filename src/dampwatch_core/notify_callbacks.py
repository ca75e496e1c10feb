"""What GOV.UK Notify tells DampWatch through its callbacks, and the interface the API
hands it to. The API (``backend``) receives the callbacks and checks their bearer
tokens; the message rules (``alerting``) act on them; the composition root wires an
implementation of :class:`NotifyCallbacks` into the app. Neither package imports the
other."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

__all__ = ["DeliveryReceipt", "NotifyCallbacks", "ReceivedText"]


@dataclass(frozen=True)
class DeliveryReceipt:
    """Notify's delivery status of one notification."""

    notify_id: str
    reference: str | None
    status: str
    at: dt.datetime


@dataclass(frozen=True)
class ReceivedText:
    """A text a tenant sent to the service's number. ``source_number`` is personal
    data: it is matched to a tenant and not kept, nor logged."""

    notify_id: str
    source_number: str
    content: str
    received_at: dt.datetime


class NotifyCallbacks(Protocol):
    def delivery_status(self, session: Session, receipt: DeliveryReceipt) -> bool:
        """Record the status; False when no message has that id (in the caller's
        transaction)."""
        ...

    def received_text(self, session: Session, text: ReceivedText) -> str:
        """Act on the reply; returns what was done (for the answer, no personal data)."""
        ...
