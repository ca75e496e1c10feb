# Relay defaults: every tunable in one place; relay_secrets.py (untracked, from
# `dampwatch relays add` and `dampwatch relays export`) overrides per relay.
RELAY_ID = ""             # its MQTT username, from `dampwatch relays add`
MQTT_HOST = ""
MQTT_PORT = 1883          # the broker's device listener
MQTT_PASSWORD = ""
MQTT_KEEPALIVE_S = 60
MQTT_TIMEOUT_MS = 5000    # one CONNECT or PUBLISH and its answer
DEVICES = {}              # device id -> hex key: the devices registered to this relay
ESPNOW_CHANNEL = 1        # fixed; every node of the block uses the same
RXBUF = 8192              # ESP-NOW receive buffer (bytes): ~30 full frames
QUEUE_MAX = 256           # frames waiting for the broker; more are not acknowledged
MAX_PEERS = 19            # ESP-NOW's 20, less one spare
IDLE_RECV_MS = 100        # radio wait when nothing is queued
STATUS_EVERY_MS = 60000   # retained status on dampwatch/v1/relay/RELAY_ID/status
RECONNECT_MIN_MS = 500    # broker reconnect backoff, doubling to
RECONNECT_MAX_MS = 30000
STATE_FILE = "relay_state.json"  # the last (boot, seq) published per device
NODE_FW = None            # fw to put in telemetry (a frame does not carry it)
