"""MQTT source: a persistent QoS 1 session (fixed client id, clean session off) on the
shared subscription, with manual acknowledgement. Messages go into a bounded queue;
the gateway acknowledges each only after its readings are durable."""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from dampwatch_core.contract import SHARED_TELEMETRY_FILTER, STATUS_FILTER
from gateway.ingest import Received
from gateway.metrics import GatewayMetrics

__all__ = ["MqttSource"]

log = logging.getLogger(__name__)


class MqttSource:
    """Feeds :class:`Received` messages into ``inbox``; ``ack`` confirms them."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        username: str | None,
        password: str | None,
        metrics: GatewayMetrics,
        inbox_size: int = 20_000,
        tls_ca: Path | None = None,
        shared: bool = True,
        keepalive_s: int = 30,
    ) -> None:
        self.inbox: queue.Queue[Received] = queue.Queue(maxsize=inbox_size)
        self.metrics = metrics
        self.generation = 0
        self.connected = threading.Event()
        self._topics = [
            (SHARED_TELEMETRY_FILTER if shared else SHARED_TELEMETRY_FILTER.split("/", 2)[2], 1),
            (STATUS_FILTER if not shared else f"$share/dampwatch-gateway/{STATUS_FILTER}", 1),
        ]
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if username:
            self.client.username_pw_set(username, password)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._host, self._port, self._keepalive = host, port, keepalive_s

    # -------------------------------------------------------------- callbacks
    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the gateway's connection: %s", rc)
            return
        self.generation += 1
        log.info(
            "connected to broker %s:%s (session present: %s)",
            self._host,
            self._port,
            flags.session_present,
        )
        client.subscribe(self._topics)
        self.metrics.connected.set(1)
        self.connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected.clear()
        self.metrics.connected.set(0)
        # Un-acked messages of this connection will be redelivered on the next one;
        # their old packet ids must never be acknowledged on the new connection.
        self.generation += 1
        log.warning("disconnected from broker: %s", rc)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        item = Received(
            topic=msg.topic,
            payload=bytes(msg.payload),
            received_at=time.time(),
            mid=msg.mid,
            qos=msg.qos,
            generation=self.generation,
        )
        self.inbox.put(item)  # blocks when full: back-pressure onto the broker
        self.metrics.backlog.set(self.inbox.qsize())

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        self.client.connect_async(self._host, self._port, keepalive=self._keepalive)
        self.client.loop_start()

    def ack(self, item: Received) -> bool:
        """Acknowledge ``item`` if its connection is still the current one."""
        if item.qos == 0 or item.generation != self.generation:
            return False
        self.client.ack(item.mid, item.qos)
        return True

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
