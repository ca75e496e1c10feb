# Readings waiting for upload: RTC memory first, spilled to the flash ring when the
# uplink is down or RTC memory is full. The ring always holds the older readings, so
# uploading the ring before RTC memory keeps the order oldest first.
import reading


class ReadingBuffer:
    def __init__(self, state, ring):
        self.state = state
        self.ring = ring

    @property
    def pending(self):
        return self.ring.count + self.state.count

    @property
    def drops(self):
        return self.state.drops + self.ring.drops

    def add(self, record):
        state = self.state
        if state.count >= state.capacity:
            self.spill()
        if state.count >= state.capacity:  # flash failed too: drop the oldest, count it
            state.readings = state.readings[reading.SIZE:]
            state.drops += 1
        state.readings += record

    def spill(self):
        """Move RTC readings to the flash ring. False if flash could not be written."""
        if not self.state.count:
            return True
        try:
            self.ring.append(self.state.readings)
        except OSError:
            return False
        self.state.readings = bytearray()
        return True

    def batch(self, limit):
        """(source, packed records) of the oldest up to `limit` readings."""
        if self.ring.count:
            return "ring", self.ring.peek(limit)
        return "rtc", bytes(self.state.readings[:limit * reading.SIZE])

    def commit(self, source, n):
        """Forget the first n readings of `source` once the broker acknowledged them."""
        if source == "ring":
            self.ring.pop(n)
        else:
            self.state.readings = self.state.readings[n * reading.SIZE:]

    def rebase(self, delta, ring_from=0):
        """Shift readings taken before the clock was set by `delta` seconds: those in
        RTC memory, and those in the ring from record index `ring_from` on (readings
        of an earlier power-on, whose clock started elsewhere, are left as they are)."""
        def fix(rec):
            ts, t, rh, s = reading.unpack(rec)
            return reading.pack(ts + delta, t, rh, s) if ts < reading.VALID_MIN_TS else rec

        rtc = self.state.readings
        for off in range(0, len(rtc), reading.SIZE):
            rtc[off:off + reading.SIZE] = fix(rtc[off:off + reading.SIZE])
        self.ring.rewrite(fix, ring_from)
