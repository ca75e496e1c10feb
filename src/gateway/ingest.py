"""Pure message handling: a received MQTT message becomes lines for InfluxDB,
quarantine records and device-health updates. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from dampwatch_core.contract import (
    MAX_PAYLOAD_BYTES,
    parse_status,
    parse_telemetry,
    parse_topic,
)
from dampwatch_core.errors import ContractError
from gateway.directory import DeviceDirectory
from gateway.schema import reading_line, series_key

__all__ = ["Batch", "HealthUpdate", "Quarantined", "Received", "handle_message"]


@dataclass(frozen=True, slots=True)
class Received:
    """A message as it came off the broker."""

    topic: str
    payload: bytes
    received_at: float
    mid: int = 0
    qos: int = 0
    generation: int = 0
    #: Size of the payload as published; ``payload`` may hold only its first bytes.
    size: int = -1


@dataclass(frozen=True, slots=True)
class Quarantined:
    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload: bytes
    received_at: float
    reading_index: int | None = None


@dataclass(slots=True)
class HealthUpdate:
    """What a device's messages in this batch say about its health."""

    last_seen: datetime
    state: str | None = None
    fw: str | None = None
    batt_mv: int | None = None
    rssi_dbm: int | None = None
    boot: int | None = None
    reset: str | None = None
    last_seq: int | None = None


@dataclass(slots=True)
class Batch:
    lines: list[str] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    health: dict[str, HealthUpdate] = field(default_factory=dict)
    messages: int = 0

    def clear(self) -> None:
        self.lines.clear()
        self.quarantined.clear()
        self.health.clear()
        self.messages = 0


def _health(batch: Batch, device_id: str, received_at: float) -> HealthUpdate:
    seen = datetime.fromtimestamp(received_at, UTC)
    update = batch.health.get(device_id)
    if update is None:
        update = batch.health[device_id] = HealthUpdate(last_seen=seen)
    elif seen > update.last_seen:
        update.last_seen = seen
    return update


def handle_message(
    msg: Received, directory: DeviceDirectory, batch: Batch, *, max_age_s: float
) -> str:
    """Add what ``msg`` yields to ``batch``; returns the message kind for metrics."""
    batch.messages += 1
    try:
        device_id, kind = parse_topic(msg.topic)
    except ContractError as exc:
        batch.quarantined.append(
            Quarantined(msg.topic, None, exc.reason, str(exc), msg.payload, msg.received_at)
        )
        return "bad_topic"
    info = directory.lookup(device_id, msg.received_at)
    if info is None or not info.active:
        reason = "unknown_device" if info is None else "decommissioned_device"
        batch.quarantined.append(
            Quarantined(
                msg.topic,
                device_id,
                reason,
                f"device {device_id!r} is {'not registered' if info is None else 'decommissioned'}",
                msg.payload,
                msg.received_at,
            )
        )
        return kind
    size = msg.size if msg.size >= 0 else len(msg.payload)
    if size > MAX_PAYLOAD_BYTES:
        kept = "" if size == len(msg.payload) else f"; the first {len(msg.payload)} are kept"
        batch.quarantined.append(
            Quarantined(
                msg.topic,
                device_id,
                "too_large",
                f"payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}{kept}",
                msg.payload,
                msg.received_at,
            )
        )
        return kind
    if kind == "status":
        try:
            status = parse_status(msg.payload)
        except ContractError as exc:
            batch.quarantined.append(
                Quarantined(
                    msg.topic, device_id, exc.reason, str(exc), msg.payload, msg.received_at
                )
            )
            return kind
        update = _health(batch, device_id, msg.received_at)
        update.state = status.state
        update.fw = status.fw or update.fw
        update.batt_mv = status.batt_mv if status.batt_mv is not None else update.batt_mv
        update.boot = status.boot if status.boot is not None else update.boot
        update.reset = status.reset or update.reset
        return kind
    if kind != "telemetry":
        return kind
    try:
        telemetry = parse_telemetry(msg.payload, now=msg.received_at, max_age_s=max_age_s)
    except ContractError as exc:
        batch.quarantined.append(
            Quarantined(msg.topic, device_id, exc.reason, str(exc), msg.payload, msg.received_at)
        )
        return kind
    key = series_key(device_id, info.flat_id, info.room, info.landlord)
    batch.lines.extend(reading_line(key, r) for r in telemetry.readings)
    for rej in telemetry.rejected:
        batch.quarantined.append(
            Quarantined(
                msg.topic,
                device_id,
                rej.reason,
                rej.message,
                msg.payload,
                msg.received_at,
                reading_index=rej.index,
            )
        )
    update = _health(batch, device_id, msg.received_at)
    update.state = "online"
    update.last_seq = telemetry.seq
    if telemetry.fw is not None:
        update.fw = telemetry.fw
    if telemetry.batt_mv is not None:
        update.batt_mv = telemetry.batt_mv
    if telemetry.rssi_dbm is not None:
        update.rssi_dbm = telemetry.rssi_dbm
    return kind
