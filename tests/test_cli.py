"""The ``dampwatch`` program: help, exit codes and one-line reasons for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dampwatch.cli import build_parser, main


@pytest.fixture
def settings_file(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "dampwatch.env"
    path.write_text(
        f"DAMPWATCH_DATABASE_URL={database_url}\n"
        f"DAMPWATCH_BROKER_PASSWORD_FILE={tmp_path / 'passwd'}\n"
    )
    return path


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = set(sub.choices)  # type: ignore[arg-type]
    assert {"up", "gateway", "api", "scheduler", "devices", "flats", "simulate"} <= names
    for name in names:
        result = subprocess.run(
            [sys.executable, "-m", "dampwatch.cli", name, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "usage: dampwatch" in result.stdout


def test_devices_add_and_list(settings_file: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    csv_path = tmp_path / "flats.csv"
    csv_path.write_text("flat_id,address\nF1,1 Test Street\n")
    assert main(["flats", "import", str(csv_path), "--settings", str(settings_file)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "devices",
                "add",
                "esp32-a4cf12fe0b3c",
                "--flat",
                "F1",
                "--room",
                "bedroom",
                "--json",
                "--settings",
                str(settings_file),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["device_id"] == "esp32-a4cf12fe0b3c" and len(out["mqtt_password"]) >= 24
    assert (tmp_path / "passwd").read_text().startswith("esp32-a4cf12fe0b3c:$7$")
    assert main(["devices", "list", "--json", "--settings", str(settings_file)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["device_id"] for d in listed] == ["esp32-a4cf12fe0b3c"]
    assert "mqtt_password" not in listed[0]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["devices", "add", "ESP32!", "--flat", "F1", "--room", "bedroom"], "must be 3–64"),
        (
            ["devices", "add", "esp32-a4cf12fe0b3c", "--flat", "NOPE", "--room", "bedroom"],
            "flat 'NOPE' does not exist",
        ),
    ],
)
def test_devices_add_bad_input_exits_nonzero_with_one_line(
    settings_file: Path,
    argv: list[str],
    needle: str,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    assert main([*argv, "--settings", str(settings_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_flats_import_reports_line_numbers(settings_file: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    csv_path = tmp_path / "flats.csv"
    csv_path.write_text("flat_id,address,floor\nF1,1 Test Street,1\nF2,,2\nF3,3 Test Street,x\n")
    assert main(["flats", "import", str(csv_path), "--settings", str(settings_file)]) == 1
    err = capsys.readouterr().err
    assert f"{csv_path}:3: address is required" in err
    assert f"{csv_path}:4: floor 'x' is not a whole number" in err
