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
    """Sensitivity class coefficients of Ojanen et al. (2010) [2]_: growth
    rates below and from M = 1, the M_max coefficients A, B, C, and RH_min."""

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
    t2 = t.reshape(size, hours)
    rh2 = rh.reshape(size, hours)
    out = np.empty((size, hours), dtype=np.float64)
    dry = dry0.astype(np.float64, copy=True)
    # a few hours at a time, time-major: the block's arrays stay in cache, and each
    # hour's step works on one contiguous row of all surfaces
    span = max(1, min(hours, BLOCK_VALUES // max(size, 1)))
    for h0 in range(0, hours, span):
        h1 = min(hours, h0 + span)
        out[:, h0:h1] = _integrate(
            np.ascontiguousarray(t2[:, h0:h1].T),
            np.ascontiguousarray(rh2[:, h0:h1].T),
            m,
            dry,
            p,
            decline,
        ).T
    return out.reshape(*state_shape, hours), m.reshape(state_shape), dry.reshape(state_shape)


#: Values per array in one block of hours (float64: 1 MiB).
BLOCK_VALUES = 1 << 17


def _integrate(
    t_t: NDArray[np.float64],
    rh_t: NDArray[np.float64],
    m: NDArray[np.float64],
    dry: NDArray[np.float64],
    p: MouldParams,
    decline: float,
) -> NDArray[np.float64]:
    """Step ``m`` and ``dry`` (updated in place) through time-major ``(hours, size)``
    surface conditions; returns M after each hour, time-major."""
    hours, size = t_t.shape
    valid = np.isfinite(t_t) & np.isfinite(rh_t)
    # RH_crit ≥ RH_min, so growth needs RH ≥ RH_min
    with np.errstate(invalid="ignore"):
        cand = valid & (t_t > 0) & (t_t < 50) & (rh_t >= p.rh_min)
    # per hour: rate·Δt with k1 for M < 1 and for M ≥ 1, and 2.3·M_max, where growing
    # (dense arithmetic with harmless stand-ins elsewhere: cheaper than gathering)
    t_safe = np.where(cand, t_t, 20.0)
    rh_safe = np.where(cand, rh_t, 100.0)
    rh_crit = critical_rh(t_safe, p.rh_min)
    grows = cand & (rh_safe >= rh_crit)
    not_growing = ~grows
    rate = np.log(t_safe)
    rate *= -0.68
    rate -= 13.9 * np.log(rh_safe)
    rate += 66.02
    np.exp(rate, out=rate)
    np.divide(DT_DAYS / 7.0, rate, out=rate)
    rate[not_growing] = 0.0
    rate_lo = p.k1_below_1 * rate
    rate_hi = np.multiply(p.k1_from_1, rate, out=rate)
    x = np.subtract(rh_crit, rh_safe, out=t_safe)
    x /= rh_crit - 100.0
    m_max23 = p.a + p.b * x - p.c * x * x
    m_max23 *= 2.3
    m_max23[not_growing] = 0.0

    # The dry spell does not depend on M: growth resets it, a valid hour without growth
    # lengthens it, a gap leaves it. So the decline of every hour is known beforehand.
    inc = valid & not_growing
    dry_before = _dry_spell(inc, grows, dry)
    fall = np.where(dry_before < 6.0, -0.032 * decline * DT_DAYS, 0.0)
    fall[dry_before >= 24.0] = -0.016 * decline * DT_DAYS
    fall[~inc] = 0.0

    out_t = np.empty((hours, size), dtype=np.float64)
    k2 = np.empty(size)
    k1r = np.empty(size)
    below_1 = np.empty(size, dtype=bool)
    any_growth = np.any(grows, axis=1)
    for h in range(hours):
        if any_growth[h]:
            # dm = k1·k2·rate where growing (rate is 0 elsewhere, and so is k2 as
            # M ≥ M_max = 0), plus the decline where not growing (else 0)
            np.multiply(m, 2.3, out=k2)
            np.subtract(k2, m_max23[h], out=k2)
            with np.errstate(over="ignore"):
                np.exp(k2, out=k2)
            np.subtract(1.0, k2, out=k2)
            np.maximum(k2, 0.0, out=k2)
            np.less(m, 1.0, out=below_1)
            np.copyto(k1r, rate_hi[h])
            np.copyto(k1r, rate_lo[h], where=below_1)
            np.multiply(k2, k1r, out=k2)
            np.add(m, k2, out=m)
        np.add(m, fall[h], out=m)
        np.clip(m, 0.0, 6.0, out=m)
        out_t[h] = m
    return out_t


def _dry_spell(
    inc: NDArray[np.bool_], reset: NDArray[np.bool_], dry: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Hours since the dry spell began before each hour (time-major ``(hours, size)``),
    starting from ``dry``, which is advanced past the last hour in place: ``reset``
    hours set it to 0, ``inc`` hours add 1, others keep it."""
    hours, size = inc.shape
    # counts[h]: inc hours in [0, h); counts only grow, so the count at the latest
    # reset before h is a running maximum of the counts marked just after resets
    counts = np.zeros((hours + 1, size), dtype=np.int32)
    np.cumsum(inc, axis=0, dtype=np.int32, out=counts[1:])
    base = np.zeros((hours + 1, size), dtype=np.int32)
    np.copyto(base[1:], counts[1:], where=reset)
    np.maximum.accumulate(base, axis=0, out=base)
    before = (counts - base).astype(np.float64)
    no_reset = np.ones((hours + 1, size), dtype=bool)
    np.logical_not(np.logical_or.accumulate(reset, axis=0), out=no_reset[1:])
    before += np.where(no_reset, dry, 0.0)
    dry[...] = before[-1]
    return before[:-1]
