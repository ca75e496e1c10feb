"""``dampwatch flats``: import flats from a CSV, list them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import select

from backend.registry import import_flats_csv
from dampwatch.commands._common import (
    add_json_flag,
    add_settings_flag,
    emit,
    open_store,
    settings_from_args,
)
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models import Flat


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("flats", help="import and list flats")
    fsub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = fsub.add_parser(
        "import",
        help="import flats from a CSV (header: flat_id,address[,block,postcode,floor,landlord])",
    )
    imp.add_argument("csv", type=Path)
    imp.add_argument("--landlord", default=None, help="landlord for rows that name none")
    add_json_flag(imp)
    add_settings_flag(imp)
    imp.set_defaults(func=run_import)
    lst = fsub.add_parser("list", help="list flats")
    add_json_flag(lst)
    add_settings_flag(lst)
    lst.set_defaults(func=run_list)


def run_import(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    open_store(settings)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        report = import_flats_csv(session, args.csv, landlord=args.landlord or settings.landlord)
    for line, message in report.errors:
        print(f"{args.csv}:{line}: {message}", file=sys.stderr)
    emit(
        {
            "added": report.added,
            "updated": report.updated,
            "rejected": [{"line": n, "error": m} for n, m in report.errors],
        },
        args.json,
        f"{report.added} flat(s) added, {report.updated} updated, "
        f"{len(report.errors)} row(s) rejected",
    )
    return 1 if report.errors else 0


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    open_store(settings)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        flats = session.scalars(select(Flat).order_by(Flat.id)).all()
        rows = [
            {"flat_id": f.id, "address": f.address, "block": f.block, "landlord": f.landlord}
            for f in flats
        ]
    text = "\n".join(f"{r['flat_id']:<14} {r['block'] or '-':<16} {r['address']}" for r in rows)
    emit(rows, args.json, text + f"\n{len(rows)} flat(s)")
    return 0
