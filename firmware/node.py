# One wake of the sensor node: sample, maybe upload, sleep. Everything a wake does is
# inside WAKE_CAP_MS; the watchdog resets the chip if something hangs anyway, and a
# wake it kills has already saved its reading and the backoff for its failure.
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
import wake
from rtcstate import FLAG_COLD_PENDING, FLAG_LOW_BATTERY, FLAG_SURFACE, FLAG_UPLOAD_NOW, State

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
        st.wdt_ms = S.WAKE_CAP_MS + S.WDT_MARGIN_MS
        self.state = st
        self.buffer = ReadingBuffer(st, RingFile(S.RING_FILE, S.RING_READINGS))
        if st.fresh:
            self._cold_boot()
        elif reset_name() == "wdt":
            st.resets += 1  # reported in status; the backoff was saved before the risk
        self.device_id = device_id()
        self.batt = None

    def _cold_boot(self):
        saved = config.load_node_file(S.STATE_FILE)
        st = self.state
        boot = saved.get("boot")
        st.boot = (boot if isinstance(boot, int) and 0 <= boot < 0xFFFFFFFF else 0) + 1
        # Cold boots whose first upload never finished (a brownout on Wi-Fi TX, a
        # power-on loop): RTC memory cannot say, so flash does. Back off for them.
        unfinished = saved.get("unfinished")
        self.unfinished = unfinished if isinstance(unfinished, int) and unfinished > 0 else 0
        if self.unfinished:
            st.fail_streak = min(self.unfinished, 30)
            st.next_try_ts = unix_now() + backoff_s(st.fail_streak)
            log("cold boot after", self.unfinished, "unfinished; backing off")
        st.ring_from = self.buffer.ring.appended  # older ring records: earlier power-on
        st.flags |= FLAG_COLD_PENDING
        good = saved.get("config")
        if isinstance(good, list) and len(good) == 3:
            checked = config.parse(
                '{"v":1,"sample_s":%s,"upload_every":%s,"urgent_rh_pct":%s}'
                % (good[0], good[1], reading.centi_str(int(good[2]))))
            if checked:
                st.sample_s, st.upload_every, st.urgent_rh_centi = checked
        self._save_node_file(self.unfinished + 1)

    def _save_node_file(self, unfinished=None):
        st = self.state
        if unfinished is None:  # a config change: keep the count the file holds
            unfinished = 0
            if st.flags & FLAG_COLD_PENDING:
                held = config.load_node_file(S.STATE_FILE).get("unfinished")
                unfinished = held if isinstance(held, int) and held > 0 else 1
        try:
            config.save_node_file(S.STATE_FILE, {
                "boot": st.boot, "unfinished": unfinished,
                "config": [st.sample_s, st.upload_every, st.urgent_rh_centi]})
        except OSError as exc:
            log("cannot save", S.STATE_FILE, exc)

    def save_rtc(self):
        self.rtc.memory(self.state.dump())

    # ---------------------------------------------------------------- sample
    def sample(self):
        """Take one reading into the buffer. True when it is urgent. The sampling wake
        (wake.py) may already have taken this wake's urgent reading."""
        st = self.state
        if S.SHT4X_SURFACE_ADDR is None:
            st.flags &= ~FLAG_SURFACE
        else:
            st.flags |= FLAG_SURFACE
        if st.flags & FLAG_UPLOAD_NOW:
            st.flags &= ~FLAG_UPLOAD_NOW
            return True
        record, urgent = wake.measure(st, S)
        if record is not None:
            self.buffer.add(record)
        return urgent

    # ---------------------------------------------------------------- upload
    def upload_due(self, urgent):
        st = self.state
        due = st.fresh or urgent or st.samples_since_upload >= st.upload_every
        if not due:
            return False
        if unix_now() < st.next_try_ts:
            log("backing off until", st.next_try_ts)
            return False
        return self.battery_ok()

    def battery_ok(self):
        """Read the battery at rest, before the radio's current surge. Low: no upload
        attempt (a sagging battery browns out on TX) until it recovers past a higher
        threshold; the readings stay buffered."""
        st = self.state
        self.batt = mv = battery_mv()
        if mv is None:
            return True
        if st.flags & FLAG_LOW_BATTERY:
            if mv < S.BATT_RESUME_MV:
                log("battery low,", mv, "mV: not uploading")
                return False
            st.flags &= ~FLAG_LOW_BATTERY
        elif mv < S.BATT_MIN_UPLOAD_MV:
            st.flags |= FLAG_LOW_BATTERY
            log("battery low,", mv, "mV: not uploading")
            return False
        return True

    def begin_attempt(self):
        """Count the attempt as failed and save that, with the wake's reading, before
        the radio starts: a wake the watchdog kills (a hung lookup, a dripping broker)
        or a reset mid-upload then backs off instead of retrying at once."""
        st = self.state
        st.fail_streak = min(st.fail_streak + 1, 30)
        st.next_try_ts = unix_now() + backoff_s(st.fail_streak)
        if st.fresh:  # a cold boot: RTC memory will not survive a brownout either
            self.buffer.spill()
        self.save_rtc()

    def upload(self):
        """Through the configured uplinks in order (ESP-NOW to the relay first where
        both are configured): the first that sends everything ends the upload; what an
        uplink sent before failing stays sent, and the next carries on from there."""
        failure = None
        for name in uplinks():
            try:
                if name == "espnow":
                    import uplink_espnow

                    uplink_espnow.upload(self, self.wake, S)
                else:
                    self.upload_wifi()
                return
            except Exception as exc:  # noqa: any uplink failure hands over to the next
                log("uplink", name, "failed:", exc)
                failure = exc
        raise UploadFailed("no uplink: %s" % failure)

    def unix_now(self):
        return unix_now()

    def upload_wifi(self):
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
        t = net.ntp_time(S.NTP_HOST, min(S.NTP_TIMEOUT_MS, left))
        if t is not None:
            t += EPOCH_OFFSET
            if not ntp_sane(t, before, st.last_ntp_ts if valid else 0):
                log("NTP answer refused:", t)
                t = None
        if t is None:
            if not valid:
                raise UploadFailed("clock not set and NTP failed")
            return
        set_clock(t - EPOCH_OFFSET)
        after = unix_now()
        if not valid:
            self.buffer.rebase(after - before, st.ring_from)
            log("clock set; rebased this power-on's readings by", after - before)
        st.last_ntp_ts = after

    def _mqtt_session(self, sta, deadline):
        st = self.state
        ca = None
        if S.MQTT_CA_FILE:
            with open(S.MQTT_CA_FILE, "rb") as f:
                ca = f.read()
        client = mqtt.Client(self.device_id, S.MQTT_HOST, S.MQTT_PORT, self.device_id,
                             S.MQTT_PASSWORD, S.MQTT_KEEPALIVE_S, ca, S.MQTT_MAX_PACKET)
        client.on_message = self._on_message
        try:
            client.connect(deadline, payloads.topic(self.device_id, "status"),
                           payloads.OFFLINE_WILL)
            batt = self.batt
            rssi = net.rssi(sta)
            telemetry_topic = payloads.topic(self.device_id, "telemetry")
            while self.buffer.pending and deadline.remaining_ms() > UPLOAD_RESERVE_MS:
                source, records = self.buffer.batch(S.MAX_BATCH)
                seq = st.seq
                st.seq += 1
                self.save_rtc()  # seq never repeats, even after a watchdog reset
                msg = payloads.telemetry(seq, S.FW_VERSION, batt, rssi, records, unix_now())
                client.publish(telemetry_topic, msg, deadline)
                self.buffer.commit(source, len(records) // reading.SIZE)
            # The config comes after the telemetry, so a broken or oversized retained
            # config cannot cost the readings. The broker queues retained messages at
            # SUBSCRIBE, so they arrive before the answer to the ping: no fixed wait.
            client.subscribe(payloads.topic(self.device_id, "config"), deadline)
            client.ping(deadline)
            if client.oversized:
                log("config over", S.MQTT_MAX_PACKET, "bytes ignored")
            extra = {
                "seq": st.seq, "buffered": self.buffer.pending, "drops": self.buffer.drops,
                "sensor_failures": st.sensor_failures, "wdt_resets": st.resets,
                "awake_ms": self.wake.elapsed_ms()}
            if st.flags & FLAG_COLD_PENDING:  # once per power-on: boots lost before it
                unfinished = config.load_node_file(S.STATE_FILE).get("unfinished")
                if isinstance(unfinished, int) and unfinished > 1:
                    extra["unfinished_boots"] = unfinished - 1  # brownouts, power loops
            status = payloads.status(S.FW_VERSION, batt, st.boot, reset_name(), extra)
            client.publish(payloads.topic(self.device_id, "status"), status, deadline,
                           retain=True)
            client.disconnect(deadline)
        finally:
            client.close()

    def _on_message(self, topic, payload, retained):
        if not topic.endswith("/config"):
            return
        if len(payload) > S.CONFIG_MAX_BYTES:
            log("config of", len(payload), "bytes ignored")
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
            if st.flags & FLAG_COLD_PENDING:
                st.flags &= ~FLAG_COLD_PENDING
                self._save_node_file(0)
            return
        # begin_attempt() counted the failure; NTP may have moved the clock since
        st.next_try_ts = unix_now() + backoff_s(st.fail_streak)
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
                self.begin_attempt()
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


def uplinks():
    """The uplinks to try, in order: UPLINKS when set, else ESP-NOW when a relay and a
    key are configured, then Wi-Fi when a network is."""
    if S.UPLINKS:
        return S.UPLINKS
    out = []
    if S.RELAY_MAC and S.ESPNOW_KEY:
        out.append("espnow")
    if S.WIFI_SSID:
        out.append("wifi")
    return out


def backoff_s(streak):
    """Seconds to wait after `streak` failed attempts: exponential, capped, jittered."""
    delay = min(S.BACKOFF_BASE_S << min(streak - 1, 20), S.BACKOFF_MAX_S)
    jitter = 1 - S.BACKOFF_JITTER + 2 * S.BACKOFF_JITTER * os.urandom(1)[0] / 255
    return int(delay * jitter)


def ntp_sane(t, before, last_sync):
    """An NTP answer (Unix s) is taken only inside a sane window: not before this
    firmware was built, not absurdly late, and, once the clock has been set, within
    what the clock can have drifted since (80 s/h is the ESP32's worst published)."""
    if not S.NTP_MIN_TS <= t <= S.NTP_MIN_TS + 30 * 365 * 86400:
        return False
    if last_sync:
        allowed = S.NTP_MAX_STEP_S + max(0, before - last_sync) // 20
        return abs(t - before) <= allowed
    return True


def set_clock(t):
    tm = time.gmtime(t)
    machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6] + 1, tm[3], tm[4], tm[5], 0))


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
    # Never fed: a hang resets. The sampling wake may have armed it already (with the
    # same timeout, saved in RTC state); a second one would fail on the ESP32.
    wdt = wake.dog or machine.WDT(timeout=S.WAKE_CAP_MS + S.WDT_MARGIN_MS)
    try:
        Node().run()
    except Exception as exc:  # state could not even load: sleep a full period anyway
        log("wake failed:", exc)
        machine.deepsleep(S.SAMPLE_S * 1000)
    return wdt
