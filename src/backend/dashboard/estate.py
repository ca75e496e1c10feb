"""The estate by risk band: high, medium, low, and *pending* for a flat with no
assessment yet (not enough data); with filters by block, landlord, band and case
state, a page at a time; and device health as exceptions first, with coverage.

The band of a flat is its worse level of damp-and-mould and cold: high, medium, or
low (which includes no risk found).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from dampwatch_core.const import Level
from dampwatch_core.models import Device, Flat, FlatRisk
from dampwatch_core.models_cases import ACTIVE_CASE_STATES, HazardCase

__all__ = [
    "BANDS",
    "DEVICE_PROBLEMS",
    "LOW_BATTERY_MV",
    "DeviceHealth",
    "EstateFilter",
    "band_counts",
    "coverage",
    "device_health_page",
    "estate_page",
]

BANDS = ("high", "medium", "low", "pending")
#: below this a cell is flagged (2 AA lithium cells near the end of their life)
LOW_BATTERY_MV = 2600
DEVICE_PROBLEMS = ("offline_7d", "offline_24h", "never_seen", "low_battery", "dropping")


@dataclass(frozen=True)
class EstateFilter:
    block: str | None = None
    landlord: str | None = None
    band: str | None = None
    #: ``open`` (any open case), ``none`` (no open case), or one open state
    case_state: str | None = None


def band_sql() -> ColumnElement[str]:
    return sql_case(
        (FlatRisk.flat_id.is_(None), "pending"),
        (FlatRisk.rank >= Level.HIGH.rank, "high"),
        (FlatRisk.rank == Level.MEDIUM.rank, "medium"),
        else_="low",
    )


def _open_case(state: str | None = None) -> ColumnElement[bool]:
    cond = [HazardCase.flat_id == Flat.id]
    cond.append(HazardCase.state == state if state else HazardCase.state.in_(ACTIVE_CASE_STATES))
    return exists(select(HazardCase.id).where(*cond))


def _filtered(query: Select, f: EstateFilter) -> Select:  # type: ignore[type-arg]
    if f.landlord is not None:
        query = query.where(Flat.landlord == f.landlord)
    if f.block:
        query = query.where(Flat.block == f.block)
    if f.band == "pending":
        query = query.where(FlatRisk.flat_id.is_(None))
    elif f.band == "high":
        query = query.where(FlatRisk.rank >= Level.HIGH.rank)
    elif f.band == "medium":
        query = query.where(FlatRisk.rank == Level.MEDIUM.rank)
    elif f.band == "low":
        query = query.where(FlatRisk.rank <= Level.LOW.rank)
    if f.case_state == "open":
        query = query.where(_open_case())
    elif f.case_state == "none":
        query = query.where(~_open_case())
    elif f.case_state:
        query = query.where(_open_case(f.case_state))
    return query


def estate_page(
    session: Session, f: EstateFilter, *, limit: int, offset: int
) -> list[tuple[Flat, FlatRisk | None, str]]:
    """Flats with their latest risk and band, highest risk first (pending last)."""
    query = (
        select(Flat, FlatRisk, band_sql())
        .outerjoin(FlatRisk, FlatRisk.flat_id == Flat.id)
        .order_by(FlatRisk.rank.desc().nulls_last(), FlatRisk.score.desc().nulls_last(), Flat.id)
        .limit(limit)
        .offset(offset)
    )
    return [(flat, risk, band) for flat, risk, band in session.execute(_filtered(query, f))]


def band_counts(session: Session, f: EstateFilter) -> dict[str, int]:
    """Flats in each band under ``f``'s other filters (the band filter is ignored)."""
    band = band_sql()
    query = (
        select(band, func.count(Flat.id))
        .select_from(Flat)
        .outerjoin(FlatRisk, FlatRisk.flat_id == Flat.id)
        .group_by(band)
    )
    other = EstateFilter(f.block, f.landlord, None, f.case_state)
    counts = dict.fromkeys(BANDS, 0)
    for name, n in session.execute(_filtered(query, other)):
        counts[str(name)] = int(n)
    return counts


@dataclass(frozen=True)
class DeviceHealth:
    device: Device
    problems: list[str]


def _problem_rank(now: dt.datetime) -> ColumnElement[int]:
    """0 for the worst (offline a week), up to 5 for a healthy device."""
    day, week = now - dt.timedelta(hours=24), now - dt.timedelta(days=7)
    return sql_case(
        (Device.decommissioned_at.is_not(None), 6),
        (Device.last_seen.is_(None), 2),
        (Device.last_seen < week, 0),
        (Device.last_seen < day, 1),
        (Device.batt_mv < LOW_BATTERY_MV, 3),
        (Device.drops > 0, 4),
        else_=5,
    )


def problems_of(d: Device, now: dt.datetime) -> list[str]:
    """What is wrong with a device now (empty: nothing)."""
    if d.decommissioned_at is not None:
        return []
    out = []
    if d.last_seen is None:
        out.append("never_seen")
    elif d.last_seen < now - dt.timedelta(days=7):
        out.append("offline_7d")
    elif d.last_seen < now - dt.timedelta(hours=24):
        out.append("offline_24h")
    if d.batt_mv is not None and d.batt_mv < LOW_BATTERY_MV:
        out.append("low_battery")
    if d.drops:
        out.append("dropping")
    return out


def device_health_page(
    session: Session,
    *,
    now: dt.datetime,
    landlord: str | None,
    problem: str | None,
    limit: int,
    offset: int,
) -> list[DeviceHealth]:
    """Devices, the worst exceptions first (offline a week, a day, never seen, low
    battery, dropping readings), then the healthy, then the retired."""
    query = select(Device).order_by(_problem_rank(now), Device.last_seen, Device.id)
    if landlord is not None:
        query = query.join(Flat, Flat.id == Device.flat_id).where(Flat.landlord == landlord)
    query = _problem_filter(query, problem, now)
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return [DeviceHealth(d, problems_of(d, now)) for d in rows]


def _problem_filter(query: Select, problem: str | None, now: dt.datetime) -> Select:  # type: ignore[type-arg]
    live = Device.decommissioned_at.is_(None)
    day, week = now - dt.timedelta(hours=24), now - dt.timedelta(days=7)
    if problem == "offline_7d":
        return query.where(live, Device.last_seen < week)
    if problem == "offline_24h":
        return query.where(live, Device.last_seen < day, Device.last_seen >= week)
    if problem == "never_seen":
        return query.where(live, Device.last_seen.is_(None))
    if problem == "low_battery":
        return query.where(live, Device.batt_mv < LOW_BATTERY_MV)
    if problem == "dropping":
        return query.where(live, Device.drops > 0)
    if problem == "any":
        return query.where(
            live,
            or_(
                Device.last_seen.is_(None),
                Device.last_seen < day,
                Device.batt_mv < LOW_BATTERY_MV,
                Device.drops > 0,
            ),
        )
    return query


def device_problem_counts(
    session: Session, *, now: dt.datetime, landlord: str | None
) -> dict[str, int]:
    out = {}
    for p in DEVICE_PROBLEMS:
        query = select(func.count(Device.id))
        if landlord is not None:
            query = query.join(Flat, Flat.id == Device.flat_id).where(Flat.landlord == landlord)
        out[p] = int(session.scalar(_problem_filter(query, p, now)) or 0)
    return out


def coverage(session: Session, *, now: dt.datetime, landlord: str | None) -> tuple[int, int]:
    """(homes with a sensor that reported in the last 24 hours, homes with a sensor):
    outdoor sensors do not count as a home's."""
    since = now - dt.timedelta(hours=24)
    base = (
        select(func.count(func.distinct(Device.flat_id)))
        .join(Flat, Flat.id == Device.flat_id)
        .where(Device.decommissioned_at.is_(None), Device.room != "outdoor")
    )
    if landlord is not None:
        base = base.where(Flat.landlord == landlord)
    with_sensor = int(session.scalar(base) or 0)
    reporting = int(session.scalar(base.where(Device.last_seen >= since)) or 0)
    return reporting, with_sensor
