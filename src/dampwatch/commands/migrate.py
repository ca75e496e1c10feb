"""``dampwatch migrate``: bring the relational store's schema up to date (or to a given
revision). ``dampwatch up`` runs it before any service starts; each service also runs
it on start, under a lock, so that several started at once do not race."""

from __future__ import annotations

import argparse

from dampwatch.commands._common import add_settings_flag, settings_from_args
from dampwatch_core.db import describe_url, migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("migrate", help="create or upgrade the relational store's schema")
    parser.add_argument(
        "--revision", default="head", help="target revision (default: the newest, head)"
    )
    parser.add_argument(
        "--downgrade", action="store_true", help="go down to --revision (e.g. base) instead"
    )
    add_settings_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    migrate(settings.database_url, args.revision, downgrade=args.downgrade)
    print(f"{describe_url(settings.database_url)}: schema at {args.revision}")
    return 0
