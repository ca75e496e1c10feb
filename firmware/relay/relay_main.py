# The relay's entry point (its main.py on the board): settings, radio, then the loop.
import network
from binascii import unhexlify

import espnow

import relay
from relay_defaults import *  # noqa

try:
    from relay_secrets import *  # noqa
except ImportError:
    pass


class Settings:
    pass


def settings():
    s = Settings()
    for name, value in globals().items():
        if name.isupper():
            setattr(s, name, value)
    return s


def main():
    s = settings()
    if not s.RELAY_ID or not s.MQTT_HOST:
        raise SystemExit("relay_secrets.py must set RELAY_ID and MQTT_HOST")
    keys = {}
    for device_id, key in s.DEVICES.items():
        raw = unhexlify(key)
        if len(raw) != 32:
            raise SystemExit("key of %s is not 32 bytes" % device_id)
        keys[device_id] = raw
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    sta.config(channel=s.ESPNOW_CHANNEL)
    radio = espnow.ESPNow()
    radio.active(True)
    radio.config(rxbuf=s.RXBUF)
    relay.log("serving", len(keys), "devices as", s.RELAY_ID)
    relay.Relay(s, radio, keys, s.STATE_FILE).run()


main()
