"""``dampwatch gateway``: run the ingest gateway as a production unit would."""

from __future__ import annotations

import argparse
import signal
from types import FrameType

from dampwatch.commands._common import add_settings_flag, settings_from_args
from dampwatch_core.db import migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("gateway", help="run the MQTT -> InfluxDB ingest gateway")
    parser.add_argument("--client-id", help="MQTT client id (fixed per gateway process)")
    parser.add_argument("--max-lines", type=int, default=5000, help="readings per InfluxDB write")
    add_settings_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gateway.service import Gateway

    settings = settings_from_args(args)
    if args.client_id:
        settings = settings.model_copy(update={"mqtt_client_id": args.client_id})
    migrate(settings.database_url)
    gw = Gateway.from_settings(settings, max_lines=args.max_lines)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        gw.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    gw.run()
    return 0
