"""Devices that drop readings, as findings.

The firmware counts the readings it had to drop (its buffer was full while it could not
upload) and reports the count in each status message; the gateway keeps the latest
count in device health (``devices.drops``, with the boot counter ``devices.boot``). A
device whose count rose by at least ``[devices] drops_per_check`` (thresholds.toml)
since the previous check is a :class:`~dampwatch_core.findings.Finding` of kind
``device_fault`` for its flat, with a ``readings_dropped`` flag per device, handed to
the finding sinks. A device that rebooted counts from zero again: its whole count is
new.

:func:`dropped_since` and :func:`drop_findings` are pure; :class:`DropWatch` reads the
registry and keeps the counts it last saw, in memory (see the backend README,
Limitations: a restarted scheduler starts from the counts it first sees).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.risk.thresholds import Thresholds, load_thresholds
from dampwatch_core.const import Level
from dampwatch_core.findings import Finding, FindingKind, FindingSink, Flag, FlagCode
from dampwatch_core.models import Device, utcnow

__all__ = ["Counters", "DropWatch", "drop_findings", "dropped_since"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Counters:
    """A device's health as last stored: its dropped readings since ``boot``."""

    device_id: str
    flat_id: str
    room: str
    boot: int | None
    drops: int
    seen_at: datetime | None


def dropped_since(before: Counters | None, now: Counters) -> int | None:
    """Readings dropped between ``before`` and ``now``; None when there is nothing to
    compare with (the first count seen of a device)."""
    if before is None:
        return None
    if now.boot != before.boot or now.drops < before.drops:
        return now.drops  # rebooted: the counter started again from zero
    return now.drops - before.drops


def drop_findings(
    before: Mapping[str, Counters],
    now: Iterable[Counters],
    thresholds: Thresholds,
    *,
    checked_at: datetime,
) -> list[Finding]:
    """One ``device_fault`` finding per flat with a device whose dropped readings rose
    by at least ``drops_per_check`` since ``before``."""
    at_least = thresholds.devices.drops_per_check
    flags: dict[str, list[Flag]] = defaultdict(list)
    since: dict[str, datetime] = {}
    for c in now:
        previous = before.get(c.device_id)
        dropped = dropped_since(previous, c)
        if dropped is None or dropped < at_least:
            continue
        flags[c.flat_id].append(
            Flag(
                code=FlagCode.READINGS_DROPPED,
                room=c.room,
                device_id=c.device_id,
                count=dropped,
                message=f"{c.room} device dropped {dropped} reading(s) since the last check"
                " (its buffer was full: readings were lost)",
            )
        )
        start = previous.seen_at if previous is not None else None
        if start is not None:
            since[c.flat_id] = min(since.get(c.flat_id, start), start)
    return [
        Finding(
            flat_id=flat,
            kind=FindingKind.DEVICE_FAULT,
            level_before=Level.NONE,
            level_after=Level.HIGH,
            period_start=since.get(flat, checked_at),
            period_end=checked_at,
            flags=tuple(flat_flags),
            thresholds_version=thresholds.version,
        )
        for flat, flat_flags in sorted(flags.items())
    ]


def _counters(session: Session) -> list[Counters]:
    rows = session.execute(
        select(Device.id, Device.flat_id, Device.room, Device.boot, Device.drops, Device.last_seen)
        .where(Device.decommissioned_at.is_(None))
        .where(Device.drops.is_not(None))
    ).all()
    return [
        Counters(device_id, flat_id, room, boot, drops, seen_at)
        for device_id, flat_id, room, boot, drops, seen_at in rows
        if drops is not None
    ]


class DropWatch:
    """Checks every commissioned device's dropped readings against the counts of its
    previous check (the first check only records them)."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or load_thresholds()
        self._seen: dict[str, Counters] = {}

    def run(
        self, sessions: sessionmaker[Session], sinks: Sequence[FindingSink] = ()
    ) -> list[Finding]:
        """This check's findings, also handed to each of ``sinks`` (only when there
        are any)."""
        with sessions() as session:
            counters = _counters(session)
        findings = drop_findings(self._seen, counters, self.thresholds, checked_at=utcnow())
        self._seen = {c.device_id: c for c in counters}
        if findings:
            log.info("%d flat(s) with a device that dropped readings", len(findings))
            for sink in sinks:
                sink.publish(findings)
        return findings
