"""``dampwatch``: the one program a person runs. Each subcommand lives in
``dampwatch.commands.<name>`` and registers itself with :func:`register`.

Exit codes: 0 success, 1 the command's own failure (e.g. a rejected CSV row),
2 bad usage or bad input (one-line reason on stderr), 3 a service unavailable.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from dampwatch_core.errors import DampWatchError, ServiceUnavailable

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

#: Subcommand modules, in the order ``--help`` lists them. Each has
#: ``register(subparsers) -> None`` which adds its parser and sets ``func``.
COMMAND_MODULES = (
    "up",
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
    if not args.verbose:  # one line per HTTP request drowns what matters
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        code: int = args.func(args)
    except ServiceUnavailable as exc:
        print(f"dampwatch {args.command}: {exc}", file=sys.stderr)
        return 3
    except DampWatchError as exc:
        print(f"dampwatch {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
