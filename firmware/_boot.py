# Frozen into the fast-boot image in place of the ESP32 port's own _boot.py (see
# manifest.py): a wake that only samples ends in deep sleep here, before the flash
# filesystem is mounted; every other boot mounts it as the port's _boot.py does and
# goes on to boot.py and main.py.
import wake

wake.quick()

import gc  # noqa: E402
import vfs  # noqa: E402

from flashbdev import bdev  # noqa: E402

try:
    if bdev:
        vfs.mount(bdev, "/")
except OSError:
    import inisetup

    inisetup.setup()

gc.collect()
