"""Which tip a flat's findings call for. Pure: no I/O.

Cold comes first: a household that may be under-heating gets warmth and money-support
signposting (Warm Home Discount, the supplier's hardship fund, the landlord's advice
line), never advice that costs heat such as airing the rooms; damp alone gets a damp
tip. Tips rotate, so a tenant does not get the same one week after week. A tenant with
no mobile number gets the tip by letter.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["TIP_SERIES", "TipKind", "choose_tip", "tip_kind_for"]


class TipKind(StrEnum):
    DAMP = "damp"
    COLD = "cold"


#: template keys per kind and channel, in the order they are sent
TIP_SERIES: dict[tuple[TipKind, str], tuple[str, ...]] = {
    (TipKind.DAMP, "sms"): ("tip.damp.air", "tip.damp.walls"),
    (TipKind.COLD, "sms"): ("tip.cold.warmth", "tip.cold.money"),
    (TipKind.DAMP, "letter"): ("tip.damp.letter",),
    (TipKind.COLD, "letter"): ("tip.cold.letter",),
}


def tip_kind_for(kinds: Iterable[str]) -> TipKind | None:
    """The tip for a flat whose raised findings are of ``kinds`` (``damp``, ``cold``,
    others ignored); None when neither."""
    seen = set(kinds)
    if TipKind.COLD.value in seen:
        return TipKind.COLD
    if TipKind.DAMP.value in seen:
        return TipKind.DAMP
    return None


def choose_tip(kind: TipKind, channel: str, tips_sent_before: int) -> str:
    """The template key of the next tip of ``kind`` by ``channel`` (``sms`` or
    ``letter``), rotating through the series."""
    series = TIP_SERIES[(kind, channel)]
    return series[tips_sent_before % len(series)]
