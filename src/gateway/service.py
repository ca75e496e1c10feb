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
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from prometheus_client import start_http_server
from sqlalchemy.exc import SQLAlchemyError

from dampwatch_core.backoff import Backoff
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.errors import ConfigError
from dampwatch_core.influx import InfluxClient
from dampwatch_core.settings import Settings
from gateway.directory import DeviceDirectory
from gateway.ingest import Batch, handle_message
from gateway.metrics import GatewayMetrics
from gateway.ports import DeviceLookup, HealthStore, MessageSource, ReadingSink
from gateway.sink import InfluxSink
from gateway.source import MqttSource
from gateway.store import RegistryStore

__all__ = ["SUBSCRIPTION_ENV", "Gateway", "subscription_is_shared"]

log = logging.getLogger(__name__)

T = TypeVar("T")


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
    """The worker: takes from ``source``, writes to ``sink``, saves to ``store``, then
    acknowledges. Each adapter is handed in (see :mod:`gateway.ports`);
    :meth:`from_settings` builds the real ones."""

    def __init__(
        self,
        settings: Settings,
        *,
        source: MessageSource,
        sink: ReadingSink,
        store: HealthStore,
        directory: DeviceLookup,
        metrics: GatewayMetrics,
        stop_event: threading.Event | None = None,
        abandon: threading.Event | None = None,
        max_lines: int = 5000,
        flush_s: float = 1.0,
        stop_grace_s: float = 8.0,
    ) -> None:
        self.settings = settings
        self.max_lines = max_lines
        self.flush_s = flush_s
        self.stop_grace_s = stop_grace_s
        self.metrics = metrics
        #: set by stop(): take no more messages, finish what is held
        self.stop_event = stop_event or threading.Event()
        #: set stop_grace_s later: give up on what is held (it is redelivered)
        self.abandon = abandon or threading.Event()
        self.source = source
        self.sink = sink
        self.store = store
        self.directory = directory
        self.metrics.backlog.set_function(self.source.inbox.qsize)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        max_lines: int = 5000,
        flush_s: float = 1.0,
        metrics: GatewayMetrics | None = None,
        shared: bool | None = None,
        stop_grace_s: float = 8.0,
    ) -> Gateway:
        """The gateway with its real adapters: MQTT, InfluxDB and the registry."""
        metrics = metrics or GatewayMetrics()
        stop_event, abandon = threading.Event(), threading.Event()
        sessions = make_sessionmaker(make_engine(settings.database_url))
        sink = InfluxSink(
            InfluxClient.from_settings(settings),
            metrics,
            max_lines=max_lines,
            stop=abandon,
            hurry=stop_event,
        )
        source = MqttSource(
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            client_id=settings.mqtt_client_id,
            username=settings.mqtt_username,
            password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
            metrics=metrics,
            tls_ca=settings.mqtt_tls_ca,
            shared=subscription_is_shared() if shared is None else shared,
        )
        return cls(
            settings,
            source=source,
            sink=sink,
            store=RegistryStore(sessions),
            directory=DeviceDirectory(sessions),
            metrics=metrics,
            stop_event=stop_event,
            abandon=abandon,
            max_lines=max_lines,
            flush_s=flush_s,
            stop_grace_s=stop_grace_s,
        )

    def run(self) -> None:
        """Run until :meth:`stop`; on the way out it writes and acknowledges what it
        holds, for up to ``stop_grace_s`` (messages not yet taken from the inbox are
        left unacknowledged: the broker redelivers them)."""
        if self.settings.gateway_metrics_port:
            start_http_server(
                self.settings.gateway_metrics_port, addr="127.0.0.1", registry=self.metrics.registry
            )
        self._retry("load the device directory", self.directory.refresh)
        self.source.start()
        batch = Batch()
        try:
            while not self.stop_event.is_set():
                self._fill(batch)
                if batch.messages:
                    self._commit(batch)
            # stopping: what had arrived by then is written and acknowledged too
            left = self.source.inbox.qsize()
            while not self.abandon.is_set() and (batch.messages or left > 0):
                left -= self._fill(batch, limit=left)
                if batch.messages:
                    self._commit(batch)
        finally:
            self.source.stop()
            self.sink.close()

    def stop(self) -> None:
        """Stop taking messages; give up on what is held after ``stop_grace_s``."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        timer = threading.Timer(self.stop_grace_s, self.abandon.set)
        timer.daemon = True
        timer.start()

    # ------------------------------------------------------------------ internals
    def _fill(self, batch: Batch, *, limit: int | None = None) -> int:
        """Add messages from the inbox to ``batch``: until it is full, the inbox is
        empty and the batch is not, or ``flush_s``; with ``limit`` (stopping), at most
        that many without waiting. Returns how many it took."""
        inbox = self.source.inbox
        deadline = time.monotonic() + self.flush_s
        max_age = self.settings.max_reading_age_s
        taken = 0
        while len(batch.lines) < self.max_lines:
            if limit is None and self.stop_event.is_set():
                return taken
            if limit is not None and taken >= limit:
                return taken
            timeout = deadline - time.monotonic()
            try:
                wait = 0.0 if batch.messages or limit is not None else max(timeout, 0)
                item = inbox.get(timeout=wait) if wait > 0 else inbox.get_nowait()
            except queue.Empty:
                if batch.messages or timeout <= 0 or limit is not None:
                    return taken
                continue
            taken += 1
            # registry unreachable: wait, never guess
            outcome = Backoff(self.abandon, self.stop_event).retry(
                "look up the device",
                partial(handle_message, item, self.directory, max_age_s=max_age),
                errors=(SQLAlchemyError,),
                log=log,
            )
            if outcome is None:
                return taken  # not in the batch, so not acknowledged: redelivered
            self.metrics.messages.labels(outcome.kind).inc()
            batch.add(outcome)
        return taken

    def _commit(self, batch: Batch) -> None:
        self.metrics.acks_pending.set(batch.messages)
        rejected = self.sink.write(batch.lines)
        if rejected is None:
            return  # abandoned: left unacknowledged, the broker redelivers
        self._quarantine_rejected(batch, rejected)
        saved = self._retry(
            "save quarantine and device health", lambda: self.store.save(batch.outcomes)
        )
        if saved is None:
            return
        if saved.shed:
            self.metrics.quarantine_shed.inc(saved.shed)
        unstorable = {id(o) for o in saved.unstorable}
        for o in batch.outcomes:
            reasons = ["unstorable"] if id(o) in unstorable else [q.reason for q in o.quarantined]
            for reason in reasons:
                self.metrics.quarantined.labels(reason).inc()
            if o.quarantined and id(o) not in unstorable:
                q = o.quarantined[0]
                log.info(
                    "quarantined %s from %s: %s%s",
                    q.reason,
                    o.device_id or o.msg.topic,
                    q.detail,
                    f" (+{len(o.quarantined) - 1} more)" if len(o.quarantined) > 1 else "",
                )
        self.metrics.acks.inc(self.source.ack_all([o.msg for o in batch.outcomes]))
        batch.clear()
        self.metrics.acks_pending.set(0)

    def _quarantine_rejected(self, batch: Batch, rejected: list[tuple[int, str]]) -> None:
        """A message with a reading InfluxDB refused is quarantined ``unstorable``
        (once, with InfluxDB's error); its other readings are stored."""
        by_message: dict[int, list[str]] = {}
        for line_index, error in rejected:
            by_message.setdefault(batch.owners[line_index], []).append(error)
        for index, errors in by_message.items():
            outcome = batch.outcomes[index]
            outcome.quarantine(
                "unstorable",
                f"InfluxDB refused {len(errors)} of this message's {len(outcome.lines)} "
                f"valid readings: {errors[0]}",
            )

    def _retry(self, what: str, action: Callable[[], T]) -> T | None:
        """``action()``, retried with backoff and full jitter while it raises; None when
        abandoned first. Only what can heal reaches here: the store turns a message it
        cannot hold into an ``unstorable`` record itself."""
        return Backoff(self.abandon, self.stop_event).retry(what, action, log=log)
