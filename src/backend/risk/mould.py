"""The VTT mould growth model, integrated hourly over many surfaces at once.

Mould index M from 0 (no growth) to 6 (full coverage): 1 = microscopic growth starts,
3 = visible growth.

References
----------
.. [1] Hukka, A. & Viitanen, H. (1999). A mathematical model of mould growth on wooden
   material. Wood Science and Technology 33, 475–485.
.. [2] Ojanen, T. et al. (2010). Mold growth modeling of building structures using
   sensitivity classes of materials. Thermal Performance of the Exterior Envelopes of
   Whole Buildings XI, ASHRAE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MATERIALS",
    "MaterialClass",
    "MouldParams",
    "critical_rh",
    "mould_index",
]

MaterialClass = Literal["vs", "s", "mr", "r"]


@dataclass(frozen=True)
class MouldParams:
    """Sensitivity class coefficients of Ojanen et al. (2010) [2]_ (Table in
    ``shared/science.md``)."""

    k1_below_1: float
    k1_from_1: float
    a: float
    b: float
    c: float
    rh_min: float


MATERIALS: dict[str, MouldParams] = {
    "vs": MouldParams(1.0, 2.0, 1.0, 7.0, 2.0, 80.0),
    "s": MouldParams(0.578, 0.386, 0.3, 6.0, 1.0, 80.0),
    "mr": MouldParams(0.072, 0.097, 0.0, 5.0, 1.5, 85.0),
    "r": MouldParams(0.033, 0.014, 0.0, 3.0, 1.0, 85.0),
}

DT_DAYS = 1.0 / 24.0


def critical_rh(temp_c: ArrayLike, rh_min: float) -> NDArray[np.floating]:
    """Critical RH [%] for growth at surface temperature [°C]:
    ``max(−0.00267·T³ + 0.160·T² − 3.13·T + 100, RH_min)`` for T ≤ 20 °C, else ``RH_min``
    [1]_ [2]_."""
    t = np.asarray(temp_c, dtype=np.float64)
    poly = ((-0.00267 * t + 0.160) * t - 3.13) * t + 100.0  # Horner form
    return np.asarray(np.where(t <= 20.0, np.maximum(poly, rh_min), rh_min))


def mould_index(
    surface_c: ArrayLike,
    surface_rh_pct: ArrayLike,
    *,
    material: MaterialClass = "s",
    decline: float = 0.25,
    m0: ArrayLike = 0.0,
    dry_hours0: ArrayLike = 0.0,
) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating]]:
    """Integrate the VTT mould index hourly (explicit Euler, Δt = 1/24 day).

    Parameters
    ----------
    surface_c, surface_rh_pct : array, shape ``(..., hours)`` — hourly surface
        temperature [°C] and RH [%]; NaN hours leave the state unchanged.
    material : ``vs|s|mr|r`` — sensitivity class (default ``s``: painted plaster).
    decline : float — decline coefficient ``C_mat`` (default 0.25).
    m0, dry_hours0 : array, shape ``(...)`` — state carried from the previous run: the
        index, and hours since the current dry spell began.

    Returns
    -------
    (m, m_final, dry_hours) — the index after each hour ``(..., hours)``, the final index
    and the final dry-spell length ``(...)``, so the next run can continue.

    Growth when ``0 < T < 50`` and ``RH ≥ RH_crit``, per day
    ``k1·k2 / (7·exp(−0.68·ln T − 13.9·ln RH + 66.02))`` with
    ``k2 = max(1 − exp(2.3·(M − M_max)), 0)``, ``M_max = A + B·x − C·x²``,
    ``x = (RH_crit − RH)/(RH_crit − 100)``; otherwise decline by the time since the dry
    spell began: −0.032·C_mat per day for the first 6 h, 0 to 24 h, −0.016·C_mat after
    [1]_ [2]_. M is clamped to [0, 6].
    """
    p = MATERIALS[material]
    t = np.asarray(surface_c, dtype=np.float64)
    rh = np.asarray(surface_rh_pct, dtype=np.float64)
    t, rh = np.broadcast_arrays(t, rh)
    state_shape = t.shape[:-1]
    hours = t.shape[-1]
    size = int(np.prod(state_shape))
    m = np.broadcast_to(np.asarray(m0, dtype=np.float64), state_shape).reshape(size).copy()
    dry0 = np.broadcast_to(np.asarray(dry_hours0, dtype=np.float64), state_shape).reshape(size)
    # time-major (hours, size): each hour's step works on one contiguous row
    t_t = np.ascontiguousarray(t.reshape(size, hours).T)
    rh_t = np.ascontiguousarray(rh.reshape(size, hours).T)

    valid = np.isfinite(t_t) & np.isfinite(rh_t)
    # RH_crit ≥ RH_min, so growth needs RH ≥ RH_min: the growth terms are evaluated
    # only there (the same arithmetic per element, far fewer elements)
    with np.errstate(invalid="ignore"):
        cand = valid & (t_t > 0) & (t_t < 50) & (rh_t >= p.rh_min)
    grows = np.zeros_like(cand)
    rate = np.zeros((hours, size))
    m_max = np.zeros((hours, size))
    if cand.any():
        tc, rc = t_t[cand], rh_t[cand]
        rh_crit = critical_rh(tc, p.rh_min)
        g = rc >= rh_crit
        grows[cand] = g
        tg, rg, cg = tc[g], rc[g], rh_crit[g]
        rate[grows] = DT_DAYS / (7.0 * np.exp(-0.68 * np.log(tg) - 13.9 * np.log(rg) + 66.02))
        x = (cg - rg) / (cg - 100.0)
        m_max[grows] = p.a + p.b * x - p.c * x * x
    inc = valid & ~grows  # hours that lengthen the dry spell
    decline_early = -0.032 * decline * DT_DAYS
    decline_late = -0.016 * decline * DT_DAYS

    k1_lo, k1_hi = p.k1_below_1, p.k1_from_1
    out_t = np.empty((hours, size), dtype=np.float64)
    dry = dry0.copy()
    k1 = np.empty(size)
    k2 = np.empty(size)
    fall = np.empty(size)
    flag = np.empty(size, dtype=bool)
    for h in range(hours):
        # dm = k1·k2·rate where growing (rate is 0 elsewhere, and so is k2 as
        # M ≥ M_max = 0), plus the decline where valid and not growing (else 0)
        fall.fill(decline_late)
        np.less(dry, 24.0, out=flag)
        np.copyto(fall, 0.0, where=flag)
        np.less(dry, 6.0, out=flag)
        np.copyto(fall, decline_early, where=flag)
        np.logical_not(inc[h], out=flag)
        np.copyto(fall, 0.0, where=flag)
        np.less(m, 1.0, out=flag)
        k1.fill(k1_hi)
        np.copyto(k1, k1_lo, where=flag)
        np.subtract(m, m_max[h], out=k2)
        np.multiply(k2, 2.3, out=k2)
        with np.errstate(over="ignore"):
            np.exp(k2, out=k2)
        np.subtract(1.0, k2, out=k2)
        np.maximum(k2, 0.0, out=k2)
        np.multiply(k1, k2, out=k1)
        np.multiply(k1, rate[h], out=k1)
        np.add(k1, fall, out=k1)
        np.add(m, k1, out=m)
        np.maximum(m, 0.0, out=m)
        np.minimum(m, 6.0, out=m)
        out_t[h] = m
        # dry spell: reset by growth, lengthened by a valid hour without it
        np.add(dry, 1.0, out=dry, where=inc[h])
        np.copyto(dry, 0.0, where=grows[h])
    out = out_t.T.reshape(*state_shape, hours)
    return out, m.reshape(state_shape), dry.reshape(state_shape)
