# Host shim for MicroPython's `espnow` module: frames travel between MicroPython
# processes as UDP datagrams on localhost, with ESP-NOW's limits:
#   - at most 250 bytes a frame (ValueError beyond, as the ESP32 port raises);
#   - at most 20 peers registered, 6 of them encrypted (OSError ESP_ERR_ESPNOW_FULL);
#   - a unicast send only to a registered peer (OSError ESP_ERR_ESPNOW_NOT_FOUND);
#   - a per-peer send acknowledgement: send(sync=True) is True only when the peer's
#     radio took the frame (its receive thread answers at once, as the hardware's MAC
#     layer does, whatever the program is doing); broadcast is never acknowledged and
#     send() says True;
#   - a receive buffer of `rxbuf` bytes (526 by default, as on the ESP32): frames that
#     arrive while it is full are lost, as they are on the chip.
# sim.json controls it:
#   espnow_dir:      directory shared by the processes of one test: a file per MAC
#                    (12 hex digits) holds the UDP port that radio listens on
#   espnow_loss:     probability [0, 1] that a datagram this radio sends is lost (data
#                    frames and the acknowledgements of frames it received)
#   espnow_delay_ms: delay before each datagram this radio sends
#   espnow_down:     true: this radio neither sends nor receives (out of range)
# Every send is logged to events.jsonl ({"espnow_send": bytes, "ok": bool}).
import os
import socket
import struct
import time

import _thread

import _sim

MAX_DATA_LEN = 250
MAX_TOTAL_PEER_NUM = 20
MAX_ENCRYPT_PEER_NUM = 6
ADDR_LEN = 6
KEY_LEN = 16
BROADCAST = b"\xff" * 6
_MAC_ACK_WAIT_MS = 30  # the ESP-NOW send callback arrives within a few ms on the chip

_DATA = b"D"
_ACK = b"A"


def _hex(mac):
    return "".join("%02x" % b for b in mac)


def _own_mac():
    mac = _sim.SIM.get("mac", "a4cf12fe0b3c")
    return bytes(int(mac[i:i + 2], 16) for i in range(0, 12, 2))


def _dir():
    d = _sim.SIM.get("espnow_dir")
    if not d:
        raise OSError(-1, "espnow shim: sim.json has no espnow_dir")
    return d


def _port(mac):
    try:
        with open(_dir() + "/" + _hex(mac)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _all_macs():
    out = []
    for name in os.listdir(_dir()):
        if len(name) == 12:
            try:
                out.append(bytes(int(name[i:i + 2], 16) for i in range(0, 12, 2)))
            except ValueError:
                pass
    return out


def _lost():
    loss = float(_sim.SIM.get("espnow_loss", 0))
    if loss <= 0:
        return False
    r = struct.unpack("<I", os.urandom(4))[0] / 4294967296
    return r < loss


class ESPNow:
    def __init__(self):
        self._active = False
        self._peers = {}
        self._rx = []
        self._rx_bytes = 0
        self._rxbuf = 526
        self._timeout_ms = 300000
        self._acked = set()
        self._next_id = int(struct.unpack("<H", os.urandom(2))[0]) << 16
        self._lock = _thread.allocate_lock()
        self._sock = None
        self.mac = _own_mac()
        self.lost_rx = 0

    # ------------------------------------------------------------- lifecycle
    def active(self, flag=None):
        if flag is None:
            return self._active
        if flag and not self._active:
            port = _port(self.mac)
            if port is None:
                raise OSError(-1, "espnow shim: no port for " + _hex(self.mac))
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
            s.settimeout(0.05)
            self._sock = s
            self._active = True
            _thread.start_new_thread(self._receive, ())
        elif not flag and self._active:
            self._active = False
            time.sleep_ms(60)  # the receive thread ends within its socket timeout
            self._sock.close()
            self._sock = None
        return None

    def config(self, rxbuf=None, timeout_ms=None, rate=None):
        if rxbuf is not None:
            self._rxbuf = rxbuf
        if timeout_ms is not None:
            self._timeout_ms = timeout_ms

    # ----------------------------------------------------------------- peers
    def add_peer(self, mac, lmk=None, channel=0, ifidx=0, encrypt=None):
        mac = bytes(mac)
        if len(mac) != ADDR_LEN:
            raise ValueError("invalid peer MAC address")
        if mac in self._peers:
            raise OSError(-12395, "ESP_ERR_ESPNOW_EXIST")
        if len(self._peers) >= MAX_TOTAL_PEER_NUM:
            raise OSError(-12394, "ESP_ERR_ESPNOW_FULL")
        encrypted = bool(lmk) if encrypt is None else bool(encrypt)
        if encrypted and sum(1 for e in self._peers.values() if e) >= MAX_ENCRYPT_PEER_NUM:
            raise OSError(-12394, "ESP_ERR_ESPNOW_FULL")
        self._peers[mac] = encrypted

    def del_peer(self, mac):
        mac = bytes(mac)
        if mac not in self._peers:
            raise OSError(-12393, "ESP_ERR_ESPNOW_NOT_FOUND")
        del self._peers[mac]

    def get_peers(self):
        return tuple((mac, None, 0, 0, enc) for mac, enc in self._peers.items())

    # ------------------------------------------------------------ send, recv
    def _sendto(self, mac, datagram):
        port = _port(mac)
        if port is None or _sim.SIM.get("espnow_down"):
            return
        delay = int(_sim.SIM.get("espnow_delay_ms", 0))
        if delay:
            time.sleep_ms(delay)
        if _lost():
            return
        try:
            self._sock.sendto(datagram, socket.getaddrinfo("127.0.0.1", port)[0][-1])
        except OSError:
            pass

    def send(self, mac, msg=None, sync=True):
        if msg is None:  # send(msg): to every peer
            mac, msg = None, mac
        if not self._active:
            raise OSError(-12389, "ESP_ERR_ESPNOW_NOT_INIT")
        msg = bytes(msg)
        if len(msg) > MAX_DATA_LEN:
            raise ValueError("msg too long")
        targets = list(self._peers) if mac is None else [bytes(mac)]
        ok = True
        for target in targets:
            if target not in self._peers:
                raise OSError(-12393, "ESP_ERR_ESPNOW_NOT_FOUND")
            if target == BROADCAST:
                for other in _all_macs():
                    if other != self.mac:
                        self._sendto(other, _DATA + self.mac + b"\0\0\0\0" + msg)
                continue
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            ident = struct.pack("<I", self._next_id)
            self._sendto(target, _DATA + self.mac + ident + msg)
            if sync:
                ok = self._wait_ack(ident) and ok
        _sim.append("events.jsonl", {"espnow_send": len(msg), "ok": ok})
        return ok

    def _wait_ack(self, ident):
        end = time.ticks_add(time.ticks_ms(), _MAC_ACK_WAIT_MS)
        while time.ticks_diff(end, time.ticks_ms()) > 0:
            with self._lock:
                if ident in self._acked:
                    self._acked.discard(ident)
                    return True
            time.sleep_ms(1)
        return False

    def any(self):
        with self._lock:
            return bool(self._rx)

    def recv(self, timeout_ms=None):
        if timeout_ms is None:
            timeout_ms = self._timeout_ms
        end = time.ticks_add(time.ticks_ms(), max(0, timeout_ms))
        while True:
            with self._lock:
                if self._rx:
                    mac, msg = self._rx.pop(0)
                    self._rx_bytes -= len(msg)
                    return [mac, msg]
            if time.ticks_diff(end, time.ticks_ms()) <= 0:
                return [None, None]
            time.sleep_ms(1)

    def irecv(self, timeout_ms=None):
        return self.recv(timeout_ms)

    def _receive(self):
        while self._active:
            sock = self._sock
            try:
                datagram = sock.recv(512)
            except (OSError, AttributeError):
                continue
            if len(datagram) < 11 or _sim.SIM.get("espnow_down"):
                continue
            kind, src, ident = datagram[:1], datagram[1:7], datagram[7:11]
            if kind == _ACK:
                with self._lock:
                    self._acked.add(bytes(ident))
                continue
            msg = datagram[11:]
            if ident != b"\0\0\0\0":  # unicast: the radio acknowledges it at once
                self._sendto(src, _ACK + self.mac + ident)
            with self._lock:
                if self._rx_bytes + len(msg) > self._rxbuf:
                    self.lost_rx += 1
                    continue
                self._rx.append((bytes(src), bytes(msg)))
                self._rx_bytes += len(msg)
