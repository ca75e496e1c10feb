"""A real contractor endpoint for the tests: an HTTP server on a free port that verifies
every delivery with the ``standardwebhooks`` verifier, keeps what it saw, drops
repeats by ``webhook-id`` (as a receiver should), and fails on purpose when told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # answer late (longer than the client's timeout: a timeout)


@dataclass(frozen=True)
class Seen:
    webhook_id: str
    timestamp: str
    valid: bool
    body: str
    status: int


#: (webhook-id, this id's attempt number from 1) -> the reply
Script = Callable[[str, int], Reply]


def always_ok(_id: str, _n: int) -> Reply:
    return Reply()


class Receiver:
    def __init__(self, secret: str, script: Script = always_ok) -> None:
        self.secret = secret
        self.script = script
        self.seen: list[Seen] = []
        self.accepted: dict[str, Any] = {}  # webhook-id -> parsed payload, first time only
        self.duplicates = 0
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                if len(raw) < length:
                    # the sender died mid-request (a dispatcher killed with SIGKILL): a
                    # cut connection, not an attempt with a bad signature; nothing to answer
                    self.close_connection = True
                    return
                body = raw.decode("utf-8")
                headers = {k.lower(): v for k, v in self.headers.items()}
                wid = headers.get("webhook-id", "")
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    valid = True
                except WebhookVerificationError:
                    valid = False
                with receiver._lock:
                    n = receiver._attempts.get(wid, 0) + 1
                    receiver._attempts[wid] = n
                reply = receiver.script(wid, n) if valid else Reply(401)
                if reply.delay_s:
                    time.sleep(reply.delay_s)  # the endpoint being slow, on purpose
                with receiver._lock:
                    receiver.seen.append(Seen(wid, headers.get("webhook-timestamp", ""),
                                              valid, body, reply.status))
                    if valid and 200 <= reply.status < 300:
                        if wid in receiver.accepted:
                            receiver.duplicates += 1
                        else:
                            receiver.accepted[wid] = json.loads(body)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def attempts(self, wid: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.webhook_id == wid]

    def count(self) -> int:
        with self._lock:
            return len(self.seen)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until true or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
