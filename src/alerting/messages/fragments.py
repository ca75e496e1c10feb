"""How many text messages (fragments) an SMS costs, counted the way GOV.UK Notify does.

A text in the GSM 03.38 alphabet is sent 7-bit: 160 characters fit in one message, and
a longer text is split into fragments of 153 (the rest carries the joining header).
Characters of the GSM extension table (``[]{}^\\|~€`` and the form feed) are sent as an
escape plus the character, so they count twice. Any other character switches the whole
text to Unicode (UCS-2): 70 characters in one message, 67 per fragment after that; a
character outside the Basic Multilingual Plane (most emoji) takes two UCS-2 units.

Before counting, Notify replaces a few look-alike characters with their GSM
equivalents (dashes, curly quotes, the ellipsis) and drops invisible ones, so that a
template pasted from a word processor does not silently double its cost; this module
does the same (:func:`normalise`). Welsh letters with a circumflex (``ŵ ŷ`` and their
capitals, and the vowels Notify does not have in GSM, such as ``â``) make the message
Unicode. Notify refuses texts over 918 counted characters (6 fragments of 153).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "MAX_GSM_LENGTH",
    "Encoding",
    "SmsLength",
    "count",
    "normalise",
]

# GSM 03.38 default alphabet (the characters a 7-bit text may hold, one unit each).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: an escape character then the character, two units each.
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

#: Look-alikes replaced before counting, as Notify does.
_REPLACEMENTS = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2026": "...",  # horizontal ellipsis
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00a0": " ",  # no-break space
    "\t": " ",
}
#: Invisible characters dropped before counting.
_DROPPED = frozenset("\u180e\u200b\u200c\u200d\u2060\ufeff")

SINGLE_GSM, FRAGMENT_GSM = 160, 153
SINGLE_UNICODE, FRAGMENT_UNICODE = 70, 67
#: The longest text Notify sends, in counted characters (6 GSM fragments).
MAX_GSM_LENGTH = 6 * FRAGMENT_GSM


class Encoding(StrEnum):
    GSM = "gsm"
    UNICODE = "unicode"


@dataclass(frozen=True)
class SmsLength:
    """A text's encoding, its length in counted units, and its fragments."""

    encoding: Encoding
    units: int
    fragments: int
    #: the characters that forced Unicode (empty for GSM), in order of appearance
    unicode_because: str

    @property
    def too_long(self) -> bool:
        return self.units > MAX_GSM_LENGTH


def normalise(text: str) -> str:
    """The text as it would be sent: look-alikes replaced, invisible characters dropped."""
    return "".join(_REPLACEMENTS.get(ch, ch) for ch in text if ch not in _DROPPED)


def count(text: str) -> SmsLength:
    """Encoding, counted length and number of fragments of an SMS body."""
    body = normalise(text)
    non_gsm = [ch for ch in body if ch not in _GSM_BASIC and ch not in _GSM_EXTENDED]
    if not non_gsm:
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        single, fragment, encoding = SINGLE_GSM, FRAGMENT_GSM, Encoding.GSM
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in body)
        single, fragment, encoding = SINGLE_UNICODE, FRAGMENT_UNICODE, Encoding.UNICODE
    fragments = 1 if units <= single else math.ceil(units / fragment)
    because = "".join(dict.fromkeys(non_gsm))
    return SmsLength(encoding=encoding, units=units, fragments=fragments, unicode_because=because)
