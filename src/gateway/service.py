"""The gateway: MQTT in, validation and enrichment, InfluxDB out, ack last.

One worker thread drains the inbox into a batch (up to ``max_lines`` readings or
``flush_s``), writes the readings to InfluxDB, saves quarantine records and device
health to the registry, and only then acknowledges the batch's messages to the broker.
A crash at any point means redelivery, and redelivery is harmless: a reading is
(device, ts), which InfluxDB stores once.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time

from prometheus_client import start_http_server
from sqlalchemy.exc import SQLAlchemyError

from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.errors import ConfigError
from dampwatch_core.influx import InfluxClient
from dampwatch_core.settings import Settings
from gateway.directory import DeviceDirectory
from gateway.ingest import Batch, Received, handle_message
from gateway.metrics import GatewayMetrics
from gateway.sink import InfluxSink
from gateway.source import MqttSource
from gateway.store import RegistryStore

__all__ = ["SUBSCRIPTION_ENV", "Gateway", "subscription_is_shared"]

log = logging.getLogger(__name__)


#: ``shared`` (default): ``$share/dampwatch-gateway/...``, N gateways split the load.
#: ``exclusive``: a plain subscription for a single gateway; on Mosquitto 2.0 it survives
#: a broker restart, where a shared subscription is not restored (see the README).
SUBSCRIPTION_ENV = "DAMPWATCH_GATEWAY_SUBSCRIPTION"


def subscription_is_shared() -> bool:
    """Read ``DAMPWATCH_GATEWAY_SUBSCRIPTION`` (``shared`` or ``exclusive``)."""
    mode = os.environ.get(SUBSCRIPTION_ENV, "shared").strip().lower()
    if mode not in ("shared", "exclusive"):
        raise ConfigError(f"{SUBSCRIPTION_ENV} must be 'shared' or 'exclusive', not {mode!r}")
    return mode == "shared"


class Gateway:
    def __init__(
        self,
        settings: Settings,
        *,
        max_lines: int = 5000,
        flush_s: float = 1.0,
        metrics: GatewayMetrics | None = None,
        shared: bool | None = None,
    ) -> None:
        self.settings = settings
        self.max_lines = max_lines
        self.flush_s = flush_s
        self.metrics = metrics or GatewayMetrics()
        self.stop_event = threading.Event()
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        self.directory = DeviceDirectory(sessions)
        self.store = RegistryStore(sessions)
        self.influx = InfluxClient.from_settings(settings)
        self.sink = InfluxSink(self.influx, self.metrics, max_lines=max_lines, stop=self.stop_event)
        self.source = MqttSource(
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            client_id=settings.mqtt_client_id,
            username=settings.mqtt_username,
            password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
            metrics=self.metrics,
            tls_ca=settings.mqtt_tls_ca,
            shared=subscription_is_shared() if shared is None else shared,
        )
        self.metrics.backlog.set_function(self.source.inbox.qsize)

    def run(self) -> None:
        """Run until :meth:`stop`; flushes and acknowledges what it holds on the way out."""
        if self.settings.gateway_metrics_port:
            start_http_server(
                self.settings.gateway_metrics_port, addr="127.0.0.1", registry=self.metrics.registry
            )
        self._retry("load the device directory", self.directory.refresh)
        self.source.start()
        pending: list[Received] = []
        batch = Batch()
        try:
            while not self.stop_event.is_set():
                self._fill(batch, pending)
                if pending:
                    self._commit(batch, pending)
        finally:
            self.source.stop()
            self.influx.close()

    def stop(self) -> None:
        self.stop_event.set()

    # ------------------------------------------------------------------ internals
    def _fill(self, batch: Batch, pending: list[Received]) -> None:
        inbox = self.source.inbox
        deadline = time.monotonic() + self.flush_s
        max_age = self.settings.max_reading_age_s
        while len(batch.lines) < self.max_lines:
            timeout = deadline - time.monotonic()
            try:
                item = inbox.get(timeout=max(timeout, 0) if not pending else 0.0)
            except queue.Empty:
                if pending or timeout <= 0 or self.stop_event.is_set():
                    return
                continue
            while True:
                try:
                    kind = handle_message(item, self.directory, batch, max_age_s=max_age)
                    break
                except SQLAlchemyError as exc:  # registry unreachable: wait, never guess
                    log.warning("device lookup failed (%s); retrying", exc)
                    if self.stop_event.wait(1.0):
                        return  # not pending, so not acknowledged: the broker redelivers
            self.metrics.messages.labels(kind).inc()
            pending.append(item)

    def _commit(self, batch: Batch, pending: list[Received]) -> None:
        self.metrics.acks_pending.set(len(pending))
        if not self.sink.write(batch.lines):
            return  # stopping: leave unacknowledged, the broker redelivers
        if not self._retry(
            "save quarantine and device health",
            lambda: self.store.save(batch.quarantined, batch.health),
        ):
            return
        for q in batch.quarantined:
            self.metrics.quarantined.labels(q.reason).inc()
            log.info("quarantined %s from %s: %s", q.reason, q.device_id or q.topic, q.detail)
        self.source.ack_all(pending)
        pending.clear()
        batch.clear()
        self.metrics.acks_pending.set(0)

    def _retry(self, what: str, action: object) -> bool:
        delay = 0.2
        while True:
            try:
                action()  # type: ignore[operator]
            except SQLAlchemyError as exc:
                log.warning("could not %s (%s); retrying", what, exc)
            else:
                return True
            if self.stop_event.wait(random.uniform(0, delay)):
                return False
            delay = min(delay * 2, 10.0)
