"""A reading is (device, ts): written twice, InfluxDB holds it once (the proof the
README's schema section relies on)."""

from __future__ import annotations

from dampwatch.stack.influxdb import InfluxDB
from dampwatch_core.contract import Reading
from dampwatch_core.influx import InfluxClient
from gateway.metrics import GatewayMetrics
from gateway.schema import reading_line, series_key
from gateway.sink import InfluxSink

TS = 1764201600


def test_the_same_reading_written_twice_is_stored_once(influxdb: InfluxDB) -> None:
    key = series_key("esp32-a4cf12fe0b3c", "LS-0001", "bedroom", "leeds")
    reading = Reading(TS, 19.52, 64.8, 14.2)
    with InfluxClient(influxdb.url, influxdb.database) as influx:
        sink = InfluxSink(influx, GatewayMetrics())
        assert sink.write([reading_line(key, reading)]) == []
        assert sink.write([reading_line(key, reading)]) == []  # QoS 1 redelivery
        # a device re-sending its buffer in a later message: same (device, ts)
        assert (
            sink.write([reading_line(key, reading), reading_line(key, Reading(TS + 300, 19.5, 65))])
            == []
        )
        rows = influx.query("SELECT count(temp_c) FROM climate")
        assert rows[0].values[0][1] == 2
        rows = influx.query(
            "SELECT temp_c, rh_pct, surface_c FROM climate WHERE time = $t", {"t": TS * 10**9}
        )
        assert rows[0].values == [[TS, 19.52, 64.8, 14.2]]
