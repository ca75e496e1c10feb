"""Free-port discovery and port checks for the local stack."""

from __future__ import annotations

import socket

from dampwatch_core.errors import ConfigError

__all__ = ["free_port", "port_in_use", "require_free"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers bind: connections of a stopped server in TIME_WAIT don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def require_free(port: int, what: str, host: str = "127.0.0.1") -> None:
    """Raise :class:`ConfigError` naming the service when ``port`` is taken."""
    if port_in_use(port, host):
        raise ConfigError(
            f"port {port} on {host} for {what} is already in use; "
            "stop whatever holds it or choose another port"
        )
