"""A thin client for the InfluxDB v1 HTTP API: line-protocol ``/write`` and InfluxQL
``/query``.

The v1 API is served by InfluxDB 1.x and by the v1-compatibility endpoints of 2.x and
3.x; the official v2 client cannot reach 1.x, and 3.x has no Flux, so this is the
portable subset. Queries use bound parameters (``$name``), never string formatting.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import httpx

from dampwatch_core.errors import DampWatchError, ServiceUnavailable

if TYPE_CHECKING:
    from dampwatch_core.settings import Settings

__all__ = [
    "BACKSLASH_STAND_IN",
    "InfluxClient",
    "InfluxError",
    "InfluxWriteRejected",
    "Series",
    "escape_measurement",
    "escape_tag",
    "format_line",
]


class InfluxError(ServiceUnavailable):
    """InfluxDB could not be reached or failed (5xx, timeout): a retry can help."""


class InfluxWriteRejected(DampWatchError):
    """InfluxDB refused the points themselves (400, 413, 422): retrying the same points
    cannot help. Other refusals (401/403 credentials, 404 no database, 408/429 busy)
    are about the server, not the points, and raise :class:`InfluxError`."""

    retryable = False


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a query result."""

    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.values]


#: Stands in for a backslash that line protocol cannot carry portably (see escape_tag).
BACKSLASH_STAND_IN: Final = "\u29f5"  # ⧵ REVERSE SOLIDUS OPERATOR
_UNCARRIED_BACKSLASH = re.compile(r"\\(?=[\\,= ]|$)")
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_MEAS_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})


def _portable_backslashes(value: str) -> str:
    return _UNCARRIED_BACKSLASH.sub(BACKSLASH_STAND_IN, value)


def escape_tag(value: str) -> str:
    """Escape a tag key, tag value or field key for line protocol.

    Commas, equals signs and spaces are escaped with a backslash. A backslash followed
    by an ordinary character is written as it is: every InfluxDB reads it literally. A
    backslash at the end or before a backslash, comma, equals sign or space has no
    portable spelling: 2.x and 3.x read ``\\\\`` as one backslash, 1.x keeps both and
    refuses a value that ends in one. It is written as U+29F5 (⧵), so the point is
    stored the same on every version and the tag reads back unchanged when rewritten.
    Line breaks cannot be carried at all: :class:`ValueError`.
    """
    if "\n" in value or "\r" in value:
        raise ValueError(f"line protocol cannot carry a line break in {value!r}")
    return _portable_backslashes(value).translate(_TAG_ESCAPES)


def escape_measurement(value: str) -> str:
    """Escape a measurement name (commas and spaces; backslashes as in escape_tag)."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"line protocol cannot carry a line break in {value!r}")
    return _portable_backslashes(value).translate(_MEAS_ESCAPES)


def format_line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, float | int | None],
    ts: int,
) -> str:
    """One line of line protocol; ``None`` fields and empty tag values (which line
    protocol cannot carry) are left out, floats kept as floats."""
    tag_part = "".join(
        f",{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags.items()) if v != ""
    )
    field_part = ",".join(
        f"{escape_tag(k)}={v}i"
        if isinstance(v, int) and not isinstance(v, bool)
        else f"{escape_tag(k)}={float(v)!r}"
        for k, v in fields.items()
        if v is not None
    )
    return f"{escape_measurement(measurement)}{tag_part} {field_part} {ts}"


#: Statuses of ``/write`` that refuse the points themselves (bad line, too large).
_POINTS_REFUSED: Final = frozenset({400, 413, 422})


class InfluxClient:
    """Blocking client; one ``httpx.Client`` (keep-alive) per instance."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        auth = (username, password or "") if username else None
        self._http = client or httpx.Client(timeout=timeout_s, auth=auth)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---------------------------------------------------------------- requests
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, f"{self.url}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise InfluxError(f"InfluxDB at {self.url} unreachable: {exc}") from exc
        if response.status_code >= 500:
            raise InfluxError(f"InfluxDB {path} failed ({response.status_code}): {response.text}")
        return response

    def ping(self) -> bool:
        try:
            return self._request("GET", "/ping").status_code == 204
        except InfluxError:
            return False

    def write_lines(
        self,
        lines: Iterable[str],
        *,
        precision: str = "s",
        compress: bool = True,
    ) -> int:
        """Write line-protocol lines; returns the number of lines sent.

        Raises :class:`InfluxError` (retryable) or :class:`InfluxWriteRejected`.
        """
        body_lines = list(lines)
        if not body_lines:
            return 0
        body = "\n".join(body_lines).encode()
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if compress:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        response = self._request(
            "POST",
            "/write",
            params={"db": self.database, "precision": precision},
            content=body,
            headers=headers,
        )
        if response.status_code == 204:
            return len(body_lines)
        if response.status_code in _POINTS_REFUSED:
            raise InfluxWriteRejected(
                f"InfluxDB rejected the write ({response.status_code}): {response.text[:500]}"
            )
        raise InfluxError(f"InfluxDB /write answered {response.status_code}: {response.text[:200]}")

    def query(
        self,
        q: str,
        params: Mapping[str, Any] | None = None,
        *,
        epoch: str = "s",
        database: str | None = None,
    ) -> list[Series]:
        """Run InfluxQL with bound parameters; returns the series of every statement."""
        data: dict[str, str] = {"q": q, "db": database or self.database, "epoch": epoch}
        if params:
            data["params"] = json.dumps(dict(params))
        response = self._request("POST", "/query", data=data)
        try:
            payload = response.json()
        except ValueError as exc:
            raise InfluxError(f"InfluxDB returned non-JSON: {response.text[:200]}") from exc
        if response.status_code >= 400 or "error" in payload:
            raise InfluxWriteRejected(f"query failed: {payload.get('error', response.text)}")
        out: list[Series] = []
        for result in payload.get("results", []):
            if "error" in result:
                raise InfluxWriteRejected(f"query failed: {result['error']}")
            for s in result.get("series", []):
                out.append(
                    Series(
                        name=s.get("name", ""),
                        tags=s.get("tags", {}) or {},
                        columns=s["columns"],
                        values=s.get("values", []),
                    )
                )
        return out

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout_s: float = 10.0) -> InfluxClient:
        """A client for the InfluxDB the settings name (URL, database, credentials)."""
        password = settings.influx_password.get_secret_value() if settings.influx_password else None
        return cls(
            settings.influx_url,
            settings.influx_database,
            timeout_s=timeout_s,
            username=settings.influx_username,
            password=password,
        )

    def create_database(self, name: str | None = None) -> None:
        db = name or self.database
        # CREATE DATABASE is idempotent; identifiers cannot be bound parameters.
        ident = db.replace("\\", "\\\\").replace('"', '\\"')
        self.query(f'CREATE DATABASE "{ident}"', database=db)
