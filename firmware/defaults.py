# DampWatch firmware defaults: every tunable in one place.
#
# A site overrides any of these names in the untracked `secrets.py` (see
# `secrets_example.py`); `settings.py` merges the two. This module is plain constants
# so that `energy_model.py` can import it on CPython: a change to the cycle here
# changes the battery-life figure.

FW_VERSION = "0.1.0"

# --- sampling cycle (contract defaults; the backend's retained config overrides) ---
SAMPLE_S = 300            # seconds between samples (contract range 30-3600)
UPLOAD_EVERY = 48         # samples per upload: 48 x 300 s = every 4 h (1-64)
URGENT_RH_PCT = 85.0      # upload at once when a sample's RH >= this (50-100)
URGENT_HYSTERESIS_PCT = 5.0  # once per spell: re-armed when RH falls this far below

# --- awake-time budget ---
WAKE_CAP_MS = 15000       # hard cap on one wake, whatever Wi-Fi/DNS/TLS/broker do
SLEEP_MARGIN_MS = 500     # reserved at the end of the cap for saving state
WDT_MARGIN_MS = 5000      # watchdog fires this long after the cap (a hang backstop)
WIFI_TIMEOUT_MS = 4000    # joining Wi-Fi: 2.5x the published DHCP join (1.6 s)
NTP_TIMEOUT_MS = 1000     # one NTP request
NTP_EVERY_S = 86400       # resync the RTC at most daily (every upload if never synced)
NTP_MIN_TS = 1764201600   # 2025-11-27: an NTP answer before this firmware is refused
NTP_MAX_STEP_S = 600      # once set, an answer may move the clock this far, plus 5 %
                          # of the time since the last sync (ESP32 drift <= 2.2 %)
MQTT_KEEPALIVE_S = 60
MQTT_MAX_PACKET = 4096    # a larger packet from the broker is read past, not kept
CONFIG_MAX_BYTES = 512    # a retained config longer than this is ignored
MIN_SLEEP_MS = 1000

# --- backoff after a failed upload (exponential, with jitter) ---
BACKOFF_BASE_S = 600
BACKOFF_MAX_S = 6 * 3600
BACKOFF_JITTER = 0.25     # delay is scaled by a uniform factor in [1-j, 1+j]

# --- buffering ---
RTC_READINGS = 128        # readings kept in RTC memory across deep sleep
RING_READINGS = 8064      # flash ring file: 28 days at 5-minute sampling
RING_FILE = "readings.ring"
STATE_FILE = "node.json"  # boot counter and last good config (survive power loss)
MAX_BATCH = 64            # contract: at most 64 readings per message

# --- hardware (ESP32-WROOM-32E on the DampWatch carrier; see README) ---
I2C_ID = 0
I2C_SCL = 22
I2C_SDA = 21
I2C_FREQ = 400000
SHT4X_AIR_ADDR = 0x44     # SHT40-AD1B: room air
SHT4X_SURFACE_ADDR = None # 0x45: an SHT40-BD1B on the coldest wall (optional probe)
SHT4X_MEAS_MS = 10        # high repeatability: 8.3 ms max (datasheet table 4) + margin
SHT4X_RESET_MS = 2        # soft reset: 1 ms max
SHT4X_ATTEMPTS = 2        # a reading failing twice is skipped and counted
BATT_ADC_PIN = 35         # None on mains power
BATT_DIVIDER = 2.0        # resistor divider ratio in front of the ADC
BATT_MIN_UPLOAD_MV = 2200 # at rest below this: no upload (TX would brown out)
BATT_RESUME_MV = 2400     # uploads resume once the battery recovers past this
SENSOR_POWER_PIN = None   # GPIO switching the sensors' supply, if fitted

# --- network (per device values belong in secrets.py) ---
WIFI_SSID = ""
WIFI_PASSWORD = ""
WIFI_STATIC = None        # ("ip", "mask", "gateway", "dns") saves ~0.9 s per join
MQTT_HOST = ""
MQTT_PORT = 1883
MQTT_PASSWORD = ""
MQTT_CA_FILE = None       # PEM/DER CA to pin; enables TLS (use port 8883)
NTP_HOST = "pool.ntp.org"
DEVICE_ID = None          # None: "esp32-" + the MAC in lowercase hex

# --- ESP-NOW uplink to a block relay (docs/relay-frame.md; per device in secrets.py) ---
UPLINKS = None            # None: ("espnow",) if RELAY_MAC and ESPNOW_KEY are set, then
                          # ("wifi",) if WIFI_SSID is; or name the order, e.g. ("wifi",)
RELAY_MAC = ""            # the relay's MAC, 12 hex digits
ESPNOW_KEY = ""           # the device key from `dampwatch devices add --uplink espnow`
ESPNOW_CHANNEL = 1        # the relay's fixed channel (see README, planning)
ESPNOW_ATTEMPTS = 3       # sends of one frame before the upload counts as failed
ESPNOW_ACK_MS = 250       # wait for the relay's ack: its publish and the broker's PUBACK
ESPNOW_RETRY_MS = 5       # pause after a send the relay's radio did not acknowledge
ESPNOW_RESERVE_MS = 500   # stop sending frames when less than this is left of the wake
RELAY_CLOCK_STEP_S = 2    # set the clock from the relay's when it is further off than this
