"""A throwaway PostgreSQL cluster (Debian's ``postgresql`` package: ``initdb`` and
``pg_ctl``) in its own directory on a free port, as the tests start Mosquitto and
InfluxDB: password authentication (SCRAM) on 127.0.0.1 only, a socket in the cluster's
own directory, fsync off (nothing in it outlives the run).

PostgreSQL refuses to run as root; started by root, the cluster belongs to the
``postgres`` system user (which the package creates) and its commands run through
``runuser``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from dampwatch.stack.ports import free_port
from dampwatch.stack.process import wait_until
from dampwatch_core.errors import ConfigError, ServiceUnavailable
from dampwatch_core.mqtt_auth import new_password

__all__ = ["PostgreSQL", "find_pg_bin"]

#: The unprivileged account a root caller runs the cluster as.
SERVICE_USER = "postgres"


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` with ``initdb``, or ``pg_config --bindir``."""
    found = []
    for candidate in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        match = re.fullmatch(r"\d+", candidate.parent.parent.name)
        if match:
            found.append((int(candidate.parent.parent.name), candidate.parent))
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgreSQL:
    """``initdb`` + ``pg_ctl start`` in a fresh temp dir; :meth:`stop` removes it."""

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        bindir = find_pg_bin()
        if bindir is None:
            raise ConfigError("PostgreSQL's initdb is not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.host = host
        self.port = port or free_port(host)
        self.user = "postgres"
        self.password = new_password()
        self.run_as: str | None = SERVICE_USER if os.geteuid() == 0 else None
        if self.run_as is not None:
            try:
                pwd.getpwnam(self.run_as)
            except KeyError:
                raise ConfigError(
                    f"PostgreSQL refuses to run as root and there is no {self.run_as!r} "
                    "user to run it as (apt-get install postgresql creates it)"
                ) from None
        # Not under pytest's per-user temp root: that is 0700 and owned by root.
        self.base = Path(tempfile.mkdtemp(prefix="dampwatch-pg-"))
        self.data_dir = self.base / "data"
        self.log_file = self.base / "postgres.log"

    @property
    def admin_url(self) -> str:
        """URL of the maintenance database ``postgres`` (create test databases here)."""
        return self.url("postgres")

    def url(self, database: str) -> str:
        return (
            f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{database}"
        )

    def _run(self, *argv: str, timeout_s: float = 120) -> None:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.run_as is not None:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        if result.returncode != 0:
            raise ServiceUnavailable(
                f"{argv[0]} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def start(self, timeout_s: float = 60) -> None:
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            for path in (self.base, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.base.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--pwfile",
            str(pwfile),
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()
        options = (
            f"-c listen_addresses={self.host} -p {self.port} "
            f"-c unix_socket_directories={self.base} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout_s)),
            "start",
            timeout_s=timeout_s + 10,
        )
        wait_until(self._answers, timeout_s, f"PostgreSQL on {self.host}:{self.port}")

    def _answers(self) -> bool:
        import psycopg

        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            connect_timeout=2,
        ) as conn:
            conn.execute("SELECT 1")
        return True

    def stop(self) -> None:
        """Stop the cluster (fast shutdown) and remove its directory."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
