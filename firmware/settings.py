# Effective settings: defaults.py overridden by the untracked secrets.py.
from defaults import *  # noqa

try:
    from secrets import *  # noqa
except ImportError:
    pass
