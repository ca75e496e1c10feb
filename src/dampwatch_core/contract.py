"""The MQTT wire contract, version 1, in one place (with its clarifications: 32-bit
``seq`` and ``boot``, no control characters in strings, the optional ``sent`` and the
clock correction it allows).

Topic building and parsing, and validation of telemetry, status and config payloads.
Every service (gateway, backend, simulators) and every test uses this module; the
firmware follows the same rules in MicroPython.

Validation is hand-written rather than schema-driven because each rule maps to a short
machine-readable ``reason`` (a metrics label and the quarantine record's key), and
because the gateway validates tens of thousands of readings per second.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from dampwatch_core.errors import ContractError

__all__ = [
    "CLOCK_TOLERANCE_S",
    "CONFIG_RANGES",
    "CONTRACT_VERSION",
    "CONTROL_CHARS_RE",
    "DEFAULT_MAX_AGE_S",
    "DEVICE_ID_RE",
    "MAX_COUNTER",
    "MAX_FUTURE_S",
    "MAX_PAYLOAD_BYTES",
    "MAX_READINGS",
    "SHARED_TELEMETRY_FILTER",
    "STATUS_FILTER",
    "TELEMETRY_FILTER",
    "TOPIC_ROOT",
    "DeviceConfig",
    "Reading",
    "RejectedReading",
    "Status",
    "Telemetry",
    "TopicKind",
    "config_topic",
    "encode_config",
    "encode_telemetry",
    "is_valid_device_id",
    "parse_config",
    "parse_status",
    "parse_telemetry",
    "parse_topic",
    "status_topic",
    "telemetry_topic",
    "validate_device_id",
]

CONTRACT_VERSION: Final = 1
TOPIC_ROOT: Final = "dampwatch/v1/dev"
TELEMETRY_FILTER: Final = f"{TOPIC_ROOT}/+/telemetry"
STATUS_FILTER: Final = f"{TOPIC_ROOT}/+/status"
SHARED_GROUP: Final = "dampwatch-gateway"
SHARED_TELEMETRY_FILTER: Final = f"$share/{SHARED_GROUP}/{TELEMETRY_FILTER}"

DEVICE_ID_RE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
MAX_PAYLOAD_BYTES: Final = 8 * 1024
MAX_READINGS: Final = 64
MAX_FUTURE_S: Final = 10 * 60
#: Default retention window: readings older than this are stale (quarantined).
DEFAULT_MAX_AGE_S: Final = 365 * 24 * 3600
MAX_FW_LEN: Final = 32
MAX_RESET_LEN: Final = 64
#: ``seq`` and status ``boot`` are 32-bit counters on the device (clarification of v1).
MAX_COUNTER: Final = 2**32 - 1
#: Beyond this many seconds between ``sent`` and the receive time, readings are shifted.
CLOCK_TOLERANCE_S: Final = 60
#: Control characters (C0 and DEL), which no contract string may contain.
CONTROL_CHARS_RE: Final = re.compile(r"[\x00-\x1f\x7f]")

TEMP_RANGE: Final = (-40.0, 85.0)
RH_RANGE: Final = (0.0, 100.0)
BATT_RANGE: Final = (0, 5000)
RSSI_RANGE: Final = (-120, 0)
CONFIG_RANGES: Final[dict[str, tuple[float, float]]] = {
    "sample_s": (30, 3600),
    "upload_every": (1, 64),
    "urgent_rh_pct": (50.0, 100.0),
}

TopicKind = Literal["telemetry", "status", "config"]
_KINDS: Final = frozenset({"telemetry", "status", "config"})


# --------------------------------------------------------------------------- topics


def is_valid_device_id(device_id: str) -> bool:
    """True when ``device_id`` matches ``^[a-z0-9][a-z0-9-]{2,63}$``."""
    return DEVICE_ID_RE.fullmatch(device_id) is not None


def validate_device_id(device_id: str) -> str:
    """Return ``device_id`` or raise :class:`ContractError` (reason ``bad_device_id``)."""
    if not is_valid_device_id(device_id):
        raise ContractError(
            "bad_device_id",
            f"device id {device_id!r} must match {DEVICE_ID_RE.pattern} "
            "(lowercase letters, digits and '-', 3 to 64 characters)",
        )
    return device_id


def telemetry_topic(device_id: str) -> str:
    """``dampwatch/v1/dev/{device_id}/telemetry``."""
    return f"{TOPIC_ROOT}/{validate_device_id(device_id)}/telemetry"


def status_topic(device_id: str) -> str:
    """``dampwatch/v1/dev/{device_id}/status`` (retained; also the last will)."""
    return f"{TOPIC_ROOT}/{validate_device_id(device_id)}/status"


def config_topic(device_id: str) -> str:
    """``dampwatch/v1/dev/{device_id}/config`` (retained, backend to device)."""
    return f"{TOPIC_ROOT}/{validate_device_id(device_id)}/config"


def parse_topic(topic: str) -> tuple[str, TopicKind]:
    """Split a contract topic into ``(device_id, kind)``.

    Raises :class:`ContractError` with reason ``bad_topic`` for anything else.
    """
    parts = topic.split("/")
    if (
        len(parts) != 5
        or parts[0] != "dampwatch"
        or parts[1] != "v1"
        or parts[2] != "dev"
        or parts[4] not in _KINDS
        or not is_valid_device_id(parts[3])
    ):
        raise ContractError("bad_topic", f"topic {topic!r} is not a contract v1 device topic")
    kind: TopicKind = parts[4]  # type: ignore[assignment]
    return parts[3], kind


# ------------------------------------------------------------------------- payloads


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample: Unix seconds UTC, air temperature [°C], air RH [%], optional
    temperature of the coldest wall surface [°C]."""

    ts: int
    temp_c: float
    rh_pct: float
    surface_c: float | None = None


@dataclass(frozen=True, slots=True)
class RejectedReading:
    """A reading of an otherwise valid message that broke the contract."""

    index: int
    reason: str
    message: str
    raw: Any


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A parsed telemetry message; ``rejected`` holds readings that broke the contract
    (the valid rest is in ``readings``).

    ``sent`` is the device's clock at sending, as sent. ``clock_offset_s`` is the
    device's clock minus the receive time (signed seconds), known only when ``sent``
    is. ``shift_s`` is what was added to every reading's ``ts`` (``-clock_offset_s``
    when the offset is beyond :data:`CLOCK_TOLERANCE_S`, otherwise 0): ``readings``
    and ``rejected`` hold the corrected times' verdicts."""

    seq: int
    readings: tuple[Reading, ...]
    fw: str | None = None
    batt_mv: int | None = None
    rssi_dbm: int | None = None
    rejected: tuple[RejectedReading, ...] = field(default=())
    sent: int | None = None
    clock_offset_s: int | None = None
    shift_s: int = 0


@dataclass(frozen=True, slots=True)
class Status:
    """A device's retained status (``offline`` is also its last will).

    ``drops``, ``buffered`` and ``sensor_failures`` are the firmware's own counters
    (readings its buffer shed, readings waiting to be sent, failed sensor reads); they
    are outside v1, so a device that sends none, or odd ones, is still valid."""

    state: Literal["online", "offline"]
    fw: str | None = None
    batt_mv: int | None = None
    boot: int | None = None
    reset: str | None = None
    drops: int | None = None
    buffered: int | None = None
    sensor_failures: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """Sampling configuration sent retained from the backend to a device."""

    sample_s: int = 300
    upload_every: int = 12
    urgent_rh_pct: float = 85.0

    def __post_init__(self) -> None:
        for name, (lo, hi) in CONFIG_RANGES.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ContractError(
                    "out_of_range", f"config {name}={value} is outside {lo:g}–{hi:g}"
                )


def _reject_constant(name: str) -> float:
    raise ContractError("not_finite", f"{name} is not a JSON number (NaN/Infinity not allowed)")


def _load_object(payload: bytes | str) -> dict[str, Any]:
    raw = payload.encode() if isinstance(payload, str) else payload
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ContractError(
            "too_large", f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("not_utf8", f"payload is not UTF-8: {exc.reason}") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except ContractError:
        raise
    except RecursionError:
        raise ContractError("not_json", "payload nests too deeply to be contract JSON") from None
    except ValueError as exc:
        raise ContractError("not_json", f"payload is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ContractError("not_object", f"payload is a JSON {type(obj).__name__}, not an object")
    _check_version(obj)
    return obj


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) and math.isfinite(value)


def _check_version(obj: dict[str, Any]) -> None:
    if "v" not in obj:
        raise ContractError("missing_field", "'v' (contract version) is required")
    v = obj["v"]
    if not _is_int(v):
        raise ContractError("wrong_type", f"'v' must be an integer, got {type(v).__name__}")
    if v != CONTRACT_VERSION:
        raise ContractError("bad_version", f"contract version {v} is not supported (expected 1)")


def _optional_int(obj: dict[str, Any], key: str, lo: int, hi: int) -> int | None:
    if key not in obj or obj[key] is None:
        return None
    value = obj[key]
    if not _is_int(value):
        raise ContractError("wrong_type", f"'{key}' must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ContractError("out_of_range", f"'{key}'={value} is outside {lo}–{hi}")
    return int(value)


def _optional_str(obj: dict[str, Any], key: str, max_len: int) -> str | None:
    if key not in obj or obj[key] is None:
        return None
    value = obj[key]
    if not isinstance(value, str):
        raise ContractError("wrong_type", f"'{key}' must be a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise ContractError("out_of_range", f"'{key}' is {len(value)} characters; max {max_len}")
    _check_string(key, value)
    return value


def _check_string(key: str, value: str) -> None:
    bad = CONTROL_CHARS_RE.search(value)
    if bad is not None:
        raise ContractError(
            "bad_string",
            f"'{key}' contains the control character U+{ord(bad.group()):04X} "
            f"at position {bad.start()}",
        )


def _optional_counter(obj: dict[str, Any], key: str) -> int | None:
    """A firmware counter outside v1 (``drops`` ...): kept when it is an integer in
    0–``MAX_COUNTER``, otherwise ignored as an unknown key would be."""
    value: Any = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNTER:
        return value
    return None


def _parse_reading(
    item: Any, index: int, now: float, max_age_s: float, shift_s: int = 0
) -> Reading:
    if not isinstance(item, dict):
        raise ContractError("wrong_type", f"readings[{index}] must be an object")
    for key in ("ts", "temp_c", "rh_pct"):
        if key not in item:
            raise ContractError("missing_field", f"readings[{index}].{key} is required")
    ts = item["ts"]
    if not _is_int(ts):
        raise ContractError("wrong_type", f"readings[{index}].ts must be integer Unix seconds")
    ts += shift_s  # the device's clock corrected (``sent``); the time rules see this
    if ts > now + MAX_FUTURE_S:
        raise ContractError(
            "future_ts",
            f"readings[{index}].ts={ts} is {ts - now:.0f} s in the future (max {MAX_FUTURE_S} s)",
        )
    if ts < now - max_age_s:
        raise ContractError(
            "stale_ts",
            f"readings[{index}].ts={ts} is older than the retention window ({max_age_s:.0f} s)",
        )
    values: dict[str, float | None] = {}
    for key, (lo, hi) in (("temp_c", TEMP_RANGE), ("rh_pct", RH_RANGE), ("surface_c", TEMP_RANGE)):
        value: Any = item.get(key)
        if value is None and key == "surface_c":
            values[key] = None
            continue
        if not _is_number(value):
            raise ContractError("wrong_type", f"readings[{index}].{key} must be a finite number")
        if not lo <= value <= hi:
            raise ContractError(
                "out_of_range", f"readings[{index}].{key}={value} is outside {lo:g}–{hi:g}"
            )
        values[key] = float(value)
    temp_c, rh_pct = values["temp_c"], values["rh_pct"]
    assert temp_c is not None and rh_pct is not None  # checked above
    return Reading(ts=ts, temp_c=temp_c, rh_pct=rh_pct, surface_c=values["surface_c"])


def parse_telemetry(
    payload: bytes | str,
    *,
    now: float | None = None,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    live_since: float | None = None,
) -> Telemetry:
    """Parse and validate a telemetry payload.

    Whole-message faults (size, encoding, JSON, version, ``seq``, envelope fields, the
    readings array) raise :class:`ContractError`. A single reading that breaks the
    contract (type, range, future or stale ``ts``) is put in ``Telemetry.rejected`` with
    its reason, so the valid rest of the batch can still be stored.

    ``now`` is the receive time. When the message carries ``sent`` and it differs from
    ``now`` by more than :data:`CLOCK_TOLERANCE_S`, every reading's ``ts`` is shifted by
    ``now - sent`` first, and the future and stale rules apply to the corrected times.

    ``live_since`` is when the receiver's current broker connection began, if known. A
    device clock that looks *slow* (``sent`` well before ``now``) is indistinguishable
    from a message queued by the broker while the receiver was disconnected, unless the
    receiver was already connected at ``sent``: so such a message is corrected only when
    ``sent >= live_since``; otherwise nothing is shifted and no offset is claimed. A
    clock that looks *fast* cannot be explained by delay and is always corrected.
    """
    obj = _load_object(payload)
    now = time.time() if now is None else now
    if "seq" not in obj:
        raise ContractError("missing_field", "'seq' is required")
    seq = obj["seq"]
    if not _is_int(seq):
        raise ContractError("wrong_type", f"'seq' must be an integer, got {type(seq).__name__}")
    if not 0 <= seq <= MAX_COUNTER:
        raise ContractError("out_of_range", f"'seq'={seq} is outside 0–{MAX_COUNTER}")
    fw = _optional_str(obj, "fw", MAX_FW_LEN)
    batt_mv = _optional_int(obj, "batt_mv", *BATT_RANGE)
    rssi_dbm = _optional_int(obj, "rssi_dbm", *RSSI_RANGE)
    sent = _optional_int(obj, "sent", 0, MAX_COUNTER)
    clock_offset_s: int | None = None
    shift_s = 0
    if sent is not None:
        clock_offset_s = sent - round(now)
        if clock_offset_s < -CLOCK_TOLERANCE_S and live_since is not None and sent < live_since:
            # Looks slow, but a message the broker held while the receiver was away
            # looks exactly the same: the receive time says nothing about this clock.
            clock_offset_s = None
        elif abs(clock_offset_s) > CLOCK_TOLERANCE_S:
            shift_s = -clock_offset_s
    if "readings" not in obj:
        raise ContractError("missing_field", "'readings' is required")
    items = obj["readings"]
    if not isinstance(items, list):
        raise ContractError("wrong_type", "'readings' must be an array")
    if not items:
        raise ContractError("no_readings", "'readings' must hold at least 1 reading")
    if len(items) > MAX_READINGS:
        raise ContractError(
            "too_many_readings", f"'readings' holds {len(items)}; the limit is {MAX_READINGS}"
        )
    readings: list[Reading] = []
    rejected: list[RejectedReading] = []
    for index, item in enumerate(items):
        try:
            readings.append(_parse_reading(item, index, now, max_age_s, shift_s))
        except ContractError as exc:
            rejected.append(RejectedReading(index, exc.reason, str(exc), item))
    return Telemetry(
        seq=seq,
        readings=tuple(readings),
        fw=fw,
        batt_mv=batt_mv,
        rssi_dbm=rssi_dbm,
        rejected=tuple(rejected),
        sent=sent,
        clock_offset_s=clock_offset_s,
        shift_s=shift_s,
    )


def parse_status(payload: bytes | str) -> Status:
    """Parse and validate a status payload (including the last will)."""
    obj = _load_object(payload)
    state = obj.get("state")
    if state is None:
        raise ContractError("missing_field", "'state' is required")
    if isinstance(state, str):
        _check_string("state", state)
    if state not in ("online", "offline"):
        raise ContractError("out_of_range", f"'state' must be 'online' or 'offline', not {state!r}")
    return Status(
        state=state,
        fw=_optional_str(obj, "fw", MAX_FW_LEN),
        batt_mv=_optional_int(obj, "batt_mv", *BATT_RANGE),
        boot=_optional_int(obj, "boot", 0, MAX_COUNTER),
        reset=_optional_str(obj, "reset", MAX_RESET_LEN),
        drops=_optional_counter(obj, "drops"),
        buffered=_optional_counter(obj, "buffered"),
        sensor_failures=_optional_counter(obj, "sensor_failures"),
    )


def parse_config(payload: bytes | str) -> DeviceConfig:
    """Parse a config payload; every value must be present, typed and in range."""
    obj = _load_object(payload)
    for key in CONFIG_RANGES:
        if key not in obj:
            raise ContractError("missing_field", f"'{key}' is required")
    for key in ("sample_s", "upload_every"):
        if not _is_int(obj[key]):
            raise ContractError("wrong_type", f"'{key}' must be an integer")
    if not _is_number(obj["urgent_rh_pct"]):
        raise ContractError("wrong_type", "'urgent_rh_pct' must be a finite number")
    return DeviceConfig(
        sample_s=obj["sample_s"],
        upload_every=obj["upload_every"],
        urgent_rh_pct=float(obj["urgent_rh_pct"]),
    )


def encode_config(config: DeviceConfig) -> bytes:
    """Serialise a config for its retained topic."""
    return json.dumps(
        {
            "v": CONTRACT_VERSION,
            "sample_s": config.sample_s,
            "upload_every": config.upload_every,
            "urgent_rh_pct": config.urgent_rh_pct,
        },
        separators=(",", ":"),
    ).encode()


def encode_telemetry(
    seq: int,
    readings: list[Reading] | tuple[Reading, ...],
    *,
    fw: str | None = None,
    batt_mv: int | None = None,
    rssi_dbm: int | None = None,
    sent: int | None = None,
) -> bytes:
    """Serialise readings as a contract telemetry payload (as firmware would send it;
    ``sent`` is the device's clock at sending)."""
    if not 1 <= len(readings) <= MAX_READINGS:
        raise ContractError("too_many_readings", f"a message holds 1–{MAX_READINGS} readings")
    body: dict[str, Any] = {"v": CONTRACT_VERSION, "seq": seq}
    if fw is not None:
        body["fw"] = fw
    if batt_mv is not None:
        body["batt_mv"] = batt_mv
    if rssi_dbm is not None:
        body["rssi_dbm"] = rssi_dbm
    if sent is not None:
        body["sent"] = sent
    items = []
    for r in readings:
        item: dict[str, Any] = {
            "ts": r.ts,
            "temp_c": round(r.temp_c, 2),
            "rh_pct": round(r.rh_pct, 1),
        }
        if r.surface_c is not None:
            item["surface_c"] = round(r.surface_c, 2)
        items.append(item)
    body["readings"] = items
    return json.dumps(body, separators=(",", ":")).encode()
