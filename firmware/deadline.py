# A point in time (ticks_ms) that every blocking operation of a wake must respect.
import time


class Deadline:
    def __init__(self, ms, start=None):
        self.start = time.ticks_ms() if start is None else start
        self.end = time.ticks_add(self.start, ms)

    def remaining_ms(self):
        return time.ticks_diff(self.end, time.ticks_ms())

    def expired(self):
        return self.remaining_ms() <= 0

    def sub(self, ms):
        """A deadline that ends after `ms` or at this one, whichever is first."""
        d = Deadline(ms)
        if time.ticks_diff(self.end, d.end) < 0:
            d.end = self.end
        return d

    def elapsed_ms(self):
        return time.ticks_diff(time.ticks_ms(), self.start)
