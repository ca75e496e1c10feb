"""Devices: registry entries and health."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from backend.api.schemas import ERRORS, NOT_FOUND, DevicePublic
from backend.deps import SessionDep
from backend.params import DeviceIdPath, FlatIdFilter
from backend.registry import list_devices
from dampwatch_core.models import Device

router = APIRouter(prefix="/api/v1/devices", tags=["devices"], responses=ERRORS)


@router.get("")
def devices(session: SessionDep, flat: FlatIdFilter = None) -> list[DevicePublic]:
    return [DevicePublic.model_validate(d) for d in list_devices(session, flat)]


@router.get("/{device_id}", responses=NOT_FOUND)
def device(device_id: DeviceIdPath, session: SessionDep) -> DevicePublic:
    found = session.get(Device, device_id)
    if found is None:
        raise HTTPException(404, f"device {device_id!r} not found")
    return DevicePublic.model_validate(found)
