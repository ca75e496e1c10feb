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


def check_rtc_state_crc_and_bounds():
    st = rtcstate.State(128, 300, 48, 8500)
    st.seq = 5
    st.readings += reading.pack(1764201600, 1952, 6480, None)
    raw = st.dump()
    for i in range(len(raw)):  # any corrupted byte: not trusted, a cold boot
        bad = bytearray(raw)
        bad[i] ^= 0x10
        expect(rtcstate.State(128, 300, 48, 8500).load(bytes(bad)).fresh, f"byte {i}")
    st.sample_s = 5  # out of the contract's range, even with a valid CRC
    expect(rtcstate.State(128, 300, 48, 8500).load(st.dump()).fresh, "range checked")
    big = rtcstate.State(300, 300, 48, 8500)  # RTC_READINGS over what 2 KiB holds
    for i in range(400):
        big.readings += reading.pack(1764201600 + i, 0, 0, None)
        if big.count > big.capacity:
            big.readings = big.readings[reading.SIZE:]
    expect(len(big.dump()) <= 2048, f"fits RTC memory: {len(big.dump())}")
    m = machine.RTC()
    m.memory(big.dump())  # the shim, like the ESP32, takes at most 2 KiB
    expect(not rtcstate.State(300, 300, 48, 8500).load(m.memory()).fresh, "reloads")


def check_shim_crc_is_the_datasheets():
    # Sensirion's worked example: CRC-8 of 0xBEEF is 0x92; the shim's long division
    # and the firmware's register both give it
    expect(machine._crc8(b"\xbe\xef") == 0x92, "shim CRC of 0xBEEF")
    for word in range(0, 65536, 251):
        pair = bytes([word >> 8, word & 0xFF])
        expect(machine._crc8(pair) == sht4x.crc8(pair), f"word {word}")


def check_conversion_table():
    for raw in range(65536):  # compared with the datasheet's formula on the host
        print(raw, sht4x.temp_centi(raw), sht4x.rh_centi(raw))


class CountingFlash:
    """A RAM block device for LittleFS that counts block erases (ioctl 6)."""

    def __init__(self, blocks, size=4096):
        self.size = size
        self.data = bytearray(blocks * size)
        self.erases = 0

    def readblocks(self, n, buf, off=0):
        at = n * self.size + off
        buf[:] = self.data[at:at + len(buf)]

    def writeblocks(self, n, buf, off=None):
        at = n * self.size + (off or 0)
        self.data[at:at + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.size
        if op == 5:
            return self.size
        if op == 6:
            self.erases += 1
            return 0
        return 0


def check_ring_erases_bounded_over_30_days():
    import os
    import vfs

    flash = CountingFlash(256)  # 1 MiB, as the ESP32's filesystem partition
    vfs.VfsLfs2.mkfs(flash)
    vfs.mount(vfs.VfsLfs2(flash), "/flash")
    os.chdir("/flash")
    st = rtcstate.State(128, 300, 48, 8500)
    buf = buffer.ReadingBuffer(st, RingFile("readings.ring", 8064))
    worst = 0
    ts = 1764201600
    # 30 days offline: a reading every 5 minutes, a failed attempt (and a spill of
    # what RTC memory holds) every 6 hours
    for i in range(30 * 288):
        before = flash.erases
        buf.add(reading.pack(ts + 300 * i, i % 3000, 5000, None))
        if i % 72 == 71:
            expect(buf.spill(), "spill")
        worst = max(worst, flash.erases - before)
    expect(buf.ring.count == 8064 and buf.drops == 30 * 288 - 8064 - st.count,
           f"full ring drops the oldest: {buf.ring.count} {buf.drops}")
    expect(worst <= 8, f"erases per spill: {worst}")
    # back online: drained in 64-reading messages, every pop bounded too
    seen, held = 0, buf.pending
    while buf.pending:
        before = flash.erases
        source, recs = buf.batch(64)
        buf.commit(source, len(recs) // reading.SIZE)
        seen += len(recs) // reading.SIZE
        worst = max(worst, flash.erases - before)
    expect(seen == held and buf.ring.count == 0, f"drained {seen} of {held}")
    expect(worst <= 8, f"erases per pop: {worst}")
    print("worst erases per spill or pop:", worst, "total:", flash.erases)


def check_drip_deadline():
    # a broker (port in $DW_PORT) that answers CONNACK, then drips a PUBLISH at one
    # byte per second: a 2 s deadline must end the read at 2 s, not when it is done
    import os
    import time

    from deadline import Deadline

    client = mqtt.Client("d", "127.0.0.1", int(os.getenv("DW_PORT")))
    client.connect(Deadline(2000))
    t0 = time.ticks_ms()
    try:
        client.wait_msg(Deadline(2000))
    except mqtt.MQTTTimeout:
        pass
    else:
        raise AssertionError("the dripped packet cannot be complete")
    print("elapsed_ms", time.ticks_diff(time.ticks_ms(), t0))


name = sys.argv[-1]
globals()["check_" + name]()
print("PASS", name)
