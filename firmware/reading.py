# One packed reading: Unix seconds, temperature and surface temperature in hundredths
# of degC, RH in hundredths of %. 10 bytes, the same in RTC memory and the flash ring.
import struct

FMT = "<IhHh"
SIZE = 10
NO_SURFACE = -32768
# Any Unix time before this was taken before the RTC was set (ESP32 boots in 2000).
VALID_MIN_TS = 1577836800  # 2020-01-01


def pack(ts, temp_c100, rh_c100, surface_c100=None):
    return struct.pack(
        FMT, ts, temp_c100, rh_c100, NO_SURFACE if surface_c100 is None else surface_c100
    )


def unpack(buf, offset=0):
    ts, t, rh, s = struct.unpack_from(FMT, buf, offset)
    return ts, t, rh, (None if s == NO_SURFACE else s)


def centi_str(value):
    """Exact decimal text of a value in hundredths: 1952 -> "19.52", -5 -> "-0.05"."""
    sign = "-" if value < 0 else ""
    value = -value if value < 0 else value
    return "%s%d.%02d" % (sign, value // 100, value % 100)
