"""Helpers shared by subcommands: settings discovery and output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from dampwatch_core.const import SETTINGS_FILENAME
from dampwatch_core.db import migrate, require_database
from dampwatch_core.settings import Settings, default_state_dir, load_settings

__all__ = [
    "add_json_flag",
    "add_settings_flag",
    "emit",
    "open_store",
    "settings_from_args",
    "state_settings_file",
]


def state_settings_file(state_dir: Path) -> Path:
    return state_dir / SETTINGS_FILENAME


def add_settings_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settings",
        type=Path,
        metavar="FILE",
        help="settings file (KEY=value lines); default $DAMPWATCH_SETTINGS_FILE, else the "
        "running local stack's, else environment variables only",
    )


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def settings_from_args(args: argparse.Namespace) -> Settings:
    path: Path | None = getattr(args, "settings", None)
    if path is None and "DAMPWATCH_SETTINGS_FILE" not in os.environ:
        candidate = state_settings_file(default_state_dir())
        if candidate.exists():
            path = candidate
    return load_settings(path)


def emit(data: Any, as_json: bool, text: str) -> None:
    """Print ``data`` as JSON or ``text`` for people."""
    if as_json:
        json.dump(data, sys.stdout, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def open_store(settings: Settings) -> None:
    """For commands that work on an existing store (devices, flats): fail with what to
    do when there is none, else bring its schema up to date."""
    require_database(settings.database_url)
    migrate(settings.database_url)
