# Contract v1 payloads, written by hand so readings keep their exact decimals and no
# float ever rounds on a single-precision ESP32.
import json

import reading

OFFLINE_WILL = b'{"v":1,"state":"offline"}'
TOPIC_ROOT = "dampwatch/v1/dev/"


def topic(device_id, kind):
    return TOPIC_ROOT + device_id + "/" + kind


def telemetry(seq, fw, batt_mv, rssi_dbm, records, sent=None):
    """`sent`: the device clock at sending (Unix s), so the receiver can correct the
    readings by the clock's offset; left out while the clock was never set."""
    parts = ['{"v":1,"seq":%d' % seq]
    if fw is not None:  # a relay does not know the node's firmware version
        parts.append(',"fw":%s' % json.dumps(fw))
    if sent is not None and sent >= reading.VALID_MIN_TS:
        parts.append(',"sent":%d' % sent)
    if batt_mv is not None:
        parts.append(',"batt_mv":%d' % batt_mv)
    if rssi_dbm is not None:
        parts.append(',"rssi_dbm":%d' % rssi_dbm)
    parts.append(',"readings":[')
    for off in range(0, len(records), reading.SIZE):
        ts, t, rh, s = reading.unpack(records, off)
        parts.append('%s{"ts":%d,"temp_c":%s,"rh_pct":%s' % (
            "," if off else "", ts, reading.centi_str(t), reading.centi_str(rh)))
        if s is not None:
            parts.append(',"surface_c":%s' % reading.centi_str(s))
        parts.append("}")
    parts.append("]}")
    return "".join(parts).encode()


def status(fw, batt_mv, boot, reset, extra):
    obj = {"v": 1, "state": "online", "fw": fw, "boot": boot, "reset": reset}
    if batt_mv is not None:
        obj["batt_mv"] = batt_mv
    obj.update(extra)
    return json.dumps(obj).encode()
