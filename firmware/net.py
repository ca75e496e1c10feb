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


def ntp_time(host, timeout_ms):
    """The NTP server's time in seconds since the port's epoch, or None. The caller
    checks it before setting the clock. (The lookup of `host` itself has no deadline
    on the ESP32; the watchdog is the backstop.)"""
    import ntptime

    ntptime.host = host
    ntptime.timeout = max(timeout_ms, 100) / 1000
    try:
        return int(ntptime.time())
    except (OSError, IndexError, OverflowError, ValueError, TypeError):
        return None
