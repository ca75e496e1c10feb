"""What scoring finds and other packages act on: typed reasons, flags and findings, and
the narrow interface (:class:`FindingSink`) through which a consumer subscribes.

A *reason* explains a level (``surface RH ≥ 80 % for 41 h of 168 h …``) and carries the
numbers behind it; a *flag* says that something about the data or the household needs a
person's judgement (a stuck sensor, a flat that may be empty). A *finding* is a change
worth acting on: a flat's damp or cold level moved, or a flag appeared. Scoring returns
the findings of a run and hands them to the sinks it was given; it never imports a
consumer, and a consumer (tickets, webhooks, SMS) never imports scoring: the CLI wires
them.

Reasons and flags are typed dicts, stored and served as they are (flat JSON objects,
``{"kind": "damp", "code": "surface_rh_over_80", "room": …, "hours": …, "message": …}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NotRequired, Protocol, TypedDict, runtime_checkable

from dampwatch_core.const import Level

__all__ = [
    "DEVICE_FAULT_FLAGS",
    "Finding",
    "FindingKind",
    "FindingSink",
    "Flag",
    "FlagCode",
    "Reason",
    "ReasonCode",
    "ReasonKind",
    "is_device_fault",
]


class ReasonKind(StrEnum):
    DAMP = "damp"
    COLD = "cold"


class ReasonCode(StrEnum):
    """Why a flat has the damp or cold level it has."""

    SURFACE_RH_OVER_80 = "surface_rh_over_80"
    CONDENSATION = "condensation"
    MOULD_INDEX = "mould_index"
    AIR_RH_OVER_70 = "air_rh_over_70"
    AIR_RH_MEAN = "air_rh_mean"
    SLOW_TO_CLEAR = "slow_to_clear"
    BELOW_18C = "below_18c"


class FlagCode(StrEnum):
    """What needs a person's judgement before anyone acts on a level."""

    SENSOR_FLATLINE = "sensor_flatline"
    SENSOR_JUMPS = "sensor_jumps"
    SENSOR_OUT_OF_RANGE = "sensor_out_of_range"
    DATA_GAP = "data_gap"
    POSSIBLE_SELF_DISCONNECTION = "possible_self_disconnection"
    POSSIBLE_VACANCY = "possible_vacancy"
    #: the firmware's count of readings its buffer dropped rose (from device health)
    READINGS_DROPPED = "readings_dropped"


#: Flags that say a device, not the flat, is at fault.
DEVICE_FAULT_FLAGS = frozenset(
    {
        FlagCode.SENSOR_FLATLINE,
        FlagCode.SENSOR_JUMPS,
        FlagCode.SENSOR_OUT_OF_RANGE,
        FlagCode.READINGS_DROPPED,
    }
)


class Reason(TypedDict):
    """One reason for a level: what, where, in words, and the numbers behind it.

    A typed dict, which is also the stored and public form: an estate run makes
    hundreds of thousands of reasons, and a value object per reason (plus its
    conversion for storage) cost seconds of allocation and garbage collection. Keys
    other than ``kind``, ``code`` and ``message`` are there when the code has them."""

    kind: ReasonKind
    code: ReasonCode
    room: NotRequired[str]
    message: str
    hours: NotRequired[float]  # hours the condition held
    of_hours: NotRequired[float]  # ... of the hours it could be judged
    hours_below_16c: NotRequired[float]
    mean_temp_c: NotRequired[float]
    max: NotRequired[float]  # mould index: highest in the window
    final: NotRequired[float]  # ... and at its end
    rising: NotRequired[bool]
    mean_pct: NotRequired[float]  # a time-averaged RH (surface or air) over the window
    max_daily_pct: NotRequired[float]  # the highest daily mean air RH


class Flag(TypedDict):
    """Something about a flat's data or household that needs a person's judgement
    (a typed dict, as :class:`Reason`)."""

    code: FlagCode
    room: NotRequired[str]
    message: str
    hours: NotRequired[float]
    count: NotRequired[int]
    device_id: NotRequired[str]  # the device at fault, where the flag is about one
    coverage: NotRequired[float]  # the fraction of the window with readings
    spikes_per_day: NotRequired[float]
    vapour_excess_pa: NotRequired[float]  # mean indoor-minus-outdoor vapour pressure


def is_device_fault(flag: Flag) -> bool:
    """Whether ``flag`` says a device, not the flat, is at fault."""
    return flag["code"] in DEVICE_FAULT_FLAGS


class FindingKind(StrEnum):
    """What a finding is about."""

    DAMP = "damp"  # the damp/mould level changed
    COLD = "cold"  # the cold level changed
    VACANCY = "vacancy"  # a possible-vacancy flag appeared or went
    DEVICE_FAULT = "device_fault"  # a sensor fault flag appeared or went


@dataclass(frozen=True, slots=True)
class Finding:
    """A change in a flat worth acting on, from one scoring run.

    For ``damp`` and ``cold``, ``level_before`` is the flat's level at its previous
    assessment (``none`` if it had none) and ``level_after`` the new one; ``reasons``
    are the new assessment's reasons of that kind. For ``vacancy`` and
    ``device_fault``, the levels are ``none`` (no such flag) and ``high`` (flagged), and
    ``flags`` holds the flags of that kind. ``period_start``/``period_end`` bound the
    data the assessment was made from; ``assessment_id`` is its stored row.
    """

    flat_id: str
    kind: FindingKind
    level_before: Level
    level_after: Level
    period_start: datetime
    period_end: datetime
    reasons: tuple[Reason, ...] = ()
    flags: tuple[Flag, ...] = ()
    assessment_id: int | None = None
    thresholds_version: str = ""

    @property
    def rose(self) -> bool:
        """Whether the level went up (a worse state), not down."""
        return self.level_after.rank > self.level_before.rank


@runtime_checkable
class FindingSink(Protocol):
    """Where findings go: implemented by a consumer (tickets, webhooks), handed to
    scoring by whoever wires the services. ``publish`` is called once per run that
    assessed flats, after its assessments are committed, with every finding of the run
    (possibly none); a run with no new data calls nothing. It should not block for
    long (queue the work, do not send from here)."""

    def publish(self, findings: Sequence[Finding]) -> None: ...
