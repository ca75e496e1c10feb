"""Ingest benchmark: the gateway against the broker's own delivery rate, both draining
the same pre-queued backlog.

For 12-reading and 1-reading messages, on this machine's project-started Mosquitto and
InfluxDB: a subscriber creates its persistent session and leaves; 100 devices publish
the whole stream (QoS 1), which the broker queues in that session; then
  (a) a plain ``mosquitto_sub`` (QoS 1) comes back and receives the backlog;
  (b) one gateway (shared subscription, as deployed) comes back and drains the same
      backlog until every reading is in InfluxDB (count-checked).
The publisher's speed no longer sets either figure. Prints figures and ends with one
JSON line.

    .venv/bin/python bench/ingest.py [--devices 100] [--readings 120000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.influxdb import InfluxDB
from dampwatch.stack.mosquitto import Mosquitto
from dampwatch.stack.ports import free_port
from dampwatch_core.contract import Reading, encode_telemetry, telemetry_topic
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.influx import InfluxClient
from dampwatch_core.mqtt_auth import GATEWAY_USER


def publish_worker(
    host: str,
    port: int,
    creds: list[tuple[str, str]],
    per_message: int,
    messages: int,
    start_ts: int,
    ready: mp.Event,
    go: mp.Event,
) -> None:  # type: ignore[type-arg]
    """Publishes each device's messages at QoS 1 as fast as the broker acknowledges."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    clients = []
    payloads = []
    for device, pw in creds:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device)
        c.username_pw_set(device, pw)
        c.max_inflight_messages_set(200)
        c.max_queued_messages_set(0)
        c.connect(host, port)
        c.loop_start()
        clients.append(c)
        msgs = []
        for m in range(messages):
            base = start_ts + m * per_message * 300
            readings = [Reading(base + 300 * k, 19.5 + k * 0.01, 60.0) for k in range(per_message)]
            msgs.append(encode_telemetry(m, readings))
        payloads.append((telemetry_topic(device), msgs))
    ready.set()
    go.wait()
    infos = []
    for c, (topic, msgs) in zip(clients, payloads, strict=True):
        for p in msgs:
            infos.append(c.publish(topic, p, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    for c in clients:
        c.disconnect()
        c.loop_stop()


class Bench:
    def __init__(self, tmp: Path, devices: int) -> None:
        self.tmp = tmp
        self.broker = Mosquitto(tmp / "mq")
        self.influx = InfluxDB(tmp / "influx")
        self.gw_password = "bench-gateway-pw"
        self.broker.add_user(GATEWAY_USER, self.gw_password)
        self.db_url = f"sqlite:///{tmp / 'registry.db'}"
        migrate(self.db_url)
        sessions = make_sessionmaker(make_engine(self.db_url))
        self.creds: list[tuple[str, str]] = []
        self.broker.start()
        self.influx.start()
        with sessions.begin() as s:
            for i in range(devices):
                add_flat(s, f"B{i:05d}", f"{i} Bench Court")
            s.flush()
            for i in range(devices):
                d, pw = add_device(s, f"esp32-be{i:010x}", f"B{i:05d}", "bedroom")
                self.creds.append((d.id, pw))
            s.flush()
            sync_broker_credentials(s, self.broker.password_file, self.broker.pid_file)
        time.sleep(0.5)

    def publish(
        self, per_message: int, messages: int, start_ts: int
    ) -> tuple[mp.Process, mp.Event]:  # type: ignore[type-arg]
        ready, go = mp.Event(), mp.Event()
        proc = mp.Process(
            target=publish_worker,
            args=(
                self.broker.host,
                self.broker.port,
                self.creds,
                per_message,
                messages,
                start_ts,
                ready,
                go,
            ),
        )
        proc.start()
        ready.wait(300)
        return proc, go

    def _gateway_env(self, db: str, port: int) -> dict[str, str]:
        env = dict(
            os.environ,
            DAMPWATCH_DATABASE_URL=self.db_url,
            DAMPWATCH_MQTT_HOST=self.broker.service_host,
            DAMPWATCH_MQTT_PORT=str(self.broker.service_port),
            DAMPWATCH_MQTT_USERNAME=GATEWAY_USER,
            DAMPWATCH_MQTT_PASSWORD=self.gw_password,
            DAMPWATCH_INFLUX_URL=self.influx.url,
            DAMPWATCH_INFLUX_DATABASE=db,
            DAMPWATCH_GATEWAY_METRICS_PORT=str(port),
        )
        env.pop("DAMPWATCH_SETTINGS_FILE", None)
        return env

    def _start_gateway(self, client_id: str, db: str) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "dampwatch.cli", "gateway", "--client-id", client_id],
            env=self._gateway_env(db, port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.tmp,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                if "broker_connected 1.0" in text:
                    return proc, port
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError("the gateway did not connect within 60 s")

    def _fill_backlog(self, per_message: int, messages: int, start_ts: int) -> float:
        """Publish the whole stream while the subscriber is away; returns its seconds."""
        proc, go = self.publish(per_message, messages, start_ts)
        t0 = time.perf_counter()
        go.set()
        proc.join(600)
        return time.perf_counter() - t0

    def mosquitto_sub(self, per_message: int, messages: int, start_ts: int) -> dict[str, float]:
        """A plain QoS 1 subscriber draining the backlog queued in its session."""
        total = len(self.creds) * messages
        client_id = f"bench-sub-{per_message}"
        base = [
            "mosquitto_sub",
            *("-h", self.broker.service_host, "-p", str(self.broker.service_port), "-q", "1"),
            *("-u", GATEWAY_USER, "-P", self.gw_password, "-i", client_id, "-c"),
            *("-t", "dampwatch/v1/dev/+/telemetry"),
        ]
        # create the persistent session, then leave: the broker queues for it
        subprocess.run(
            [*base, "-W", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        publish_s = self._fill_backlog(per_message, messages, start_ts)
        t0 = time.perf_counter()
        sub = subprocess.run([*base, "-C", str(total)], stdout=subprocess.DEVNULL, timeout=600)
        elapsed = time.perf_counter() - t0
        self.forget_session(client_id, mqtt5=False)
        return {"seconds": elapsed, "publish_seconds": publish_s, "rc": sub.returncode}

    def gateway(self, per_message: int, messages: int, start_ts: int, db: str) -> dict[str, float]:
        """One gateway draining the backlog queued in its persistent session (shared
        subscription, as deployed) until every reading is in InfluxDB."""
        with InfluxClient(self.influx.url, db) as client:
            client.create_database()
        client_id = f"bench-{db}"
        first, _ = self._start_gateway(client_id, db)  # creates session and subscription
        first.terminate()
        first.wait(30)
        publish_s = self._fill_backlog(per_message, messages, start_ts)
        expected = len(self.creds) * messages * per_message
        t_start = time.perf_counter()
        proc, _ = self._start_gateway(client_id, db)
        t0 = time.perf_counter()
        count = 0
        with InfluxClient(self.influx.url, db, timeout_s=60) as client:
            while count < expected and time.perf_counter() - t0 < 600:
                time.sleep(0.1)
                series = client.query("SELECT count(temp_c) FROM climate")
                count = int(series[0].values[0][1]) if series else 0
        elapsed = time.perf_counter() - t0
        with open(f"/proc/{proc.pid}/status") as fh:
            rss = [int(line.split()[1]) // 1024 for line in fh if line.startswith("VmHWM")]
        proc.terminate()
        proc.wait(30)
        self.forget_session(client_id)
        return {
            "seconds": elapsed,
            "connect_seconds": t0 - t_start,
            "publish_seconds": publish_s,
            "count": count,
            "expected": expected,
            "peak_rss_mb": rss[0] if rss else 0,
        }

    def forget_session(self, client_id: str, *, mqtt5: bool = True) -> None:
        """Drop a stopped subscriber's persistent session, or the shared group would
        keep queuing a share of the next run's stream for it (see gateway/README.md)."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        if mqtt5:
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
            c.username_pw_set(GATEWAY_USER, self.gw_password)
            # expiry 0: the session is gone
            c.connect(self.broker.service_host, self.broker.service_port, clean_start=True)
        else:
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
            c.username_pw_set(GATEWAY_USER, self.gw_password)
            c.connect(self.broker.service_host, self.broker.service_port)
        c.loop_start()
        time.sleep(0.2)
        c.disconnect()
        c.loop_stop()

    def close(self) -> None:
        self.influx.stop()
        self.broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--readings", type=int, default=120_000, help="per stream")
    args = parser.parse_args()
    figures: dict[str, float | int | str | bool] = {"machine": f"{os.cpu_count()} cores, shared"}
    with tempfile.TemporaryDirectory(prefix="dw-ingest-") as tmp:
        bench = Bench(Path(tmp), args.devices)
        try:
            now = int(time.time()) // 300 * 300
            for run, per_message in enumerate((12, 1), start=1):
                messages = args.readings // (args.devices * per_message)
                readings = args.devices * messages * per_message
                start = now - (messages * per_message + 10) * 300
                sub = bench.mosquitto_sub(per_message, messages, start)
                gw = bench.gateway(per_message, messages, start, f"bench{run}")
                n_msgs = args.devices * messages
                tag = f"m{per_message}"
                figures.update(
                    {
                        f"{tag}_readings": readings,
                        f"{tag}_messages": n_msgs,
                        f"{tag}_backlog_publish_msgs_per_s": round(n_msgs / gw["publish_seconds"]),
                        f"{tag}_mosquitto_sub_msgs_per_s": round(n_msgs / sub["seconds"]),
                        f"{tag}_mosquitto_sub_readings_per_s": round(readings / sub["seconds"]),
                        f"{tag}_gateway_readings_per_s": round(readings / gw["seconds"]),
                        f"{tag}_gateway_msgs_per_s": round(n_msgs / gw["seconds"]),
                        f"{tag}_ratio_to_mosquitto_sub": round(sub["seconds"] / gw["seconds"], 2),
                        f"{tag}_gateway_connect_s": round(gw["connect_seconds"], 2),
                        f"{tag}_count_ok": gw["count"] == gw["expected"] and sub["rc"] == 0,
                        f"{tag}_gateway_peak_rss_mb": gw["peak_rss_mb"],
                    }
                )
                print(
                    f"{per_message:>2}-reading messages: {readings:,} readings, {n_msgs:,} messages"
                    f" queued while the subscriber was away"
                )
                print(
                    f"   mosquitto_sub drains: {n_msgs / sub['seconds']:,.0f} msg/s "
                    f"({readings / sub['seconds']:,.0f} readings/s)"
                )
                print(
                    f"   one gateway drains:   {n_msgs / gw['seconds']:,.0f} msg/s, "
                    f"{readings / gw['seconds']:,.0f} readings/s into InfluxDB, ratio "
                    f"{sub['seconds'] / gw['seconds']:.2f} of mosquitto_sub, count "
                    f"{gw['count']}/{gw['expected']}, peak RSS {gw['peak_rss_mb']} MB "
                    f"(timed from its connect, {gw['connect_seconds']:.1f} s after start)"
                )
        finally:
            bench.close()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
