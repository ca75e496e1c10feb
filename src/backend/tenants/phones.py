"""UK phone numbers, read with Google's libphonenumber (the ``phonenumbers`` port):
normalised to E.164 and known as mobile or not, since only a mobile receives SMS.
Pure: no I/O. Error messages never repeat the number."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from backend.tenants.errors import TenantInputError

__all__ = ["UkPhone", "parse_uk_phone"]

_UK_COUNTRY_CODE = 44
#: types that can take an SMS (a UK "personal number" 070 is not one)
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@dataclass(frozen=True, slots=True)
class UkPhone:
    e164: str
    is_mobile: bool

    def __repr__(self) -> str:
        return f"UkPhone(is_mobile={self.is_mobile}, ...)"


def parse_uk_phone(raw: str) -> UkPhone:
    """``07700 900123``, ``+44 7700 900123`` or ``0044...`` -> E.164; a number that is
    not a valid UK number (including one of another country) is refused."""
    text = raw.strip()
    if not text:
        raise TenantInputError("phone is empty")
    try:
        number = phonenumbers.parse(text, "GB")
    except NumberParseException:
        raise TenantInputError("phone is not a phone number") from None
    if number.country_code != _UK_COUNTRY_CODE:
        raise TenantInputError("phone is not a UK number (+44)")
    if not phonenumbers.is_valid_number(number):
        raise TenantInputError("phone is not a valid UK number (wrong length or range)")
    kind = phonenumbers.number_type(number)
    return UkPhone(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        kind in _MOBILE_TYPES,
    )
