"""Scenario files: the bundled ones load; bad ones are explained."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulators.errors import SimulatorError
from simulators.scenario import bundled_scenarios, load_scenario, parse_scenario

SCENARIOS = Path(__file__).parents[2] / "src" / "simulators" / "scenarios"
HEALTHY = (SCENARIOS / "healthy.toml").read_text()


def test_bundled_scenarios_load_with_their_ground_truth() -> None:
    sc = bundled_scenarios()
    assert {
        "healthy",
        "under_heated",
        "self_disconnection",
        "poor_ventilation",
        "thermal_bridge",
        "leak",
        "empty",
        "faulty_sensor",
        "drifting_sensor",
        "offline_backfill",
    } <= set(sc)
    assert sc["healthy"].truth.damp is False and sc["healthy"].truth.cold is False
    assert sc["poor_ventilation"].truth.damp is True
    assert sc["under_heated"].truth.cold is True
    assert sc["self_disconnection"].truth.damp is None  # "either": not scored
    assert sc["self_disconnection"].truth.onset_day == sc["self_disconnection"].off_from_day
    assert sc["empty"].truth.vacant and sc["empty"].occupants == 0
    assert sc["thermal_bridge"].f_rsi < 0.75 and sc["thermal_bridge"].wall_probe
    assert set(sc["faulty_sensor"].truth.faults) == {"stuck", "dropout"}
    assert sc["drifting_sensor"].truth.faults == ("drift",)
    assert sc["offline_backfill"].truth.faults == ("offline",)
    assert sc["leak"].leak_g_per_h > 0 and sc["leak"].truth.onset_day == sc["leak"].leak_from_day


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HEALTHY.replace("ach = 0.7", "ach = 9"),
            "analyst.toml: [ventilation] ach=9.0 is outside 0.05–5",
        ),
        (
            HEALTHY.replace('["06-09", "16-23"]', '["6 to 9"]'),
            "schedule entry '6 to 9' must be like '06-09'",
        ),
        (HEALTHY.replace('["06-09", "16-23"]', '["09-06"]'), "start hour before end hour"),
        (
            HEALTHY.replace("occupants = 2", 'occupants = "two"'),
            "[occupancy] occupants must be int, not 'two'",
        ),
        (
            HEALTHY.replace("extractor = true", "extractor = 1"),
            "[ventilation] extractor must be bool",
        ),
        (HEALTHY.replace("occupants = 2\n", ""), "[occupancy] occupants is required"),
        (HEALTHY.replace("damp = false", ""), '[truth] damp (true, false or "either") is required'),
        (
            HEALTHY.replace("damp = false", 'damp = "maybe"'),
            "[truth] damp must be true, false or \"either\", not 'maybe'",
        ),
        (
            HEALTHY.replace("setpoint_c", "setpoint"),
            "[heating] unknown key 'setpoint' (did you mean 'setpoint_c'?)",
        ),
        (HEALTHY + "\n[colour]\nx = 1\n", "unknown key 'colour'"),
        (
            HEALTHY + "\n[sensor]\noffline_from_day = 3\n",
            "offline_from_day and offline_days go together",
        ),
        ("heating = 3\n", "[heating] must be a table"),
        ("setpoint = [", "analyst.toml: not valid TOML"),
    ],
)
def test_bad_scenarios_are_explained(text: str, message: str) -> None:
    with pytest.raises(SimulatorError, match=re.escape(message)):
        parse_scenario("analyst", text, "analyst.toml")


def test_an_analyst_writes_a_new_scenario(tmp_path: Path) -> None:
    path = tmp_path / "damp_bathroom.toml"
    path.write_text(
        HEALTHY.replace("ach = 0.7", "ach = 0.2")
        .replace("extractor = true", "extractor = false")
        .replace("damp = false", "damp = true")
        + '\n[sensor]\ndrift_rh_pct_per_day = 0.5\nfault_room = "bedroom"\n'
    )
    sc = load_scenario(path)
    assert sc.name == "damp_bathroom" and sc.ach == 0.2 and sc.truth.damp is True
    assert sc.fault_room == "bedroom" and sc.truth.faults == ("drift",)
    with pytest.raises(SimulatorError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(SimulatorError, match="must be lowercase"):
        parse_scenario("Bad Name", HEALTHY, "x.toml")
