"""Prometheus metrics of the gateway (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["GatewayMetrics"]


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "dampwatch_gateway_messages",
            "MQTT messages received (kind: telemetry, status, config, bad_topic, retained)",
            ["kind"],
            registry=r,
        )
        self.readings = Counter(
            "dampwatch_gateway_readings_written", "readings written to InfluxDB", registry=r
        )
        self.quarantined = Counter(
            "dampwatch_gateway_quarantined",
            "messages or readings quarantined",
            ["reason"],
            registry=r,
        )
        self.write_seconds = Histogram(
            "dampwatch_gateway_write_seconds",
            "InfluxDB write latency",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.batch_lines = Histogram(
            "dampwatch_gateway_batch_lines",
            "lines per InfluxDB write",
            buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000),
            registry=r,
        )
        self.write_retries = Counter(
            "dampwatch_gateway_write_retries", "InfluxDB write attempts that failed", registry=r
        )
        self.backlog = Gauge(
            "dampwatch_gateway_backlog_messages",
            "messages received, not yet processed",
            registry=r,
        )
        self.acks_pending = Gauge(
            "dampwatch_gateway_acks_pending",
            "messages processed, not yet acknowledged",
            registry=r,
        )
        self.stale_acks = Counter(
            "dampwatch_gateway_stale_acks_skipped",
            "acks not sent because the connection they came on is gone (redelivered)",
            registry=r,
        )
        self.acks = Counter(
            "dampwatch_gateway_acks",
            "messages acknowledged to the broker (after their readings were durable)",
            registry=r,
        )
        self.quarantine_shed = Counter(
            "dampwatch_gateway_quarantine_shed",
            "quarantine records not stored because their device reached its cap",
            registry=r,
        )
        self.connected = Gauge(
            "dampwatch_gateway_broker_connected", "1 when connected to the broker", registry=r
        )
