"""Cold internal surfaces: temperature factor, surface RH, condensation.

References
----------
.. [1] BS EN ISO 13788:2012, Hygrothermal performance of building components —
   internal surface temperature to avoid critical surface humidity.
.. [2] BRE IP1/06 (2006), Assessing the effects of thermal bridging at junctions and
   around openings: f_Rsi ≥ 0.75 for dwellings.
.. [3] BS 5250:2021, Management of moisture in buildings.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from backend.risk.psychrometrics import dew_point, saturation_vapour_pressure
from dampwatch_core.const import DEFAULT_F_RSI

__all__ = [
    "DEFAULT_F_RSI",
    "condensation",
    "surface_relative_humidity",
    "surface_temperature",
    "temperature_factor",
]

FloatArray = NDArray[np.floating]


def surface_temperature(indoor_c: ArrayLike, outdoor_c: ArrayLike, f_rsi: ArrayLike) -> FloatArray:
    """Temperature of the coldest internal surface [°C]: ``θ_si = θ_e + f_Rsi·(θ_i − θ_e)``
    [1]_ from indoor air ``θ_i`` and outdoor air ``θ_e`` [°C] and the temperature
    factor ``f_Rsi`` [–]."""
    ti = np.asarray(indoor_c, dtype=np.float64)
    te = np.asarray(outdoor_c, dtype=np.float64)
    return np.asarray(te + np.asarray(f_rsi, dtype=np.float64) * (ti - te))


def temperature_factor(
    surface_c: ArrayLike, indoor_c: ArrayLike, outdoor_c: ArrayLike
) -> FloatArray:
    """Temperature factor ``f_Rsi = (θ_si − θ_e)/(θ_i − θ_e)`` [–] from a surface probe
    (calibration); NaN where indoor and outdoor are within 1 K (ill-conditioned)."""
    si = np.asarray(surface_c, dtype=np.float64)
    ti = np.asarray(indoor_c, dtype=np.float64)
    te = np.asarray(outdoor_c, dtype=np.float64)
    diff = ti - te
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(np.abs(diff) >= 1.0, (si - te) / diff, np.nan))


def surface_relative_humidity(
    indoor_c: ArrayLike, indoor_rh_pct: ArrayLike, surface_c: ArrayLike
) -> FloatArray:
    """RH at a surface [%], assuming the room's vapour pressure reaches it:
    ``RH_si = RH_i·e_s(θ_i)/e_s(θ_si)``, capped at 100 [1]_."""
    rh = np.asarray(indoor_rh_pct, dtype=np.float64)
    ratio = saturation_vapour_pressure(indoor_c) / saturation_vapour_pressure(surface_c)
    return np.asarray(np.minimum(rh * ratio, 100.0))


def condensation(
    indoor_c: ArrayLike, indoor_rh_pct: ArrayLike, surface_c: ArrayLike
) -> NDArray[np.bool_]:
    """True where the surface is at or below the room air's dew point (``θ_si ≤ T_d``)."""
    return np.asarray(np.asarray(surface_c, dtype=np.float64) <= dew_point(indoor_c, indoor_rh_pct))
