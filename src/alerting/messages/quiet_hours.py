"""When a message to a tenant may go: business hours, UK time, and at most one tip a week.

Nothing is sent between 20:00 and 09:00 in Europe/London; a message due in that window
waits until 09:00 the next morning (the same morning when it is after midnight). Tips,
the optional messages tenants subscribe to, also wait until a week has passed since the
tenant's last tip. Pure functions: the caller passes the time.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

__all__ = ["QUIET_END", "QUIET_START", "TIP_INTERVAL", "earliest_send", "next_tip_time"]

LONDON = ZoneInfo("Europe/London")
QUIET_START = dt.time(20, 0)
QUIET_END = dt.time(9, 0)
TIP_INTERVAL = dt.timedelta(days=7)


def earliest_send(due: dt.datetime, tz: dt.tzinfo = LONDON) -> dt.datetime:
    """``due`` if it falls in business hours, else 09:00 local on the next morning."""
    if due.tzinfo is None:
        raise ValueError("due must carry a time zone")
    local = due.astimezone(tz)
    if QUIET_END <= local.time() < QUIET_START:
        return due
    day = local.date() if local.time() < QUIET_END else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, QUIET_END, tzinfo=tz)


def next_tip_time(
    due: dt.datetime, last_tip: dt.datetime | None, tz: dt.tzinfo = LONDON
) -> dt.datetime:
    """When a tip may go: a week after the last one at the earliest, in business hours."""
    if last_tip is not None and due < last_tip + TIP_INTERVAL:
        due = last_tip + TIP_INTERVAL
    return earliest_send(due, tz)
