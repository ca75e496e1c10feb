"""Reading a tenant's reply to a text: STOP, HELP, a report of a problem, or anything else.

Notify does not act on "STOP" for texts: the service must. A reply counts as a stop
request when, ignoring case, spaces and punctuation, it is one of the words people and
networks use for it (STOP, STOP ALL, UNSUBSCRIBE, END, QUIT, CANCEL, STOPALL, OPT OUT,
and the Welsh "STOPIO" / "DIM"), optionally followed by a few more words ("stop please",
"STOP texting me"). "Don't stop" or a sentence that merely contains "stop" later on is
not a stop request: the first word decides. A reply that mentions damp, mould, a leak,
condensation or cold is a *report*, which opens a case for triage when none is open.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["ReplyKind", "classify_reply"]


class ReplyKind(StrEnum):
    STOP = "stop"
    HELP = "help"
    REPORT = "report"
    OTHER = "other"


_STOP_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "end",
        "quit",
        "cancel",
        "optout",
        "stopio",
        "dim",
    }
)
_HELP_WORDS = frozenset({"help", "info", "cymorth"})
_PROBLEM = re.compile(
    r"\b(damp\w*|mou?ld\w*|leak\w*|condensation|wet|cold\w*|freezing|black spots?|"
    r"no heat(ing)?|lleithder|llwydni|oer|dim gwres)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z]+")


def classify_reply(text: str) -> ReplyKind:
    """What a tenant's reply asks for. The first word decides STOP and HELP."""
    words = _WORD.findall(text.casefold())
    if not words:
        return ReplyKind.OTHER
    first = words[0]
    joined = "".join(words[:2])
    if first in _STOP_WORDS or joined == "optout":
        # "end" and "dim" are ordinary words too: only a short reply is a stop request.
        if first in {"end", "dim"} and len(words) > 2:
            return _report_or_other(text)
        return ReplyKind.STOP
    if first in _HELP_WORDS and len(words) <= 3:
        return ReplyKind.HELP
    return _report_or_other(text)


def _report_or_other(text: str) -> ReplyKind:
    return ReplyKind.REPORT if _PROBLEM.search(text) else ReplyKind.OTHER
