# Shared state of the simulated board, kept in files under $DW_SIM so that it
# outlives the MicroPython process (a "deep sleep" ends the process).
import json
import os

DIR = os.getenv("DW_SIM") or "."


def path(name):
    return DIR + "/" + name


def load(name, default=None):
    try:
        with open(path(name)) as f:
            return json.load(f)
    except OSError:
        return default


def save(name, obj):
    with open(path(name), "w") as f:
        json.dump(obj, f)


def append(name, obj):
    with open(path(name), "a") as f:
        f.write(json.dumps(obj) + "\n")


SIM = load("sim.json", {})
CLOCK = load("clock.json", {"now": 1764201600, "offset": 0, "wake": 0, "reset": "poweron"})
