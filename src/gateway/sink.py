"""InfluxDB sink: writes line-protocol batches, retrying with exponential backoff and
jitter while InfluxDB is slow, down or answering 5xx. While it retries, the gateway
acknowledges nothing and the broker holds the backlog. Lines InfluxDB refuses (4xx) are
isolated by splitting the batch and handed back, so their messages can be quarantined
as ``unstorable`` and the rest stored."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from dampwatch_core.backoff import Backoff, BackoffPolicy
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
        hurry: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.max_lines = max_lines
        self.backoff = BackoffPolicy(initial_s=backoff_initial_s, max_s=backoff_max_s)
        self.stop = stop or threading.Event()
        #: set on a stop request: retry briskly until ``stop`` (the grace period is over)
        self.hurry = hurry or threading.Event()

    def close(self) -> None:
        self.client.close()

    def write(self, lines: Sequence[str]) -> list[tuple[int, str]] | None:
        """Write all ``lines`` (in chunks of ``max_lines``), retrying what can heal.

        Returns the lines InfluxDB refused, as (index in ``lines``, its error): a batch
        it rejects (4xx) is split in halves until each refused line stands alone, so the
        rest is stored. Returns None only when stopped before the lines were durable.
        """
        rejected: list[tuple[int, str]] = []
        for start in range(0, len(lines), self.max_lines):
            if not self._write_chunk(
                lines, start, min(start + self.max_lines, len(lines)), rejected
            ):
                return None
        return rejected

    def _write_chunk(
        self, lines: Sequence[str], lo: int, hi: int, rejected: list[tuple[int, str]]
    ) -> bool:
        backoff = Backoff(self.stop, self.hurry, policy=self.backoff)
        chunk = lines[lo:hi]
        while True:
            started = time.perf_counter()
            try:
                self.client.write_lines(chunk)
            except InfluxError as exc:
                self.metrics.write_retries.inc()
                log.warning("InfluxDB write of %d lines failed (%s); retrying", len(chunk), exc)
            except InfluxWriteRejected as exc:
                if len(chunk) == 1:
                    log.error("InfluxDB refused a line: %s (%s)", chunk[0][:300], exc)
                    rejected.append((lo, str(exc)))
                    return True
                mid = (lo + hi) // 2
                return self._write_chunk(lines, lo, mid, rejected) and self._write_chunk(
                    lines, mid, hi, rejected
                )
            else:
                self.metrics.write_seconds.observe(time.perf_counter() - started)
                self.metrics.batch_lines.observe(len(chunk))
                self.metrics.readings.inc(len(chunk))
                return True
            if backoff.wait():
                return False
