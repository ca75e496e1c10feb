"""The officers' channel: a Teams/Slack-style incoming webhook. The message body (JSON
with a ``text`` field, as both accept) is POSTed to the one configured URL; the URL
itself is the credential, so it is never logged. The HTTP client is injected."""

from __future__ import annotations

import logging

import httpx

from alerting.channels import DeliveryOutcome, DeliveryResult, OutboundMessage
from alerting.channels.webhook import parse_retry_after
from dampwatch_core.models import utcnow

__all__ = ["IncomingWebhookChannel"]

log = logging.getLogger(__name__)


class IncomingWebhookChannel:
    """Sends officers' notices to ``url`` with ``client``."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the officers' webhook URL must be http(s)")
        self._client = client
        self._url = url

    def send(self, message: OutboundMessage) -> DeliveryResult:
        try:
            response = self._client.post(
                self._url,
                content=message.body.encode("utf-8"),
                headers={"content-type": "application/json"},
            )
        except httpx.TimeoutException:
            return DeliveryResult(DeliveryOutcome.RETRY, error="timed out")
        except httpx.HTTPError as exc:
            # the exception's text can hold the URL (its token): only its kind
            return DeliveryResult(
                DeliveryOutcome.RETRY, error=f"could not connect ({type(exc).__name__})"
            )
        code = response.status_code
        if 200 <= code < 300:
            return DeliveryResult(DeliveryOutcome.DELIVERED, status_code=code)
        if code >= 500 or code in (408, 425, 429):
            return DeliveryResult(
                DeliveryOutcome.RETRY,
                status_code=code,
                retry_after=parse_retry_after(response.headers.get("retry-after"), utcnow()),
                error=f"HTTP {code}",
            )
        # 404/410 from a chat service: the webhook was removed; not disabled here
        # (there is no contractor row), failed and replayable once it is fixed
        return DeliveryResult(
            DeliveryOutcome.REJECTED, status_code=code, error=f"HTTP {code}: {response.text[:200]}"
        )
