"""Signed webhooks (Standard Webhooks): POST the message body with ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` headers, signed with the endpoint's
``whsec_`` secret by the ``standardwebhooks`` library. The HTTP client is injected.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks.webhooks import Webhook

from alerting.channels import DeliveryOutcome, DeliveryResult, OutboundMessage

__all__ = ["WebhookChannel", "new_secret", "parse_retry_after", "signed_headers"]

log = logging.getLogger(__name__)

#: Status codes after which a retry can help, besides 5xx.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def new_secret() -> str:
    """A fresh endpoint secret in the Standard Webhooks form: ``whsec_`` + base64 of 32
    random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def signed_headers(message: OutboundMessage, at: dt.datetime) -> dict[str, str]:
    """The headers of one attempt: the id is the message's, the timestamp and the
    signature are the attempt's."""
    at = at.astimezone(dt.UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(message.secret).sign(message.message_id, at, message.body),
    }


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


class WebhookChannel:
    """Sends outbox messages as signed POSTs with ``client`` (an ``httpx.Client``
    whose timeout bounds each attempt)."""

    def __init__(
        self, client: httpx.Client, *, clock: Callable[[], dt.datetime] = _utcnow
    ) -> None:
        self._client = client
        self._clock = clock

    def send(self, message: OutboundMessage) -> DeliveryResult:
        now = self._clock()
        try:
            response = self._client.post(
                message.url,
                content=message.body.encode("utf-8"),
                headers=signed_headers(message, now),
            )
        except httpx.TimeoutException as exc:
            return DeliveryResult(DeliveryOutcome.RETRY, error=f"timed out: {exc!r}")
        except httpx.HTTPError as exc:
            return DeliveryResult(DeliveryOutcome.RETRY, error=f"could not connect: {exc!r}")
        code = response.status_code
        if 200 <= code < 300:
            return DeliveryResult(DeliveryOutcome.DELIVERED, status_code=code)
        snippet = response.text[:200]
        if code == 410:
            return DeliveryResult(DeliveryOutcome.GONE, status_code=code, error="410 Gone")
        if code >= 500 or code in _RETRYABLE_4XX:
            return DeliveryResult(
                DeliveryOutcome.RETRY,
                status_code=code,
                retry_after=parse_retry_after(response.headers.get("retry-after"), now),
                error=f"HTTP {code}: {snippet}",
            )
        return DeliveryResult(
            DeliveryOutcome.REJECTED, status_code=code, error=f"HTTP {code}: {snippet}"
        )
