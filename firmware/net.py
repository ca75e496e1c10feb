# Wi-Fi station and NTP, each bounded by a Deadline.
import time

import network


def wifi_up(ssid, password, static, deadline):
    """The connected station interface, or None when the deadline passes first."""
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    if static:
        sta.ifconfig(static)
    if not sta.isconnected():
        sta.connect(ssid, password)
    while not sta.isconnected():
        if deadline.expired():
            wifi_down(sta)
            return None
        time.sleep_ms(20)
    return sta


def wifi_down(sta):
    try:
        sta.disconnect()
    except OSError:
        pass
    sta.active(False)


def rssi(sta):
    try:
        value = sta.status("rssi")
    except (OSError, ValueError, TypeError):
        return None
    return value if isinstance(value, int) and -120 <= value <= 0 else None


def ntp_sync(host, timeout_ms):
    """Set the RTC from NTP. True on success. (The lookup of `host` itself has no
    deadline on the ESP32; the watchdog is the backstop.)"""
    import ntptime

    ntptime.host = host
    ntptime.timeout = max(timeout_ms, 100) / 1000
    try:
        ntptime.settime()
    except (OSError, IndexError, OverflowError):
        return False
    return True
