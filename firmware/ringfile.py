# A bounded ring of packed readings in one flash file.
#
# Header: magic, capacity, head (index of the oldest record), count, drops. When full,
# appending overwrites the oldest record and counts it in `drops`. Records are written
# before the header, so a power cut mid-write loses at most the records being added.
import struct

import reading

MAGIC = b"DWR1"
HEADER = "<4sIIII"
HEADER_SIZE = struct.calcsize(HEADER)


class RingFile:
    def __init__(self, path, capacity):
        self.path = path
        self.capacity = capacity
        self.head = 0
        self.count = 0
        self.drops = 0
        self._read_header()

    def _read_header(self):
        try:
            with open(self.path, "rb") as f:
                raw = f.read(HEADER_SIZE)
        except OSError:
            return
        if len(raw) != HEADER_SIZE or raw[:4] != MAGIC:
            return
        _, capacity, head, count, drops = struct.unpack(HEADER, raw)
        if capacity == 0 or head >= capacity or count > capacity:
            return
        self.capacity, self.head, self.count, self.drops = capacity, head, count, drops

    def _write_header(self, f):
        f.seek(0)
        f.write(struct.pack(HEADER, MAGIC, self.capacity, self.head, self.count, self.drops))

    def _open(self):
        try:
            return open(self.path, "r+b")
        except OSError:
            f = open(self.path, "w+b")
            self._write_header(f)
            return f

    def append(self, records):
        """Append packed records (a multiple of reading.SIZE bytes), oldest first.
        Returns how many old records were dropped to make room."""
        n = len(records) // reading.SIZE
        dropped = 0
        with self._open() as f:
            for i in range(n):
                if self.count == self.capacity:
                    self.head = (self.head + 1) % self.capacity
                    self.count -= 1
                    dropped += 1
                slot = (self.head + self.count) % self.capacity
                f.seek(HEADER_SIZE + slot * reading.SIZE)
                f.write(records[i * reading.SIZE:(i + 1) * reading.SIZE])
                self.count += 1
            self.drops += dropped
            self._write_header(f)
        return dropped

    def peek(self, n):
        """The oldest min(n, count) records as one bytes object."""
        n = min(n, self.count)
        out = bytearray()
        if n == 0:
            return out
        with open(self.path, "rb") as f:
            first = min(n, self.capacity - self.head)
            f.seek(HEADER_SIZE + self.head * reading.SIZE)
            out += f.read(first * reading.SIZE)
            if n > first:
                f.seek(HEADER_SIZE)
                out += f.read((n - first) * reading.SIZE)
        return out

    def pop(self, n):
        n = min(n, self.count)
        self.head = (self.head + n) % self.capacity
        self.count -= n
        with self._open() as f:
            self._write_header(f)

    def rewrite(self, fn):
        """Apply fn(packed record) -> packed record to every stored record."""
        if self.count == 0:
            return
        with self._open() as f:
            for i in range(self.count):
                pos = HEADER_SIZE + ((self.head + i) % self.capacity) * reading.SIZE
                f.seek(pos)
                rec = f.read(reading.SIZE)
                f.seek(pos)
                f.write(fn(rec))
