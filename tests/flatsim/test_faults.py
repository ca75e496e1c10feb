from __future__ import annotations

import numpy as np
import pytest

from dampwatch_core.contract import parse_telemetry, parse_topic
from dampwatch_core.errors import ContractError
from simulators.flatsim import Device, Estate
from simulators.flatsim.faults import (
    MALFORMED_KINDS,
    burst_after_outage,
    clock_skew,
    duplicates,
    fleet_uplink,
    impersonate,
    malformed,
    out_of_order,
    uplink,
)


def healthy_device(estate: Estate) -> Device:
    return next(
        d
        for d in estate.devices
        if d.fault is None and not d.offline and estate.flat(d.flat_id).scenario == "healthy"
    )


def test_uplink_sends_every_reading_once(small_estate: Estate) -> None:
    d = healthy_device(small_estate)
    msgs = uplink(d)
    assert [m.seq for m in msgs] == list(range(len(msgs)))
    sent: list[int] = []
    for m in msgs:
        assert parse_topic(m.topic) == (d.device_id, "telemetry")
        t = parse_telemetry(m.payload, now=m.send_ts)
        assert not t.rejected and 1 <= len(t.readings) <= 12
        assert all(r.ts <= m.send_ts for r in t.readings)
        sent.extend(r.ts for r in t.readings)
    assert sent == d.ts[~np.isnan(d.temp_c)].tolist()
    assert [m.send_ts for m in msgs] == sorted(m.send_ts for m in msgs)


def test_offline_device_backfills_when_back(small_estate: Estate) -> None:
    d = next(x for x in small_estate.devices if x.offline)
    (lo, hi) = d.offline[0]
    msgs = uplink(d)
    assert not any(lo <= m.send_ts < hi for m in msgs)
    burst = [m for m in msgs if m.fault == "backfill"]
    assert burst and all(m.send_ts == hi for m in burst)
    assert max(m.n_readings for m in burst) == 64
    sent = [r.ts for m in msgs for r in parse_telemetry(m.payload, now=m.send_ts).readings]
    assert sent == sorted(sent) and len(sent) == len(set(sent)) == d.ts.size


def test_burst_after_outage_on_demand(small_estate: Estate) -> None:
    d = healthy_device(small_estate)
    msgs = burst_after_outage(d, small_estate.start + 86400, small_estate.start + 2 * 86400)
    assert {m.send_ts for m in msgs if m.fault == "backfill"} == {small_estate.start + 2 * 86400}


def test_urgent_rh_uploads_at_once(small_estate: Estate) -> None:
    d = next(x for x in small_estate.devices if np.nanmax(x.rh_pct) >= 85)
    for m in uplink(d, urgent_rh_pct=85.0):
        readings = parse_telemetry(m.payload, now=m.send_ts).readings
        assert all(r.rh_pct < 85.0 for r in readings[:-1])


@pytest.mark.parametrize("kind", sorted(MALFORMED_KINDS))
def test_malformed_payloads_are_rejected_with_their_reason(kind: str) -> None:
    (m,) = malformed("esp32-a4cf12fe0b3c", 1769385600, kinds=[kind])
    reason = MALFORMED_KINDS[kind]
    try:
        t = parse_telemetry(m.payload, now=m.send_ts)
    except ContractError as exc:
        assert exc.reason == reason
    else:
        assert [r.reason for r in t.rejected] == [reason]
    assert m.fault == f"malformed:{kind}"


def test_duplicates_and_out_of_order(small_estate: Estate) -> None:
    msgs = uplink(healthy_device(small_estate))
    dup = duplicates(msgs, fraction=0.2, seed=1)
    copies = [m for m in dup if m.fault == "duplicate"]
    assert copies and len(dup) == len(msgs) + len(copies)
    originals = {m.seq: m.payload for m in msgs}
    assert all(originals[m.seq] == m.payload for m in copies)
    shuffled = out_of_order(msgs, fraction=0.2, seed=1)
    seqs = [m.seq for m in shuffled]
    assert sorted(m.seq or 0 for m in shuffled) == list(range(len(msgs)))
    assert seqs != sorted(m.seq or 0 for m in shuffled)


def test_clock_skew_puts_readings_in_the_future(small_estate: Estate) -> None:
    msgs = clock_skew(healthy_device(small_estate), 3600)
    t = parse_telemetry(msgs[0].payload, now=msgs[0].send_ts)
    assert {r.reason for r in t.rejected} == {"future_ts"}


def test_impersonation_uses_another_topic(small_estate: Estate) -> None:
    a, b = small_estate.devices[0], small_estate.devices[1]
    msgs = impersonate(uplink(a)[:3], b.device_id)
    assert all(parse_topic(m.topic)[0] == b.device_id and m.sender == a.device_id for m in msgs)


def test_fleet_uplink_is_in_sending_order(small_estate: Estate) -> None:
    times = [m.send_ts for m in fleet_uplink(small_estate)]
    assert times == sorted(times)
