"""Response and request schemas, kept apart from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from dampwatch_core.const import Level
from dampwatch_core.findings import FlagCode, ReasonCode, ReasonKind

__all__ = [
    "ERRORS",
    "NOT_FOUND",
    "DevicePublic",
    "ErrorPublic",
    "FieldErrorPublic",
    "FlagPublic",
    "FlatPublic",
    "FlatRiskPublic",
    "FlatRiskSummary",
    "QuarantinePublic",
    "ReadingPublic",
    "ReadingsPublic",
    "ReasonPublic",
    "RiskHistoryPoint",
]


class FieldErrorPublic(BaseModel):
    """What is wrong with one parameter."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorPublic(BaseModel):
    """Every error response: a message for a person, and per parameter for a program."""

    detail: str
    errors: list[FieldErrorPublic] = []


#: Error responses every API route may give (the app factory answers them).
ERRORS: dict[int | str, dict[str, object]] = {
    422: {
        "model": ErrorPublic,
        "description": "A parameter breaks its rule; the message says which",
    },
    503: {"model": ErrorPublic, "description": "A store is unavailable; try again later"},
}
#: a request body that is not JSON at all (FastAPI answers 400 before validation)
BAD_BODY: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorPublic, "description": "The body cannot be parsed as JSON"}
}

NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorPublic, "description": "No such flat or device"}
}


class FlatPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    landlord: str
    block: str | None
    address: str
    postcode: str | None
    floor: int | None


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    flat_id: str
    room: str
    state: str | None
    fw: str | None
    batt_mv: int | None
    rssi_dbm: int | None
    last_seq: int | None
    last_seen: datetime | None
    decommissioned_at: datetime | None
    drops: int | None = None
    buffered: int | None = None
    sensor_failures: int | None = None
    #: the device's clock minus true time (s, signed); readings are stored corrected
    #: when it is beyond 60 s
    clock_offset_s: int | None = None


class ReadingPublic(BaseModel):
    """A reading; at hourly resolution one device-hour (``ts`` its start): the means,
    with the minimum and maximum and the number of readings in the hour."""

    ts: int
    device_id: str
    room: str
    temp_c: float
    rh_pct: float
    surface_c: float | None
    temp_c_min: float | None = None
    temp_c_max: float | None = None
    rh_pct_max: float | None = None
    samples: int | None = None


class ReadingsPublic(BaseModel):
    """One page of a flat's readings, oldest first, across all its devices."""

    flat_id: str
    start: int
    end: int
    resolution: Literal["raw", "hourly"]
    count: int
    #: true when the window holds more rows than this page: ask again with ``next_cursor``
    partial: bool
    next_cursor: str | None
    readings: list[ReadingPublic]


class QuarantinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    topic: str
    device_id: str | None
    reason: str
    detail: str
    reading_index: int | None
    payload_preview: str


class FlatRiskSummary(BaseModel):
    """A flat in the estate ranking."""

    id: str
    block: str | None
    address: str
    damp_level: str | None
    cold_level: str | None
    assessed_at: datetime | None
    score: float | None


class RiskHistoryPoint(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    assessed_at: datetime
    damp_level: Level
    cold_level: Level
    score: float


class ReasonPublic(BaseModel):
    """A reason for a level (``dampwatch_core.findings.Reason`` as stored): its kind,
    code, room, the message, and the numbers behind it as further fields
    (``hours``, ``of_hours``, ``mean_temp_c`` …)."""

    model_config = ConfigDict(extra="allow")

    kind: ReasonKind | None = None
    #: one of the engine's codes; a row stored by other means may hold another
    code: ReasonCode | str
    room: str | None = None
    message: str


class FlagPublic(BaseModel):
    """A flag (``dampwatch_core.findings.Flag`` as stored), numbers as further fields."""

    model_config = ConfigDict(extra="allow")

    code: FlagCode | str
    room: str | None = None
    message: str


class FlatRiskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    flat_id: str
    assessed_at: datetime
    period_start: datetime | None
    period_end: datetime | None
    damp_level: Level
    cold_level: Level
    score: float
    reasons: list[ReasonPublic]
    flags: list[FlagPublic]
    rooms: list[dict[str, object]]
    thresholds_version: str
    history: list[RiskHistoryPoint]
