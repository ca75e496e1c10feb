# A bounded queue of packed readings in flash, in fixed-size segment files.
#
# On LittleFS a write into the middle of a file rewrites that file from the written
# block to its end, so one file used as a ring with a header at offset 0 costs the
# whole file (40 block erases at 80 KB) for every spill. Here records are only ever
# appended to the newest segment file (`<path>.<n>`, SEGMENT records each), whole
# segments are deleted once read or overwritten, and the positions live in a small
# index file (`<path>`) that LittleFS keeps inline in its metadata: an append or a pop
# costs a bounded number of block erases however full the queue is.
#
# Index: magic, capacity, first (absolute number of the oldest record), end (absolute
# number after the newest), drops. Record i sits in segment i // SEGMENT. Records are
# written before the index, so a power cut mid-write loses at most those records.
import os
import struct

import reading

MAGIC = b"DWR2"
HEADER = "<4sIIII"
HEADER_SIZE = struct.calcsize(HEADER)
SEGMENT = 256  # records per segment file (2560 bytes: within one 4 KiB flash block)


class RingFile:
    def __init__(self, path, capacity):
        self.path = path
        self.capacity = capacity
        self.first = 0
        self.end = 0
        self.drops = 0
        self._read_header()

    @property
    def count(self):
        return self.end - self.first

    @property
    def appended(self):
        """Absolute number the next appended record gets."""
        return self.end

    def _segment(self, n):
        return "%s.%d" % (self.path, n)

    def _read_header(self):
        try:
            with open(self.path, "rb") as f:
                raw = f.read(HEADER_SIZE)
        except OSError:
            return
        if len(raw) != HEADER_SIZE or raw[:4] != MAGIC:
            return
        _, capacity, first, end, drops = struct.unpack(HEADER, raw)
        if capacity == 0 or first > end or end - first > capacity + SEGMENT:
            return
        self.first, self.end, self.drops = first, end, drops

    def _write_header(self):
        with open(self.path, "wb") as f:
            f.write(struct.pack(HEADER, MAGIC, self.capacity, self.first, self.end,
                                self.drops))

    def _remove(self, n):
        try:
            os.remove(self._segment(n))
        except OSError:
            pass

    def _forget_before(self, first):
        """Advance the oldest record to `first`, deleting segments wholly before it."""
        for n in range(self.first // SEGMENT, first // SEGMENT):
            self._remove(n)
        self.first = first

    def append(self, records):
        """Append packed records (a multiple of reading.SIZE bytes), oldest first.
        Returns how many old records were dropped to make room."""
        total = len(records) // reading.SIZE
        done = 0
        while done < total:
            seg, slot = divmod(self.end, SEGMENT)
            n = min(total - done, SEGMENT - slot)
            self._write_segment(seg, slot, records[done * reading.SIZE:(done + n) * reading.SIZE])
            self.end += n
            done += n
        dropped = max(0, self.count - self.capacity)
        if dropped:
            self._forget_before(self.first + dropped)
            self.drops += dropped
        self._write_header()
        return dropped

    def _write_segment(self, seg, slot, data):
        name = self._segment(seg)
        at = slot * reading.SIZE
        try:
            size = os.stat(name)[6]
        except OSError:
            size = 0
        if size == at:  # the usual case: a plain append
            with open(name, "ab") as f:
                f.write(data)
            return
        # a segment cut short or holding records the index never recorded (a power
        # cut between the records and the index): keep what the index covers
        keep = b""
        if at:
            with open(name, "rb") as f:
                keep = f.read(at)
            keep += bytes(at - len(keep))
        with open(name, "wb") as f:
            f.write(keep)
            f.write(data)

    def _read(self, start, n):
        out = bytearray()
        while n > 0:
            seg, slot = divmod(start, SEGMENT)
            k = min(n, SEGMENT - slot)
            with open(self._segment(seg), "rb") as f:
                f.seek(slot * reading.SIZE)
                out += f.read(k * reading.SIZE)
            start += k
            n -= k
        return out

    def peek(self, n):
        """The oldest min(n, count) records as one bytes object."""
        return self._read(self.first, min(n, self.count))

    def pop(self, n):
        n = min(n, self.count)
        self._forget_before(self.first + n)
        if not self.count:  # empty: start the next append in a fresh segment
            self._remove(self.end // SEGMENT)
            self.first = self.end = (self.end // SEGMENT + 1) * SEGMENT
        self._write_header()

    def rewrite(self, fn, start=0):
        """Apply fn(packed record) -> packed record to every stored record numbered
        `start` or later (segments rewritten whole; rare: once per clock setting)."""
        i = max(self.first, start)
        while i < self.end:
            seg = i // SEGMENT
            name = self._segment(seg)
            with open(name, "rb") as f:
                data = bytearray(f.read())
            lo = i - seg * SEGMENT
            hi = min(self.end - seg * SEGMENT, len(data) // reading.SIZE)
            for k in range(lo, hi):
                off = k * reading.SIZE
                data[off:off + reading.SIZE] = fn(bytes(data[off:off + reading.SIZE]))
            with open(name, "wb") as f:
                f.write(data)
            i = (seg + 1) * SEGMENT
