"""A case's life: the states, the moves between them, and the refusal of any other.
Pure: no I/O.

::

    open -> acknowledged -> investigating -> made_safe -> works_scheduled -> resolved
                                                  \\-------------------------> resolved
    (any open state) -> closed   (no action; a reason is required)

``made_safe -> resolved`` is for a hazard that making safe removed (no further works).
``resolved`` and ``closed`` are final: a recurrence opens a new case.
"""

from __future__ import annotations

from enum import StrEnum

from alerting.errors import AlertingError

__all__ = [
    "ACTIVE_STATES",
    "TRANSITIONS",
    "CaseKind",
    "CaseState",
    "IllegalTransition",
    "SeverityAssessment",
    "TriggerSource",
    "check_transition",
]


class CaseKind(StrEnum):
    REPAIR = "repair"  # damp and mould: a contractor investigates and fixes
    OUTREACH = "outreach"  # a cold home: a housing officer offers help, never a contractor


class TriggerSource(StrEnum):
    SENSOR = "sensor"
    TENANT_REPORT = "tenant_report"
    STAFF = "staff"


class SeverityAssessment(StrEnum):
    """The landlord's assessment; ``pending`` until an officer decides."""

    PENDING = "pending"
    EMERGENCY = "emergency"
    SIGNIFICANT = "significant"


class CaseState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    MADE_SAFE = "made_safe"
    WORKS_SCHEDULED = "works_scheduled"
    RESOLVED = "resolved"
    CLOSED = "closed"  # closed with no action, with a reason


TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.OPEN: frozenset({CaseState.ACKNOWLEDGED, CaseState.CLOSED}),
    CaseState.ACKNOWLEDGED: frozenset({CaseState.INVESTIGATING, CaseState.CLOSED}),
    CaseState.INVESTIGATING: frozenset({CaseState.MADE_SAFE, CaseState.CLOSED}),
    CaseState.MADE_SAFE: frozenset(
        {CaseState.WORKS_SCHEDULED, CaseState.RESOLVED, CaseState.CLOSED}
    ),
    CaseState.WORKS_SCHEDULED: frozenset({CaseState.RESOLVED, CaseState.CLOSED}),
    CaseState.RESOLVED: frozenset(),
    CaseState.CLOSED: frozenset(),
}

#: States in which a case is still open (one such case per flat and kind).
ACTIVE_STATES = frozenset(s for s, nexts in TRANSITIONS.items() if nexts)


class IllegalTransition(AlertingError):
    """A move the case's life does not allow (or a close without a reason)."""


def check_transition(current: CaseState, target: CaseState, reason: str = "") -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is allowed."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        if not allowed:
            raise IllegalTransition(
                f"a {current.value} case is final: it cannot move to {target.value}"
            )
        options = ", ".join(sorted(s.value for s in allowed))
        raise IllegalTransition(
            f"a case cannot move from {current.value} to {target.value}; "
            f"from {current.value} it can move to: {options}"
        )
    if target is CaseState.CLOSED and not reason.strip():
        raise IllegalTransition("closing a case with no action needs a reason")
