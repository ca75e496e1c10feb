"""TLS to a real Mosquitto TLS listener, with a CA this test makes (openssl): the
device pins the CA and checks the broker's name, by host name and by IP address."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fwharness import DEVICE_ID, DEVICE_PW, GATEWAY_PW, Collector, SimDevice, as_centi, delivered

from dampwatch.stack.mosquitto import Mosquitto
from dampwatch.stack.ports import free_port

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run([str(OPENSSL), *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
            "-subj", f"/CN=DampWatch test CA {name}", cwd=d)
    openssl("x509", "-in", f"{name}.pem", "-outform", "DER", "-out", f"{name}.der", cwd=d)


def make_server_cert(d: Path, ca: str, san: str) -> None:
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=broker", cwd=d)
    (d / "ext.cnf").write_text(f"subjectAltName={san}\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
            cwd=d)


class TLSMosquitto(Mosquitto):
    """The project's broker with a second, TLS listener using the test's certificate."""

    def __init__(self, state_dir: Path, certs: Path) -> None:
        super().__init__(state_dir)
        self.certs = certs
        self.tls_port = free_port(self.host)

    def config_text(self) -> str:
        return super().config_text() + "\n".join([
            f"listener {self.tls_port} {self.host}",
            *self.device_listener_settings(),
            f"cafile {self.certs / 'ca.pem'}",
            f"certfile {self.certs / 'server.pem'}",
            f"keyfile {self.certs / 'server.key'}",
            "tls_version tlsv1.2",
        ]) + "\n"


@pytest.fixture(params=["DNS:localhost", "IP:127.0.0.1"], ids=["hostname", "ip"])
def tls_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TLSMosquitto]:
    certs = tmp_path / "certs"
    certs.mkdir()
    make_ca(certs, "ca")
    make_ca(certs, "other")
    make_server_cert(certs, "ca", request.param)
    m = TLSMosquitto(tmp_path / "mq", certs)
    m.add_user(DEVICE_ID, DEVICE_PW)
    m.add_user("dampwatch-gateway", GATEWAY_PW)
    m.start()
    m.san = request.param  # type: ignore[attr-defined]
    yield m
    m.stop()


def test_tls_with_a_pinned_ca(
    tls_broker: TLSMosquitto, make_device: Callable[..., SimDevice]
) -> None:
    collector = Collector(tls_broker.service_host, tls_broker.service_port,
                          "dampwatch-gateway", GATEWAY_PW,
                          ["dampwatch/v1/dev/+/telemetry"])
    try:
        host = "localhost" if tls_broker.san.startswith("DNS") else "127.0.0.1"  # type: ignore[attr-defined]
        dev = make_device(host, tls_broker.tls_port, UPLOAD_EVERY=1, MQTT_CA_FILE="ca.der",
                          BACKOFF_BASE_S=30, BACKOFF_MAX_S=30)
        # a CA that did not sign the broker's certificate: refused, readings kept
        shutil.copy(tls_broker.certs / "other.der", dev.flash / "ca.der")
        wake = dev.wake()
        assert "upload failed" in wake.output, wake.output
        assert not collector.of_kind("telemetry")
        # the right CA: the same readings arrive over TLS
        shutil.copy(tls_broker.certs / "ca.der", dev.flash / "ca.der")
        for _ in range(3):
            wake = dev.wake()
            if "upload failed" not in wake.output and "backing off" not in wake.output:
                break
        assert collector.wait_for(lambda: len(delivered(collector, dev.now)[1]) == len(dev.wakes)), [
            w.output for w in dev.wakes]
        assert as_centi(delivered(collector, dev.now)[1]) == dev.expected_readings()
        # the name is checked: the wrong host name fails even with the right CA
        dev.configure(MQTT_HOST="127.0.0.1" if host == "localhost" else "localhost")
        dev.wake()  # after a success: no backoff
        assert "upload failed" in dev.wakes[-1].output
    finally:
        collector.close()
