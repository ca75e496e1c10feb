"""Telemetry as a device would publish it, and faults on demand, as data.

Everything here builds ``(topic, payload)`` pairs for the MQTT publisher; nothing here
touches the network. Payloads and topics come only from
:mod:`dampwatch_core.contract` (``encode_telemetry``, ``Reading``, ``telemetry_topic``);
a malformed payload is a valid one that is then broken on purpose.

- :func:`uplink`: a device's normal messages: ``upload_every`` samples per message,
  ``seq`` + 1 per message, at once when a sample's RH reaches ``urgent_rh_pct``; samples
  lost by the sensor are not sent; while the device is offline its messages wait and go
  out as a burst when it is back (the backfill).
- :func:`fleet_uplink`: every device of an estate, merged in sending order.
- Faults: :func:`malformed`, :func:`duplicates`, :func:`out_of_order`,
  :func:`clock_skew`, :func:`burst_after_outage`, :func:`impersonate`.

Each :class:`Message` says which device really sent it and which fault, if any, it
carries, so a test can check the gateway's verdict message by message.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np

from dampwatch_core.contract import MAX_READINGS, Reading, encode_telemetry, telemetry_topic
from simulators.flatsim.estate import Device, Estate

__all__ = [
    "MALFORMED_KINDS",
    "Message",
    "burst_after_outage",
    "clock_skew",
    "duplicates",
    "fleet_uplink",
    "impersonate",
    "malformed",
    "out_of_order",
    "uplink",
]

#: The kinds of broken payload :func:`malformed` makes, each with the gateway reason
#: it should be quarantined under (``dampwatch_core.contract`` reasons).
MALFORMED_KINDS: Final[dict[str, str]] = {
    "not_json": "not_json",
    "not_utf8": "not_utf8",
    "not_object": "not_object",
    "bad_version": "bad_version",
    "missing_seq": "missing_field",
    "negative_seq": "out_of_range",
    "no_readings": "no_readings",
    "too_many_readings": "too_many_readings",
    "too_large": "too_large",
    "nan_value": "not_finite",
    "temp_as_string": "wrong_type",
    "rh_out_of_range": "out_of_range",
    "ts_as_float": "wrong_type",
}
_SEND_DELAY_S: Final = 3  # a sample is sent a few seconds after it is taken


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT publish: ``topic`` and ``payload`` as on the wire.

    ``sender`` is the device that really publishes (its MQTT username; differs from the
    topic's device id when impersonating); ``send_ts`` is when (Unix s); ``seq`` the
    uplink counter (None when the payload is broken); ``fault`` None for a normal message
    or the fault's name; ``n_readings`` how many readings it carries.
    """

    topic: str
    payload: bytes
    sender: str
    send_ts: int
    seq: int | None
    fault: str | None = None
    n_readings: int = 0


def _readings(device: Device, skew_s: int = 0) -> list[Reading]:
    out = []
    has_probe = device.has_probe
    for t, a, h, s in zip(
        device.ts.tolist(),
        device.temp_c.tolist(),
        device.rh_pct.tolist(),
        device.surface_c.tolist(),
        strict=True,
    ):
        if math.isnan(a) or math.isnan(h):
            continue  # a lost sample is never sent
        surface = s if has_probe and not math.isnan(s) else None
        out.append(Reading(ts=int(t) + skew_s, temp_c=a, rh_pct=h, surface_c=surface))
    return out


def _offline_until(send_ts: int, windows: Sequence[tuple[int, int]]) -> int | None:
    for lo, hi in windows:
        if lo <= send_ts < hi:
            return hi
    return None


def _radio(device: Device) -> tuple[int, int]:
    """A plausible, fixed battery voltage [mV] and RSSI [dBm] per device."""
    h = int(device.device_id[-6:], 16)
    return 2900 + h % 200, -50 - h % 35


def uplink(
    device: Device,
    *,
    upload_every: int = 12,
    urgent_rh_pct: float = 85.0,
    seq_start: int = 0,
    fw: str = "sim-1.0.0",
    offline: Sequence[tuple[int, int]] | None = None,
    skew_s: int = 0,
) -> list[Message]:
    """A device's telemetry over its whole series, in sending order.

    Samples are grouped ``upload_every`` at a time (a group closes early when a sample
    reaches ``urgent_rh_pct``), sent ``3 s`` after the group's last sample. While offline
    (``device.offline`` unless ``offline`` is given) messages queue; at the end of the
    window the queue goes out at once, repacked as full messages of up to 64 readings,
    oldest first, marked ``fault="backfill"``. ``skew_s`` shifts the readings' clock.
    """
    if not 1 <= upload_every <= MAX_READINGS:
        raise ValueError(f"upload_every must be 1–{MAX_READINGS}, not {upload_every}")
    windows = tuple(device.offline if offline is None else offline)
    readings = _readings(device, skew_s)
    batt, rssi = _radio(device)
    topic = telemetry_topic(device.device_id)
    out: list[Message] = []
    seq = seq_start
    queued: list[Reading] = []
    queued_until: int | None = None
    batch: list[Reading] = []

    def flush_queue(at: int) -> None:
        nonlocal seq, queued, queued_until
        for i in range(0, len(queued), MAX_READINGS):
            part = queued[i : i + MAX_READINGS]
            payload = encode_telemetry(seq, part, fw=fw, batt_mv=batt, rssi_dbm=rssi)
            out.append(Message(topic, payload, device.device_id, at, seq, "backfill", len(part)))
            seq += 1
        queued = []
        queued_until = None

    def send(group: list[Reading]) -> None:
        nonlocal seq, queued_until
        when = group[-1].ts - skew_s + _SEND_DELAY_S
        if queued_until is not None and when >= queued_until:
            flush_queue(queued_until)
        until = _offline_until(when, windows)
        if until is not None:
            queued.extend(group)
            queued_until = until
            return
        payload = encode_telemetry(seq, group, fw=fw, batt_mv=batt, rssi_dbm=rssi)
        out.append(Message(topic, payload, device.device_id, when, seq, None, len(group)))
        seq += 1

    for r in readings:
        batch.append(r)
        if len(batch) >= upload_every or r.rh_pct >= urgent_rh_pct:
            send(batch)
            batch = []
    if batch:
        send(batch)
    if queued:
        assert queued_until is not None
        flush_queue(queued_until)
    return out


def fleet_uplink(estate: Estate, **kwargs: Any) -> Iterator[Message]:
    """Every device's :func:`uplink`, merged by ``send_ts`` (ties: device order)."""
    streams = [uplink(d, **kwargs) for d in estate.devices]
    return heapq.merge(*streams, key=lambda m: m.send_ts)


# --------------------------------------------------------------------------- faults


def _break(payload: bytes, kind: str) -> bytes:
    body: dict[str, Any] = json.loads(payload)
    if kind == "not_json":
        return payload[: len(payload) // 2]
    if kind == "not_utf8":
        return b"\xff\xfe" + payload
    if kind == "not_object":
        return json.dumps([body]).encode()
    if kind == "bad_version":
        body["v"] = 2
    elif kind == "missing_seq":
        del body["seq"]
    elif kind == "negative_seq":
        body["seq"] = -1
    elif kind == "no_readings":
        body["readings"] = []
    elif kind == "too_many_readings":
        first = body["readings"][0]
        body["readings"] = [{**first, "ts": first["ts"] + 300 * i} for i in range(MAX_READINGS + 1)]
    elif kind == "too_large":
        body["padding"] = "x" * 9000
    elif kind == "nan_value":
        return payload.replace(b'"temp_c":', b'"temp_c":NaN,"was":', 1)
    elif kind == "temp_as_string":
        body["readings"][0]["temp_c"] = str(body["readings"][0]["temp_c"])
    elif kind == "rh_out_of_range":
        body["readings"][0]["rh_pct"] = 140.0
    elif kind == "ts_as_float":
        body["readings"][0]["ts"] = body["readings"][0]["ts"] + 0.5
    else:
        raise ValueError(f"unknown malformed kind {kind!r}; known: {', '.join(MALFORMED_KINDS)}")
    return json.dumps(body, separators=(",", ":")).encode()


def malformed(
    device_id: str,
    ts: int,
    *,
    kinds: Iterable[str] | None = None,
    seq: int = 0,
) -> list[Message]:
    """One broken telemetry message per kind (default: all of :data:`MALFORMED_KINDS`),
    each a valid message for ``device_id`` at ``ts`` broken on purpose. ``fault`` is
    ``malformed:<kind>``."""
    good = encode_telemetry(seq, [Reading(ts=ts, temp_c=19.5, rh_pct=55.0)], fw="sim-1.0.0")
    topic = telemetry_topic(device_id)
    return [
        Message(
            topic, _break(good, kind), device_id, ts + _SEND_DELAY_S, None, f"malformed:{kind}", 1
        )
        for kind in (MALFORMED_KINDS if kinds is None else kinds)
    ]


def duplicates(
    messages: Sequence[Message], *, fraction: float = 0.1, seed: int = 0, max_delay_s: int = 60
) -> list[Message]:
    """``messages`` plus a re-delivery (same topic, payload and ``seq``) of about
    ``fraction`` of them, up to ``max_delay_s`` later, as after a lost PUBACK; sorted by
    sending time. Copies are marked ``fault="duplicate"``."""
    rng = np.random.default_rng([seed, 0xD0])
    picks = rng.random(len(messages)) < fraction
    delays = rng.integers(1, max_delay_s + 1, len(messages))
    extra = [
        replace(m, send_ts=m.send_ts + int(d), fault="duplicate")
        for m, p, d in zip(messages, picks, delays, strict=True)
        if p
    ]
    return sorted([*messages, *extra], key=lambda m: m.send_ts)


def out_of_order(
    messages: Sequence[Message], *, fraction: float = 0.1, seed: int = 0, max_delay_s: int = 7200
) -> list[Message]:
    """Delay about ``fraction`` of the messages by up to ``max_delay_s`` so that they
    arrive after later ones (``fault="out_of_order"``); sorted by the new sending time."""
    rng = np.random.default_rng([seed, 0x00D])
    picks = rng.random(len(messages)) < fraction
    delays = rng.integers(600, max(601, max_delay_s + 1), len(messages))
    moved = [
        replace(m, send_ts=m.send_ts + int(d), fault="out_of_order") if p else m
        for m, p, d in zip(messages, picks, delays, strict=True)
    ]
    return sorted(moved, key=lambda m: m.send_ts)


def clock_skew(device: Device, skew_s: int, **kwargs: Any) -> list[Message]:
    """The device's uplink with its clock ``skew_s`` seconds off: readings stamped in the
    future (``skew_s`` > 600 is beyond the contract's tolerance) or the past (older than
    retention when very negative). Marked ``fault="clock_skew"``."""
    return [replace(m, fault="clock_skew") for m in uplink(device, skew_s=skew_s, **kwargs)]


def burst_after_outage(device: Device, start: int, end: int, **kwargs: Any) -> list[Message]:
    """The device's uplink with a Wi-Fi or broker outage from ``start`` to ``end`` (Unix s):
    nothing in between, then everything buffered at once (``fault="backfill"``)."""
    windows = (*device.offline, (start, end))
    return uplink(device, offline=windows, **kwargs)


def impersonate(messages: Sequence[Message], victim_device_id: str) -> list[Message]:
    """The same payloads published by their sender on another device's topic
    (``fault="impersonation"``): the broker ACL must refuse them, or the gateway must
    not attribute them to the victim."""
    topic = telemetry_topic(victim_device_id)
    return [replace(m, topic=topic, fault="impersonation") for m in messages]
