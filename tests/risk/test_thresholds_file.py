"""A landlord's thresholds file is validated like the estate and scenario files: each
problem named by file, table and key; a file from before [metrics] still loads."""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from backend.risk.thresholds import load_thresholds
from dampwatch_core.errors import ConfigError

BUNDLED = (files("backend.risk") / "thresholds.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "high_mould_index = 1.0",
            "high_mould_indx = 1.0",
            "[damp] unknown key 'high_mould_indx' (did you mean 'high_mould_index'?)",
        ),
        ("min_coverage = 0.8", 'min_coverage = "most"', "[flags] min_coverage must be float"),
        ("min_coverage = 0.8", "min_coverage = 8", "[flags] min_coverage=8.0 is outside 0–1"),
        ("min_heated_days = 3", "min_heated_days = true", "[flags] min_heated_days must be int"),
        ("flatline_hours = 12", "flatline_hours = -1", "[flags] flatline_hours=-1 must be ≥ 0"),
        ('version = "2026.2"', "", "version is required"),
        ("[cold]", "[chill]", "[cold] table is required"),
        ("days = 7", "days = 0", "[window] days=0 is outside 1–366"),
    ],
)
def test_a_bad_thresholds_file_is_explained(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in BUNDLED
    path = tmp_path / "mine.toml"
    path.write_text(BUNDLED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: ") + ".*" + re.escape(message)):
        load_thresholds(path)


def test_a_landlords_file_is_read_as_written(tmp_path: Path) -> None:
    """Its own numbers are used; without [metrics] the bundled limits count."""
    start = BUNDLED.index("[metrics]")
    end = BUNDLED.index("[damp]")
    path = tmp_path / "mine.toml"
    path.write_text(
        (BUNDLED[:start] + BUNDLED[end:])
        .replace('version = "2026.2"', 'version = "ours-3"')
        .replace("min_coverage = 0.8", "min_coverage = 0.6"),
        encoding="utf-8",
    )
    th = load_thresholds(path)
    assert (th.version, th.flags.min_coverage, th.window_days) == ("ours-3", 0.6, 7)
    assert th.metrics == load_thresholds().metrics
    assert th.flags.min_heated_days == tomllib.loads(BUNDLED)["flags"]["min_heated_days"]


def test_an_unreadable_thresholds_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read thresholds .*nope\.toml"):
        load_thresholds(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("version = [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_thresholds(tmp_path / "bad.toml")
