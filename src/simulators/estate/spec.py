"""The estate as data: the validated estate file (:class:`Estate`, its blocks and rooms
being tables of the file as they are validated) and what generating it gives
(:class:`EstateData`: flats, devices and their readings, tenants, ground truth)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from dampwatch_core.configfile import FileModel, between
from dampwatch_core.const import BEDROOM, LIVING_ROOM
from simulators.flat import STEP_S
from simulators.scenario import GroundTruth, Scenario
from simulators.weather import ColdSnap

__all__ = [
    "DEFAULT_END",
    "DEFAULT_ROOMS",
    "KINDS",
    "BlockSpec",
    "DeviceData",
    "Estate",
    "EstateData",
    "FlatData",
    "RoomKind",
    "RoomSpec",
    "Tenant",
]


#: 2025-12-13 00:00 UTC: a default end in winter, so runs are reproducible.
DEFAULT_END = 1765584000
RoomKind = Literal["living", "bedroom", "kitchen", "bathroom"]
KINDS: tuple[RoomKind, ...] = ("living", "bedroom", "kitchen", "bathroom")


class RoomSpec(FileModel):
    """A room every flat has, with one device in it (volume [m³], heater [W]); a
    ``[[rooms]]`` table of the estate file."""

    name: Annotated[
        str,
        Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="lowercase letters, digits, '_'"),
    ]
    kind: RoomKind
    volume_m3: Annotated[float, between(5, 200)]
    heater_w: Annotated[float, between(0, 5000)]
    probe: bool = False


DEFAULT_ROOMS = (
    RoomSpec(name=LIVING_ROOM, kind="living", volume_m3=40.0, heater_w=1500.0),
    RoomSpec(name=BEDROOM, kind="bedroom", volume_m3=28.0, heater_w=1000.0),
)


class BlockSpec(FileModel):
    """A tower block: ``flats`` flats, ``flats_per_floor`` to a floor from floor 1; a
    ``[[blocks]]`` table of the estate file."""

    name: str
    code: Annotated[
        str, Field(pattern=r"^[A-Z0-9]{1,8}$", description="1–8 capital letters or digits")
    ]
    flats: Annotated[int, between(1, 10_000)]
    flats_per_floor: Annotated[int, between(1, 20)] = 4


@dataclass(frozen=True)
class Tenant:
    """The household of an occupied flat. ``phone`` is from Ofcom's drama range
    (07700 900000–900999), never a real number."""

    flat_id: str
    phone: str
    sms_consent: bool
    over_65: bool


@dataclass(frozen=True)
class FlatData:
    """A flat, its scenario and its ground truth.

    ``onset_ts`` is when the scenario's condition begins [Unix s] (the start of the
    simulation when it is there from the start); ``heating_off`` and ``offline`` are
    ``(from, to)`` Unix-second windows, or ``None``.
    """

    flat_id: str
    block: str
    block_code: str
    address: str
    floor: int
    scenario: str
    truth: GroundTruth
    onset_ts: int
    rooms: tuple[str, ...]
    heating_off: tuple[int, int] | None = None
    offline: tuple[int, int] | None = None


@dataclass
class DeviceData:
    """One device's readings, sampled every ``sample_s`` seconds.

    ``temp_c`` [°C, 0.01], ``rh_pct`` [%, 0.1] and ``surface_c`` [°C, 0.01; ``None``
    without a probe] are NaN where a sample was lost. Readings inside ``offline``
    (``(from, to)`` Unix s) were taken but only uploaded when the device came back.
    ``f_rsi`` and ``tau_h`` are the room's true temperature factor and time constant.
    """

    device_id: str
    flat_id: str
    room: str
    has_probe: bool
    ts: NDArray[np.int64]
    temp_c: NDArray[np.float64]
    rh_pct: NDArray[np.float64]
    surface_c: NDArray[np.float64] | None
    offline: tuple[int, int] | None = None
    f_rsi: float = 0.75
    tau_h: float = 40.0


@dataclass
class EstateData:
    """A generated estate. The readings of all devices are also available as matrices
    ``temp_c``, ``rh_pct`` and ``surface_c`` of shape ``(devices, samples)`` (NaN where
    lost, or where a device has no probe); ``devices[i]`` holds views of row ``i``."""

    spec: Estate
    seed: int
    start: int
    end: int
    sample_s: int
    ts: NDArray[np.int64]
    temp_c: NDArray[np.float64]
    rh_pct: NDArray[np.float64]
    surface_c: NDArray[np.float64]
    outdoor_c: NDArray[np.float64]
    outdoor_rh: NDArray[np.float64]
    flats: list[FlatData] = field(default_factory=list)
    devices: list[DeviceData] = field(default_factory=list)
    tenants: list[Tenant] = field(default_factory=list)

    @property
    def outdoor_ts(self) -> NDArray[np.int64]:
        """Sample times of the outdoor series (the same as ``ts``)."""
        return self.ts

    def readings_count(self) -> int:
        """Readings actually taken (lost samples excluded)."""
        return int(np.count_nonzero(np.isfinite(self.temp_c)))

    def flat(self, flat_id: str) -> FlatData:
        """The flat with this id (``KeyError`` otherwise)."""
        for f in self.flats:
            if f.flat_id == flat_id:
                return f
        raise KeyError(flat_id)

    def devices_of(self, flat_id: str) -> list[DeviceData]:
        """The devices in a flat, in room order."""
        return [d for d in self.devices if d.flat_id == flat_id]

    def ground_truth(self) -> list[dict[str, Any]]:
        """One row per flat: ``flat_id, scenario, damp, cold, vacant, onset_ts, faults``
        (``damp``/``cold`` ``None`` when the scenario does not decide them)."""
        return [
            {
                "flat_id": f.flat_id,
                "scenario": f.scenario,
                "damp": f.truth.damp,
                "cold": f.truth.cold,
                "vacant": f.truth.vacant,
                "onset_ts": f.onset_ts,
                "faults": list(f.truth.faults),
            }
            for f in self.flats
        ]


@dataclass(frozen=True)
class Estate:
    """An estate file, validated. :meth:`generate` simulates it."""

    name: str
    seed: int
    days: int
    blocks: tuple[BlockSpec, ...]
    mix: Mapping[str, float]
    scenarios: Mapping[str, Scenario] = field(repr=False, default_factory=dict)
    landlord: str = "demo-council"
    end: int = DEFAULT_END
    sample_s: int = STEP_S
    rooms: tuple[RoomSpec, ...] = DEFAULT_ROOMS
    cold_snap_day: float | None = None  # None: the middle of the run
    cold_snap_days: float = 3.0
    cold_snap_depth_c: float = 7.0
    h_w_per_k: tuple[float, float] = (18.0, 32.0)
    tau_h: tuple[float, float] = (30.0, 60.0)
    neighbour_share: float = 0.5
    sms_consent_share: float = 0.8
    over_65_share: float = 0.2

    @property
    def flat_count(self) -> int:
        return sum(b.flats for b in self.blocks)

    def cold_snap(self) -> ColdSnap | None:
        if self.cold_snap_days <= 0:
            return None
        day = self.days // 2 if self.cold_snap_day is None else self.cold_snap_day
        return ColdSnap(float(day), self.cold_snap_days, self.cold_snap_depth_c)

    def generate(
        self, seed: int | None = None, *, end: int | None = None, chunk_flats: int = 1000
    ) -> EstateData:
        """Simulate the estate for ``days`` days up to ``end`` (default: the file's).

        ``seed`` overrides the file's seed (held-out runs). ``chunk_flats`` bounds
        memory (flats simulated at once); it does not change the result.
        """
        from simulators.estate.generation import generate_estate

        return generate_estate(self, self.seed if seed is None else seed, end, chunk_flats)
