# Sensirion SHT4x driver (SHT40/41/45), high-repeatability measurement.
#
# Datasheet: Sensirion "Datasheet SHT4x", v6.6 (2024): command 0xFD measures T and RH
# with high repeatability (8.3 ms max); 0x94 is a soft reset (1 ms max); each 16-bit
# word is followed by a CRC-8 (polynomial 0x31, init 0xFF, no reflection, xor 0);
# T = -45 + 175 * S_T / 65535 [degC], RH = -6 + 125 * S_RH / 65535 [%], RH cropped to
# 0-100. Values are returned as integers in hundredths, computed without floats so
# that the ESP32's single-precision floats never change a digit.
import time

CMD_MEASURE_HIGH = b"\xfd"
CMD_SOFT_RESET = b"\x94"


class SensorError(Exception):
    pass


def crc8(data):
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def temp_centi(raw):
    """Hundredths of degC from a raw temperature word, rounded half up."""
    return (2 * 17500 * raw + 65535) // (2 * 65535) - 4500


def rh_centi(raw):
    """Hundredths of % RH from a raw humidity word, rounded half up, cropped 0-100 %."""
    value = (2 * 12500 * raw + 65535) // (2 * 65535) - 600
    return 0 if value < 0 else 10000 if value > 10000 else value


def check_words(buf):
    """Return the two data words of a 6-byte answer, or raise SensorError on a bad CRC."""
    if len(buf) != 6:
        raise SensorError("short read")
    if crc8(buf[0:2]) != buf[2] or crc8(buf[3:5]) != buf[5]:
        raise SensorError("crc")
    return (buf[0] << 8) | buf[1], (buf[3] << 8) | buf[4]


class SHT4x:
    def __init__(self, i2c, addr=0x44, meas_ms=10, reset_ms=2, attempts=2):
        self.i2c = i2c
        self.addr = addr
        self.meas_ms = meas_ms
        self.reset_ms = reset_ms
        self.attempts = attempts
        self.crc_errors = 0
        self.bus_errors = 0
        self._buf = bytearray(6)

    def soft_reset(self):
        try:
            self.i2c.writeto(self.addr, CMD_SOFT_RESET)
        except OSError:
            self.bus_errors += 1
        time.sleep_ms(self.reset_ms)

    def read_raw(self):
        """One measurement: (raw_t, raw_rh). Raises SensorError on NACK or bad CRC."""
        try:
            self.i2c.writeto(self.addr, CMD_MEASURE_HIGH)
            time.sleep_ms(self.meas_ms)
            self.i2c.readfrom_into(self.addr, self._buf)
        except OSError:
            self.bus_errors += 1
            raise SensorError("nack")
        try:
            return check_words(self._buf)
        except SensorError:
            self.crc_errors += 1
            raise

    def measure(self):
        """(temp_centi, rh_centi), retrying after a soft reset; None when every attempt
        failed (the caller counts it; a value is never invented)."""
        for attempt in range(self.attempts):
            try:
                raw_t, raw_rh = self.read_raw()
                return temp_centi(raw_t), rh_centi(raw_rh)
            except SensorError:
                if attempt + 1 < self.attempts:
                    self.soft_reset()
        return None
