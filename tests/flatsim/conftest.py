from __future__ import annotations

from pathlib import Path

import pytest

from simulators.flatsim import Estate, generate, load_estate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "flatsim"
#: 2026-01-26 00:00 UTC: a fixed end so the tests do not depend on today's date.
FIXED_END = 1769385600


@pytest.fixture(scope="session")
def small_estate() -> Estate:
    return generate(load_estate(EXAMPLES / "small.toml"))


@pytest.fixture(scope="session")
def demo_estate() -> Estate:
    return generate(load_estate(EXAMPLES / "demo.toml"), end=FIXED_END)
