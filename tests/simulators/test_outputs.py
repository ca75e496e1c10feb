"""The analytics CSVs and the wire faults on demand."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from dampwatch_core.contract import (
    MAX_READINGS,
    parse_status,
    parse_telemetry,
    parse_topic,
    telemetry_topic,
)
from dampwatch_core.errors import ContractError
from simulators import faults
from simulators.csvout import write_outdoor_csv, write_readings_csv
from simulators.estate import EstateData, load_estate

EXAMPLES = Path(__file__).parents[2] / "examples" / "estates"


@pytest.fixture(scope="module")
def small() -> EstateData:
    return load_estate(EXAMPLES / "small.toml").generate()


def test_readings_csv(small: EstateData, tmp_path: Path) -> None:
    path = tmp_path / "readings.csv"
    rows = write_readings_csv(small, path)
    assert rows == small.readings_count()
    with path.open() as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == ["flat_id", "room", "ts", "temp_c", "rh_pct", "surface_c"]
    assert len(table) == rows
    first = small.devices[0]
    assert table[0]["flat_id"] == first.flat_id and table[0]["room"] == first.room
    assert int(table[0]["ts"]) == int(first.ts[0])
    assert float(table[0]["temp_c"]) == first.temp_c[0]
    assert all(
        len(r["temp_c"].split(".")[1]) == 2 and len(r["rh_pct"].split(".")[1]) == 1
        for r in table[:500]
    )
    with_probe = [r for r in table if r["surface_c"]]
    assert with_probe and len(with_probe) < rows
    # without probes the column is left out
    no_probe = tmp_path / "np.csv"
    write_readings_csv(small, no_probe, surface=False)
    assert no_probe.read_text().splitlines()[0] == "flat_id,room,ts,temp_c,rh_pct"


def test_outdoor_csv(small: EstateData, tmp_path: Path) -> None:
    path = tmp_path / "outdoor.csv"
    assert write_outdoor_csv(small, path) == 14 * 24
    lines = path.read_text().splitlines()
    assert lines[0] == "ts,temp_c"
    ts, temp = lines[1].split(",")
    assert int(ts) == small.start and float(temp) == pytest.approx(small.outdoor_c[0], abs=0.005)


def test_telemetry_messages_follow_the_contract(small: EstateData) -> None:
    dev = small.devices[0]
    readings = faults.device_readings(dev)
    msgs = faults.telemetry_messages(dev.device_id, readings, upload_every=12, seq0=5)
    assert len(msgs) == -(-len(readings) // 12)
    now = float(small.end)
    parsed = [parse_telemetry(m.payload, now=now) for m in msgs]
    assert [p.seq for p in parsed] == list(range(5, 5 + len(msgs)))
    got = [r for p in parsed for r in p.readings]
    assert [r.ts for r in got] == [r.ts for r in readings]
    assert all(parse_topic(m.topic) == (dev.device_id, "telemetry") for m in msgs)
    assert all(m.username == dev.device_id and m.qos == 1 and not m.retain for m in msgs)
    status = faults.status_message(dev.device_id)
    assert status.retain and parse_status(status.payload).state == "online"


def test_every_malformed_payload_breaks_the_contract_as_labelled() -> None:
    now = 1765584000
    msgs = faults.malformed_payloads("esp32-a4cf12fe0b3c", now)
    assert len({m.fault for m in msgs}) == len(msgs) >= 18
    for m in msgs:
        kind, reason = m.expect.split(":")
        if kind == "quarantined":
            with pytest.raises(ContractError) as err:
                parse_telemetry(m.payload, now=now)
            assert err.value.reason == reason, m.fault
        else:
            parsed = parse_telemetry(m.payload, now=now)
            assert [r.reason for r in parsed.rejected] == [reason], m.fault
            assert len(parsed.readings) == 1, m.fault  # the valid rest is kept


def test_duplicates_out_of_order_and_bursts(small: EstateData) -> None:
    rng = np.random.default_rng(1)
    flat = next(f for f in small.flats if f.scenario == "offline_backfill")
    dev = small.devices_of(flat.flat_id)[0]
    assert dev.offline is not None
    msgs = faults.burst_after_outage(dev, dev.offline)
    burst = [m for m in msgs if m.fault == "burst"]
    sizes = [len(json.loads(m.payload)["readings"]) for m in burst]
    assert sizes[0] == MAX_READINGS and sum(sizes) == np.sum(
        (dev.ts >= dev.offline[0]) & (dev.ts < dev.offline[1])
    )
    seqs = [json.loads(m.payload)["seq"] for m in msgs]
    assert seqs == list(range(len(msgs)))
    dup = faults.duplicated(msgs, rng, share=0.2)
    assert len(msgs) < len(dup) and {m.payload for m in dup} == {m.payload for m in msgs}
    shuffled = faults.out_of_order(msgs, rng, window=5)
    assert sorted(m.payload for m in shuffled) == sorted(m.payload for m in msgs)
    assert [m.payload for m in shuffled] != [m.payload for m in msgs]


def test_clock_skew_and_impersonation(small: EstateData) -> None:
    a, b = small.devices[0], small.devices[1]
    readings = faults.device_readings(a)[:24]
    ahead = faults.clock_skewed(a.device_id, readings, 3600)
    behind = faults.clock_skewed(a.device_id, readings, -900)
    now = readings[-1].ts
    assert ahead[0].expect == "rejected_reading:future_ts"
    assert parse_telemetry(ahead[-1].payload, now=now).rejected
    assert behind[0].expect == "stored"
    assert not parse_telemetry(behind[-1].payload, now=now).rejected
    spoofed = faults.impersonating(a.device_id, b.device_id, behind)
    assert all(
        m.topic == telemetry_topic(b.device_id) and m.username == a.device_id for m in spoofed
    )
    assert all(m.expect == "denied" for m in spoofed)
