"""Referrals to a partner that takes them by email (an advice charity, the council's
affordable-warmth team), sent through GOV.UK Notify's email.

The outbox row (channel ``email``, no contractor) holds the partner's address and the
``dampwatch-referral/1`` payload (``alerting.referrals``): what the referral needs and
nothing more. This channel renders it as plain text, one field a line, and sends it
with the landlord's email template (``((subject))``/``((body))``); Notify's
``reference`` is the outbox message's id, which carries no personal data. Notify's
refusals are final unless it was down or rate-limiting (then the outbox retries).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from alerting.channels import DeliveryOutcome, DeliveryResult, OutboundMessage
from alerting.channels.notify import Notifier, NotifyError

__all__ = ["PartnerEmailChannel", "referral_email"]

_HOUSEHOLD_FIELDS = (
    ("name", "Name"),
    ("preferred_language", "Preferred language"),
    ("preferred_channel", "Prefers to be reached by"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("address", "Address"),
    ("postcode", "Postcode"),
)


def referral_email(referral: Mapping[str, Any]) -> tuple[str, str]:
    """The subject and plain-text body of a referral (pure)."""
    landlord = referral.get("landlord") or {}
    household = referral.get("household") or {}
    subject = f"Referral {referral['referral_reference']} from {landlord.get('name', 'us')}"
    lines = [
        f"Referral {referral['referral_reference']} (our case {referral['case_reference']}),"
        f" made {referral['referred_at']} with the tenant's consent to be referred to you.",
        "",
        f"Why: {referral.get('reason') or 'not given'}",
        "",
        "Household:",
    ]
    lines += [
        f"- {label}: {household[key]}" for key, label in _HOUSEHOLD_FIELDS if household.get(key)
    ]
    if landlord.get("contact"):
        lines += ["", f"Questions about this referral: {landlord['contact']}"]
    return subject, "\n".join(lines)


class PartnerEmailChannel:
    """The outbox's channel for ``email`` rows: partners' referrals through Notify."""

    def __init__(self, notifier: Notifier, template_id: str) -> None:
        self._notifier = notifier
        self._template_id = template_id

    def send(self, message: OutboundMessage) -> DeliveryResult:
        try:
            body = json.loads(message.body)
            to = str(body["to"])
            subject, text = referral_email(body["referral"])
        except (ValueError, KeyError, TypeError):
            return DeliveryResult(DeliveryOutcome.REJECTED, error="not a partner's referral")
        try:
            self._notifier.send_email(
                to, self._template_id, {"subject": subject, "body": text}, message.message_id
            )
        except NotifyError as exc:
            outcome = DeliveryOutcome.RETRY if exc.retryable else DeliveryOutcome.REJECTED
            return DeliveryResult(outcome, status_code=exc.status_code, error=str(exc))
        return DeliveryResult(DeliveryOutcome.DELIVERED, status_code=201)
