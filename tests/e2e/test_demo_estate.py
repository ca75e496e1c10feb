"""The demo path: a simulated estate published through the real stack; the pipeline's
own scoring (nothing inserted directly) ranks the damp and cold flats first."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.scheduler import score_risk
from dampwatch.stack.local import LocalStack
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.settings import load_settings
from simulators.estate import load_estate

ESTATE = Path(__file__).parents[1] / "data" / "estate_test.toml"


def test_estate_through_the_stack_ranks_damp_and_cold_first(stack: LocalStack) -> None:
    end = int(time.time()) // 300 * 300
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dampwatch.cli",
            "simulate",
            "--estate",
            str(ESTATE),
            "--end",
            str(end),
            "--settings",
            str(stack.settings_file),
            "--state-dir",
            str(stack.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    spec = load_estate(ESTATE)
    estate = spec.generate(end=end)
    expected = estate.readings_count() + len(spec.blocks) * estate.outdoor_ts.size
    with stack.influx.client() as influx:
        deadline = time.monotonic() + 60
        count = 0
        while count < expected and time.monotonic() < deadline:
            series = influx.query("SELECT count(temp_c) FROM climate")
            count = int(series[0].values[0][1]) if series else 0
            time.sleep(0.5)
    assert count == expected
    settings = load_settings(stack.settings_file)
    assessed = score_risk(settings, make_sessionmaker(make_engine(stack.database_url)))
    assert assessed == 12
    ranking = httpx.get(
        f"{stack.api_url}/api/v1/flats",
        params={"sort": "risk"},
        headers=stack.api_headers,
        timeout=10,
    ).json()
    scenario = {f.flat_id: f.scenario for f in estate.flats}
    flats = [r for r in ranking if r["id"] in scenario]
    top = {scenario[r["id"]] for r in flats[:5]}
    assert top == {"poor_ventilation", "thermal_bridge", "under_heated", "leak", "empty"}
    for r in flats[5:]:
        assert scenario[r["id"]] in ("healthy", "faulty_sensor")
        assert r["damp_level"] in ("none", "low") and r["cold_level"] in ("none", "low")
    empty = next(r for r in flats if scenario[r["id"]] == "empty")
    risk = httpx.get(
        f"{stack.api_url}/api/v1/flats/{empty['id']}/risk", headers=stack.api_headers, timeout=10
    ).json()
    assert any(f["code"] == "possible_vacancy" for f in risk["flags"])
