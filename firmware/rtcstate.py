# Node state kept in RTC slow memory across deep sleep (lost on power loss).
#
# A fixed header (counters, last good config, backoff) and up to RTC_READINGS packed
# readings; the ESP32 keeps 2 KiB of user RTC memory, this uses at most 1.3 KiB.
import struct

import reading

MAGIC = b"DWS1"
HEADER = "<4sIIHHIIIIHHHH"
HEADER_SIZE = struct.calcsize(HEADER)


class State:
    def __init__(self, capacity, sample_s, upload_every, urgent_rh_centi):
        self.capacity = capacity
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
        self.readings = bytearray()
        self.fresh = True  # True when RTC memory held no valid state (cold boot)

    @property
    def count(self):
        return len(self.readings) // reading.SIZE

    def load(self, raw):
        """Restore from RTC memory bytes; leaves defaults (fresh) if they are not ours."""
        if raw is None or len(raw) < HEADER_SIZE or raw[:4] != MAGIC:
            return self
        fields = struct.unpack_from(HEADER, raw, 0)
        count = fields[12]
        end = HEADER_SIZE + count * reading.SIZE
        if count > self.capacity or len(raw) < end:
            return self
        (_, self.seq, self.boot, self.samples_since_upload, self.fail_streak,
         self.next_try_ts, self.drops, self.sensor_failures, self.last_ntp_ts,
         self.sample_s, self.upload_every, self.urgent_rh_centi, _) = fields
        self.readings = bytearray(raw[HEADER_SIZE:end])
        self.fresh = False
        return self

    def dump(self):
        return struct.pack(
            HEADER, MAGIC, self.seq, self.boot, self.samples_since_upload,
            self.fail_streak, self.next_try_ts, self.drops, self.sensor_failures,
            self.last_ntp_ts, self.sample_s, self.upload_every, self.urgent_rh_centi,
            self.count,
        ) + self.readings
