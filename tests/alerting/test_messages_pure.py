"""SMS length, replies and quiet hours: worked answers."""

from __future__ import annotations

import datetime as dt

import pytest

from alerting.messages.fragments import MAX_GSM_LENGTH, Encoding, count, normalise
from alerting.messages.quiet_hours import earliest_send, next_tip_time
from alerting.messages.replies import ReplyKind, classify_reply

UTC = dt.UTC


@pytest.mark.parametrize(
    ("length", "fragments"),
    [
        (1, 1),
        (160, 1),
        (161, 2),
        (306, 2),
        (307, 3),
        (459, 3),
        (460, 4),
        (612, 4),
        (765, 5),
        (918, 6),
        (919, 7),
    ],
)
def test_gsm_fragments_at_each_boundary(length: int, fragments: int) -> None:
    got = count("a" * length)
    assert (got.encoding, got.units, got.fragments) == (Encoding.GSM, length, fragments)
    assert got.too_long == (length > MAX_GSM_LENGTH)


@pytest.mark.parametrize("char", list("[]{}^\\|~€"))
def test_extension_characters_count_twice(char: str) -> None:
    assert count("a" * 158 + char).units == 160
    assert count("a" * 158 + char).fragments == 1
    assert count("a" * 159 + char).fragments == 2


@pytest.mark.parametrize(
    ("length", "fragments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_unicode_fragments_at_each_boundary(length: int, fragments: int) -> None:
    got = count("ŵ" + "a" * (length - 1))
    assert (got.encoding, got.units, got.fragments) == (Encoding.UNICODE, length, fragments)


def test_welsh_and_accents() -> None:
    # Accented letters of the GSM alphabet stay GSM; Welsh circumflexes go Unicode.
    assert count("Äpfel, café, città, Müller, éè").encoding is Encoding.GSM
    welsh = count(
        "Mae'r aer yn eich ystafell wely wedi bod yn llaith iawn. "
        "Diolch yn fawr, ŷch chi'n iawn? ŵyr"
    )
    assert welsh.encoding is Encoding.UNICODE and welsh.unicode_because == "ŷŵ"
    assert count("Tŷ").unicode_because == "ŷ"
    assert count("â").encoding is Encoding.UNICODE
    # An emoji outside the BMP takes two UCS-2 units.
    assert count("ok 👍").units == 5
    assert count("\U00010000").units == 2  # the first character past the BMP


def test_look_alikes_are_replaced_before_counting() -> None:
    pasted = "We\u2019ve booked an inspection \u2013 call us\u2026\u200b"
    assert normalise(pasted) == "We've booked an inspection - call us..."
    got = count(pasted)
    assert got.encoding is Encoding.GSM and got.units == len(
        "We've booked an inspection - call us..."
    )


@pytest.mark.parametrize(
    "reply",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOP ALL",
        "stop all",
        "Stopall",
        "UNSUBSCRIBE",
        "End",
        "QUIT",
        "cancel",
        "Opt out",
        "OPT-OUT",
        "stop please",
        "STOP texting me",
        "Stopio",
        "dim",
        "STOP!!!",
    ],
)
def test_stop_variants(reply: str) -> None:
    assert classify_reply(reply) is ReplyKind.STOP


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("HELP", ReplyKind.HELP),
        ("help me", ReplyKind.HELP),
        ("help me please", ReplyKind.HELP),
        ("help, my flat has mould", ReplyKind.REPORT),
        ("help me please thanks", ReplyKind.OTHER),
        ("end messages", ReplyKind.STOP),
        ("end these messages", ReplyKind.OTHER),
        ("dim diolch", ReplyKind.STOP),
        ("dim gwres yn y fflat", ReplyKind.REPORT),
        ("dim byd", ReplyKind.STOP),
        ("dim byd i ddweud", ReplyKind.OTHER),
        ("opt out now please", ReplyKind.STOP),
        ("opt in", ReplyKind.OTHER),
        ("Mould in the bedroom again", ReplyKind.REPORT),
        ("there's black spots on the wall", ReplyKind.REPORT),
        ("the flat is freezing", ReplyKind.REPORT),
        ("Leaking ceiling", ReplyKind.REPORT),
        ("end of the bedroom wall is damp", ReplyKind.REPORT),
        ("please don't stop the messages", ReplyKind.OTHER),
        ("thanks", ReplyKind.OTHER),
        ("", ReplyKind.OTHER),
        ("👍", ReplyKind.OTHER),
        ("Colder than ever in here", ReplyKind.REPORT),
    ],
)
def test_other_replies(reply: str, kind: ReplyKind) -> None:
    assert classify_reply(reply) is kind


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        # Winter (GMT): 08:59 waits to 09:00, 09:00 goes, 19:59 goes, 20:00 waits.
        (dt.datetime(2026, 1, 14, 8, 59, tzinfo=UTC), dt.datetime(2026, 1, 14, 9, 0, tzinfo=UTC)),
        (dt.datetime(2026, 1, 14, 9, 0, tzinfo=UTC), dt.datetime(2026, 1, 14, 9, 0, tzinfo=UTC)),
        (
            dt.datetime(2026, 1, 14, 19, 59, tzinfo=UTC),
            dt.datetime(2026, 1, 14, 19, 59, tzinfo=UTC),
        ),
        (dt.datetime(2026, 1, 14, 20, 0, tzinfo=UTC), dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
        (dt.datetime(2026, 1, 14, 23, 30, tzinfo=UTC), dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
        # Summer (BST): 19:30 UTC is 20:30 in London, so it waits to 08:00 UTC.
        (dt.datetime(2026, 6, 10, 19, 30, tzinfo=UTC), dt.datetime(2026, 6, 11, 8, 0, tzinfo=UTC)),
        (dt.datetime(2026, 6, 10, 7, 30, tzinfo=UTC), dt.datetime(2026, 6, 10, 8, 0, tzinfo=UTC)),
        (dt.datetime(2026, 6, 10, 8, 0, tzinfo=UTC), dt.datetime(2026, 6, 10, 8, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours(due: dt.datetime, expected: dt.datetime) -> None:
    assert earliest_send(due) == expected


def test_tips_wait_a_week_then_business_hours() -> None:
    last = dt.datetime(2026, 1, 7, 19, 0, tzinfo=UTC)  # a Wednesday evening
    assert next_tip_time(dt.datetime(2026, 1, 9, 10, 0, tzinfo=UTC), last) == dt.datetime(
        2026, 1, 14, 19, 0, tzinfo=UTC
    )
    late = dt.datetime(2026, 1, 7, 19, 30, tzinfo=UTC)
    assert next_tip_time(dt.datetime(2026, 1, 8, 10, 0, tzinfo=UTC), late) == dt.datetime(
        2026, 1, 14, 19, 30, tzinfo=UTC
    )
    evening = dt.datetime(2026, 1, 7, 19, 59, 30, tzinfo=UTC)
    assert next_tip_time(dt.datetime(2026, 1, 8, 10, 0, tzinfo=UTC), evening) == dt.datetime(
        2026, 1, 14, 19, 59, 30, tzinfo=UTC
    )
    assert next_tip_time(dt.datetime(2026, 1, 20, 21, 0, tzinfo=UTC), last) == dt.datetime(
        2026, 1, 21, 9, 0, tzinfo=UTC
    )
    assert next_tip_time(dt.datetime(2026, 1, 20, 10, 0, tzinfo=UTC), None) == dt.datetime(
        2026, 1, 20, 10, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="time zone"):
        earliest_send(dt.datetime(2026, 1, 20, 10, 0))
