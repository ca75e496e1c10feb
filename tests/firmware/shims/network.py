# Host shim for network.WLAN: the simulated access point is up unless sim.json says
# "wifi": false; joining takes "wifi_ms" of real time. The radio's first transmit
# pulls the battery down by "tx_sag_mv" (default 300); below "brownout_mv" (default 0:
# never) the chip browns out and resets, as a sagging battery does on Wi-Fi TX.
import time

import _sim

STA_IF = 0
AP_IF = 1


class WLAN:
    def __init__(self, interface=STA_IF):
        self._active = False
        self._since = None

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        return None

    def config(self, *args, **kwargs):
        if "channel" in kwargs:
            self._channel = kwargs["channel"]
            return None
        if args == ("mac",):
            return bytes(int(_sim.SIM.get("mac", "a4cf12fe0b3c")[i:i + 2], 16)
                         for i in range(0, 12, 2))
        return getattr(self, "_channel", 1)

    def ifconfig(self, conf=None):
        return conf or ("10.0.0.2", "255.255.255.0", "10.0.0.1", "10.0.0.1")

    def connect(self, ssid, password):
        _sim.append("events.jsonl", {"wifi_connect": ssid})
        under_tx = int(_sim.SIM.get("batt_mv", 3000)) - int(_sim.SIM.get("tx_sag_mv", 300))
        if under_tx < int(_sim.SIM.get("brownout_mv", 0)):
            _sim.reset_now("brownout")
        self._since = time.ticks_ms()

    def isconnected(self):
        if not self._active or self._since is None or not _sim.SIM.get("wifi", True):
            return False
        return time.ticks_diff(time.ticks_ms(), self._since) >= _sim.SIM.get("wifi_ms", 0)

    def disconnect(self):
        self._since = None

    def status(self, param=None):
        if param == "rssi":
            return _sim.SIM.get("rssi", -67)
        return 1010 if self.isconnected() else 1000
