# Freeze the firmware into a fast-boot MicroPython image (the "frozen fast-boot image"
# rows of the energy table): the sampling wake runs from the frozen _boot.py before
# the filesystem is mounted. Not built or measured by this project yet.
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/firmware/manifest.py
# The port's own modules are listed one by one so that this _boot.py replaces its.
# main.py is not frozen: copy main.py, boot.py and secrets.py to the filesystem
# (deploy.sh does), or the board stays in the REPL and never sleeps.
module("flashbdev.py", base_path="$(PORT_DIR)/modules")
module("inisetup.py", base_path="$(PORT_DIR)/modules")
require("ntptime")
module("_boot.py")
for name in ("buffer", "config", "deadline", "defaults", "frame", "mqtt", "net", "node",
             "payloads", "reading", "ringfile", "rtcstate", "settings", "sht4x",
             "uplink_espnow", "wake"):
    module(name + ".py")
