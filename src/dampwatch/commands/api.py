"""``dampwatch api``: serve the HTTP API and dashboard under uvicorn."""

from __future__ import annotations

import argparse

from dampwatch.commands._common import add_settings_flag, settings_from_args
from dampwatch_core.db import migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("api", help="serve the HTTP API and the officers' dashboard")
    parser.add_argument("--host", help="bind address (default from settings)")
    parser.add_argument("--port", type=int, help="port (default from settings)")
    add_settings_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.app import create_app
    from dampwatch.messaging import case_desk, notify_inbox

    settings = settings_from_args(args)
    migrate(settings.database_url)
    # Notify's callbacks need the tenant store's key (matching a reply to a tenant)
    callbacks = notify_inbox(settings) if settings.tenant_data_keys is not None else None
    uvicorn.run(
        create_app(settings, notify_callbacks=callbacks, case_desk=case_desk(settings)),
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level="warning",
    )
    return 0
