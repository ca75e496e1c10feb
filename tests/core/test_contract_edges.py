"""The wire contract at the edges of each rule, and the reason code each break gives
(written from mutation testing's survivors: every boundary and every code is pinned)."""

from __future__ import annotations

import json

import pytest

from dampwatch_core.contract import (
    MAX_COUNTER,
    MAX_FUTURE_S,
    MAX_READINGS,
    Reading,
    encode_telemetry,
    parse_status,
    parse_telemetry,
)
from dampwatch_core.errors import ContractError

NOW = 1_764_500_000


def _telemetry(**fields: object) -> bytes:
    body: dict[str, object] = {"v": 1, "seq": 7, "readings": [{"ts": NOW - 60, "temp_c": 20.5,
                                                               "rh_pct": 55.0}]}
    body.update(fields)
    return json.dumps(body).encode()


def _reason(payload: bytes, **kw: float) -> str:
    with pytest.raises(ContractError) as info:
        parse_telemetry(payload, now=NOW, **kw)
    return info.value.reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"v": "1"}, "wrong_type"),
        ({"v": 2}, "bad_version"),
        ({"seq": "7"}, "wrong_type"),
        ({"seq": 7.5}, "wrong_type"),
        ({"seq": True}, "wrong_type"),
        ({"fw": 12}, "wrong_type"),
        ({"readings": [5]}, "wrong_type"),
        ({"readings": [{"ts": "x", "temp_c": 20, "rh_pct": 50}]}, "wrong_type"),
    ],
)
def test_each_wrong_type_has_its_code(fields: dict[str, object], reason: str) -> None:
    payload = _telemetry(**fields)
    try:
        parse_telemetry(payload, now=NOW)
    except ContractError as exc:
        assert exc.reason == reason, str(exc)
    else:  # a bad reading is rejected alone, with its own reason
        telemetry = parse_telemetry(payload, now=NOW)
        assert [r.reason for r in telemetry.rejected] == [reason]


def test_missing_version_and_fields() -> None:
    body = json.loads(_telemetry())
    del body["v"]
    assert _reason(json.dumps(body).encode()) == "missing_field"
    body = json.loads(_telemetry())
    del body["seq"]
    assert _reason(json.dumps(body).encode()) == "missing_field"


@pytest.mark.parametrize("seq", [0, 1, MAX_COUNTER])
def test_seq_bounds_inclusive(seq: int) -> None:
    assert parse_telemetry(_telemetry(seq=seq), now=NOW).seq == seq


def test_seq_just_outside() -> None:
    assert _reason(_telemetry(seq=-1)) == "out_of_range"
    assert _reason(_telemetry(seq=MAX_COUNTER + 1)) == "out_of_range"


def test_fw_length_edge() -> None:
    assert parse_telemetry(_telemetry(fw="x" * 32), now=NOW).fw == "x" * 32
    assert _reason(_telemetry(fw="x" * 33)) == "out_of_range"


def _readings(n: int) -> list[dict[str, float]]:
    return [{"ts": NOW - 600 + i, "temp_c": 20.0, "rh_pct": 50.0} for i in range(n)]


def test_readings_count_edge() -> None:
    full = parse_telemetry(_telemetry(readings=_readings(MAX_READINGS)), now=NOW)
    assert len(full.readings) == 64
    assert _reason(_telemetry(readings=_readings(MAX_READINGS + 1))) == "too_many_readings"


def test_reading_time_edges() -> None:
    at_future = _telemetry(readings=[{"ts": NOW + MAX_FUTURE_S, "temp_c": 20, "rh_pct": 50}])
    assert len(parse_telemetry(at_future, now=NOW).readings) == 1
    past = _telemetry(readings=[{"ts": NOW + MAX_FUTURE_S + 1, "temp_c": 20, "rh_pct": 50}])
    assert [r.reason for r in parse_telemetry(past, now=NOW).rejected] == ["future_ts"]
    oldest = _telemetry(readings=[{"ts": NOW - 3600, "temp_c": 20, "rh_pct": 50}])
    assert len(parse_telemetry(oldest, now=NOW, max_age_s=3600).readings) == 1
    older = _telemetry(readings=[{"ts": NOW - 3601, "temp_c": 20, "rh_pct": 50}])
    assert [r.reason for r in parse_telemetry(older, now=NOW, max_age_s=3600).rejected] == [
        "stale_ts"]


@pytest.mark.parametrize(("value", "kept"), [(0, 0), (MAX_COUNTER, MAX_COUNTER), (-1, None),
                                             (MAX_COUNTER + 1, None), (True, None), ("3", None)])
def test_firmware_counters_kept_only_in_range(value: object, kept: int | None) -> None:
    status = parse_status(json.dumps({"v": 1, "state": "online", "drops": value, "buffered": value,
                                      "sensor_failures": value}))
    assert (status.drops, status.buffered, status.sensor_failures) == (kept, kept, kept)


def test_status_boot_edges() -> None:
    top = parse_status(json.dumps({"v": 1, "state": "online", "boot": MAX_COUNTER}))
    assert top.boot == MAX_COUNTER
    assert parse_status(json.dumps({"v": 1, "state": "online", "boot": 0})).boot == 0
    with pytest.raises(ContractError) as info:
        parse_status(json.dumps({"v": 1, "state": "online", "boot": MAX_COUNTER + 1}))
    assert info.value.reason == "out_of_range"


def test_encoding_is_compact_and_bounded() -> None:
    one = Reading(ts=NOW - 60, temp_c=20.123, rh_pct=55.55)
    payload = encode_telemetry(3, [one])
    assert b" " not in payload
    assert json.loads(payload)["readings"][0]["temp_c"] == 20.12
    assert len(parse_telemetry(encode_telemetry(3, [one] * MAX_READINGS), now=NOW).readings) == 64
    with pytest.raises(ContractError) as info:
        encode_telemetry(3, [one] * (MAX_READINGS + 1))
    assert info.value.reason == "too_many_readings"
    with pytest.raises(ContractError) as info:
        encode_telemetry(3, [])
    assert info.value.reason == "too_many_readings"


def _sent(sent: int, ts: int) -> bytes:
    return encode_telemetry(1, [Reading(ts, 20.0, 50.0)], sent=sent)


def test_a_fast_clock_is_corrected_whenever_the_connection_began() -> None:
    got = parse_telemetry(_sent(NOW + 1800, NOW + 1700), now=NOW, live_since=NOW - 5)
    assert got.clock_offset_s == 1800 and [r.ts for r in got.readings] == [NOW - 100]


def test_a_slow_looking_clock_is_corrected_only_if_the_connection_was_up_at_sent() -> None:
    # Connected since before the device says it sent: the lag is the clock's.
    live = parse_telemetry(_sent(NOW - 600, NOW - 700), now=NOW, live_since=NOW - 900)
    assert live.clock_offset_s == -600 and [r.ts for r in live.readings] == [NOW - 100]
    # Connected after: the broker may have held it for ten minutes; nothing is claimed.
    held = parse_telemetry(_sent(NOW - 600, NOW - 700), now=NOW, live_since=NOW - 5)
    assert held.clock_offset_s is None and [r.ts for r in held.readings] == [NOW - 700]
    # Within the tolerance the offset is kept either way, and nothing shifts.
    near = parse_telemetry(_sent(NOW - 30, NOW - 40), now=NOW, live_since=NOW - 5)
    assert near.clock_offset_s == -30 and [r.ts for r in near.readings] == [NOW - 40]
    # A receiver that does not know when it connected follows the plain rule.
    plain = parse_telemetry(_sent(NOW - 600, NOW - 700), now=NOW)
    assert plain.clock_offset_s == -600 and [r.ts for r in plain.readings] == [NOW - 100]
