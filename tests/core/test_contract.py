"""Every rule of the wire contract v1 and its clarifications, against golden payloads in
tests/data/contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dampwatch_core.contract import (
    DeviceConfig,
    Reading,
    config_topic,
    encode_config,
    encode_telemetry,
    is_valid_device_id,
    parse_config,
    parse_status,
    parse_telemetry,
    parse_topic,
    status_topic,
    telemetry_topic,
)
from dampwatch_core.errors import ContractError

DATA = Path(__file__).parent.parent / "data" / "contract"
CASES = json.loads((DATA / "cases.json").read_text())


@pytest.mark.parametrize("case", CASES["telemetry"], ids=lambda c: c["file"])
def test_golden_telemetry(case: dict) -> None:
    payload = (DATA / case["file"]).read_bytes()
    now = case.get("now", CASES["now"])
    if "error" in case:
        with pytest.raises(ContractError) as info:
            parse_telemetry(payload, now=now)
        assert info.value.reason == case["error"], str(info.value)
        return
    telemetry = parse_telemetry(payload, now=now)
    assert len(telemetry.readings) == case["readings"]
    assert [r.reason for r in telemetry.rejected] == case.get("rejected", [])
    if "ts" in case:  # stored times, corrected by ``sent`` where it is off by > 60 s
        assert [r.ts for r in telemetry.readings] == case["ts"]
    assert telemetry.clock_offset_s == case.get("clock_offset_s")


@pytest.mark.parametrize("case", CASES["status"], ids=lambda c: c["file"])
def test_golden_status(case: dict) -> None:
    payload = (DATA / case["file"]).read_bytes()
    if "error" in case:
        with pytest.raises(ContractError) as info:
            parse_status(payload)
        assert info.value.reason == case["error"], str(info.value)
        return
    status = parse_status(payload)
    for key in ("boot", "drops", "buffered", "sensor_failures"):
        if key in case:
            assert getattr(status, key) == case[key], key


@pytest.mark.parametrize(
    ("seq", "reason"),
    [(0, None), (2**32 - 1, None), (2**32, "out_of_range"), (2**63, "out_of_range")],
)
def test_seq_is_a_32_bit_counter(seq: int, reason: str | None) -> None:
    payload = encode_telemetry(seq, [Reading(CASES["now"], 20.0, 50.0)])
    if reason is None:
        assert parse_telemetry(payload, now=CASES["now"]).seq == seq
        return
    with pytest.raises(ContractError) as info:
        parse_telemetry(payload, now=CASES["now"])
    assert info.value.reason == reason


@pytest.mark.parametrize("char", [chr(c) for c in (*range(0x20), 0x7F)])
def test_no_control_character_in_any_string(char: str) -> None:
    fw = f"1.{char}0"
    with pytest.raises(ContractError) as info:
        parse_telemetry(
            encode_telemetry(1, [Reading(CASES["now"], 20.0, 50.0)], fw=fw), now=CASES["now"]
        )
    assert info.value.reason == "bad_string"
    for key in ("fw", "reset"):
        with pytest.raises(ContractError) as info:
            parse_status(json.dumps({"v": 1, "state": "online", key: fw}))
        assert info.value.reason == "bad_string", key


def test_firmware_counters_in_status_are_kept_when_sound_and_ignored_otherwise() -> None:
    """``drops``, ``buffered`` and ``sensor_failures`` are not v1 fields: a device may
    send anything there (unknown keys are ignored), so an odd value is dropped, never a
    reason to quarantine the status."""
    s = parse_status(b'{"v":1,"state":"online","drops":-1,"buffered":"x","sensor_failures":2}')
    assert (s.drops, s.buffered, s.sensor_failures) == (None, None, 2)
    s = parse_status(b'{"v":1,"state":"online","drops":4294967296,"buffered":true}')
    assert (s.drops, s.buffered, s.sensor_failures) == (None, None, None)


def test_full_example_values() -> None:
    t = parse_telemetry((DATA / "telemetry_full.json").read_bytes(), now=CASES["now"])
    assert (t.seq, t.fw, t.batt_mv, t.rssi_dbm) == (1042, "1.2.0", 2980, -67)
    assert t.readings[0] == Reading(1764201600, 19.52, 64.8, None)
    assert t.readings[1] == Reading(1764201900, 19.47, 65.1, 14.2)


def test_future_timestamp_limit_is_ten_minutes() -> None:
    now = 1_764_201_600
    ok = encode_telemetry(1, [Reading(now + 600, 20.0, 50.0)])
    assert len(parse_telemetry(ok, now=now).readings) == 1
    late = encode_telemetry(1, [Reading(now + 601, 20.0, 50.0), Reading(now, 20.0, 50.0)])
    t = parse_telemetry(late, now=now)
    assert [r.reason for r in t.rejected] == ["future_ts"]
    assert [r.ts for r in t.readings] == [now]


@pytest.mark.parametrize(
    ("offset", "shifted"),
    [(0, False), (60, False), (-60, False), (61, True), (-61, True), (1800, True), (-7200, True)],
)
def test_sent_beyond_60_s_shifts_every_reading(offset: int, shifted: bool) -> None:
    """A device clock ``offset`` s ahead of the receive time: beyond 60 s every reading
    moves back by the offset; within it nothing moves. The offset is recorded signed
    (device clock minus true time) either way."""
    now = 1_764_201_600
    device_ts = [now + offset - 600, now + offset]
    payload = encode_telemetry(1, [Reading(ts, 20.0, 50.0) for ts in device_ts], sent=now + offset)
    t = parse_telemetry(payload, now=now + 0.4)  # receive time need not be whole seconds
    assert t.sent == now + offset
    assert t.clock_offset_s == offset
    assert t.shift_s == (-offset if shifted else 0)
    expected = [now - 600, now] if shifted else device_ts
    assert [r.ts for r in t.readings] == expected
    assert t.rejected == ()


def test_no_sent_no_offset_and_no_shift() -> None:
    now = 1_764_201_600
    t = parse_telemetry(encode_telemetry(1, [Reading(now, 20.0, 50.0)]), now=now + 3600)
    assert (t.sent, t.clock_offset_s, t.shift_s) == (None, None, 0)
    assert [r.ts for r in t.readings] == [now]


def test_future_rule_applies_to_corrected_times() -> None:
    """30 min fast: a reading 10 min ahead by the device's clock is 20 min in the past,
    and one 11 min ahead after correction is still too far in the future."""
    now = 1_764_201_600
    sent = now + 1800
    payload = encode_telemetry(
        1, [Reading(sent + 600, 20.0, 50.0), Reading(sent + 660, 20.0, 50.0)], sent=sent
    )
    t = parse_telemetry(payload, now=now)
    assert [r.ts for r in t.readings] == [now + 600]
    assert [r.reason for r in t.rejected] == ["future_ts"]
    # a device 30 min slow: readings by its clock are in the past, corrected they are now
    slow = encode_telemetry(1, [Reading(now - 1800, 20.0, 50.0)], sent=now - 1800)
    assert [r.ts for r in parse_telemetry(slow, now=now).readings] == [now]


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("1764201600", "wrong_type"),
        (1.5, "wrong_type"),
        (True, "wrong_type"),
        (-1, "out_of_range"),
        (2**32, "out_of_range"),
    ],
)
def test_sent_wrong_type_or_out_of_range_is_a_violation(sent: object, reason: str) -> None:
    payload = json.dumps(
        {"v": 1, "seq": 1, "sent": sent, "readings": [{"ts": 1, "temp_c": 20, "rh_pct": 50}]}
    )
    with pytest.raises(ContractError) as info:
        parse_telemetry(payload, now=1_764_201_600)
    assert info.value.reason == reason


def test_stale_timestamp_against_retention_window() -> None:
    now = 1_764_201_600
    payload = encode_telemetry(
        1, [Reading(now - 3601, 20.0, 50.0), Reading(now - 3599, 20.0, 50.0)]
    )
    t = parse_telemetry(payload, now=now, max_age_s=3600)
    assert [r.reason for r in t.rejected] == ["stale_ts"]
    assert len(t.readings) == 1


def test_exactly_8_kib_is_accepted_and_one_more_byte_is_not() -> None:
    body = {"v": 1, "seq": 1, "readings": [{"ts": 1764201600, "temp_c": 20, "rh_pct": 50}]}
    raw = json.dumps(body)
    pad = 8192 - len(raw) - len(',"p":""')
    exact = raw[:-1] + ',"p":"' + "x" * pad + '"}'
    assert len(exact.encode()) == 8192
    assert parse_telemetry(exact, now=CASES["now"]).seq == 1
    with pytest.raises(ContractError, match="8192") as info:
        parse_telemetry(exact[:-2] + 'x"}', now=CASES["now"])
    assert info.value.reason == "too_large"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe{}", "not_utf8"),
        (b"[" * 5000 + b"]" * 5000, "too_large"),
        (b"[" * 4000 + b"]" * 4000, "not_json"),
        (b'{"v":1,"seq":1,"readings":[{"ts":1,"temp_c":Infinity,"rh_pct":5}]}', "not_finite"),
        (b'{"v":true,"seq":1,"readings":[]}', "wrong_type"),
        (b'{"v":1,"seq":true,"readings":[{"ts":1764201600,"temp_c":1,"rh_pct":5}]}', "wrong_type"),
        (b'"just a string"', "not_object"),
        (b"", "not_json"),
    ],
)
def test_hostile_payloads(payload: bytes, reason: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_telemetry(payload, now=CASES["now"])
    assert info.value.reason == reason


def test_encode_round_trip() -> None:
    readings = [Reading(1764201600, 19.5, 64.8), Reading(1764201900, 19.4, 65.1, 14.2)]
    payload = encode_telemetry(3, readings, fw="1.0", batt_mv=3000, rssi_dbm=-70)
    t = parse_telemetry(payload, now=1764202000)
    assert t.readings == tuple(readings)
    assert (t.seq, t.fw, t.batt_mv, t.rssi_dbm) == (3, "1.0", 3000, -70)


@pytest.mark.parametrize(
    ("device_id", "ok"),
    [
        ("esp32-a4cf12fe0b3c", True),
        ("abc", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("ab", False),
        ("-abc", False),
        ("Esp32-a4cf", False),
        ("esp32_a4cf", False),
        ("esp32/a4cf", False),
        ("esp32+", False),
    ],
)
def test_device_id_rule(device_id: str, ok: bool) -> None:
    assert is_valid_device_id(device_id) is ok


def test_topics_build_and_parse() -> None:
    assert telemetry_topic("esp32-a4cf12fe0b3c") == "dampwatch/v1/dev/esp32-a4cf12fe0b3c/telemetry"
    assert status_topic("abc") == "dampwatch/v1/dev/abc/status"
    assert config_topic("abc") == "dampwatch/v1/dev/abc/config"
    assert parse_topic("dampwatch/v1/dev/abc/telemetry") == ("abc", "telemetry")
    assert parse_topic("dampwatch/v1/dev/abc/config") == ("abc", "config")
    for bad in (
        "dampwatch/v2/dev/abc/telemetry",
        "dampwatch/v1/dev/ABC/telemetry",
        "dampwatch/v1/dev/abc/other",
        "dampwatch/v1/dev/abc/telemetry/x",
        "x/v1/dev/abc/telemetry",
    ):
        with pytest.raises(ContractError) as info:
            parse_topic(bad)
        assert info.value.reason == "bad_topic"
    with pytest.raises(ContractError):
        telemetry_topic("+")


def test_status_payloads() -> None:
    s = parse_status(
        b'{"v":1,"state":"online","fw":"1.2.0","batt_mv":2990,"boot":17,"reset":"deepsleep"}'
    )
    assert (s.state, s.fw, s.batt_mv, s.boot, s.reset) == ("online", "1.2.0", 2990, 17, "deepsleep")
    assert parse_status(b'{"v":1,"state":"offline"}').state == "offline"
    for bad, reason in (
        (b'{"v":1,"state":"sleeping"}', "out_of_range"),
        (b'{"v":1}', "missing_field"),
        (b'{"v":1,"state":"online","batt_mv":-1}', "out_of_range"),
    ):
        with pytest.raises(ContractError) as info:
            parse_status(bad)
        assert info.value.reason == reason


def test_config_payloads_and_ranges() -> None:
    c = parse_config(b'{"v":1,"sample_s":300,"upload_every":12,"urgent_rh_pct":85.0}')
    assert c == DeviceConfig(300, 12, 85.0)
    assert parse_config(encode_config(c)) == c
    for key, value in (
        ("sample_s", 29),
        ("sample_s", 3601),
        ("upload_every", 0),
        ("upload_every", 65),
        ("urgent_rh_pct", 49.9),
        ("urgent_rh_pct", 100.1),
    ):
        body = {"v": 1, "sample_s": 300, "upload_every": 12, "urgent_rh_pct": 85.0, key: value}
        with pytest.raises(ContractError) as info:
            parse_config(json.dumps(body))
        assert info.value.reason == "out_of_range", (key, value)
    for key, value in (("sample_s", 300.5), ("upload_every", "12"), ("urgent_rh_pct", None)):
        body = {"v": 1, "sample_s": 300, "upload_every": 12, "urgent_rh_pct": 85.0, key: value}
        with pytest.raises(ContractError) as info:
            parse_config(json.dumps(body))
        assert info.value.reason == "wrong_type", (key, value)
