"""Channels: how an outbox message leaves DampWatch. A channel sends one message and
says what happened (delivered, retry later, endpoint gone, rejected); the outbox
decides what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["Channel", "DeliveryOutcome", "DeliveryResult", "OutboundMessage"]


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # a retry may help (timeout, 5xx, 429, connection refused)
    GONE = "gone"  # the endpoint says it is gone for good (410): disable it
    REJECTED = "rejected"  # the endpoint refused this message (other 4xx): do not retry


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    message_id: str  # the same on every attempt: the receiver's idempotency key
    event_type: str
    body: str  # the exact JSON text sent and signed
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    status_code: int | None = None
    #: seconds the endpoint asked us to wait (``Retry-After``), if it did
    retry_after: float | None = None
    error: str | None = None


class Channel(Protocol):
    def send(self, message: OutboundMessage) -> DeliveryResult: ...
