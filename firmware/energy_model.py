"""Energy budget of the DampWatch node: average current and battery life.

Runs on CPython (``python firmware/energy_model.py``) and reads the firmware's own cycle
from ``defaults.py``: sampling period, upload interval, sensor count and measurement
time, batches per upload, static IP, TLS, NTP interval, the battery divider and the
backoff after failures. Change the cycle there and the figure here changes.

The default is the node as built and deployed by ``firmware/deploy.sh``: stock
MicroPython with the modules as ``.mpy`` files on the flash filesystem (every wake
mounts it and imports from it), DHCP (``WIFI_STATIC = None``), TLS when a CA is
configured, and one urgent upload per humid spell (RH reaching ``urgent_rh_pct``; the
firmware re-arms only when RH falls ``URGENT_HYSTERESIS_PCT`` below it).

Per wake the node boots from deep sleep, samples, and sleeps; every ``UPLOAD_EVERY``
wakes it also joins Wi-Fi and runs one MQTT session. Charge per phase [mC] comes from
published measurements of MicroPython on the ESP32 and from datasheets:

[1] Espressif, "ESP32 Series Datasheet" v4.x, section "Power consumption": deep sleep
    with RTC timer and RTC memory 10 uA; Wi-Fi RX 95-100 mA, TX up to 240 mA.
[2] G. Baker (glenn20), "upy-esp32-experiments: ESPNow vs Wifi energy usage",
    github.com/glenn20/upy-esp32-experiments/blob/main/ESPNowvsWifiEnergyUsage/README.md
    (MicroPython, ESP32, fast-boot build): boot from deep sleep to frozen code 70 ms /
    3.32 mC; join Wi-Fi with static IP and send one MQTT message 774 ms / 108.6 mC;
    join with DHCP 1626 ms / 204.3 mC; mounting the flash filesystem and running the
    app from it adds ~350 ms / 23.6 mC.
[3] Sensirion, "Datasheet SHT4x" v6.6: high-repeatability measurement 8.3 ms max at
    320 uA typ / 500 uA max; idle 0.08 uA typ.
[4] Texas Instruments, "TPS63802" datasheet: buck-boost, 11 uA quiescent current,
    ~90 % efficiency at ESP32 active loads.
[5] Energizer, "L91 Ultimate Lithium AA" product datasheet: 3000 mAh.
[6] G. Baker (glenn20), same repository, "ESPNOW power management" (ESP32): radio on
    100 mA. And [2]'s summary: fast boot and one ESP-NOW send the peer acknowledged
    119 ms / 7.68 mC; one the peer never acknowledged 145 ms / 15.4 mC; an ESP32 wake
    stub (wake, run from RTC memory, sleep) 2.8 ms / 0.044 mC.
[7] Texas Instruments, "TPS63900" datasheet: buck-boost with 75 nA quiescent current.

The ESP-NOW path (``uplink="espnow"``): the upload wake adds, after the boot, [2]'s
radio start and first frame, then per frame the wait for the relay's acknowledgement
(the relay verifies, publishes and waits for the broker's PUBACK) with the radio on,
and for lost round trips a full ``ESPNOW_ACK_MS`` wait and a resend. No NTP: the
acknowledgement carries the relay's clock.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import defaults  # noqa: E402  (the firmware's own cycle parameters)

# --- published figures ------------------------------------------------------------
DEEP_SLEEP_UA = 10.0             # [1] ESP32, RTC timer + RTC memory on
BOOT_FROZEN_MC = 3.32            # [2] deep-sleep wake to frozen app
BOOT_FROZEN_MS = 70
BOOT_FILESYSTEM_MC = 23.6        # [2] extra to mount littlefs and import from it
BOOT_FILESYSTEM_MS = 350
CPU_ACTIVE_MA = BOOT_FROZEN_MC / BOOT_FROZEN_MS * 1000  # 47 mA, [2] boot average
WIFI_STATIC_MQTT_MC = 108.6      # [2] join (static IP) + one MQTT message
WIFI_STATIC_MQTT_MS = 774
WIFI_DHCP_EXTRA_MC = 204.3 - 100.2  # [2] DHCP join minus static-IP join
WIFI_DHCP_EXTRA_MS = 1626 - 734
RADIO_ON_MA = 110.0              # [1] RX 95-100 mA plus CPU, while the session waits
SHT4X_MEAS_MA = 0.5              # [3] max
SHT4X_IDLE_UA = 0.08             # [3] typ
REGULATOR_IQ_UA = 11.0           # [4]
REGULATOR_EFFICIENCY = 0.90      # [4]
BATTERY_MAH = 3000.0             # [5] 2 x AA lithium in series
BATTERY_V = 3.0                  # 2 x 1.5 V under load

ESPNOW_SEND_OK_MC = 7.68 - BOOT_FROZEN_MC   # [2] radio start + one acknowledged frame
ESPNOW_SEND_OK_MS = 119 - BOOT_FROZEN_MS
ESPNOW_RADIO_ON_MA = 100.0       # [6] radio on, receiving
WAKE_STUB_MC = 0.044             # [6] wake stub: wake, run, sleep
WAKE_STUB_MS = 2.8
NANO_REGULATOR_IQ_UA = 0.075     # [7] TPS63900

# --- our estimates (not published; documented in README) -----------------------------
RELAY_ACK_WAIT_MS = 30           # relay: check tag, PUBLISH, broker's PUBACK on the LAN, ack
ESPNOW_FRAME_MS = 5              # a further frame: 250 B at 1 Mbit/s is 2 ms, plus MAC ack
ESPNOW_LOSS = 0.05               # round trips lost (interference, a closed fire door)
WAKE_STUB_CPU_MA = WAKE_STUB_MC / WAKE_STUB_MS * 1000  # 15.7 mA, [6] stub average
FIRMWARE_WORK_MS = 30            # load/save RTC state, pack, decide (per wake)
MQTT_ROUND_TRIP_MS = 20          # one extra request/answer on a home LAN
NTP_MS = 60                      # DNS + one NTP exchange
TLS_HANDSHAKE_MS = 1000          # ECDHE + certificate check on the ESP32 at 160 MHz
DIVIDER_UA = 1.5                 # 2 x 1 MOhm battery divider at 3 V
USABLE_FRACTION = 0.85           # cold rooms, converter cut-off, 5-10 years of shelf loss
#: request/answer pairs in [2]'s measurement (CONNECT, PUBLISH)
REFERENCE_ROUND_TRIPS = 2


@dataclass(frozen=True)
class Cycle:
    """The firmware's cycle, as defaults.py sets it."""

    sample_s: int
    upload_every: int
    sensors: int
    meas_ms: int
    max_batch: int
    static_ip: bool
    tls: bool
    ntp_every_s: int
    divider: bool
    frozen: bool = False  # True: modules frozen into a fast-boot image (not built yet)
    urgent_per_day: float = 0.0  # humid spells a day (one urgent upload each)
    uplink: str = "wifi"  # or "espnow": frames to a block relay
    espnow_loss: float = ESPNOW_LOSS  # fraction of ESP-NOW round trips lost
    wake_stub: bool = False  # sampling wakes in an ESP32 wake stub (not built)
    nano_regulator: bool = False  # a 75 nA regulator (TPS63900) instead of the TPS63802

    @classmethod
    def from_firmware(cls, **overrides: object) -> Cycle:
        cycle = cls(
            sample_s=defaults.SAMPLE_S,
            upload_every=defaults.UPLOAD_EVERY,
            sensors=1 + (defaults.SHT4X_SURFACE_ADDR is not None),
            meas_ms=defaults.SHT4X_MEAS_MS,
            max_batch=defaults.MAX_BATCH,
            static_ip=defaults.WIFI_STATIC is not None,
            tls=defaults.MQTT_CA_FILE is not None,
            ntp_every_s=defaults.NTP_EVERY_S,
            divider=defaults.BATT_ADC_PIN is not None,
        )
        return replace(cycle, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Budget:
    sleep_ua: float
    wake_mc: float
    upload_mc: float
    average_ua: float
    years: float


def to_battery(mc_at_3v3: float) -> float:
    """Charge drawn from the battery for a charge delivered at 3.3 V [mC]."""
    return mc_at_3v3 * 3.3 / (BATTERY_V * REGULATOR_EFFICIENCY)


def wake_mc(c: Cycle) -> float:
    """One wake that only samples [mC at the battery]."""
    sensing_ms = c.sensors * c.meas_ms
    if c.wake_stub:
        stub = WAKE_STUB_MC + WAKE_STUB_CPU_MA * (sensing_ms + FIRMWARE_WORK_MS) / 1000
        return to_battery(stub + SHT4X_MEAS_MA * sensing_ms / 1000 * c.sensors)
    boot = BOOT_FROZEN_MC + (0 if c.frozen else BOOT_FILESYSTEM_MC)
    cpu = CPU_ACTIVE_MA * (sensing_ms + FIRMWARE_WORK_MS) / 1000
    sensor = SHT4X_MEAS_MA * sensing_ms / 1000 * c.sensors
    return to_battery(boot + cpu + sensor)


def session_round_trips(c: Cycle) -> int:
    """CONNECT, SUBSCRIBE, one PUBLISH per batch, PINGREQ, status PUBLISH (node.py)."""
    return 4 + math.ceil(c.upload_every / c.max_batch)


def espnow_frames(c: Cycle) -> int:
    """Frames per scheduled upload: 31 readings fit one (firmware/frame.py)."""
    return math.ceil(c.upload_every / (31 if c.sensors == 1 else 23))


def espnow_upload_mc(c: Cycle) -> float:
    """Radio charge of an ESP-NOW upload [mC at 3.3 V]: [2]'s first frame, each frame's
    wait for the relay, further frames, and lost round trips (a full ack wait each)."""
    frames = espnow_frames(c)
    mc = ESPNOW_SEND_OK_MC
    mc += ESPNOW_RADIO_ON_MA * (frames * RELAY_ACK_WAIT_MS + (frames - 1) * ESPNOW_FRAME_MS) / 1000
    retries = frames * c.espnow_loss / (1 - c.espnow_loss)
    mc += retries * ESPNOW_RADIO_ON_MA * (defaults.ESPNOW_ACK_MS + ESPNOW_FRAME_MS) / 1000
    return mc


def upload_mc(c: Cycle) -> float:
    """Extra charge of a wake that uploads [mC at the battery]."""
    if c.uplink == "espnow":
        mc = espnow_upload_mc(c)
        if c.wake_stub:  # the stub hands an upload to a full (frozen) boot
            mc += BOOT_FROZEN_MC + CPU_ACTIVE_MA * FIRMWARE_WORK_MS / 1000
        return to_battery(mc)
    mc = WIFI_STATIC_MQTT_MC
    if not c.static_ip:
        mc += WIFI_DHCP_EXTRA_MC
    extra_trips = session_round_trips(c) - REFERENCE_ROUND_TRIPS
    mc += RADIO_ON_MA * extra_trips * MQTT_ROUND_TRIP_MS / 1000
    if c.tls:
        mc += RADIO_ON_MA * TLS_HANDSHAKE_MS / 1000
    upload_period_s = c.sample_s * c.upload_every
    mc += RADIO_ON_MA * NTP_MS / 1000 * min(1.0, upload_period_s / c.ntp_every_s)
    return to_battery(mc)


def sleep_ua(c: Cycle) -> float:
    ua = DEEP_SLEEP_UA * 3.3 / (BATTERY_V * REGULATOR_EFFICIENCY)
    iq = NANO_REGULATOR_IQ_UA if c.nano_regulator else REGULATOR_IQ_UA
    return ua + iq + SHT4X_IDLE_UA * c.sensors + (DIVIDER_UA if c.divider else 0)


def uploads_per_wake(c: Cycle) -> float:
    """Scheduled uploads every upload_every samples plus one per humid spell."""
    return 1 / c.upload_every + c.urgent_per_day * c.sample_s / 86400


def budget(c: Cycle) -> Budget:
    wake, upload, sleep = wake_mc(c), upload_mc(c), sleep_ua(c)
    average_ua = sleep + (wake + upload * uploads_per_wake(c)) / c.sample_s * 1000
    hours = BATTERY_MAH * USABLE_FRACTION / (average_ua / 1000)
    return Budget(sleep, wake, upload, average_ua, hours / (24 * 365.25))


def dead_router_ua(c: Cycle) -> float:
    """Extra average current while Wi-Fi never comes up: one attempt (the whole
    WIFI_TIMEOUT_MS with the radio on) every BACKOFF_MAX_S once backoff has grown."""
    attempt = to_battery(RADIO_ON_MA * defaults.WIFI_TIMEOUT_MS / 1000)
    return attempt / defaults.BACKOFF_MAX_S * 1000


SCENARIOS = (
    ("as deployed: 4-hourly, DHCP, no TLS", {}),
    ("as deployed: 4-hourly, DHCP, TLS (secrets_example.py)", {"tls": True}),
    ("as deployed: hourly, DHCP, TLS", {"upload_every": 12, "tls": True}),
    ("as deployed: 4-hourly, DHCP, TLS, 3 humid spells a day (damp flat)",
     {"tls": True, "urgent_per_day": 3.0}),
    ("as deployed: 4-hourly, static IP, no TLS", {"static_ip": True}),
    ("frozen fast-boot image (not built yet): 4-hourly, static IP, no TLS",
     {"static_ip": True, "frozen": True}),
    ("frozen fast-boot image (not built yet): 4-hourly, DHCP, TLS",
     {"tls": True, "frozen": True}),
    ("ESP-NOW relay, as deployed: hourly", {"uplink": "espnow", "upload_every": 12}),
    ("ESP-NOW relay, frozen image: hourly",
     {"uplink": "espnow", "upload_every": 12, "frozen": True}),
    ("ESP-NOW relay, frozen image: 4-hourly", {"uplink": "espnow", "frozen": True}),
    ("ESP-NOW relay, frozen image: hourly, 20 % of round trips lost",
     {"uplink": "espnow", "upload_every": 12, "frozen": True, "espnow_loss": 0.2}),
    ("ESP-NOW relay, wake-stub sampler + TPS63900 (neither built): hourly",
     {"uplink": "espnow", "upload_every": 12, "frozen": True, "wake_stub": True,
      "nano_regulator": True}),
    ("ESP-NOW relay, wake-stub sampler + TPS63900 (neither built): 4-hourly",
     {"uplink": "espnow", "frozen": True, "wake_stub": True, "nano_regulator": True}),
)


def table() -> str:
    base = Cycle.from_firmware()
    rows = [
        "| scenario (sample_s=%d) | sample wake | upload | "
        "sleep | average | battery life |" % base.sample_s,
        "|---|---|---|---|---|---|",
    ]
    for name, overrides in SCENARIOS:
        b = budget(replace(base, **overrides))  # type: ignore[arg-type]
        rows.append(
            f"| {name} | {b.wake_mc:.1f} mC | {b.upload_mc:.{1 if b.upload_mc < 20 else 0}f} mC | {b.sleep_ua:.1f} uA "
            f"| {b.average_ua:.1f} uA | {b.years:.1f} years |"
        )
    rows.append(
        f"| extra while the router is dead (one {defaults.WIFI_TIMEOUT_MS} ms attempt per "
        f"{defaults.BACKOFF_MAX_S // 3600} h) | | | | +{dead_router_ua(base):.1f} uA | |"
    )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
