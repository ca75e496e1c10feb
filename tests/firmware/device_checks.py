# Unit checks that run ON MicroPython (the unix port), against the compiled firmware.
# Usage: micropython device_checks.py NAME  -> prints "PASS NAME" or raises.
import json
import sys

import buffer
import config
import machine
import mqtt
import payloads
import reading
import rtcstate
import sht4x
from ringfile import RingFile


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def check_crc8():
    expect(sht4x.crc8(b"\xbe\xef") == 0x92, "datasheet example 0xBEEF -> 0x92")
    expect(sht4x.crc8(b"\x00\x00") == 0x81, "0x0000 -> 0x81")
    good = bytes([0x66, 0x66, sht4x.crc8(b"\x66\x66"), 0x80, 0x00, sht4x.crc8(b"\x80\x00")])
    expect(sht4x.check_words(good) == (0x6666, 0x8000), "good words")
    for bit in range(48):  # every single-bit error in an answer is caught
        bad = bytearray(good)
        bad[bit // 8] ^= 1 << (bit % 8)
        try:
            sht4x.check_words(bad)
        except sht4x.SensorError:
            continue
        raise AssertionError(f"bit {bit} flip not detected")


def check_conversion():
    expect(sht4x.temp_centi(0) == -4500, "T min")
    expect(sht4x.temp_centi(65535) == 13000, "T max")
    expect(sht4x.temp_centi(0x6666) == 2500, "T 0x6666 = 25.00")
    expect(sht4x.rh_centi(0) == 0 and sht4x.rh_centi(65535) == 10000, "RH cropped")
    expect(sht4x.rh_centi(0x8000) == 5650, "RH 0x8000 = 56.50")
    expect(reading.centi_str(-5) == "-0.05" and reading.centi_str(1952) == "19.52", "text")


def check_driver_retries():
    sys.modules["_sim"].SIM.update(corrupt=[0, 2, 3], nack=[5])
    dev = sht4x.SHT4x(machine.I2C(0), 0x44, meas_ms=0, reset_ms=0)
    first = dev.measure()        # n=0 corrupt, n=1 good
    expect(first is not None and dev.crc_errors == 1, "retried after a CRC error")
    expect(dev.measure() is None, "n=2 and n=3 corrupt: skipped, never invented")
    expect(dev.measure() is not None, "n=4 good")
    expect(dev.measure() is not None and dev.bus_errors == 1, "n=5 NACK then n=6 good")
    absent = sht4x.SHT4x(machine.I2C(0), 0x45, meas_ms=0, reset_ms=0)
    expect(absent.measure() is None, "absent sensor gives no reading")


def check_buffer_drops_oldest():
    st = rtcstate.State(8, 300, 12, 8500)
    ring = RingFile("ring.bin", 16)
    buf = buffer.ReadingBuffer(st, ring)
    for i in range(40):
        buf.add(reading.pack(1764201600 + i, i, i, None))
    expect(buf.pending == 24, f"8 in RTC + 16 in flash, got {buf.pending}")
    # 40 readings, room for 24 -> 16 dropped (counted), survivors in order
    expect(buf.drops == 16, f"drops counted: {buf.drops}")
    again = buffer.ReadingBuffer(rtcstate.State(8, 300, 12, 8500).load(st.dump()),
                                 RingFile("ring.bin", 16))
    seen = []
    while again.pending:
        source, recs = again.batch(5)
        for off in range(0, len(recs), reading.SIZE):
            seen.append(reading.unpack(recs, off)[0] - 1764201600)
        again.commit(source, len(recs) // reading.SIZE)
    expect(seen == list(range(16, 40)), f"oldest first after reload: {seen}")


def check_rebase():
    st = rtcstate.State(4, 300, 12, 8500)
    buf = buffer.ReadingBuffer(st, RingFile("ring2.bin", 8))
    for i in range(6):
        buf.add(reading.pack(1000 + i, 0, 0, None))
    buf.add(reading.pack(1764201600, 0, 0, None))
    buf.rebase(1764000000)
    stamps = []
    for source in ("ring", "rtc"):
        recs = buf.ring.peek(99) if source == "ring" else st.readings
        stamps += [reading.unpack(recs, o)[0] for o in range(0, len(recs), reading.SIZE)]
    expect(stamps == [1764001000 + i for i in range(6)] + [1764201600], str(stamps))


def check_rtc_state_roundtrip():
    st = rtcstate.State(128, 300, 48, 8500)
    st.seq, st.boot, st.drops, st.next_try_ts = 70000, 3, 5, 1764201600
    st.readings += reading.pack(1764201600, -512, 9999, 1420)
    back = rtcstate.State(128, 30, 1, 5000).load(st.dump())
    expect(not back.fresh and back.seq == 70000 and back.upload_every == 48, "header")
    expect(reading.unpack(back.readings) == (1764201600, -512, 9999, 1420), "reading")
    expect(rtcstate.State(128, 30, 1, 5000).load(b"garbage" * 10).fresh, "garbage ignored")
    expect(len(rtcstate.State(128, 1, 1, 1).dump()) + 128 * reading.SIZE <= 2048, "fits")


def check_config_validation():
    ok = '{"v":1,"sample_s":300,"upload_every":12,"urgent_rh_pct":85.5}'
    expect(config.parse(ok) == (300, 12, 8550), "valid config")
    for bad in (
        '{"v":1,"sample_s":29,"upload_every":12,"urgent_rh_pct":85}',
        '{"v":1,"sample_s":3601,"upload_every":12,"urgent_rh_pct":85}',
        '{"v":1,"sample_s":300,"upload_every":0,"urgent_rh_pct":85}',
        '{"v":1,"sample_s":300,"upload_every":65,"urgent_rh_pct":85}',
        '{"v":1,"sample_s":300,"upload_every":12,"urgent_rh_pct":49.9}',
        '{"v":1,"sample_s":300,"upload_every":12,"urgent_rh_pct":100.1}',
        '{"v":1,"sample_s":300.5,"upload_every":12,"urgent_rh_pct":85}',
        '{"v":1,"sample_s":"300","upload_every":12,"urgent_rh_pct":85}',
        '{"v":1,"sample_s":true,"upload_every":12,"urgent_rh_pct":85}',
        '{"v":1,"upload_every":12,"urgent_rh_pct":85}',
        '{"v":2,"sample_s":300,"upload_every":12,"urgent_rh_pct":85}',
        '[1,2]', 'not json', b'\xff\xfe',
    ):
        expect(config.parse(bad) is None, f"rejected: {bad}")


def check_mqtt_packets():
    expect(mqtt.packet(0x30, b"x" * 200)[:3] == b"\x30\xc8\x01", "varint 200")
    expect(mqtt._varint(16384) == b"\x80\x80\x01", "varint 16384")
    expect(mqtt.packet(mqtt.PINGREQ, b"") == b"\xc0\x00", "pingreq")


def check_payloads():
    recs = reading.pack(1764201600, -5, 6480, None) + reading.pack(1764201900, 1952, 0, 1420)
    obj = json.loads(payloads.telemetry(7, "0.1.0", 2980, -67, recs))
    expect(obj["seq"] == 7 and obj["readings"][0]["temp_c"] == -0.05, "telemetry")
    expect(obj["readings"][1] == {"ts": 1764201900, "temp_c": 19.52, "rh_pct": 0.0,
                                  "surface_c": 14.2}, "surface reading")
    full = b"".join(reading.pack(1764201600 + i, -4000, 10000, -4000) for i in range(64))
    expect(len(payloads.telemetry(2**31, "0.1.0", 5000, -120, full)) <= 8192, "<= 8 KiB")


name = sys.argv[-1]
globals()["check_" + name]()
print("PASS", name)
