"""Hostile tag values against the real InfluxDB: every tag the gateway writes, with
free text as a landlord CSV may carry it, is stored (no line refused, no batch lost) and
reads back as written; line breaks are refused at the flats import with their line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.registry import add_flat, import_flats_csv
from dampwatch.stack.influxdb import InfluxDB
from dampwatch_core.contract import Reading
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import ValidationError
from dampwatch_core.influx import BACKSLASH_STAND_IN, InfluxClient, escape_tag, format_line
from gateway.schema import reading_line, series_key

TS = 1764201600
SI = BACKSLASH_STAND_IN

#: (value, what InfluxDB must hold) — the same unless line protocol cannot carry it
HOSTILE = [
    ("acme\\", f"acme{SI}"),  # a trailing backslash escaped the next separator
    ("ac\\me", "ac\\me"),
    ("a\\\\b", f"a{SI}\\b"),
    ("x\\,y", f"x{SI},y"),
    ("x\\ y", f"x{SI} y"),
    ("x\\=y", f"x{SI}=y"),
    ("\\", SI),
    ("acme,room=kitchen", "acme,room=kitchen"),
    ("a=b", "a=b"),
    ("Acme Housing Ltd", "Acme Housing Ltd"),
    (" leading and trailing ", " leading and trailing "),
    ('"quoted"', '"quoted"'),
    ("o'brien", "o'brien"),
    ("#not a comment", "#not a comment"),
    ("tab\there", "tab\there"),
    ("é ü 💧 ∆", "é ü 💧 ∆"),
    ("a b,c=d\\", f"a b,c=d{SI}"),
    ("=", "="),
    (",", ","),
    (" ", " "),
]


def test_every_tag_with_hostile_values_is_stored_and_reads_back(influxdb: InfluxDB) -> None:
    lines, expected = [], set()
    for i, (value, stored) in enumerate(HOSTILE):
        # the gateway's own series key: the value in each of its four tags
        for tag in ("device", "flat", "room", "landlord"):
            tags = {"device": "esp32-lp", "flat": "LP-1", "room": "bedroom", "landlord": "acme"}
            tags[tag] = value
            key = series_key(tags["device"], tags["flat"], tags["room"], tags["landlord"])
            lines.append(reading_line(key, Reading(TS + i, 20.0, 50.0)))
            expected.add((tag, stored, TS + i))
        # and the generic writer (used by the hourly downsampling) on another measurement
        lines.append(format_line("lp_generic", {"t": value}, {"v": 1.0}, TS + i))
    with InfluxClient(influxdb.url, influxdb.database) as influx:
        assert influx.write_lines(lines) == len(lines)  # one batch: a bad line fails it all
        got = set()
        for tag in ("device", "flat", "room", "landlord"):
            for s in influx.query(f'SELECT temp_c FROM climate GROUP BY "{tag}"'):
                got |= {(tag, s.tags[tag], int(row[0])) for row in s.values}
        generic = {
            (s.tags["t"], int(row[0]))
            for s in influx.query('SELECT v FROM lp_generic GROUP BY "t"')
            for row in s.values
        }
        # a tag read back and written again (as downsampling does) names the same series
        again = [format_line("lp_generic", {"t": t}, {"v": 2.0}, ts) for t, ts in generic]
        influx.write_lines(again)
        assert len(influx.query("SHOW SERIES FROM lp_generic")[0].values) == len(HOSTILE)
    # each (tag, value) is one point, except where the default tag value is hostile too
    assert expected <= got, sorted(expected - got)[:5]
    assert generic == {(stored, TS + i) for i, (_, stored) in enumerate(HOSTILE)}


@pytest.mark.parametrize("value", ["acme\nhousing", "acme\rhousing", "acme\r\n"])
def test_a_line_break_cannot_be_written(value: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        escape_tag(value)
    with pytest.raises(ValueError):
        series_key("esp32-lp", "LP-1", "bedroom", value)


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate(url)
    return make_sessionmaker(make_engine(url))


def test_flats_import_refuses_line_breaks_in_the_landlord_with_the_line(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    csv_path = tmp_path / "flats.csv"
    csv_path.write_bytes(
        b"flat_id,address,landlord\r\n"
        b"LP-1,1 Line Court,acme\\\r\n"  # a backslash is fine (written portably)
        b'LP-2,2 Line Court,"acme\r\nhousing"\r\n'  # a quoted line break: refused, line 3
        b'LP-3,3 Line Court,"acme\nhousing"\r\n'  # line 5
        b"LP-4,4 Line Court,ok\r\n"
        b'LP-5,"5 Line\r\nCourt",ok\r\n'  # a line break in the address is fine
        b'LP-6,"6 Line\r\nCourt",tab\there\r\n'  # other control characters: line 10
    )
    with sessions.begin() as session:
        report = import_flats_csv(session, csv_path)
    assert report.added == 3, report.errors
    assert [line for line, _ in report.errors] == [3, 5, 10]
    assert ["line break" in message for _, message in report.errors] == [True, True, False]
    assert "U+0009" in report.errors[2][1]
    with sessions.begin() as session, pytest.raises(ValidationError, match="control character"):
        add_flat(session, "LP-9", "9 Line Court", landlord="nul\x00")
