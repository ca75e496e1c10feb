# The sampling config: contract ranges, validation of the backend's retained config,
# and the last good config in flash (so it survives a battery change).
import json

RANGES = (
    ("sample_s", 30, 3600),
    ("upload_every", 1, 64),
    ("urgent_rh_pct", 50, 100),
)


def parse(payload):
    """(sample_s, upload_every, urgent_rh_centi) from a config payload, or None unless
    it is contract v1 with every value present, of the right type and in range."""
    try:
        obj = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(obj, dict) or obj.get("v") != 1 or isinstance(obj.get("v"), bool):
        return None
    values = []
    for name, lo, hi in RANGES:
        value = obj.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if name != "urgent_rh_pct" and not isinstance(value, int):
            return None
        if not lo <= value <= hi:  # also false for NaN
            return None
        values.append(value)
    return values[0], values[1], int(values[2] * 100 + 0.5)


def load_node_file(path):
    """{'boot': int, 'config': [sample_s, upload_every, urgent_centi]} or {}."""
    try:
        with open(path) as f:
            obj = json.load(f)
        return obj if isinstance(obj, dict) else {}
    except (OSError, ValueError):
        return {}


def save_node_file(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    import os

    os.rename(tmp, path)
