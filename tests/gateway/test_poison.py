"""No message stops the stream (property-based, on SQLite and PostgreSQL).

Hypothesis generates telemetry and status messages across the whole contract and just
past it: integers at every storage edge (2^31, 2^32, 2^63, 2^64), strings long, odd,
with control characters and lone surrogates, 1 to 65 readings, boundary and
non-finite floats, unknown keys. One registered device publishes each; after every one,
a valid reading from another device must be in InfluxDB within seconds."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from gwharness import Device, point_stored, poll, provision_fleet
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dampwatch.stack.local import LocalStack
from dampwatch_core.contract import Reading, encode_telemetry

pytestmark = pytest.mark.slow

NOW = int(time.time())
VALID: dict[str, Any] = {"v": 1, "seq": 1, "readings": [{"ts": NOW, "temp_c": 20, "rh_pct": 50}]}
EXAMPLES = 150

EDGE_INTS = [0, 1, 2**15, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**64]
ints = st.one_of(
    st.sampled_from(EDGE_INTS),
    st.sampled_from(EDGE_INTS).map(lambda n: -n),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-130, max_value=5010),
)
odd_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()),  # surrogates, C0, DEL too
    max_size=80,
)
texts = st.one_of(
    st.sampled_from(["", "1.2.0", "\x00", "a\nb", "\u007f", "\ud800", "é💧", "x" * 32, "x" * 33]),
    odd_text,
)
floats = st.one_of(
    st.sampled_from([-40.0, 85.0, 0.0, 100.0, -40.000001, 85.000001, -0.0, 5e-324, 1e308, -1e308]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-40, max_value=85),
)
timestamps = st.one_of(
    st.sampled_from([NOW, NOW + 600, NOW + 601, NOW - 365 * 86400 + 3600, 0, -1, 2**31, 2**63]),
    st.integers(min_value=NOW - 30 * 86400, max_value=NOW + 600),
)


@st.composite
def readings(draw: st.DrawFn) -> dict[str, Any]:
    r: dict[str, Any] = {"ts": draw(timestamps), "temp_c": draw(floats), "rh_pct": draw(floats)}
    if draw(st.booleans()):
        r["surface_c"] = draw(floats)
    if draw(st.integers(0, 9)) == 0:
        r[draw(st.sampled_from(["ts", "temp_c", "rh_pct"]))] = draw(texts)
    return r


def _optional(
    draw: st.DrawFn, body: dict[str, Any], key: str, values: st.SearchStrategy[Any]
) -> None:
    if draw(st.booleans()):
        body[key] = draw(values)


@st.composite
def telemetry(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"v": draw(st.sampled_from([1, 1, 1, 2])), "seq": draw(ints)}
    _optional(draw, body, "fw", texts)
    _optional(draw, body, "batt_mv", ints)
    _optional(draw, body, "rssi_dbm", ints)
    _optional(draw, body, "sent", ints)
    _optional(draw, body, draw(texts), texts)  # an unknown key
    count = draw(st.one_of(st.sampled_from([1, 64, 65]), st.integers(1, 12)))
    reading = draw(readings())
    # many readings: mostly copies with their own ts (keeps examples fast to generate)
    body["readings"] = [reading] + [
        {**reading, "ts": reading["ts"] - 300 * k} if isinstance(reading["ts"], int) else reading
        for k in range(1, count)
    ]
    return body


@st.composite
def status(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": 1,
        "state": draw(st.one_of(st.sampled_from(["online", "offline"]), texts)),
    }
    for key in ("fw", "reset"):
        _optional(draw, body, key, texts)
    for key in ("batt_mv", "boot", "drops", "buffered", "sensor_failures", "seq"):
        _optional(draw, body, key, ints)
    return body


def encode(body: dict[str, Any], ascii_only: bool) -> bytes:
    # NaN and Infinity go out as JSON's non-standard constants, lone surrogates either
    # escaped (ensure_ascii) or as the invalid UTF-8 a careless encoder would write
    return json.dumps(body, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


messages = st.tuples(
    st.sampled_from(["telemetry", "status"]).flatmap(
        lambda kind: st.tuples(st.just(kind), telemetry() if kind == "telemetry" else status())
    ),
    st.booleans(),
)


def test_no_message_stops_the_stream(store_stack: LocalStack) -> None:
    stack = store_stack
    poison_cred, canary_cred = provision_fleet(stack, 2, prefix="px")
    poison, canary = Device(stack, poison_cred), Device(stack, canary_cred)
    canary_ts = itertools.count(NOW - 86400, -60)
    seen: list[bytes] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(message=messages)
    # the messages that stopped ingestion before (SQLite overflow, PostgreSQL DataError)
    @example(message=(("telemetry", {**VALID, "seq": 2**63}), True))
    @example(message=(("telemetry", {**VALID, "seq": 2**31}), True))
    @example(message=(("telemetry", {**VALID, "fw": "1.2\x00"}), True))
    @example(message=(("status", {"v": 1, "state": "online", "boot": 2**40}), True))
    @example(message=(("status", {"v": 1, "state": "online", "fw": "\x00"}), True))
    # contract-valid, yet no UTF-8 store holds it: unstorable, acknowledged
    @example(message=(("telemetry", {**VALID, "fw": "\ud800"}), True))
    @example(message=(("status", {"v": 1, "state": "online", "reset": "\udfff"}), True))
    def after_any_message_a_valid_one_is_stored(message: tuple[tuple[str, Any], bool]) -> None:
        (kind, body), ascii_only = message
        payload = encode(body, ascii_only)
        seen.append(payload)
        poison.publish(kind, payload)
        ts = next(canary_ts)
        canary.publish("telemetry", encode_telemetry(ts % 2**32, [Reading(ts, 20.0, 50.0)]))
        poll(
            lambda: point_stored(stack, canary_cred.device_id, ts),
            bool,
            15,
            f"a valid reading after {payload[:200]!r}",
        )
        stack.check_alive()

    try:
        after_any_message_a_valid_one_is_stored()
    finally:
        poison.close()
        canary.close()
    assert len(seen) >= EXAMPLES
