# A small MQTT 3.1.1 client for a device that must sleep on time.
#
# Unlike umqtt.simple it takes a Deadline on every call and never waits past it: the
# socket is non-blocking and every read and write first polls for at most the time
# that is left, then moves only the bytes that are ready (a stream's blocking read(n)
# would loop inside the stream layer, each byte restarting the socket timeout, so a
# broker dripping bytes could stretch a 2 s deadline to many). Packets from the broker
# are parsed defensively: a bad length, an unknown or unexpected type ends the session
# with MQTTError instead of a hang or a crash; a PUBLISH larger than `max_packet` is
# read past and acknowledged, not kept. QoS 1 only (publish and subscribe).
import errno
import select
import socket
import struct

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
SUBSCRIBE = 0x82
SUBACK = 0x90
PINGREQ = 0xC0
PINGRESP = 0xD0
DISCONNECT = 0xE0


class MQTTError(Exception):
    pass


class MQTTTimeout(MQTTError):
    pass


def _str(s):
    if isinstance(s, str):
        s = s.encode()
    return struct.pack("!H", len(s)) + s


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return out


def packet(first, body):
    return bytes([first]) + _varint(len(body)) + body


class Client:
    def __init__(self, client_id, host, port=1883, user=None, password=None,
                 keepalive=60, ca_data=None, max_packet=4096):
        self.client_id = client_id
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.keepalive = keepalive
        self.ca_data = ca_data
        self.max_packet = max_packet
        self.sock = None
        self.pid = 0
        self.oversized = 0  # PUBLISH packets read past because of their size
        self._skipped = False
        self.on_message = None  # fn(topic: str, payload: bytes, retained: bool)

    # ------------------------------------------------------------ transport
    def _connect_tcp(self, deadline):
        addr = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)[0][-1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock = sock
        sock.setblocking(False)
        try:
            sock.connect(addr)
        except OSError as exc:
            if exc.args[0] not in (errno.EINPROGRESS, errno.EAGAIN):
                raise MQTTError("connect: %s" % exc)
        poller = select.poll()
        poller.register(sock, select.POLLOUT | select.POLLERR | select.POLLHUP)
        left = deadline.remaining_ms()
        events = poller.poll(left if left > 0 else 0)
        if not events:
            raise MQTTTimeout("connect timed out")
        if events[0][1] & (select.POLLERR | select.POLLHUP):
            raise MQTTError("connection refused")
        if self.ca_data is not None:
            import ssl

            # The handshake runs blocking with the time left as its socket timeout
            # (per call, not for the whole handshake: the watchdog bounds the rest).
            sock.setblocking(True)
            left = deadline.remaining_ms()
            if left <= 0:
                raise MQTTTimeout("deadline passed")
            sock.settimeout(left / 1000)
            try:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(cadata=self.ca_data)
                self.sock = ctx.wrap_socket(sock, server_hostname=self.host)
            except (OSError, ValueError) as exc:  # mbedTLS: a bad CA, name or handshake
                raise MQTTError("tls: %r" % (exc,))
            self.sock.setblocking(False)
        self.poller = select.poll()
        self.poller.register(self.sock, select.POLLIN)

    def _wait(self, event, deadline):
        """Poll for `event` for at most the time left; raise MQTTTimeout if it passes."""
        left = deadline.remaining_ms()
        if left <= 0:
            raise MQTTTimeout("deadline passed")
        self.poller.modify(self.sock, event)
        for _, ev in self.poller.poll(left):
            if ev & event:
                return
            if ev & (select.POLLERR | select.POLLHUP):
                raise MQTTError("connection lost")
        raise MQTTTimeout("timed out")

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            self._wait(select.POLLOUT, deadline)
            try:
                n = self.sock.write(view)
            except OSError as exc:
                if exc.args[0] == errno.EAGAIN:
                    continue
                raise MQTTError("write: %s" % exc)
            if n is None:
                continue
            if n <= 0:
                raise MQTTError("write: connection closed")
            view = view[n:]

    def _read(self, n, deadline):
        buf = bytearray()
        while len(buf) < n:
            self._wait(select.POLLIN, deadline)
            try:
                chunk = self.sock.read(n - len(buf))  # non-blocking: what is ready
            except OSError as exc:
                if exc.args[0] == errno.EAGAIN:
                    continue
                raise MQTTError("read: %s" % exc)
            if chunk is None:
                continue
            if not chunk:
                raise MQTTError("connection closed by broker")
            buf += chunk
        return buf

    def _read_packet(self, deadline):
        """(first byte, body) of the next packet; the length is checked before reading."""
        first = self._read(1, deadline)[0]
        length = 0
        for i in range(4):
            byte = self._read(1, deadline)[0]
            length |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                break
        else:
            raise MQTTError("malformed remaining length")
        if length > self.max_packet:
            if first & 0xF0 != PUBLISH:
                raise MQTTError("packet of %d bytes exceeds %d" % (length, self.max_packet))
            return first, self._skip(length, deadline)
        return first, self._read(length, deadline) if length else b""

    def _skip(self, length, deadline):
        """Read past an oversized PUBLISH, keeping only its topic and packet id (for
        the PUBACK); its payload is never handed on."""
        head = self._read(2, deadline)
        keep = 2 + ((head[0] << 8) | head[1]) + 2
        if keep > length or keep > self.max_packet:
            raise MQTTError("oversized PUBLISH with a topic past its end")
        head += self._read(keep - 2, deadline)
        left = length - keep
        while left:
            left -= len(self._read(min(left, 512), deadline))
        self.oversized += 1
        self._skipped = True
        return head

    # -------------------------------------------------------------- session
    def connect(self, deadline, will_topic=None, will_msg=None, will_retain=True,
                clean=True):
        self._connect_tcp(deadline)
        flags = 0x02 if clean else 0
        payload = _str(self.client_id)
        if will_topic:
            flags |= 0x04 | (1 << 3) | (0x20 if will_retain else 0)
            payload += _str(will_topic) + _str(will_msg)
        if self.user is not None:
            flags |= 0x80
            payload += _str(self.user)
            if self.password is not None:
                flags |= 0x40
                payload += _str(self.password)
        body = _str("MQTT") + bytes([4, flags]) + struct.pack("!H", self.keepalive)
        self._write(packet(CONNECT, body + payload), deadline)
        first, body = self._read_packet(deadline)
        if first != CONNACK or len(body) != 2:
            raise MQTTError("expected CONNACK, got 0x%02x/%d" % (first, len(body)))
        if body[1] != 0:
            raise MQTTError("connection refused, return code %d" % body[1])

    def _next_pid(self):
        self.pid = self.pid % 65535 + 1
        return self.pid

    def publish(self, topic, msg, deadline, retain=False):
        """Publish at QoS 1 and return once the broker's PUBACK arrives."""
        pid = self._next_pid()
        body = _str(topic) + struct.pack("!H", pid) + msg
        self._write(packet(PUBLISH | 0x02 | (1 if retain else 0), body), deadline)
        self._wait_for(PUBACK, pid, deadline)

    def subscribe(self, topic, deadline):
        pid = self._next_pid()
        body = struct.pack("!H", pid) + _str(topic) + b"\x01"
        self._write(packet(SUBSCRIBE, body), deadline)
        codes = self._wait_for(SUBACK, pid, deadline)
        if not codes or codes[0] == 0x80:
            raise MQTTError("subscription refused")

    def ping(self, deadline):
        self._write(packet(PINGREQ, b""), deadline)
        self._wait_for(PINGRESP, None, deadline)

    def disconnect(self, deadline):
        try:
            self._write(packet(DISCONNECT, b""), deadline)
        finally:
            self.close()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    # ------------------------------------------------------------- incoming
    def _wait_for(self, kind, pid, deadline):
        while True:
            got, got_pid, rest = self.handle_packet(deadline)
            if got == kind and (pid is None or got_pid == pid):
                return rest

    def wait_msg(self, deadline):
        """Handle one incoming packet (a PUBLISH goes to on_message); returns its type."""
        return self.handle_packet(deadline)[0]

    def handle_packet(self, deadline):
        self._skipped = False
        first, body = self._read_packet(deadline)
        kind = first & 0xF0
        if kind == PUBLISH:
            self._on_publish(first, body, deadline)
            return PUBLISH, None, None
        if kind in (PUBACK, SUBACK):
            if first != kind or len(body) < 2 or (kind == PUBACK and len(body) != 2):
                raise MQTTError("malformed 0x%02x" % first)
            return kind, (body[0] << 8) | body[1], body[2:]
        if first == PINGRESP and not body:
            return PINGRESP, None, None
        raise MQTTError("unexpected packet 0x%02x" % first)

    def _on_publish(self, first, body, deadline):
        qos = (first >> 1) & 3
        if qos > 1:
            raise MQTTError("PUBLISH with QoS %d (subscribed at 1)" % qos)
        if len(body) < 2:
            raise MQTTError("malformed PUBLISH")
        tlen = (body[0] << 8) | body[1]
        start = 2 + tlen + (2 if qos else 0)
        if start > len(body):
            raise MQTTError("malformed PUBLISH topic length")
        try:
            topic = bytes(body[2:2 + tlen]).decode()
        except UnicodeError:
            raise MQTTError("PUBLISH topic is not UTF-8")
        if qos:
            self._write(packet(PUBACK, bytes(body[2 + tlen:start])), deadline)
        if self.on_message and not self._skipped:
            self.on_message(topic, bytes(body[start:]), bool(first & 0x01))
