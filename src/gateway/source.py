"""MQTT source: a persistent QoS 1 session (fixed client id, MQTT 5 with clean start
off and a session that never expires) on the shared subscription, with manual
acknowledgement. Messages go into a bounded queue; the gateway acknowledges each only
after its readings are durable.

Memory is bounded without relying on the broker's configuration: the CONNECT packet
carries *Receive Maximum* = ``inflight``, so the broker never has more than ``inflight``
unacknowledged messages out to this gateway, and the inbox is larger than that, so the
network thread never blocks (keepalive keeps flowing while InfluxDB is down). Payloads
larger than ``keep_bytes`` are cut to their first ``keep_bytes`` on arrival (the
original size travels with them; they are quarantined as ``too_large`` anyway), so what
the gateway holds is at most ``inflight × keep_bytes``.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from dampwatch_core.contract import SHARED_GROUP, STATUS_FILTER, TELEMETRY_FILTER
from gateway.errors import GatewayError
from gateway.ingest import Received
from gateway.metrics import GatewayMetrics

__all__ = ["DEFAULT_INFLIGHT", "DEFAULT_KEEP_BYTES", "SESSION_NEVER_EXPIRES", "MqttSource"]

log = logging.getLogger(__name__)

#: Unacknowledged messages the broker may have out to one gateway (MQTT 5 Receive Maximum).
DEFAULT_INFLIGHT: Final = 1000
#: Bytes of an oversize payload kept for its quarantine record (8 × the contract limit).
DEFAULT_KEEP_BYTES: Final = 64 * 1024
#: MQTT 5 Session Expiry Interval meaning "never": a gateway's queue is never discarded.
SESSION_NEVER_EXPIRES: Final = 0xFFFFFFFF


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
        inflight: int = DEFAULT_INFLIGHT,
        inbox_size: int | None = None,
        keep_bytes: int = DEFAULT_KEEP_BYTES,
        tls_ca: Path | None = None,
        shared: bool = True,
        keepalive_s: int = 30,
    ) -> None:
        if not 1 <= inflight <= 65535:
            raise GatewayError(f"inflight must be 1–65535 (MQTT Receive Maximum), got {inflight}")
        inbox_size = inbox_size or 2 * inflight
        if inbox_size < inflight:
            # a smaller inbox would block paho's network thread (no keepalive, no acks)
            raise GatewayError(f"inbox_size {inbox_size} must be at least inflight {inflight}")
        self.inbox: queue.Queue[Received] = queue.Queue(maxsize=inbox_size)
        self.inflight = inflight
        self.keep_bytes = keep_bytes
        self.metrics = metrics
        self.generation = 0
        #: when the current broker connection began (None before the first)
        self.live_since: float | None = None
        self.connected = threading.Event()
        # Guards ``generation`` against an ack racing a reconnect: an ack is queued
        # either before the disconnect is noticed (and paho drops it on reconnect) or
        # after, when its generation no longer matches.
        self._lock = threading.Lock()
        prefix = f"$share/{SHARED_GROUP}/" if shared else ""
        # Retain Handling 2: the broker sends no retained message on subscribing (a
        # retained status or telemetry is an old copy, not new data; the worker also
        # ignores anything that still comes with the retain flag).
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
        self._topics = [
            (f"{prefix}{TELEMETRY_FILTER}", options),
            (f"{prefix}{STATUS_FILTER}", options),
        ]
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if username:
            self.client.username_pw_set(username, password)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._host, self._port, self._keepalive = host, port, keepalive_s

    # -------------------------------------------------------------- callbacks
    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the gateway's connection: %s", rc)
            return
        with self._lock:
            self.generation += 1
            self.live_since = time.time()
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
        with self._lock:
            self.generation += 1
        log.warning("disconnected from broker: %s", rc)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        payload = bytes(msg.payload)  # paho hands over bytes; a copy only if not
        size = len(payload)
        if size > self.keep_bytes:
            payload = payload[: self.keep_bytes]
        item = Received(
            msg.topic,
            payload,
            time.time(),
            msg.mid,
            msg.qos,
            self.generation,
            size,
            retained=bool(msg.retain),
            live_since=self.live_since,
        )
        # Never blocks with a broker that honours Receive Maximum (inbox > inflight); with
        # one that does not, blocking here is the back-pressure of last resort.
        self.inbox.put(item)

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect.SessionExpiryInterval = SESSION_NEVER_EXPIRES
        connect.ReceiveMaximum = self.inflight
        self.client.connect_async(
            self._host,
            self._port,
            keepalive=self._keepalive,
            clean_start=False,
            properties=connect,
        )
        self.client.loop_start()

    def ack(self, item: Received) -> bool:
        """Acknowledge ``item`` if its connection is still the current one."""
        if item.qos == 0:
            return False
        with self._lock:
            if item.generation != self.generation:
                self.metrics.stale_acks.inc()
                return False
            self.client.ack(item.mid, item.qos)
        return True

    def ack_all(self, items: Sequence[Received]) -> int:
        """Acknowledge ``items`` in the order they arrived; returns how many were sent."""
        sent = 0
        with self._lock:
            generation = self.generation
            for item in items:
                if item.qos == 0:
                    continue
                if item.generation != generation:
                    self.metrics.stale_acks.inc()
                    continue
                self.client.ack(item.mid, item.qos)
                sent += 1
        return sent

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
