"""``dampwatch devices``: register, list and decommission sensor devices."""

from __future__ import annotations

import argparse

from backend.auth import audit
from backend.registry import add_device, decommission_device, list_devices, sync_broker_credentials
from dampwatch.commands._common import (
    add_json_flag,
    add_settings_flag,
    emit,
    open_store,
    settings_from_args,
)
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.settings import Settings, device_broker


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("devices", help="register and list sensor devices")
    dsub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = dsub.add_parser(
        "add", help="register a device in a flat's room and create its MQTT credential"
    )
    add.add_argument("device_id", help="e.g. esp32-a4cf12fe0b3c")
    add.add_argument("--flat", required=True, help="flat id (must exist)")
    add.add_argument("--room", required=True, help="room, e.g. bedroom or living_room")
    add.add_argument(
        "--uplink",
        choices=["wifi", "espnow"],
        default="wifi",
        help="wifi: its own MQTT login; espnow: through a block relay (prints its frame key)",
    )
    add.add_argument("--relay", metavar="RELAY_ID", help="the relay an espnow device uses")
    add_json_flag(add)
    add_settings_flag(add)
    add.set_defaults(func=run_add)

    lst = dsub.add_parser("list", help="list devices with their health")
    lst.add_argument("--flat", help="only this flat's devices")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)

    rm = dsub.add_parser("decommission", help="retire a device; its credential stops working")
    rm.add_argument("device_id")
    add_json_flag(rm)
    add_settings_flag(rm)
    rm.set_defaults(func=run_decommission)


def _sync(settings: Settings, session: object) -> None:
    if settings.broker_password_file is not None:
        sync_broker_credentials(
            session,  # type: ignore[arg-type]
            settings.broker_password_file,
            settings.broker_pid_file,
            settings.broker_acl_file,
        )


def run_add(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    open_store(settings)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        device, password = add_device(
            session, args.device_id, args.flat, args.room, uplink=args.uplink, relay_id=args.relay
        )
        session.flush()
        audit.record(
            session,
            audit.DEVICE_ADDED,
            audit.cli_actor(),
            subject_type="device",
            subject_id=device.id,
            detail={"flat_id": device.flat_id, "room": device.room, "uplink": device.uplink},
        )
        _sync(settings, session)
        if device.uplink == "espnow":
            result_espnow = {
                "device_id": device.id,
                "flat_id": device.flat_id,
                "room": device.room,
                "uplink": "espnow",
                "relay_id": device.relay_id,
                "espnow_key": password,
            }
        result = {
            "device_id": device.id,
            "flat_id": device.flat_id,
            "room": device.room,
            "mqtt_username": device.id,
            "mqtt_password": password,
            "mqtt_host": device_broker(settings)[0],
            "mqtt_port": device_broker(settings)[1],
        }
    if device.uplink == "espnow":
        emit(
            result_espnow,
            args.json,
            f"registered {device.id} in flat {device.flat_id}, room {device.room}, "
            f"through relay {device.relay_id}\nESPNOW_KEY = {password!r}\n"
            "(the key is shown once: put it in the device's secrets file; "
            "'dampwatch relays export' gives the relay its devices' keys)",
        )
        return 0
    emit(
        result,
        args.json,
        f"registered {device.id} in flat {device.flat_id}, room {device.room}\n"
        f"MQTT username: {device.id}\nMQTT password: {password}\n"
        "(the password is shown once; store it in the device's secrets file)",
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    open_store(settings)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        devices = list_devices(session, args.flat)
        rows = [
            {
                "device_id": d.id,
                "flat_id": d.flat_id,
                "room": d.room,
                "state": d.state,
                "batt_mv": d.batt_mv,
                "last_seen": d.last_seen.isoformat() if d.last_seen else None,
                "decommissioned": d.decommissioned_at is not None,
            }
            for d in devices
        ]
    lines = [f"{'DEVICE':<22} {'FLAT':<14} {'ROOM':<14} {'STATE':<8} LAST SEEN"]
    for r in rows:
        state = "retired" if r["decommissioned"] else (r["state"] or "-")
        lines.append(
            f"{r['device_id']:<22} {r['flat_id']:<14} {r['room']:<14} {state:<8} "
            f"{r['last_seen'] or 'never'}"
        )
    emit(rows, args.json, "\n".join(lines) + f"\n{len(rows)} device(s)")
    return 0


def run_decommission(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    open_store(settings)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        device = decommission_device(session, args.device_id)
        session.flush()
        audit.record(
            session,
            audit.DEVICE_DECOMMISSIONED,
            audit.cli_actor(),
            subject_type="device",
            subject_id=device.id,
        )
        _sync(settings, session)
        result = {"device_id": device.id, "decommissioned_at": device.decommissioned_at}
    emit(result, args.json, f"decommissioned {args.device_id}")
    return 0
