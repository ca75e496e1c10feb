# One wake of the sensor node: sample, maybe upload, sleep. Everything a wake does is
# inside WAKE_CAP_MS; the watchdog resets the chip if something hangs anyway.
import os
import sys
import time

import machine

import config
import mqtt
import net
import payloads
import reading
import settings as S
from buffer import ReadingBuffer
from deadline import Deadline
from ringfile import RingFile
from rtcstate import State
from sht4x import SHT4x

# Unix seconds = time.time() + offset (the ESP32 port counts from 2000, unix from 1970).
EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0
UPLOAD_RESERVE_MS = 1500  # stop sending batches when less than this is left


def unix_now():
    return time.time() + EPOCH_OFFSET


def log(*args):
    print("dampwatch:", *args)


def reset_name():
    cause = machine.reset_cause()
    for name in ("DEEPSLEEP", "PWRON", "HARD", "WDT", "SOFT"):
        if getattr(machine, name + "_RESET", None) == cause:
            return name.lower()
    return "other"


def device_id():
    if S.DEVICE_ID:
        return S.DEVICE_ID
    return "esp32-" + "".join("%02x" % b for b in machine.unique_id())


class UploadFailed(Exception):
    pass


class Node:
    def __init__(self):
        self.wake = Deadline(S.WAKE_CAP_MS - S.SLEEP_MARGIN_MS)
        self.rtc = machine.RTC()
        st = State(S.RTC_READINGS, S.SAMPLE_S, S.UPLOAD_EVERY, int(S.URGENT_RH_PCT * 100 + 0.5))
        st.load(self.rtc.memory())
        self.state = st
        if st.fresh:
            self._cold_boot()
        self.buffer = ReadingBuffer(st, RingFile(S.RING_FILE, S.RING_READINGS))
        self.device_id = device_id()
        self.config_seen = False

    def _cold_boot(self):
        saved = config.load_node_file(S.STATE_FILE)
        st = self.state
        boot = saved.get("boot")
        st.boot = (boot if isinstance(boot, int) and boot >= 0 else 0) + 1
        good = saved.get("config")
        if isinstance(good, list) and len(good) == 3:
            checked = config.parse(
                '{"v":1,"sample_s":%s,"upload_every":%s,"urgent_rh_pct":%s}'
                % (good[0], good[1], reading.centi_str(int(good[2]))))
            if checked:
                st.sample_s, st.upload_every, st.urgent_rh_centi = checked
        self._save_node_file()

    def _save_node_file(self):
        st = self.state
        try:
            config.save_node_file(S.STATE_FILE, {
                "boot": st.boot,
                "config": [st.sample_s, st.upload_every, st.urgent_rh_centi]})
        except OSError as exc:
            log("cannot save", S.STATE_FILE, exc)

    def save_rtc(self):
        self.rtc.memory(self.state.dump())

    # ---------------------------------------------------------------- sample
    def sample(self):
        """Take one reading into the buffer. True when it is urgent (RH >= threshold)."""
        st = self.state
        i2c = machine.I2C(S.I2C_ID, scl=machine.Pin(S.I2C_SCL), sda=machine.Pin(S.I2C_SDA),
                          freq=S.I2C_FREQ)
        ts = unix_now()
        air = SHT4x(i2c, S.SHT4X_AIR_ADDR, S.SHT4X_MEAS_MS, S.SHT4X_RESET_MS,
                    S.SHT4X_ATTEMPTS).measure()
        st.samples_since_upload += 1
        if air is None:
            st.sensor_failures += 1
            log("air sensor failed twice; reading skipped")
            return False
        surface = None
        if S.SHT4X_SURFACE_ADDR is not None:
            probe = SHT4x(i2c, S.SHT4X_SURFACE_ADDR, S.SHT4X_MEAS_MS, S.SHT4X_RESET_MS,
                          S.SHT4X_ATTEMPTS).measure()
            if probe is None:
                st.sensor_failures += 1
            else:
                surface = probe[0]
        self.buffer.add(reading.pack(ts, air[0], air[1], surface))
        return air[1] >= st.urgent_rh_centi

    # ---------------------------------------------------------------- upload
    def upload_due(self, urgent):
        st = self.state
        due = st.fresh or urgent or st.samples_since_upload >= st.upload_every
        if not due:
            return False
        if unix_now() < st.next_try_ts:
            log("backing off until", st.next_try_ts)
            return False
        return True

    def upload(self):
        deadline = self.wake
        sta = net.wifi_up(S.WIFI_SSID, S.WIFI_PASSWORD, S.WIFI_STATIC,
                          deadline.sub(S.WIFI_TIMEOUT_MS))
        if sta is None:
            raise UploadFailed("wifi")
        try:
            self._sync_clock(deadline)
            self._mqtt_session(sta, deadline)
        finally:
            net.wifi_down(sta)

    def _sync_clock(self, deadline):
        st = self.state
        before = unix_now()
        valid = before >= reading.VALID_MIN_TS
        if valid and before - st.last_ntp_ts < S.NTP_EVERY_S:
            return
        left = deadline.remaining_ms()
        if net.ntp_sync(S.NTP_HOST, min(S.NTP_TIMEOUT_MS, left)):
            after = unix_now()
            if not valid and after >= reading.VALID_MIN_TS:
                self.buffer.rebase(after - before)
                log("clock set; rebased buffered readings by", after - before)
            st.last_ntp_ts = after
        elif not valid:
            raise UploadFailed("clock not set and NTP failed")

    def _mqtt_session(self, sta, deadline):
        st = self.state
        ca = None
        if S.MQTT_CA_FILE:
            with open(S.MQTT_CA_FILE, "rb") as f:
                ca = f.read()
        client = mqtt.Client(self.device_id, S.MQTT_HOST, S.MQTT_PORT, self.device_id,
                             S.MQTT_PASSWORD, S.MQTT_KEEPALIVE_S, ca)
        client.on_message = self._on_message
        try:
            client.connect(deadline, payloads.topic(self.device_id, "status"),
                           payloads.OFFLINE_WILL)
            client.subscribe(payloads.topic(self.device_id, "config"), deadline)
            batt = battery_mv()
            rssi = net.rssi(sta)
            telemetry_topic = payloads.topic(self.device_id, "telemetry")
            while self.buffer.pending and deadline.remaining_ms() > UPLOAD_RESERVE_MS:
                source, records = self.buffer.batch(S.MAX_BATCH)
                seq = st.seq
                st.seq += 1
                self.save_rtc()  # seq never repeats, even after a watchdog reset
                msg = payloads.telemetry(seq, S.FW_VERSION, batt, rssi, records)
                client.publish(telemetry_topic, msg, deadline)
                self.buffer.commit(source, len(records) // reading.SIZE)
            # The broker queues retained messages at SUBSCRIBE, so they arrive
            # before the answer to this ping: no fixed wait for a config.
            client.ping(deadline)
            status = payloads.status(S.FW_VERSION, batt, st.boot, reset_name(), {
                "seq": st.seq, "buffered": self.buffer.pending, "drops": self.buffer.drops,
                "sensor_failures": st.sensor_failures, "awake_ms": self.wake.elapsed_ms()})
            client.publish(payloads.topic(self.device_id, "status"), status, deadline,
                           retain=True)
            client.disconnect(deadline)
        finally:
            client.close()

    def _on_message(self, topic, payload, retained):
        if not topic.endswith("/config"):
            return
        parsed = config.parse(payload)
        st = self.state
        if parsed is None:
            log("config rejected, keeping", st.sample_s, st.upload_every, st.urgent_rh_centi)
            return
        if parsed != (st.sample_s, st.upload_every, st.urgent_rh_centi):
            st.sample_s, st.upload_every, st.urgent_rh_centi = parsed
            self._save_node_file()
            log("config applied", parsed)

    def after_upload(self, ok):
        st = self.state
        if ok:
            st.fail_streak = 0
            st.next_try_ts = 0
            if not self.buffer.pending:
                st.samples_since_upload = 0
            return
        st.fail_streak = min(st.fail_streak + 1, 30)
        delay = min(S.BACKOFF_BASE_S << min(st.fail_streak - 1, 20), S.BACKOFF_MAX_S)
        jitter = 1 - S.BACKOFF_JITTER + 2 * S.BACKOFF_JITTER * os.urandom(1)[0] / 255
        st.next_try_ts = unix_now() + int(delay * jitter)
        if not self.buffer.spill():
            log("flash spill failed")

    # ----------------------------------------------------------------- cycle
    def sleep(self):
        st = self.state
        sleep_ms = max(S.MIN_SLEEP_MS, st.sample_s * 1000 - self.wake.elapsed_ms())
        self.save_rtc()
        machine.deepsleep(sleep_ms)

    def run(self):
        try:
            urgent = self.sample()
            if self.upload_due(urgent):
                try:
                    self.upload()
                    self.after_upload(True)
                except (UploadFailed, mqtt.MQTTError, OSError) as exc:
                    log("upload failed:", exc)
                    self.after_upload(False)
        except Exception as exc:  # a bug must not stop the node sleeping
            log("wake error:")
            sys.print_exception(exc)
        finally:
            self.sleep()


def battery_mv():
    if S.BATT_ADC_PIN is None:
        return None
    try:
        adc = machine.ADC(machine.Pin(S.BATT_ADC_PIN))
        adc.atten(machine.ADC.ATTN_11DB)
        mv = int(adc.read_uv() * S.BATT_DIVIDER / 1000)
    except (OSError, AttributeError, ValueError):
        return None
    return mv if 0 <= mv <= 5000 else None


def main():
    wdt = machine.WDT(timeout=S.WAKE_CAP_MS + S.WDT_MARGIN_MS)  # never fed: a hang resets
    try:
        Node().run()
    except Exception as exc:  # state could not even load: sleep a full period anyway
        log("wake failed:", exc)
        machine.deepsleep(S.SAMPLE_S * 1000)
    return wdt
