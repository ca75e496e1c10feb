"""Ingest benchmark: the gateway against the broker's own delivery rate.

In one run, on this machine's project-started Mosquitto and InfluxDB:
  (a) ceiling: a plain ``mosquitto_sub`` (QoS 1) receives the message stream;
  (b) one gateway: the same stream until every reading is in InfluxDB (count-checked);
  (c) two gateways on one shared subscription: the split and the combined rate.
for 12-reading and 1-reading messages. Prints figures and ends with one JSON line.

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

    def ceiling(self, per_message: int, messages: int, start_ts: int) -> float:
        total = len(self.creds) * messages
        sub = subprocess.Popen(
            [
                "mosquitto_sub",
                "-h",
                self.broker.service_host,
                "-p",
                str(self.broker.service_port),
                "-q",
                "1",
                "-u",
                GATEWAY_USER,
                "-P",
                self.gw_password,
                "-t",
                "dampwatch/v1/dev/+/telemetry",
                "-C",
                str(total),
                "-i",
                "bench-sub",
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        proc, go = self.publish(per_message, messages, start_ts)
        t0 = time.perf_counter()
        go.set()
        sub.wait(600)
        elapsed = time.perf_counter() - t0
        proc.join(60)
        return elapsed

    def gateways(
        self, count: int, per_message: int, messages: int, start_ts: int, db: str
    ) -> dict[str, float]:
        with InfluxClient(self.influx.url, db) as client:
            client.create_database()
        procs, ports = [], []
        client_ids = [f"bench-{db}-{g}" for g in range(count)]
        for g in range(count):
            port = free_port()
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
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "dampwatch.cli",
                        "gateway",
                        "--client-id",
                        client_ids[g],
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    cwd=self.tmp,
                )
            )
            ports.append(port)
        for port in ports:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if "broker_connected 1.0" in httpx.get(f"http://127.0.0.1:{port}/metrics").text:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        expected = len(self.creds) * messages * per_message
        proc, go = self.publish(per_message, messages, start_ts)
        t0 = time.perf_counter()
        go.set()
        count = 0
        with InfluxClient(self.influx.url, db, timeout_s=60) as client:
            while count < expected and time.perf_counter() - t0 < 600:
                time.sleep(0.2)
                series = client.query("SELECT count(temp_c) FROM climate")
                count = int(series[0].values[0][1]) if series else 0
        elapsed = time.perf_counter() - t0
        proc.join(60)
        split = []
        for port in ports:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            split.append(
                sum(
                    float(line.split()[-1])
                    for line in text.splitlines()
                    if line.startswith('dampwatch_gateway_messages_total{kind="telemetry"}')
                )
            )
        rss = []
        for p in procs:
            with open(f"/proc/{p.pid}/status") as fh:
                rss += [int(line.split()[1]) // 1024 for line in fh if line.startswith("VmHWM")]
            p.terminate()
            p.wait(30)
        for client_id in client_ids:
            self.forget_session(client_id)
        return {
            "seconds": elapsed,
            "count": count,
            "expected": expected,
            "split": split,
            "peak_rss_mb": max(rss),
        }

    def forget_session(self, client_id: str) -> None:
        """Drop a stopped gateway's persistent session, or the shared group would keep
        queuing a share of the next run's stream for it (see gateway/README.md)."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        c.username_pw_set(GATEWAY_USER, self.gw_password)
        c.connect(self.broker.service_host, self.broker.service_port, clean_start=True)
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
    figures: dict[str, float | int | str] = {"machine": f"{os.cpu_count()} cores, shared"}
    with tempfile.TemporaryDirectory(prefix="dw-ingest-") as tmp:
        bench = Bench(Path(tmp), args.devices)
        try:
            now = int(time.time()) // 300 * 300
            for run, per_message in enumerate((12, 1), start=1):
                messages = args.readings // (args.devices * per_message)
                readings = args.devices * messages * per_message
                start = now - (messages * per_message + 10) * 300
                ceiling_s = bench.ceiling(per_message, messages, start)
                one = bench.gateways(1, per_message, messages, start, f"bench{run}a")
                two = bench.gateways(2, per_message, messages, start, f"bench{run}b")
                n_msgs = args.devices * messages
                tag = f"m{per_message}"
                figures.update(
                    {
                        f"{tag}_readings": readings,
                        f"{tag}_ceiling_msgs_per_s": round(n_msgs / ceiling_s),
                        f"{tag}_gateway_readings_per_s": round(readings / one["seconds"]),
                        f"{tag}_gateway_msgs_per_s": round(n_msgs / one["seconds"]),
                        f"{tag}_ratio_to_ceiling": round(ceiling_s / one["seconds"], 2),
                        f"{tag}_count_ok": one["count"] == one["expected"]
                        and two["count"] == two["expected"],
                        f"{tag}_gateway_peak_rss_mb": one["peak_rss_mb"],
                        f"{tag}_two_gateways_readings_per_s": round(readings / two["seconds"]),
                        f"{tag}_two_gateways_split": "/".join(str(int(x)) for x in two["split"]),
                    }
                )
                print(
                    f"{per_message:>2}-reading messages: {readings:,} readings, {n_msgs:,} messages"
                )
                print(f"   broker ceiling (mosquitto_sub): {n_msgs / ceiling_s:,.0f} msg/s")
                print(
                    f"   one gateway: {readings / one['seconds']:,.0f} readings/s, "
                    f"{n_msgs / one['seconds']:,.0f} msg/s, ratio {ceiling_s / one['seconds']:.2f} "
                    f"of the ceiling, count {one['count']}/{one['expected']}, "
                    f"peak RSS {one['peak_rss_mb']} MB"
                )
                print(
                    f"   two gateways: {readings / two['seconds']:,.0f} readings/s, split "
                    f"{figures[f'{tag}_two_gateways_split']}, "
                    f"count {two['count']}/{two['expected']}"
                )
        finally:
            bench.close()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
