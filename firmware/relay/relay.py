# The block relay: ESP-NOW frames from the flats' sensor nodes in, contract v1
# telemetry on each device's own topic out, and an acknowledgement back to the node
# only after the broker's PUBACK (end-to-end at least once: a node forgets readings
# only once the broker holds them). Mains powered, on Ethernet or the landlord's
# network; MicroPython, sharing frame.py, mqtt.py, payloads.py and reading.py with the
# node.
#
# A frame is dropped and counted, never published, when it is malformed or too long,
# names a device this relay does not serve (unknown_device), carries a bad tag
# (bad_tag: wrong key, altered bytes), or a (boot, seq) at or below the last one this
# relay published for the device (replay; the very last one again is a duplicate: its
# ack was lost, so it is acknowledged again and not republished), or when the queue is
# full (queue_full: not acknowledged, so the node keeps the readings and tries later).
import json
import time

import frame
import mqtt
import payloads
import reading
from deadline import Deadline

REASONS = ("malformed", "too_long", "unknown_device", "bad_tag", "replay", "queue_full")
EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0


def log(*args):
    print("relay:", *args)


def unix_now():
    return time.time() + EPOCH_OFFSET


def status_topic(relay_id):
    return "dampwatch/v1/relay/" + relay_id + "/status"


class Relay:
    def __init__(self, s, radio, keys, state_file):
        self.s = s
        self.radio = radio
        self.keys = keys  # device id -> 32-byte key: the devices registered to it
        self.state_file = state_file
        self.published = self._load()  # device id -> (boot, seq) the broker holds
        self.accepted = dict(self.published)  # ... or that waits in the queue
        self.queue = []  # (device_id, boot, seq, mac, payload or None, received_ms, sent)
        self.dropped = {r: 0 for r in REASONS}
        self.heard = set()
        self.published_count = 0
        self.duplicates = 0
        self.client = None
        self.next_connect_ms = time.ticks_ms()
        self.connect_failures = 0
        self.last_status_ms = None
        self.last_io_ms = time.ticks_ms()
        self.started_ms = time.ticks_ms()

    # ------------------------------------------------------------ persistence
    def _load(self):
        try:
            with open(self.state_file) as f:
                obj = json.load(f)
            return {k: (int(v[0]), int(v[1])) for k, v in obj.items() if k in self.keys}
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            return {}

    def _save(self):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({k: [v[0], v[1]] for k, v in self.published.items()}, f)
        import os

        os.rename(tmp, self.state_file)

    # ---------------------------------------------------------------- frames
    def drop(self, reason):
        self.dropped[reason] += 1

    def on_frame(self, mac, raw):
        """Check one received frame; queue it for the broker, acknowledge a duplicate,
        or drop and count it. Returns the verdict (for the log and the tests)."""
        try:
            kind, device_id = frame.peek(raw)
        except frame.FrameError as exc:
            self.drop(exc.args[0])
            return exc.args[0]
        if kind != frame.KIND_DATA:
            self.drop("malformed")
            return "malformed"
        key = self.keys.get(device_id)
        if key is None:
            self.drop("unknown_device")
            return "unknown_device"
        try:
            dev, boot, seq, sent, batt, drops, readings = frame.decode_data(key, raw)
        except frame.FrameError as exc:
            self.drop(exc.args[0])
            return exc.args[0]
        self.heard.add(device_id)
        pair = (boot, seq)
        last = self.accepted.get(device_id)
        if last is not None and pair <= last:
            if pair == self.published.get(device_id):
                self.duplicates += 1
                self.ack(mac, key, device_id, boot, seq)
                return "duplicate"
            if pair == last:
                return "queued"  # still waiting for the broker: acked once published
            self.drop("replay")
            return "replay"
        if len(self.queue) >= self.s.QUEUE_MAX:
            self.drop("queue_full")
            return "queue_full"
        self.accepted[device_id] = pair
        payload = None
        if readings:
            records = b"".join(reading.pack(*r) for r in readings)
            payload = (records, batt)
        self.queue.append((device_id, boot, seq, mac, payload, time.ticks_ms(), sent))
        return "queued"

    def ack(self, mac, key, device_id, boot, seq):
        now = unix_now()
        msg = frame.encode_ack(key, device_id, boot, seq,
                               now if now >= reading.VALID_MIN_TS else 0)
        self._peer(mac)
        try:
            self.radio.send(mac, msg, True)
        except OSError as exc:
            log("ack send failed:", exc)

    def _peer(self, mac):
        """Register `mac` as a peer to reply to it: ESP-NOW allows 20 peers, a block has
        more flats, so the oldest registration goes when the table is full."""
        peers = [p[0] for p in self.radio.get_peers()]
        if mac in peers:
            return
        if len(peers) >= self.s.MAX_PEERS:
            self.radio.del_peer(peers[0])
        self.radio.add_peer(mac)

    # ---------------------------------------------------------------- broker
    def _connect(self):
        s = self.s
        client = mqtt.Client(s.RELAY_ID, s.MQTT_HOST, s.MQTT_PORT, s.RELAY_ID,
                             s.MQTT_PASSWORD, s.MQTT_KEEPALIVE_S)
        client.connect(Deadline(s.MQTT_TIMEOUT_MS), status_topic(s.RELAY_ID),
                       b'{"v":1,"state":"offline"}')
        self.client = client
        self.connect_failures = 0
        self.last_io_ms = time.ticks_ms()
        log("connected to the broker")
        self.publish_status()

    def _broker_failed(self, exc):
        log("broker:", exc)
        if self.client is not None:
            self.client.close()
        self.client = None
        self.connect_failures += 1
        delay = min(self.s.RECONNECT_MIN_MS << min(self.connect_failures - 1, 8),
                    self.s.RECONNECT_MAX_MS)
        self.next_connect_ms = time.ticks_add(time.ticks_ms(), delay)

    def _ensure_client(self):
        if self.client is not None:
            return True
        if time.ticks_diff(self.next_connect_ms, time.ticks_ms()) > 0:
            return False
        try:
            self._connect()
        except (mqtt.MQTTError, OSError) as exc:
            self._broker_failed(exc)
        return self.client is not None

    def forward(self):
        """Publish the oldest queued frame; acknowledge it to its node after the PUBACK.
        True when one went."""
        if not self.queue or not self._ensure_client():
            return False
        device_id, boot, seq, mac, payload, received_ms, sent = self.queue[0]
        if payload is not None:
            records, batt = payload
            held_s = time.ticks_diff(time.ticks_ms(), received_ms) // 1000
            msg = payloads.telemetry(seq, self.s.NODE_FW, batt, None, records,
                                     sent + held_s if sent else None)
            try:
                self.client.publish(payloads.topic(device_id, "telemetry"), msg,
                                    Deadline(self.s.MQTT_TIMEOUT_MS))
            except (mqtt.MQTTError, OSError) as exc:
                self._broker_failed(exc)
                return False
            self.published_count += 1
            self.last_io_ms = time.ticks_ms()
        self.queue.pop(0)
        self.published[device_id] = (boot, seq)
        self._save()
        self.ack(mac, self.keys[device_id], device_id, boot, seq)
        return True

    def status(self):
        return {
            "v": 1, "state": "online", "devices_heard": len(self.heard),
            "devices": len(self.keys), "queue": len(self.queue),
            "queue_max": self.s.QUEUE_MAX, "published": self.published_count,
            "duplicates": self.duplicates, "dropped": dict(self.dropped),
            "uptime_s": time.ticks_diff(time.ticks_ms(), self.started_ms) // 1000,
        }

    def publish_status(self):
        if self.client is None:
            return
        try:
            self.client.publish(status_topic(self.s.RELAY_ID),
                                json.dumps(self.status()).encode(),
                                Deadline(self.s.MQTT_TIMEOUT_MS), retain=True)
            self.last_status_ms = time.ticks_ms()
            self.last_io_ms = self.last_status_ms
        except (mqtt.MQTTError, OSError) as exc:
            self._broker_failed(exc)

    def housekeeping(self):
        now = time.ticks_ms()
        if self.client is None:
            self._ensure_client()
            return
        if (self.last_status_ms is None
                or time.ticks_diff(now, self.last_status_ms) >= self.s.STATUS_EVERY_MS):
            self.publish_status()
        elif time.ticks_diff(now, self.last_io_ms) >= self.s.MQTT_KEEPALIVE_S * 500:
            try:
                self.client.ping(Deadline(self.s.MQTT_TIMEOUT_MS))
                self.last_io_ms = now
            except (mqtt.MQTTError, OSError) as exc:
                self._broker_failed(exc)

    # ------------------------------------------------------------------ loop
    def step(self):
        """Take every frame waiting in the radio, publish at most one, then the rest."""
        host, msg = self.radio.recv(0 if self.queue else self.s.IDLE_RECV_MS)
        while msg is not None:
            verdict = self.on_frame(host, msg)
            if verdict not in ("queued", "duplicate"):
                log("dropped:", verdict)
            host, msg = self.radio.recv(0)
        self.forward()
        self.housekeeping()

    def run(self):
        while True:
            self.step()
