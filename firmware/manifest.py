# Freeze the firmware into a MicroPython image for production (the battery figures in
# README.md assume this: importing from the flash filesystem costs ~350 ms per wake).
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/firmware/manifest.py
include("$(PORT_DIR)/boards/manifest.py")
for name in ("buffer", "config", "deadline", "defaults", "mqtt", "net", "node",
             "payloads", "reading", "ringfile", "rtcstate", "settings", "sht4x"):
    module(name + ".py")
