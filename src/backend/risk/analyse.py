"""The engine on CSV files (``dampwatch analyse``): readings in, explained risk out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.risk.csvio import RowError, hold_on_grid, read_outdoor, read_readings
from backend.risk.engine import ClimateGrid, EngineParams, score_grid
from backend.risk.levels import FlatAssessment, SeriesInfo, assess_flats
from backend.risk.mould import MaterialClass
from backend.risk.thresholds import Thresholds, load_thresholds
from dampwatch_core.const import DEFAULT_F_RSI
from dampwatch_core.errors import ValidationError

__all__ = ["AnalysisResult", "analyse_csv"]

#: Finer grids keep time-weighting exact for irregular samples; coarser ones bound memory.
MAX_GRID_CELLS = 20_000_000


@dataclass
class AnalysisResult:
    flats: list[FlatAssessment]
    errors: list[tuple[str, RowError]] = field(default_factory=list)
    thresholds_version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "thresholds_version": self.thresholds_version,
            "flats": [f.as_dict() for f in self.flats],
            "rejected_rows": [
                {"file": f, "line": e.line, "error": e.message} for f, e in self.errors
            ],
        }


def analyse_csv(
    readings_path: Path,
    *,
    outdoor_path: Path | None = None,
    f_rsi: float = DEFAULT_F_RSI,
    material: MaterialClass = "s",
    decline: float = 0.25,
    occupied_only: bool = False,
    thresholds: Thresholds | None = None,
) -> AnalysisResult:
    if not 0.0 < f_rsi <= 1.0:
        raise ValidationError(f"--f-rsi {f_rsi} must be in (0, 1]")
    if decline < 0:
        raise ValidationError(f"--decline {decline} must be ≥ 0")
    th = thresholds or load_thresholds()
    table = read_readings(readings_path)
    errors = [(str(readings_path), e) for e in table.errors]
    outdoor = None
    if outdoor_path is not None:
        outdoor = read_outdoor(outdoor_path)
        errors += [(str(outdoor_path), e) for e in outdoor.errors]
    if not table.series:
        raise ValidationError(f"{readings_path}: no valid readings")
    keys = sorted(table.series)
    t_min = min(int(s["ts"][0]) for s in table.series.values())
    t_max = max(int(s["ts"][-1]) for s in table.series.values())
    start = t_min // 3600 * 3600
    end = (t_max + 3600) // 3600 * 3600 + 3600
    step = 60 if len(keys) * (end - start) // 60 <= MAX_GRID_CELLS else 300
    grid_ts = np.arange(start, end, step, dtype=np.int64)
    n, m = len(keys), grid_ts.size
    temp = np.full((n, m), np.nan)
    rh = np.full((n, m), np.nan)
    surface = np.full((n, m), np.nan)
    infos = []
    for i, key in enumerate(keys):
        s = table.series[key]
        temp[i] = hold_on_grid(s["ts"], s["temp_c"], grid_ts)
        rh[i] = hold_on_grid(s["ts"], s["rh_pct"], grid_ts)
        has_probe = bool(np.isfinite(s["surface_c"]).any())
        if has_probe:
            ok = np.isfinite(s["surface_c"])
            surface[i] = hold_on_grid(s["ts"][ok], s["surface_c"][ok], grid_ts)
        source = (
            "probe" if has_probe else ("f_rsi" if outdoor is not None and outdoor.ts.size else None)
        )
        infos.append(SeriesInfo(key[0], key[1], f_rsi, source))
    outdoor_grid = None
    if outdoor is not None and outdoor.ts.size:
        outdoor_grid = hold_on_grid(outdoor.ts, outdoor.temp_c, grid_ts, max_gap_s=3 * 3600)
    grid = ClimateGrid(
        start=start,
        step_s=step,
        temp_c=temp,
        rh_pct=rh,
        rooms=[k[1] for k in keys],
        f_rsi=np.full(n, f_rsi),
        surface_c=surface if table.has_surface else None,
        outdoor_c=outdoor_grid,
    )
    daily, _ = score_grid(
        grid,
        params=EngineParams(
            material=material, decline=decline, occupied_only=occupied_only, limits=th.metrics
        ),
    )
    flats = assess_flats(daily, infos, th)
    return AnalysisResult(flats, errors, th.version)
