"""Compatibility: the first estate API over :mod:`simulators.estate`.

``load_estate(path)`` returns the estate file (``EstateSpec``) and
``generate(spec, end=None)`` the generated estate (``Estate``), ending now by default.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulators.estate import BlockSpec, DeviceData, EstateData, FlatData, Tenant, load_estate
from simulators.estate import Estate as EstateSpec
from simulators.estate import parse_estate as _parse_estate

__all__ = [
    "BlockSpec",
    "DeviceData",
    "Estate",
    "EstateSpec",
    "FlatData",
    "Tenant",
    "generate",
    "load_estate",
    "parse_estate",
]

Estate = EstateData


def parse_estate(data: Mapping[str, Any], source: str) -> EstateSpec:
    """Validate an estate file's parsed TOML (scenario paths relative to the cwd)."""
    return _parse_estate(data, source, base_dir=Path.cwd())


def generate(spec: EstateSpec, *, end: int | None = None) -> EstateData:
    """Simulate ``spec`` for its days up to ``end`` (default: now)."""
    return spec.generate(end=int(time.time()) if end is None else end)
