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


def pid():
    with open("/proc/self/stat") as f:
        return int(f.read().split()[0])


def reset_now(cause):
    """End this process at once, as a chip reset would: nothing the firmware could
    catch, no `finally`, no state saved. The harness reads the cause from reset.json."""
    save("reset.json", {"cause": cause})
    os.system("kill -9 %d" % pid())
    while True:  # the signal arrives asynchronously; never return to the firmware
        pass
