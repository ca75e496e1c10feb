"""``dampwatch relays``: register block relays, list them, and export a relay's device
table (the ids and frame keys of the ESP-NOW devices registered to it)."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from backend.auth import audit
from backend.registry import add_relay, list_relays, relay_devices, sync_broker_credentials
from dampwatch.commands._common import (
    add_json_flag,
    add_settings_flag,
    emit,
    open_store,
    settings_from_args,
)
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.errors import NotFoundError
from dampwatch_core.models import Device, Relay
from dampwatch_core.settings import device_broker


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("relays", help="register and list ESP-NOW block relays")
    rsub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = rsub.add_parser("add", help="register a relay and create its MQTT credential")
    add.add_argument("relay_id", help="e.g. relay-block-a (its MQTT username)")
    add.add_argument("--block", required=True, help="the block it serves")
    add_json_flag(add)
    add_settings_flag(add)
    add.set_defaults(func=run_add)

    lst = rsub.add_parser("list", help="list relays and how many devices each serves")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)

    exp = rsub.add_parser(
        "export", help="print a relay's device table (ids and frame keys) for relay_secrets.py"
    )
    exp.add_argument("relay_id")
    add_json_flag(exp)
    add_settings_flag(exp)
    exp.set_defaults(func=run_export)


def run_add(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    open_store(settings)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        relay, password = add_relay(session, args.relay_id, args.block)
        session.flush()
        audit.record(
            session,
            audit.DEVICE_ADDED,
            audit.cli_actor(),
            subject_type="relay",
            subject_id=relay.id,
            detail={"block": relay.block},
        )
        if settings.broker_password_file is not None:
            sync_broker_credentials(
                session,
                settings.broker_password_file,
                settings.broker_pid_file,
                settings.broker_acl_file,
            )
        host, port = device_broker(settings)
        result = {
            "relay_id": relay.id,
            "block": relay.block,
            "mqtt_username": relay.id,
            "mqtt_password": password,
            "mqtt_host": host,
            "mqtt_port": port,
        }
    emit(
        result,
        args.json,
        f"registered relay {relay.id} for {relay.block}\n"
        f"MQTT username: {relay.id}\nMQTT password: {password}\n"
        "(the password is shown once; store it in the relay's relay_secrets.py)",
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    open_store(settings)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        served = relay_devices(session)
        relays = list_relays(session)
        rows: list[dict[str, object]] = [
            {
                "relay_id": r.id,
                "block": r.block,
                "devices": served.get(r.id, []),
                "decommissioned": r.decommissioned_at is not None,
            }
            for r in relays
        ]
    lines = [f"{'RELAY':<24} {'BLOCK':<24} DEVICES"]
    lines += [f"{r.id:<24} {r.block:<24} {len(served.get(r.id, []))}" for r in relays]
    emit(rows, args.json, "\n".join(lines) + f"\n{len(rows)} relay(s)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    open_store(settings)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        relay = session.get(Relay, args.relay_id)
        if relay is None or relay.decommissioned_at is not None:
            raise NotFoundError(f"relay {args.relay_id!r} does not exist")
        query = select(Device).where(
            Device.relay_id == relay.id, Device.decommissioned_at.is_(None)
        )
        table = {d.id: d.espnow_key for d in session.scalars(query.order_by(Device.id))}
    lines = ["DEVICES = {"] + [f"    {k!r}: {v!r}," for k, v in table.items()] + ["}"]
    emit(table, args.json, "\n".join(lines))
    return 0
