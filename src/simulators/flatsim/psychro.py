"""Psychrometrics of indoor air and cold surfaces, as ``shared/science.md`` states them.

Every function works on a float and on a numpy array.

References
----------
.. [1] Alduchov, O. A. and Eskridge, R. E. (1996), "Improved Magnus form approximation
   of saturation vapor pressure", J. Appl. Meteor. 35, 601–609.
.. [2] BS EN ISO 13788:2012, Hygrothermal performance of building components —
   internal surface temperature to avoid critical surface humidity.
.. [3] BRE IP1/06, Assessing the effects of thermal bridging at junctions and around
   openings (f_Rsi = 0.75 design minimum for dwellings).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "R_VAPOUR",
    "relative_humidity_pct",
    "saturation_vapour_density_g_m3",
    "saturation_vapour_pressure_pa",
    "surface_rh_pct",
    "surface_temperature_c",
    "vapour_density_g_m3",
]

#: Specific gas constant of water vapour [J/(kg·K)].
R_VAPOUR: Final = 461.5
_A: Final = 610.94
_B: Final = 17.625
_C: Final = 243.04

FloatArray = NDArray[np.float64]


def saturation_vapour_pressure_pa(temp_c: ArrayLike) -> FloatArray:
    """Saturation vapour pressure over water [Pa] at air temperature ``temp_c`` [°C].

    Magnus form with the Alduchov & Eskridge constants [1]_:
    ``e_s(T) = 610.94 · exp(17.625·T / (243.04 + T))``. Over water also below 0 °C.
    """
    t = np.asarray(temp_c, dtype=np.float64)
    return np.asarray(_A * np.exp(_B * t / (_C + t)), dtype=np.float64)


def vapour_density_g_m3(temp_c: ArrayLike, rh_pct: ArrayLike) -> FloatArray:
    """Absolute humidity ρ_v [g/m³] of air at ``temp_c`` [°C] and ``rh_pct`` [%].

    ``ρ_v = 1000 · p_v / (461.5 · (T + 273.15))`` with ``p_v = RH/100 · e_s(T)`` [1]_.
    """
    t = np.asarray(temp_c, dtype=np.float64)
    p_v = np.asarray(rh_pct, dtype=np.float64) / 100.0 * saturation_vapour_pressure_pa(t)
    return np.asarray(1000.0 * p_v / (R_VAPOUR * (t + 273.15)), dtype=np.float64)


def saturation_vapour_density_g_m3(temp_c: ArrayLike) -> FloatArray:
    """Vapour density of saturated air [g/m³] at ``temp_c`` [°C]."""
    return vapour_density_g_m3(temp_c, 100.0)


def relative_humidity_pct(temp_c: ArrayLike, vapour_density: ArrayLike) -> FloatArray:
    """Relative humidity [%] of air at ``temp_c`` [°C] holding ``vapour_density`` [g/m³].

    The inverse of :func:`vapour_density_g_m3`; not capped (callers cap at 100).
    """
    t = np.asarray(temp_c, dtype=np.float64)
    p_v = np.asarray(vapour_density, dtype=np.float64) / 1000.0 * R_VAPOUR * (t + 273.15)
    return np.asarray(100.0 * p_v / saturation_vapour_pressure_pa(t), dtype=np.float64)


def surface_temperature_c(
    indoor_c: ArrayLike, outdoor_c: ArrayLike, f_rsi: ArrayLike
) -> FloatArray:
    """Temperature of the coldest internal surface [°C] from the temperature factor [2]_ [3]_.

    ``θ_si = θ_e + f_Rsi · (θ_i − θ_e)``; ``f_rsi`` is dimensionless (0.75 is the UK
    design minimum, a thermal bridge can be 0.5 or less).
    """
    ti = np.asarray(indoor_c, dtype=np.float64)
    te = np.asarray(outdoor_c, dtype=np.float64)
    return np.asarray(te + np.asarray(f_rsi, dtype=np.float64) * (ti - te), dtype=np.float64)


def surface_rh_pct(
    indoor_c: ArrayLike, indoor_rh_pct: ArrayLike, surface_c: ArrayLike
) -> FloatArray:
    """RH at a surface [%] with the room's vapour pressure, capped at 100 [2]_.

    ``RH_si = RH_i · e_s(θ_i) / e_s(θ_si)``.
    """
    rh = (
        np.asarray(indoor_rh_pct, dtype=np.float64)
        * saturation_vapour_pressure_pa(indoor_c)
        / saturation_vapour_pressure_pa(surface_c)
    )
    return np.asarray(np.minimum(rh, 100.0), dtype=np.float64)
