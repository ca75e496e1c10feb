"""What the gateway needs of the outside, as narrow Protocols: where messages come
from, where readings go, where quarantine records and device health are kept, and how a
device is looked up. :class:`~gateway.service.Gateway` is handed one of each, so a test
can give it in-memory fakes (a sink that never becomes durable, a store that fails)
and production gives it the MQTT source, the InfluxDB sink, the registry store and the
device directory (:meth:`Gateway.from_settings`)."""

from __future__ import annotations

import queue
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.directory import DeviceInfo
    from gateway.ingest import Outcome, Received
    from gateway.store import SaveResult

__all__ = ["DeviceLookup", "HealthStore", "MessageSource", "ReadingSink"]


class MessageSource(Protocol):
    """Messages arrive in ``inbox``; they are acknowledged only by :meth:`ack_all`."""

    @property
    def inbox(self) -> queue.Queue[Received]: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def ack_all(self, items: Sequence[Received]) -> int:
        """Acknowledge ``items`` in arrival order; how many acknowledgements were sent."""
        ...


class ReadingSink(Protocol):
    def write(self, lines: Sequence[str]) -> list[tuple[int, str]] | None:
        """Make ``lines`` durable, retrying what can heal; the lines refused for good as
        (index, error), or None when told to give up before they were durable."""
        ...

    def close(self) -> None: ...


class HealthStore(Protocol):
    def save(self, outcomes: Sequence[Outcome]) -> SaveResult:
        """Keep the outcomes' quarantine records and device health; raises when the
        store is unreachable (the gateway retries)."""
        ...


class DeviceLookup(Protocol):
    def refresh(self) -> int:
        """Reload every device; how many there are."""
        ...

    def lookup(self, device_id: str, received_at: float | None = None) -> DeviceInfo | None:
        """The device as the registry has it, or None if it is not registered."""
        ...
