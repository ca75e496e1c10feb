"""Message handling: a received MQTT message becomes lines for InfluxDB, quarantine
records and a device-health update (an :class:`Outcome`). No I/O here but the device
directory's lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from dampwatch_core.contract import (
    MAX_PAYLOAD_BYTES,
    parse_status,
    parse_telemetry,
    parse_topic,
)
from dampwatch_core.errors import ContractError
from gateway.ports import DeviceLookup
from gateway.schema import reading_line, series_key

__all__ = [
    "HEALTH_FIELDS",
    "Batch",
    "HealthUpdate",
    "Outcome",
    "Quarantined",
    "Received",
    "handle_message",
]


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
    #: Delivered with the retain flag: a stored copy replayed on subscribing.
    retained: bool = False
    #: When the connection it came on began (Unix s): before that the broker may have
    #: held it, so its receive time is no measure of the device's clock.
    live_since: float | None = None


@dataclass(frozen=True, slots=True)
class Quarantined:
    """One reason to quarantine a message (or one reading of it)."""

    reason: str
    detail: str
    reading_index: int | None = None


@dataclass(slots=True)
class HealthUpdate:
    """What a device's messages say about its health."""

    last_seen: datetime
    state: str | None = None
    fw: str | None = None
    batt_mv: int | None = None
    rssi_dbm: int | None = None
    boot: int | None = None
    reset: str | None = None
    last_seq: int | None = None
    drops: int | None = None
    buffered: int | None = None
    sensor_failures: int | None = None
    #: the device's clock minus the receive time (s), from telemetry's ``sent``
    clock_offset_s: int | None = None

    def merge(self, later: HealthUpdate) -> None:
        """Take what a later message says; keep what it leaves out."""
        self.last_seen = max(self.last_seen, later.last_seen)
        for name in HEALTH_FIELDS:
            value = getattr(later, name)
            if value is not None:
                setattr(self, name, value)


HEALTH_FIELDS: Final = (
    "state",
    "fw",
    "batt_mv",
    "rssi_dbm",
    "boot",
    "reset",
    "last_seq",
    "drops",
    "buffered",
    "sensor_failures",
    "clock_offset_s",
)


@dataclass(slots=True)
class Outcome:
    """What one message yields: readings as lines, quarantine records, health."""

    msg: Received
    device_id: str | None = None
    #: metrics label: telemetry, status, config, bad_topic or retained
    kind: str = "bad_topic"
    lines: list[str] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    health: HealthUpdate | None = None

    def quarantine(self, reason: str, detail: str, reading_index: int | None = None) -> None:
        self.quarantined.append(Quarantined(reason, detail, reading_index))


@dataclass(slots=True)
class Batch:
    """Messages handled since the last commit, in arrival order."""

    outcomes: list[Outcome] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    #: for each line, the index of its message in ``outcomes``
    owners: list[int] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        index = len(self.outcomes)
        self.outcomes.append(outcome)
        self.lines.extend(outcome.lines)
        self.owners.extend([index] * len(outcome.lines))

    @property
    def messages(self) -> int:
        return len(self.outcomes)

    def clear(self) -> None:
        self.outcomes.clear()
        self.lines.clear()
        self.owners.clear()


def _health(outcome: Outcome, received_at: float) -> HealthUpdate:
    outcome.health = HealthUpdate(last_seen=datetime.fromtimestamp(received_at, UTC))
    return outcome.health


def handle_message(msg: Received, directory: DeviceLookup, *, max_age_s: float) -> Outcome:
    """What ``msg`` yields (pure but for the directory lookup, which may raise a
    database error: the caller retries, it never guesses)."""
    out = Outcome(msg)
    if msg.retained:
        # Retained telemetry or status is a copy of an old message replayed on
        # subscribing, not new data: acknowledged and ignored.
        out.kind = "retained"
        return out
    try:
        device_id, kind = parse_topic(msg.topic)
    except ContractError as exc:
        out.quarantine(exc.reason, str(exc))
        return out
    out.device_id, out.kind = device_id, kind
    info = directory.lookup(device_id, msg.received_at)
    if info is None or not info.active:
        reason = "unknown_device" if info is None else "decommissioned_device"
        state = "not registered" if info is None else "decommissioned"
        out.quarantine(reason, f"device {device_id!r} is {state}")
        return out
    size = msg.size if msg.size >= 0 else len(msg.payload)
    if size > MAX_PAYLOAD_BYTES:
        out.quarantine(
            "too_large", f"payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES} (start kept)"
        )
        return out
    if kind == "status":
        try:
            status = parse_status(msg.payload)
        except ContractError as exc:
            out.quarantine(exc.reason, str(exc))
            return out
        update = _health(out, msg.received_at)
        update.state = status.state
        update.fw = status.fw
        update.batt_mv = status.batt_mv
        update.boot = status.boot
        update.reset = status.reset
        update.drops = status.drops
        update.buffered = status.buffered
        update.sensor_failures = status.sensor_failures
        return out
    if kind != "telemetry":
        return out
    try:
        # received_at is the true time: a ``sent`` off by > 60 s shifts the readings
        telemetry = parse_telemetry(
            msg.payload, now=msg.received_at, max_age_s=max_age_s, live_since=msg.live_since
        )
    except ContractError as exc:
        out.quarantine(exc.reason, str(exc))
        return out
    try:
        key = series_key(device_id, info.flat_id, info.room, info.landlord)
    except ValueError as exc:  # a tag value line protocol cannot carry
        out.quarantine("unstorable", f"no InfluxDB series for this device: {exc}")
        return out
    out.lines = [reading_line(key, r) for r in telemetry.readings]
    for rej in telemetry.rejected:
        out.quarantine(rej.reason, rej.message, rej.index)
    update = _health(out, msg.received_at)
    update.state = "online"
    update.last_seq = telemetry.seq
    update.fw = telemetry.fw
    update.batt_mv = telemetry.batt_mv
    update.rssi_dbm = telemetry.rssi_dbm
    update.clock_offset_s = telemetry.clock_offset_s
    return out
