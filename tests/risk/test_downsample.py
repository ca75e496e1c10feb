"""Hourly aggregates through /write: correct, idempotent, and late data included."""

from __future__ import annotations

from backend.downsample import downsample_hourly
from dampwatch.stack.influxdb import InfluxDB
from dampwatch_core.influx import InfluxClient

H0 = 1764547200


def test_hourly_aggregates_are_right_idempotent_and_catch_late_data(influxdb: InfluxDB) -> None:
    with InfluxClient(influxdb.url, influxdb.database) as influx:
        key = "climate,device=esp32-000000000001,flat=F1,landlord=l,room=bedroom"
        influx.write_lines(
            [f"{key} temp_c={18.0 + k},rh_pct={50.0 + k} {H0 + 300 * k}" for k in range(12)]
            + [f"{key} temp_c=21.0,rh_pct=70.0 {H0 + 3600}"]
        )
        assert downsample_hourly(influx, now=H0 + 2 * 3600 + 60, max_lookback_h=3) == 2
        rows = influx.query("SELECT * FROM climate_1h WHERE device = 'esp32-000000000001'")
        first = rows[0].records()[0]
        assert first["temp_c_mean"] == 23.5 and first["temp_c_min"] == 18.0
        assert first["temp_c_max"] == 29.0 and first["rh_pct_max"] == 61.0
        assert first["samples"] == 12
        # a late reading for the second hour arrives; the next run rewrites that hour
        influx.write_lines([f"{key} temp_c=23.0,rh_pct=70.0 {H0 + 3600 + 300}"])
        downsample_hourly(influx, now=H0 + 2 * 3600 + 120, max_lookback_h=3, window_h=1)
        rows = influx.query("SELECT temp_c_mean, samples FROM climate_1h")
        assert [r[1:] for r in rows[0].values] == [[23.5, 12], [22.0, 2]]
