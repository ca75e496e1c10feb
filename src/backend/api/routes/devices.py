"""Devices: registry entries and health."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.schemas import ERRORS, NOT_FOUND, DevicePublic
from backend.auth import EstateViewer, check_landlord, landlord_filter
from backend.deps import SessionDep
from backend.params import DeviceIdPath, FlatIdFilter
from backend.registry import list_devices
from dampwatch_core.models import Device

router = APIRouter(prefix="/api/v1/devices", tags=["devices"], responses=ERRORS)


@router.get("")
def devices(
    session: SessionDep, user: EstateViewer, flat: FlatIdFilter = None
) -> list[DevicePublic]:
    found = list_devices(session, flat, landlord=landlord_filter(user))
    return [DevicePublic.model_validate(d) for d in found]


@router.get("/{device_id}", responses=NOT_FOUND)
def device(device_id: DeviceIdPath, session: SessionDep, user: EstateViewer) -> DevicePublic:
    found = session.get(Device, device_id)
    landlord = found.flat.landlord if found is not None else None
    check_landlord(user, landlord, f"device {device_id!r}")
    return DevicePublic.model_validate(found)
