# The sampling wake: what most wakes do (measure, keep the reading in RTC memory,
# sleep), with nothing but the sensor driver and the RTC state. It reads no file,
# imports neither `secrets.py` nor the upload path, and can run from a frozen
# `_boot.py` before the filesystem is mounted (see manifest.py) or from `boot.py`.
# Anything else (a cold boot, an upload due, RTC memory full, any doubt) falls
# through to main.py and node.py, which take the reading themselves.
import time

import defaults as D
import machine
import reading
from rtcstate import FLAG_SURFACE, FLAG_UPLOAD_NOW, FLAG_URGENT_SENT, MAX_READINGS, State
from sht4x import SHT4x

# Unix seconds = time.time() + offset (the ESP32 port counts from 2000, unix from 1970).
EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0
dog = None  # the watchdog quick() armed; node.main() keeps it rather than arm another


def unix_now():
    return time.time() + EPOCH_OFFSET


def log(*args):
    print("dampwatch:", *args)


def urgent(st, rh_centi, hysteresis_pct):
    """One urgent upload per humid spell: True when RH first reaches the threshold; the
    spell ends when RH falls `hysteresis_pct` below it. (Uploading at every wake of a
    spell would cost a damp flat's node most of its battery.)"""
    if rh_centi < st.urgent_rh_centi - int(hysteresis_pct * 100):
        st.flags &= ~FLAG_URGENT_SENT
        return False
    if rh_centi < st.urgent_rh_centi or st.flags & FLAG_URGENT_SENT:
        return False
    st.flags |= FLAG_URGENT_SENT
    return True


def measure(st, s):
    """One reading with the sensors `s` (settings) describes, counted in `st`:
    (packed record or None, urgent)."""
    i2c = machine.I2C(s.I2C_ID, scl=machine.Pin(s.I2C_SCL), sda=machine.Pin(s.I2C_SDA),
                      freq=s.I2C_FREQ)
    ts = unix_now()
    air = SHT4x(i2c, s.SHT4X_AIR_ADDR, s.SHT4X_MEAS_MS, s.SHT4X_RESET_MS,
                s.SHT4X_ATTEMPTS).measure()
    st.samples_since_upload += 1
    if air is None:
        st.sensor_failures += 1
        log("air sensor failed twice; reading skipped")
        return None, False
    surface = None
    if st.flags & FLAG_SURFACE:
        addr = s.SHT4X_SURFACE_ADDR if s.SHT4X_SURFACE_ADDR is not None else 0x45
        probe = SHT4x(i2c, addr, s.SHT4X_MEAS_MS, s.SHT4X_RESET_MS,
                      s.SHT4X_ATTEMPTS).measure()
        if probe is None:
            st.sensor_failures += 1
        else:
            surface = probe[0]
    return reading.pack(ts, air[0], air[1], surface), urgent(st, air[1],
                                                             s.URGENT_HYSTERESIS_PCT)


def quick():
    """Handle a wake that only samples, and deep-sleep (the call then never returns).
    Returns when the full path must run: main.py then carries on from the state here."""
    t0 = time.ticks_ms()
    if machine.reset_cause() != machine.DEEPSLEEP_RESET:
        return  # power-on, watchdog, brownout: the full path decides
    rtc = machine.RTC()
    st = State(MAX_READINGS, D.SAMPLE_S, D.UPLOAD_EVERY, 8500).load(rtc.memory())
    st.capacity = st.capacity_saved  # keep the full path's capacity (RTC_READINGS)
    if st.fresh or not st.wdt_ms:
        return
    global dog
    dog = machine.WDT(timeout=st.wdt_ms)  # the full path's timeout: a hung sensor resets
    if st.fresh or st.flags & FLAG_UPLOAD_NOW or st.count >= st.capacity:
        return  # RTC memory full (a spill needs the filesystem), or no state
    backing_off = unix_now() < st.next_try_ts  # after a failure: no upload either way
    if st.samples_since_upload + 1 >= st.upload_every:
        if not backing_off:
            return  # an upload is due
        log("backing off until", st.next_try_ts)
    record, now = measure(st, D)
    if record is not None:
        st.readings += record
    if now and not backing_off:
        st.flags |= FLAG_UPLOAD_NOW  # node.py uploads at once, without sampling again
        rtc.memory(st.dump())
        return
    rtc.memory(st.dump())
    elapsed = time.ticks_diff(time.ticks_ms(), t0)
    machine.deepsleep(max(D.MIN_SLEEP_MS, st.sample_s * 1000 - elapsed))
