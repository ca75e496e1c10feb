"""Every log line of the test run, kept for one check: no phone number in any of them.

A handler on the root logger keeps each formatted line: everything at INFO and above
(the services' level), and DEBUG too from DampWatch's own packages and the libraries
that carry tenants' messages (the Notify client, requests/urllib3, httpx, uvicorn).
:func:`phone_lines` finds UK numbers in them in any usual spelling (07700 900123,
07700900123, +44 7700 900123, 447700900123). The last word is the session's:
``tests/conftest.py`` checks the whole run when it ends, so the result does not depend
on which test ran last; a test checks what has been logged so far
(``tests/messages/test_logs.py``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

__all__ = ["PHONE", "CapturedLines", "install", "phone_lines"]

#: a UK number: 0 or +44 / 44 / 0044, then 10 digits starting 1-3 or 7, maybe spaced
PHONE = re.compile(
    r"(?<![\d])(?:\+?44\s?|0044\s?|0)(?:7\d{3}|[123]\d{3})[\s-]?\d{3}[\s-]?\d{3}(?!\d)"
)


def phone_lines(lines: Iterable[str]) -> list[str]:
    return [line for line in lines if PHONE.search(line)]


class CapturedLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._guard = threading.Lock()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a bad format string is the logger's problem, not ours
            line = f"{record.name} {record.levelname} {record.msg!r} {record.args!r}"
        with self._guard:
            self.lines.append(line)


#: loggers kept at DEBUG
DEBUG_LOGGERS = (
    "alerting",
    "backend",
    "dampwatch",
    "dampwatch_core",
    "gateway",
    "simulators",
    "notifications_python_client",
    "urllib3",
    "httpx",
    "httpcore",
    "uvicorn",
)

_handler: CapturedLines | None = None


def install() -> CapturedLines:
    """The run's handler (installed once)."""
    global _handler
    if _handler is None:
        _handler = CapturedLines()
        root = logging.getLogger()
        root.addHandler(_handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        for name in DEBUG_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
    return _handler
