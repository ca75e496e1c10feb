from __future__ import annotations

from pathlib import Path

import pytest

from simulators.flatsim import FlatsimError, load_builtin_scenarios, load_scenario

EXPECTED = {
    "healthy",
    "under_heated",
    "self_disconnection",
    "poor_ventilation",
    "thermal_bridge",
    "leak",
    "empty",
    "faulty_sensor",
    "offline_backfill",
}


def test_builtin_scenarios_load() -> None:
    scenarios = load_builtin_scenarios()
    assert set(scenarios) == EXPECTED
    assert scenarios["poor_ventilation"].damp and not scenarios["poor_ventilation"].cold
    assert scenarios["under_heated"].cold and not scenarios["under_heated"].damp
    assert scenarios["empty"].vacant
    assert scenarios["faulty_sensor"].fault
    assert scenarios["self_disconnection"].onset == "event"
    assert scenarios["healthy"].onset == "none"
    lo, hi = scenarios["under_heated"].range("heating", "setpoint_c")
    assert 14 <= lo <= hi <= 16


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
name = "mine"
[truth]
damp = true
cold = false
[ventilation]
air_changes_h = [0.3, 0.5]
"""


def test_analyst_can_write_a_scenario(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, GOOD))
    assert sc.name == "mine" and sc.damp and sc.onset == "start"
    assert sc.range("ventilation", "air_changes_h") == (0.3, 0.5)
    assert sc.range("heating", "setpoint_c") == (20.0, 22.0)  # defaults


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (
            GOOD.replace("[0.3, 0.5]", "[0.3, 9.0]"),
            ["mine.toml", "[ventilation] air_changes_h", "0.05 to 5"],
        ),
        (
            GOOD.replace("[0.3, 0.5]", "[0.5, 0.3]"),
            ["[ventilation] air_changes_h", "lo must not exceed hi"],
        ),
        (GOOD.replace("[0.3, 0.5]", '"lots"'), ["[ventilation] air_changes_h", "not a number"]),
        (
            GOOD + "\n[heating]\nsetpiont_c = 18\n",
            ["[heating] setpiont_c", "unknown key", "setpoint_c"],
        ),
        (GOOD.replace("damp = true\n", ""), ["[truth] damp", "required"]),
        (GOOD.replace("damp = true", 'damp = "yes"'), ["[truth] damp", "true or false"]),
        (GOOD + '\n[event]\nkind = "flood"\n', ["[event] kind", "heating_off"]),
        (GOOD + "\n[heating]\nperiods = [[9, 7]]\n", ["[heating] periods", "end hour"]),
        (GOOD + "\n[heating]\nperiods = [[9, 27]]\n", ["[heating] periods", "0 to 24"]),
        (
            GOOD.replace("cold = false", 'cold = false\nonset = "event"'),
            ["[truth] onset", "[event]"],
        ),
        ("name = [", ["mine.toml", "not valid TOML"]),
    ],
)
def test_bad_scenarios_say_file_key_and_range(
    tmp_path: Path, text: str, needles: list[str]
) -> None:
    with pytest.raises(FlatsimError) as info:
        load_scenario(write(tmp_path, text))
    for needle in needles:
        assert needle in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FlatsimError, match="cannot read"):
        load_scenario(tmp_path / "nope.toml")


def test_readme_documents_every_scenario_key() -> None:
    from simulators.flatsim.scenario import SCHEMA

    readme = (Path(__file__).resolve().parents[2] / "src/simulators/flatsim/README.md").read_text(
        encoding="utf-8"
    )
    for section, keys in SCHEMA.items():
        for key in keys:
            assert key in readme, (section, key)
    for name in EXPECTED:
        assert f"| {name} |" in readme
