"""The energy model reads the firmware's own cycle, meets the targets, and its figure
is the one in firmware/README.md."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import replace
from types import ModuleType

import pytest
from fwharness import FIRMWARE


@pytest.fixture(scope="module")
def model() -> ModuleType:
    spec = importlib.util.spec_from_file_location("energy_model", FIRMWARE / "energy_model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["energy_model"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_default_is_the_node_as_deployed(model: ModuleType) -> None:
    cycle = model.Cycle.from_firmware()
    assert (cycle.sample_s, cycle.upload_every) == (300, 48), "default: 4-hourly at 5 min"
    # deploy.sh puts .mpy files on the filesystem; defaults.py ships DHCP, no CA
    assert not cycle.frozen and not cycle.static_ip and not cycle.tls
    assert 1.5 < model.budget(cycle).years < 2.0
    # only the fast-boot image (not built yet) with a static IP meets 5 years
    best = replace(cycle, frozen=True, static_ip=True)
    assert model.budget(best).years >= 5.0
    assert model.budget(replace(cycle, urgent_per_day=3.0)).years < model.budget(cycle).years


def test_a_change_to_the_firmware_cycle_changes_the_figure(
    model: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = model.budget(model.Cycle.from_firmware()).average_ua
    monkeypatch.setattr(model.defaults, "UPLOAD_EVERY", 12)
    assert model.budget(model.Cycle.from_firmware()).average_ua > base
    monkeypatch.setattr(model.defaults, "UPLOAD_EVERY", 48)
    monkeypatch.setattr(model.defaults, "SHT4X_SURFACE_ADDR", 0x45)
    monkeypatch.setattr(model.defaults, "SHT4X_MEAS_MS", 20)
    assert model.budget(model.Cycle.from_firmware()).average_ua > base
    monkeypatch.setattr(model.defaults, "SHT4X_SURFACE_ADDR", None)
    monkeypatch.setattr(model.defaults, "SHT4X_MEAS_MS", 10)
    monkeypatch.setattr(model.defaults, "SAMPLE_S", 600)
    assert model.budget(model.Cycle.from_firmware()).average_ua < base


def test_physical_sanity(model: ModuleType) -> None:
    cycle = model.Cycle.from_firmware()
    b = model.budget(cycle)
    assert b.sleep_ua < b.average_ua < 1000
    assert model.budget(replace(cycle, frozen=True)).years > b.years
    assert model.budget(replace(cycle, tls=True)).years < b.years
    assert model.session_round_trips(replace(cycle, upload_every=64)) == 5
    assert model.session_round_trips(replace(cycle, upload_every=12)) == 5


def test_readme_shows_the_models_figure(model: ModuleType) -> None:
    out = subprocess.run([sys.executable, str(FIRMWARE / "energy_model.py")],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == model.table()
    assert out in (FIRMWARE / "README.md").read_text(), "rerun energy_model.py into README"


def test_espnow_path(model: ModuleType) -> None:
    """The relay path: an upload costs a few per cent of a Wi-Fi one; the frozen image
    alone does not reach 10 years at hourly upload (sampling wakes and the sleep floor
    dominate); a wake-stub sampler with a nano-power regulator would."""
    base = model.Cycle.from_firmware()
    wifi = model.budget(replace(base, frozen=True, upload_every=12, static_ip=True))
    now = model.budget(replace(base, frozen=True, upload_every=12, uplink="espnow"))
    assert now.upload_mc < wifi.upload_mc / 5
    assert now.years > wifi.years
    assert 5.0 < now.years < 10.0
    assert model.espnow_frames(replace(base, upload_every=12)) == 1
    assert model.espnow_frames(base) == 2  # 48 readings, 31 a frame
    lossy = model.budget(replace(base, frozen=True, upload_every=12, uplink="espnow",
                                 espnow_loss=0.2))
    assert lossy.upload_mc > now.upload_mc
    best = replace(base, frozen=True, upload_every=12, uplink="espnow", wake_stub=True,
                   nano_regulator=True)
    assert model.budget(best).years >= 10.0
    # radio time of one upload: [2]'s first frame (49 ms) plus the relay's answers
    assert model.ESPNOW_SEND_OK_MS == 49
