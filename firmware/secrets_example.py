# Per-device settings. Copy to secrets.py (untracked; see .gitignore) and fill in.
# Any name from defaults.py may be overridden here.

WIFI_SSID = "flat-12-router"
WIFI_PASSWORD = "change-me"
# WIFI_STATIC = ("192.168.1.60", "255.255.255.0", "192.168.1.1", "192.168.1.1")

# The broker by IP literal avoids a DNS lookup (which has no deadline on the ESP32).
MQTT_HOST = "192.0.2.10"
MQTT_PORT = 8883
MQTT_PASSWORD = "from `dampwatch` provisioning"
MQTT_CA_FILE = "ca.der"   # the CA that signed the broker's certificate (pinned)
