"""Fixtures for the messages tests (the harness is in ``notifyworld.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

# The harness sits next to this file (named so it cannot clash with other test areas).
sys.path.insert(0, str(Path(__file__).parent))

from notifyworld import world

__all__ = ["world"]
