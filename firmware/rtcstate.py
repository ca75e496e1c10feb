# Node state kept in RTC slow memory across deep sleep (lost on power loss).
#
# A fixed header (counters, last good config, backoff), up to `capacity` packed
# readings and a CRC-32 over both. The ESP32 keeps 2 KiB of user RTC memory: the
# capacity is cut to what fits, so a large RTC_READINGS cannot make saving fail.
# Loading checks the magic, the CRC and every field's range; anything else is treated
# as no state at all (a cold boot), never half-trusted.
import struct

from binascii import crc32

import reading

MAGIC = b"DWS2"
HEADER = "<4sIIHHIIIIHHHHHBBIH"
HEADER_SIZE = struct.calcsize(HEADER)
CRC_SIZE = 4
RTC_MEMORY = 2048  # bytes of user RTC memory on the ESP32 port
MAX_READINGS = (RTC_MEMORY - HEADER_SIZE - CRC_SIZE) // reading.SIZE
FLAG_LOW_BATTERY = 1
FLAG_COLD_PENDING = 2  # a cold boot's "unfinished" mark in flash is still to clear
FLAG_URGENT_SENT = 4   # this humid spell has had its urgent upload
FLAG_SURFACE = 8       # a surface probe is fitted (for the sampling wake)
FLAG_UPLOAD_NOW = 16   # the sampling wake took an urgent reading: upload without another


class State:
    def __init__(self, capacity, sample_s, upload_every, urgent_rh_centi):
        self.capacity = max(1, min(capacity, MAX_READINGS))
        self.seq = 0
        self.boot = 0
        self.samples_since_upload = 0
        self.fail_streak = 0
        self.next_try_ts = 0
        self.drops = 0
        self.sensor_failures = 0
        self.last_ntp_ts = 0
        self.sample_s = sample_s
        self.upload_every = upload_every
        self.urgent_rh_centi = urgent_rh_centi
        self.resets = 0       # wakes ended by the watchdog since power-on
        self.flags = 0
        self.ring_from = 0    # ring records before this index predate this power-on
        self.capacity_saved = 0  # the capacity the full path set (for the sampling wake)
        self.wdt_ms = 0          # the full path's watchdog timeout (for the sampling wake)
        self.readings = bytearray()
        self.fresh = True  # True when RTC memory held no valid state (cold boot)

    @property
    def count(self):
        return len(self.readings) // reading.SIZE

    def load(self, raw):
        """Restore from RTC memory bytes; leaves defaults (fresh) unless they are ours,
        intact (CRC) and in range."""
        if raw is None or len(raw) < HEADER_SIZE + CRC_SIZE or raw[:4] != MAGIC:
            return self
        fields = struct.unpack_from(HEADER, raw, 0)
        count = fields[12]
        end = HEADER_SIZE + count * reading.SIZE
        if count > self.capacity or len(raw) < end + CRC_SIZE:
            return self
        (crc,) = struct.unpack_from("<I", raw, end)
        if crc32(memoryview(raw)[:end]) != crc:
            return self
        (_, seq, boot, since, streak, next_try, drops, failures, last_ntp,
         sample_s, upload_every, urgent, _, resets, flags, saved, ring_from, wdt_ds) = fields
        if not (30 <= sample_s <= 3600 and 1 <= upload_every <= 64
                and 5000 <= urgent <= 10000 and since <= 10000 and streak <= 30):
            return self
        self.seq, self.boot, self.samples_since_upload, self.fail_streak = (
            seq, boot, since, streak)
        self.next_try_ts, self.drops, self.sensor_failures = next_try, drops, failures
        self.last_ntp_ts, self.sample_s, self.upload_every = last_ntp, sample_s, upload_every
        self.urgent_rh_centi, self.resets, self.flags = urgent, resets, flags
        self.ring_from, self.capacity_saved, self.wdt_ms = ring_from, saved, wdt_ds * 100
        self.readings = bytearray(raw[HEADER_SIZE:end])
        self.fresh = False
        return self

    def dump(self):
        body = struct.pack(
            HEADER, MAGIC, self.seq, self.boot, min(self.samples_since_upload, 10000),
            self.fail_streak, self.next_try_ts, self.drops, self.sensor_failures,
            self.last_ntp_ts, self.sample_s, self.upload_every, self.urgent_rh_centi,
            self.count, min(self.resets, 65535), self.flags, self.capacity, self.ring_from,
            min(self.wdt_ms // 100, 65535),
        ) + self.readings
        return body + struct.pack("<I", crc32(body))
