"""Channels: how an outbox message leaves DampWatch. A channel sends one message and
says what happened (delivered, retry later, endpoint gone, rejected); the outbox
decides what to do about it.

Each outbox row names its channel (``webhook``: a contractor's signed endpoint;
``officer_webhook``: the officers' incoming webhook); a :class:`ChannelRouter` hands
each message to the channel of that name, so a new channel (email) is one more entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = [
    "CONTRACTOR_WEBHOOK",
    "NOTIFY",
    "OFFICER_WEBHOOK",
    "PARTNER_EMAIL",
    "Channel",
    "ChannelRouter",
    "DeliveryOutcome",
    "DeliveryResult",
    "OutboundMessage",
]

#: the channel names outbox rows carry
CONTRACTOR_WEBHOOK = "webhook"
OFFICER_WEBHOOK = "officer_webhook"
NOTIFY = "notify"
PARTNER_EMAIL = "email"


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
    url: str  # the contractor's endpoint; empty for a channel with its own address
    secret: str  # the contractor's signing secret; empty likewise
    channel: str = CONTRACTOR_WEBHOOK


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    status_code: int | None = None
    #: seconds the endpoint asked us to wait (``Retry-After``), if it did
    retry_after: float | None = None
    error: str | None = None


class Channel(Protocol):
    def send(self, message: OutboundMessage) -> DeliveryResult: ...


class ChannelRouter:
    """A :class:`Channel` that sends each message through the channel its row names;
    a message for a channel that is not configured here is rejected (failed, with the
    reason, and replayable once the channel is configured)."""

    def __init__(self, channels: Mapping[str, Channel]) -> None:
        self._channels = dict(channels)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._channels)

    def send(self, message: OutboundMessage) -> DeliveryResult:
        channel = self._channels.get(message.channel)
        if channel is None:
            return DeliveryResult(
                DeliveryOutcome.REJECTED,
                error=f"no {message.channel!r} channel is configured for this dispatcher",
            )
        return channel.send(message)
