# Runs at every boot and wake before main.py (stock MicroPython runs it from the
# filesystem). A wake that only samples ends here in deep sleep; the rest go on to
# main.py. A fast-boot image runs the same call from its frozen _boot.py instead,
# before the filesystem is mounted.
import wake

wake.quick()
