"""`dampwatch relays add|list|export` and `devices add --uplink espnow --relay`: the
relay's password and the device's key shown once, the broker's files regenerated, the
relay's device table exported, and bad input refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dampwatch.cli import main
from dampwatch_core.mqtt_auth import verify_password


@pytest.fixture
def settings_file(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "dampwatch.env"
    path.write_text(
        f"DAMPWATCH_DATABASE_URL={database_url}\n"
        f"DAMPWATCH_BROKER_PASSWORD_FILE={tmp_path / 'passwd'}\n"
        f"DAMPWATCH_BROKER_ACL_FILE={tmp_path / 'acl'}\n"
    )
    assert main(["migrate", "--settings", str(path)]) == 0
    return path


def test_relay_provisioning(settings_file: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    s = ["--settings", str(settings_file)]
    (tmp_path / "flats.csv").write_text("flat_id,address\nF1,1 Test Street\n")
    assert main(["flats", "import", str(tmp_path / "flats.csv"), *s]) == 0
    assert main(["relays", "add", "relay-block-a", "--block", "Block A", "--json", *s]) == 0
    capsys.readouterr()
    # (the flats import printed first; read the relay's answer alone)
    assert main(["relays", "list", "--json", *s]) == 0
    assert json.loads(capsys.readouterr().out)[0]["relay_id"] == "relay-block-a"
    passwd = dict(line.split(":", 1) for line in (tmp_path / "passwd").read_text().splitlines())
    assert "relay-block-a" in passwd
    argv = ["devices", "add", "esp32-a4cf12fe0b3c", "--flat", "F1", "--room", "bedroom",
            "--uplink", "espnow", "--relay", "relay-block-a", "--json", *s]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["relay_id"] == "relay-block-a" and len(bytes.fromhex(out["espnow_key"])) == 32
    assert "mqtt_password" not in out
    acl = (tmp_path / "acl").read_text()
    assert "topic write dampwatch/v1/dev/esp32-a4cf12fe0b3c/telemetry" in acl
    assert main(["relays", "export", "relay-block-a", "--json", *s]) == 0
    assert json.loads(capsys.readouterr().out) == {"esp32-a4cf12fe0b3c": out["espnow_key"]}
    assert not verify_password(out["espnow_key"], passwd["relay-block-a"])
    # refused, one line, exit 2 (bad input) or 1 (not found)
    assert main(["devices", "add", "esp32-a4cf12fe0b3d", "--flat", "F1", "--room", "bedroom",
                 "--uplink", "espnow", "--relay", "relay-none", *s]) != 0
    assert main(["devices", "add", "esp32-a4cf12fe0b3d", "--flat", "F1", "--room", "bedroom",
                 "--uplink", "espnow", *s]) == 2
    assert main(["relays", "add", "relay-block-a", "--block", "Block A", *s]) == 2
    err = capsys.readouterr().err
    assert all(line.startswith("dampwatch") or not line for line in err.splitlines()), err
    # decommissioning the device takes it out of the relay's ACL
    assert main(["devices", "decommission", "esp32-a4cf12fe0b3c", *s]) == 0
    assert "esp32-a4cf12fe0b3c" not in (tmp_path / "acl").read_text()
