"""Psychrometrics of indoor air.

All functions take scalars or numpy arrays (broadcast) and return the same shape.

References
----------
.. [1] Alduchov, O. A. & Eskridge, R. E. (1996). Improved Magnus form approximation of
   saturation vapor pressure. J. Appl. Meteor. 35, 601–609.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "E0_PA",
    "R_V",
    "A",
    "B",
    "absolute_humidity",
    "dew_point",
    "relative_humidity",
    "saturation_vapour_pressure",
    "vapour_pressure",
]

#: Magnus coefficients of Alduchov & Eskridge (1996) [1]_ over water.
E0_PA = 610.94
A = 17.625
B = 243.04  # °C
#: Specific gas constant of water vapour [J/(kg·K)].
R_V = 461.5

FloatArray = NDArray[np.floating]


def saturation_vapour_pressure(temp_c: ArrayLike) -> FloatArray:
    """Saturation vapour pressure over water.

    Parameters
    ----------
    temp_c : numeric — air temperature [°C]

    Returns
    -------
    numeric — saturation vapour pressure [Pa]; ``610.94·exp(17.625·T/(243.04+T))`` [1]_.
    Over water also below 0 °C (a stated choice, for outdoor data).
    """
    t = np.asarray(temp_c, dtype=np.float64)
    return np.asarray(E0_PA * np.exp(A * t / (B + t)))


def vapour_pressure(temp_c: ArrayLike, rh_pct: ArrayLike) -> FloatArray:
    """Partial pressure of water vapour [Pa] from temperature [°C] and RH [%]."""
    return np.asarray(
        np.asarray(rh_pct, dtype=np.float64) / 100.0 * saturation_vapour_pressure(temp_c)
    )


def dew_point(temp_c: ArrayLike, rh_pct: ArrayLike) -> FloatArray:
    """Dew point temperature [°C] (Magnus form inverted [1]_).

    ``γ = ln(RH/100) + 17.625·T/(243.04+T)``, ``T_d = 243.04·γ/(17.625−γ)``. RH of 0 %
    has no dew point (−inf is returned as NaN).
    """
    t = np.asarray(temp_c, dtype=np.float64)
    rh = np.asarray(rh_pct, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.log(rh / 100.0) + A * t / (B + t)
        td = B * gamma / (A - gamma)
    return np.asarray(np.where(rh > 0, td, np.nan))


def absolute_humidity(temp_c: ArrayLike, rh_pct: ArrayLike) -> FloatArray:
    """Water vapour density [g/m³]: ``1000·p_v/(461.5·(T+273.15))``."""
    t = np.asarray(temp_c, dtype=np.float64)
    return np.asarray(1000.0 * vapour_pressure(t, rh_pct) / (R_V * (t + 273.15)))


def relative_humidity(temp_c: ArrayLike, vapour_pressure_pa: ArrayLike) -> FloatArray:
    """Relative humidity [%] of air at ``temp_c`` [°C] holding ``vapour_pressure_pa``
    [Pa], not capped (above 100 means condensation)."""
    return np.asarray(
        100.0
        * np.asarray(vapour_pressure_pa, dtype=np.float64)
        / saturation_vapour_pressure(temp_c)
    )
