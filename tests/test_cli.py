"""The ``dampwatch`` program: help, exit codes and one-line reasons for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dampwatch.cli import build_parser, main
from dampwatch.stack.ports import free_port


@pytest.fixture
def settings_file(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "dampwatch.env"
    path.write_text(
        f"DAMPWATCH_DATABASE_URL={database_url}\n"
        f"DAMPWATCH_BROKER_PASSWORD_FILE={tmp_path / 'passwd'}\n"
    )
    assert main(["migrate", "--settings", str(path)]) == 0
    return path


def dampwatch(
    *argv: str, env: dict[str, str] | None = None, home: Path
) -> subprocess.CompletedProcess[str]:
    """Run the program as a person would, with no stack: ``home`` is an empty data dir
    and no ``DAMPWATCH_*`` variable is set except those in ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DAMPWATCH_")}
    clean.update({"XDG_DATA_HOME": str(home), "HOME": str(home), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "dampwatch.cli", *argv],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


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


def test_no_database_says_what_to_do(tmp_path: Path) -> None:
    result = dampwatch("devices", "list", home=tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    db = tmp_path / "dampwatch" / "dampwatch.db"
    assert f"no DampWatch database at {db}" in line
    assert "start `dampwatch up`" in line and "DAMPWATCH_DATABASE_URL" in line
    assert not db.exists(), "a command on no store must not create an empty one"


def test_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://dw:s3cret-pw@127.0.0.1:{free_port()}/dampwatch"
    result = dampwatch("flats", "list", env={"DAMPWATCH_DATABASE_URL": url}, home=tmp_path)
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert "cannot reach the relational store at postgresql" in line
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_migrations_are_quiet_unless_verbose(tmp_path: Path) -> None:
    env = {"DAMPWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'dw.db'}"}
    quiet = dampwatch("migrate", env=env, home=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "", quiet.stderr
    listed = dampwatch("flats", "list", env=env, home=tmp_path)
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    # the same lines are there to be seen with -v (so the test above can fail)
    loud = dampwatch("-v", "migrate", "--revision", "base", "--downgrade", env=env, home=tmp_path)
    assert "alembic" in loud.stderr and "Running downgrade" in loud.stderr


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("DAMPWATCH_DATABSE_URL", "did you mean DAMPWATCH_DATABASE_URL?"),
        ("DAMPWATCH_MQTT_PROT", "did you mean DAMPWATCH_MQTT_PORT?"),
        ("DAMPWATCH_XYZZY", "settings: DAMPWATCH_ALLOWED_HOSTS"),
    ],
)
def test_a_misspelt_environment_variable_is_an_error_naming_it(
    tmp_path: Path, name: str, hint: str
) -> None:
    result = dampwatch("flats", "list", env={name: "x"}, home=tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert f"environment variable {name} is not a DampWatch setting" in line
    assert hint in line


def test_up_refuses_a_misspelt_variable_before_starting_anything(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = dampwatch(
        "up",
        "--state-dir",
        str(state),
        "--free-ports",
        env={"DAMPWATCH_MQTT_HOTS": "x"},
        home=tmp_path,
    )
    assert result.returncode == 2
    assert "DAMPWATCH_MQTT_HOTS" in one_line(result.stderr)
    assert not state.exists()


def test_a_misspelt_settings_file_key_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "dampwatch.env"
    path.write_text(
        f"# local\nDAMPWATCH_DATABASE_URL=sqlite:///{tmp_path / 'dw.db'}\n"
        "DAMPWATCH_MQTT_PASWORD=hunter2\n"
    )
    result = dampwatch("migrate", "--settings", str(path), home=tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert f"settings file {path}:3: DAMPWATCH_MQTT_PASWORD is not a DampWatch setting" in line
    assert "did you mean DAMPWATCH_MQTT_PASSWORD?" in line
    assert "hunter2" not in result.stderr


def test_a_bad_setting_value_is_one_line_naming_it(tmp_path: Path) -> None:
    result = dampwatch("flats", "list", env={"DAMPWATCH_API_PORT": "eighty"}, home=tmp_path)
    assert result.returncode == 2
    assert "DAMPWATCH_API_PORT 'eighty'" in one_line(result.stderr)


def test_an_unexpected_error_is_one_line_and_verbose_shows_the_traceback(
    settings_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dampwatch.commands import devices

    def boom(_args: object) -> int:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(devices, "run_list", boom)
    assert main(["devices", "list", "--settings", str(settings_file)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "unexpected RuntimeError: disk on fire" in line and "dampwatch -v devices" in line
    with pytest.raises(RuntimeError):
        main(["-v", "devices", "list", "--settings", str(settings_file)])
