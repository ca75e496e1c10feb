"""Faults on demand: the messages a misbehaving fleet sends, as data.

Every function returns :class:`WireMessage` values (topic, payload bytes, the MQTT
username to connect as, QoS, retain) plus what a correct gateway should do with each
(``expect``), so that the MQTT publisher can send them and a test can check the
outcome. Payloads are built with :func:`dampwatch_core.contract.encode_telemetry` and
then, for malformed ones, altered: the contract is never re-implemented here.

``expect`` is one of:

- ``"stored"``: every reading stored (once, however often it is delivered);
- ``"quarantined:<reason>"``: the whole message quarantined with the contract reason;
- ``"rejected_reading:<reason>"``: the message is accepted but one reading is
  quarantined with that reason, the valid rest stored;
- ``"denied"``: the broker's ACL refuses it (a device publishing as another).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dampwatch_core.contract import (
    MAX_FUTURE_S,
    MAX_PAYLOAD_BYTES,
    MAX_READINGS,
    Reading,
    encode_telemetry,
    status_topic,
    telemetry_topic,
)
from simulators.errors import SimulatorError
from simulators.estate import DeviceData

__all__ = [
    "FIRMWARE",
    "WireMessage",
    "burst_after_outage",
    "clock_skewed",
    "device_readings",
    "duplicated",
    "impersonating",
    "malformed_payloads",
    "out_of_order",
    "status_message",
    "telemetry_messages",
]

#: The firmware version simulated devices report.
FIRMWARE = "sim-1.0.0"


@dataclass(frozen=True)
class WireMessage:
    """One MQTT publish: send ``payload`` on ``topic`` connected as ``username``."""

    topic: str
    payload: bytes
    username: str
    qos: int = 1
    retain: bool = False
    fault: str = "none"
    expect: str = "stored"


def device_readings(
    device: DeviceData, start: int | None = None, end: int | None = None
) -> list[Reading]:
    """The readings ``device`` took in ``[start, end)`` (lost samples left out)."""
    ok = np.isfinite(device.temp_c) & np.isfinite(device.rh_pct)
    if start is not None:
        ok &= device.ts >= start
    if end is not None:
        ok &= device.ts < end
    idx = np.nonzero(ok)[0]
    ts = device.ts[idx].tolist()
    temp = device.temp_c[idx].tolist()
    rh = device.rh_pct[idx].tolist()
    if device.surface_c is None:
        return [Reading(t, a, b) for t, a, b in zip(ts, temp, rh, strict=True)]
    surface = device.surface_c[idx].tolist()
    return [
        Reading(t, a, b, s if s == s else None)
        for t, a, b, s in zip(ts, temp, rh, surface, strict=True)
    ]


def _batch(
    device_id: str,
    seq: int,
    readings: Sequence[Reading],
    *,
    fault: str = "none",
    expect: str = "stored",
    batt_mv: int | None = 2980,
    rssi_dbm: int | None = -67,
) -> WireMessage:
    payload = encode_telemetry(seq, list(readings), fw=FIRMWARE, batt_mv=batt_mv, rssi_dbm=rssi_dbm)
    return WireMessage(telemetry_topic(device_id), payload, device_id, fault=fault, expect=expect)


def telemetry_messages(
    device_id: str,
    readings: Sequence[Reading],
    *,
    upload_every: int = 12,
    seq0: int = 0,
    fault: str = "none",
) -> list[WireMessage]:
    """Readings uploaded as firmware does: ``upload_every`` samples a message (1–64),
    oldest first, ``seq`` counting up from ``seq0``."""
    if not 1 <= upload_every <= MAX_READINGS:
        raise SimulatorError(f"upload_every={upload_every} must be 1–{MAX_READINGS}")
    return [
        _batch(device_id, seq0 + i, readings[k : k + upload_every], fault=fault)
        for i, k in enumerate(range(0, len(readings), upload_every))
    ]


def status_message(
    device_id: str, state: str = "online", *, boot: int = 1, reset: str = "deepsleep"
) -> WireMessage:
    """The retained status a device publishes on connect (``offline`` is its will)."""
    body: dict[str, Any] = {"v": 1, "state": state}
    if state == "online":
        body.update(fw=FIRMWARE, batt_mv=2990, boot=boot, reset=reset)
    payload = json.dumps(body, separators=(",", ":")).encode()
    return WireMessage(status_topic(device_id), payload, device_id, retain=True, fault="status")


def duplicated(
    messages: Sequence[WireMessage], rng: np.random.Generator, share: float = 0.1
) -> list[WireMessage]:
    """QoS 1 redelivery: a ``share`` of the messages delivered twice (the copy right
    after the original). Each reading must still be stored once."""
    out: list[WireMessage] = []
    for m in messages:
        out.append(m)
        if rng.random() < share:
            out.append(replace(m, fault="duplicate"))
    return out


def out_of_order(
    messages: Sequence[WireMessage], rng: np.random.Generator, window: int = 5
) -> list[WireMessage]:
    """Messages shuffled within consecutive windows of ``window`` (a device's retries
    overtaking each other, several gateway consumers)."""
    out: list[WireMessage] = []
    for k in range(0, len(messages), window):
        part = list(messages[k : k + window])
        order = rng.permutation(len(part))
        out.extend(replace(part[i], fault="out_of_order") for i in order)
    return out


def clock_skewed(
    device_id: str, readings: Sequence[Reading], skew_s: int, *, seq0: int = 0
) -> list[WireMessage]:
    """A device whose clock is ``skew_s`` seconds off (lost NTP), sent as it samples
    (in real time). A clock more than ``MAX_FUTURE_S`` ahead gets its readings rejected
    with ``future_ts``; a clock behind, or slightly ahead, is stored with the wrong time
    (which is all a gateway can know)."""
    skewed = [replace(r, ts=r.ts + skew_s) for r in readings]
    expect = "rejected_reading:future_ts" if skew_s > MAX_FUTURE_S else "stored"
    return [
        replace(m, fault=f"clock_skew_{skew_s}s", expect=expect)
        for m in telemetry_messages(device_id, skewed, seq0=seq0)
    ]


def burst_after_outage(
    device: DeviceData,
    outage: tuple[int, int],
    *,
    upload_every: int = 12,
    seq0: int = 0,
) -> list[WireMessage]:
    """Uploads around a Wi-Fi outage ``(from, to)`` [Unix s]: normal batches before it,
    nothing during it, then at ``to`` the whole buffer back to back in full messages of
    ``MAX_READINGS`` readings (the burst), then normal batches again."""
    before = device_readings(device, end=outage[0])
    during = device_readings(device, outage[0], outage[1])
    after = device_readings(device, start=outage[1])
    out = telemetry_messages(device.device_id, before, upload_every=upload_every, seq0=seq0)
    seq = seq0 + len(out)
    burst = telemetry_messages(
        device.device_id, during, upload_every=MAX_READINGS, seq0=seq, fault="burst"
    )
    out += burst
    seq += len(burst)
    out += telemetry_messages(device.device_id, after, upload_every=upload_every, seq0=seq)
    return out


def impersonating(
    attacker_id: str, victim_id: str, messages: Iterable[WireMessage]
) -> list[WireMessage]:
    """``attacker_id``'s connection publishing on ``victim_id``'s topic. The broker's
    ACL (``pattern write dampwatch/v1/dev/%u/telemetry``) must refuse every one."""
    topic = telemetry_topic(victim_id)
    return [
        replace(m, topic=topic, username=attacker_id, fault="impersonation", expect="denied")
        for m in messages
    ]


def malformed_payloads(device_id: str, ts: int, *, seq: int = 0) -> list[WireMessage]:
    """One message for each way a payload can break the contract, with the reason a
    gateway should quarantine it for. ``ts`` is a plausible sample time (now)."""
    good = Reading(ts, 19.5, 60.0)
    base = json.loads(encode_telemetry(seq, [good], fw=FIRMWARE, batt_mv=2980))

    def edit(**changes: Any) -> bytes:
        body = {**base, **changes}
        kept = {k: v for k, v in body.items() if v is not _DROP}
        return json.dumps(kept, separators=(",", ":")).encode()

    def reading(**changes: Any) -> bytes:
        item = {**base["readings"][0], **changes}
        item = {k: v for k, v in item.items() if v is not _DROP}
        return edit(readings=[base["readings"][0] | {"ts": ts - 300}, item])

    too_many = [Reading(ts - 300 * k, 19.5, 60.0) for k in range(MAX_READINGS + 1)][::-1]
    cases: list[tuple[str, bytes, str]] = [
        ("not_json", b'{"v":1,"seq":', "quarantined:not_json"),
        (
            "not_utf8",
            b'{"v":1,"seq":0,"readings":[{"ts":1,"x":"\xff\xfe"}]}',
            "quarantined:not_utf8",
        ),
        ("not_object", b"[1,2,3]", "quarantined:not_object"),
        ("missing_version", edit(v=_DROP), "quarantined:missing_field"),
        ("bad_version", edit(v=2), "quarantined:bad_version"),
        ("missing_seq", edit(seq=_DROP), "quarantined:missing_field"),
        ("negative_seq", edit(seq=-1), "quarantined:out_of_range"),
        ("seq_as_string", edit(seq="7"), "quarantined:wrong_type"),
        ("readings_not_array", edit(readings={"ts": ts}), "quarantined:wrong_type"),
        ("no_readings", edit(readings=[]), "quarantined:no_readings"),
        (
            "too_many_readings",
            edit(readings=[{"ts": r.ts, "temp_c": r.temp_c, "rh_pct": r.rh_pct} for r in too_many]),
            "quarantined:too_many_readings",
        ),
        ("battery_out_of_range", edit(batt_mv=9000), "quarantined:out_of_range"),
        ("nan", edit().replace(b'"temp_c":19.5', b'"temp_c":NaN'), "quarantined:not_finite"),
        (
            "too_large",
            edit(padding="x" * (MAX_PAYLOAD_BYTES + 1)),
            "quarantined:too_large",
        ),
        ("rh_above_100", reading(rh_pct=104.2), "rejected_reading:out_of_range"),
        ("temp_as_string", reading(temp_c="19.5"), "rejected_reading:wrong_type"),
        ("missing_temp", reading(temp_c=_DROP), "rejected_reading:missing_field"),
        ("ts_as_float", reading(ts=ts + 0.5), "rejected_reading:wrong_type"),
        ("future_ts", reading(ts=ts + 3600), "rejected_reading:future_ts"),
        ("ancient_ts", reading(ts=ts - 2 * 365 * 86400), "rejected_reading:stale_ts"),
    ]
    topic = telemetry_topic(device_id)
    return [
        WireMessage(topic, payload, device_id, fault=name, expect=expect)
        for name, payload, expect in cases
    ]


class _Drop:
    """Marker: leave this key out of the payload."""


_DROP: Any = _Drop()
