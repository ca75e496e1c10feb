"""``dampwatch``: the one program a person runs. Each subcommand lives in
``dampwatch.commands.<name>`` and registers itself with :func:`register`.

Exit codes: 0 success, 1 the command's own failure (e.g. a rejected CSV row) or an
unexpected error, 2 bad usage, bad input or bad settings, 3 a service unavailable. Every
failure is one line on stderr that says what to do; ``-v`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from dampwatch_core.errors import DampWatchError, ServiceUnavailable

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

#: Subcommand modules, in the order ``--help`` lists them. Each has
#: ``register(subparsers) -> None`` which adds its parser and sets ``func``.
COMMAND_MODULES = (
    "up",
    "migrate",
    "gateway",
    "api",
    "scheduler",
    "devices",
    "flats",
    "simulate",
    "analyse",
    "evaluate",
    "cases",
    "users",
    "tokens",
    "contractors",
    "outbox",
    "tenants",
    "partners",
    "messages",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dampwatch",
        description="DampWatch: find damp, mould and cold in social housing early.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"dampwatch.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dampwatch.commands.{name}":
                continue  # not built yet in this checkout
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # one line per HTTP request, nine per migration, drown what matters
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        return _report(args.command, exc)
    return code


def _report(command: str, exc: Exception) -> int:
    """One line on stderr for a failure; returns the exit code."""
    if isinstance(exc, OperationalError):  # the store failed under the command
        reason = str(exc.orig or exc).strip().splitlines()[0]
        exc = ServiceUnavailable(
            f"the relational store failed ({reason}): check that it is running, or set "
            "DAMPWATCH_DATABASE_URL"
        )
    if isinstance(exc, ServiceUnavailable):
        print(f"dampwatch {command}: {exc}", file=sys.stderr)
        return 3
    if isinstance(exc, DampWatchError):
        print(f"dampwatch {command}: {exc}", file=sys.stderr)
        return 2
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    print(
        f"dampwatch {command}: unexpected {type(exc).__name__}: {first} "
        f"(run `dampwatch -v {command} ...` for the traceback)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
