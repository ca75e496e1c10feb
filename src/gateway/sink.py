"""InfluxDB sink: writes line-protocol batches, retrying with exponential backoff and
jitter while InfluxDB is slow or down. It never drops a batch: while it retries, the
gateway acknowledges nothing and the broker holds the backlog."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence

from dampwatch_core.influx import InfluxClient, InfluxError, InfluxWriteRejected
from gateway.metrics import GatewayMetrics

__all__ = ["InfluxSink"]

log = logging.getLogger(__name__)


class InfluxSink:
    def __init__(
        self,
        client: InfluxClient,
        metrics: GatewayMetrics,
        *,
        max_lines: int = 5000,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 10.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.max_lines = max_lines
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.stop = stop or threading.Event()

    def write(self, lines: Sequence[str]) -> bool:
        """Write all ``lines`` (in chunks of ``max_lines``). Returns False only when
        stopped before they were durable."""
        for start in range(0, len(lines), self.max_lines):
            if not self._write_chunk(lines[start : start + self.max_lines]):
                return False
        return True

    def _write_chunk(self, chunk: Sequence[str]) -> bool:
        delay = self.backoff_initial_s
        while True:
            started = time.perf_counter()
            try:
                self.client.write_lines(chunk)
            except InfluxError as exc:
                self.metrics.write_retries.inc()
                log.warning("InfluxDB write of %d lines failed (%s); retrying", len(chunk), exc)
            except InfluxWriteRejected as exc:
                # A 4xx for a whole batch: split it to isolate the bad line(s) rather than
                # lose the good ones. Lines come from validated readings, so this should
                # not happen; a single rejected line is logged and skipped.
                if len(chunk) == 1:
                    log.error("InfluxDB rejected a line permanently: %s (%s)", chunk[0], exc)
                    return True
                half = len(chunk) // 2
                return self._write_chunk(chunk[:half]) and self._write_chunk(chunk[half:])
            else:
                self.metrics.write_seconds.observe(time.perf_counter() - started)
                self.metrics.batch_lines.observe(len(chunk))
                self.metrics.readings.inc(len(chunk))
                return True
            if self.stop.wait(random.uniform(0, delay)):  # full jitter
                return False
            delay = min(delay * 2, self.backoff_max_s)
