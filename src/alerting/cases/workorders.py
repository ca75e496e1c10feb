"""The contractor payload: a work order in HACT ``RaiseRepair`` names, with the damp
evidence in one ``HazardContext`` block. Pure: builds a dict from rows already loaded.

Documented for contractors in ``docs/webhooks.md``. No tenant name or phone number is
ever put here; access arrangements are the landlord's to add.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from alerting.cases.states import CaseKind, SeverityAssessment, TriggerSource
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import CaseDeadline, HazardCase, WorkOrder

__all__ = ["SCHEMA_VERSION", "MessageType", "priority_for", "work_order_payload"]

SCHEMA_VERSION = "dampwatch-work-order/1"


class MessageType:
    RAISE = "RaiseRepair"  # a new work order
    AMEND = "AmendRepair"  # the same work order, its priority or due time changed
    CANCEL = "CancelRepair"  # the case was closed with no action


#: HACT priority codes (Hackney's labels): 1 Immediate, 2 Emergency, 3 Urgent,
#: 4 Normal, 5 Inspection. A case pending assessment is raised as Urgent, due by the
#: significant-hazard investigation deadline; emergency hazards are Emergency.
_PRIORITY = {
    SeverityAssessment.EMERGENCY: "2",
    SeverityAssessment.SIGNIFICANT: "3",
    SeverityAssessment.PENDING: "3",
}

_TRIGGER = {
    TriggerSource.SENSOR: "SensorRisk",
    TriggerSource.TENANT_REPORT: "TenantReport",
    TriggerSource.STAFF: "StaffObservation",
}

_ASSESSMENT = {
    SeverityAssessment.PENDING: "PendingLandlordAssessment",
    SeverityAssessment.EMERGENCY: "Emergency",
    SeverityAssessment.SIGNIFICANT: "Significant",
}


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _due(deadlines: Sequence[CaseDeadline], severity: str, step: str) -> CaseDeadline | None:
    for deadline in deadlines:
        if deadline.severity == severity and deadline.step == step:
            return deadline
    return None


def priority_for(
    severity: SeverityAssessment, deadlines: Sequence[CaseDeadline]
) -> tuple[str, dt.datetime | None]:
    """The HACT priority code and the required completion time (the investigation's
    due time under the assessed severity, or the significant one while pending)."""
    clock = SeverityAssessment.SIGNIFICANT if severity is SeverityAssessment.PENDING else severity
    due = _due(deadlines, clock.value, "investigate")
    return _PRIORITY[severity], due.due_at if due is not None else None


def work_order_payload(
    *,
    message_type: str,
    case: HazardCase,
    flat: Flat,
    work_order: WorkOrder,
    deadlines: Sequence[CaseDeadline],
    status_callback_base: str | None = None,
) -> dict[str, Any]:
    """The JSON document sent to the contractor for ``work_order``."""
    if case.kind != CaseKind.REPAIR:
        raise ValueError("only repair cases are sent to contractors")
    severity = SeverityAssessment(case.severity)
    clock = SeverityAssessment.SIGNIFICANT if severity is SeverityAssessment.PENDING else severity
    investigate = _due(deadlines, clock.value, "investigate")
    evidence = case.evidence or {}
    address_lines = [line.strip() for line in flat.address.split(",") if line.strip()]
    payload: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "MessageType": message_type,
        "WorkOrderReference": {"ID": work_order.reference, "AllocatedBy": "DampWatch"},
        "CaseReference": {"ID": case.reference, "AllocatedBy": "DampWatch"},
        "DateReported": _iso(case.aware_at),
        "DescriptionOfWork": case.description,
        "Priority": {
            "PriorityCode": work_order.priority_code,
            "RequiredCompletionDateTime": _iso(work_order.required_completion_at),
        },
        "WorkClass": {"WorkClassCode": "DampAndMould", "WorkClassDescription": "Damp and mould"},
        "LocationOfRepair": evidence.get("location", ""),
        "SitePropertyUnit": [
            {
                "Reference": [{"ID": flat.id, "AllocatedBy": "DampWatch"}],
                "Address": {"AddressLine": address_lines, "PostalCode": flat.postcode or ""},
            }
        ],
        "HazardContext": {
            "HazardType": "DampAndMould",
            "Assessment": _ASSESSMENT[severity],
            "TriggerSource": _TRIGGER[TriggerSource(case.trigger_source)],
            "RiskLevel": case.risk_level,
            "AwareDateTime": _iso(case.aware_at),
            "InvestigateBy": investigate.due_date.isoformat()
            if investigate is not None and investigate.due_date is not None
            else None,
            "Reasons": list(evidence.get("reasons", [])),
            "SensorSummary": list(evidence.get("rooms", [])),
            "DataPeriod": evidence.get("period"),
        },
    }
    if status_callback_base:
        payload["StatusCallbackURI"] = (
            f"{status_callback_base.rstrip('/')}/api/v1/work-orders/{work_order.reference}/status"
        )
    return payload
