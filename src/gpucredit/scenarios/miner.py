"""Miner-market paths of one block: bitcoin price, network hash rate, fees and hashprice.

The miner factors are simulated *beside* the GPU scenario of the same block and depend on it
through the shared regime and the GPU shocks (``docs/model.md``, "Miner market and correlation
convergence").

**Shocks.** Each month the vector ``[btc, hashrate, gpu_rent, sofr]`` of standard-normal
shocks has the correlation matrix of the month's regime (:class:`ConvergenceParams`). The GPU
shocks are given: the rent shock of the first generation is the raw normal 0 of the GPU block
(the GPU model's Cholesky factor is lower triangular, so its row 0 is ``e_0``) and the SOFR
shock is the last row of that factor applied to the raw normals (the raw normal itself when no
GPU correlation is given: the shipped GPU model has rates uncorrelated with rents and
utilisation). The miner shocks are drawn conditionally on them:

* Gaussian copula: ``Z_m = B g + L_c e`` with ``B = R_mg R_gg^-1``, ``L_c`` the Cholesky factor
  of ``R_mm - B R_gm`` and ``e`` independent normals (the conditional normal law).
* Student-t copula with normal marginals: the GPU rent shock is mapped to a t variable
  ``y = T_nu^-1(Phi(g_rent))``; the mixing variable of the t law is drawn from its conditional
  law given ``y``, ``(nu + y^2) / W ~ chi^2_(nu+1)``; ``z = y / sqrt(W)`` is then N(0, 1) and
  independent of ``W``, exactly as the Gaussian core of a t vector. The miner cores are drawn
  conditionally on ``(z, s)`` as in the Gaussian case (``s`` the SOFR shock made independent of
  the rent shock and recombined with ``z``), scaled by ``sqrt(W)`` and mapped back to normal
  marginals, ``x = Phi^-1(T_nu(sqrt(W) Z))``. The copula of ``(btc, hashrate, gpu_rent)`` is
  then exactly the t copula with the regime's correlations and the miner marginals exactly
  N(0, 1); the SOFR leg keeps its Gaussian marginal and its correlation is approximately the
  matrix's.

**Bitcoin.** A month of ``n`` days of the daily Merton jump-diffusion has, given its jump count
``K ~ Poisson(lambda n)``, a normal log return ``N(n mu + K m, n sigma^2 + K v^2)``. The
correlated shock drives that normal (diffusion and jump sizes together); the jump count stays
idiosyncratic. The law of each month is the exact law of ``factors.bitcoin.simulate_btc``.

**Network.** Log monthly mean hash rate: random walk with the fitted drift and volatility,
started from the last complete month of the fit and bridged to ``as_of`` at the drift. Fees per
block: the AR(1) of ``FeeParams`` driven by an idiosyncratic normal (an assumption: no shipped
evidence ties fees to the other shocks within a month). Subsidy: the protocol rule at the
height projected at the recent block rate (the next halving lands on its estimated date).
Hashprice: ``price x (subsidy + fees) x blocks per day / hash rate``.

**Freezing.** :meth:`MinerShocks.frozen` replaces a group's shocks by zeros (its median path:
zero normals, the expected jump count); :func:`freeze_gpu_normals` does the same on the GPU
raw normals. Pass the *unfrozen* GPU normals to :func:`simulate_miner_market` and freeze the
miner side with ``frozen=``: freezing one leg then leaves the other legs' laws unchanged.

Random numbers come from ``Component.MINER_NORMALS`` (normals and jump counts) and
``Component.MINER_MIXING`` (chi-square mixing variables) via :func:`gpucredit.random.draw_paths`,
and every operation is element-wise, so path ``i`` gets the same numbers whatever the block.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numba
import numpy as np
from scipy import special

from gpucredit._typing import BoolArray, Float64Array, Int8Array
from gpucredit.factors.bitcoin import hashprice_usd_per_ph_day_from
from gpucredit.factors.miner_params import (
    BTC,
    GPU_RENT,
    HASHRATE,
    SOFR,
    ConvergenceParams,
    MinerMarketParams,
)
from gpucredit.factors.params import CorrelationParams
from gpucredit.random import Component, draw_paths
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.scenario import ScenarioSet

__all__ = [
    "GPU_GROUPS",
    "MINER_GROUPS",
    "TH_S_PER_EH_S",
    "MinerMarketPaths",
    "MinerShocks",
    "deterministic_miner_market",
    "draw_miner_shocks",
    "freeze_gpu_normals",
    "miner_market_paths",
    "simulate_miner_market",
]

#: Factor groups frozen on the miner side.
MINER_GROUPS = ("bitcoin", "network")
#: Factor groups frozen on the GPU side (raw normals).
GPU_GROUPS = ("gpu_rent", "rates")
_ALL_GROUPS = frozenset(MINER_GROUPS + GPU_GROUPS)

TH_S_PER_EH_S = 1.0e6
"""TH/s in one EH/s (SI prefixes: exa = 10^18, tera = 10^12)."""


@dataclass(frozen=True, slots=True)
class MinerShocks:
    """The miner shocks of one block, shape (path, month).

    Attributes
    ----------
    btc : ndarray
        Correlated N(0, 1) shock of the month's normal BTC log-return part.
    hashrate : ndarray
        Correlated N(0, 1) shock of the month's hash-rate log growth.
    fees : ndarray
        Idiosyncratic N(0, 1) innovation of the log fees per block.
    jump_excess : ndarray
        BTC jump count of the month less its mean ``lambda x days`` (jumps).
    btc_own : ndarray, optional
        The independent N(0, 1) draw behind ``btc`` (its part not explained by the GPU
        shocks), on which the pricing measure shifts bitcoin (``scenarios.measure``).
    """

    btc: Float64Array
    hashrate: Float64Array
    fees: Float64Array
    jump_excess: Float64Array
    btc_own: Float64Array | None = None

    def frozen(self, groups: Iterable[str]) -> MinerShocks:
        """These shocks with the named groups at their median path (zeros).

        Parameters
        ----------
        groups : iterable of str
            Any of ``"bitcoin"`` (price shock and jump count), ``"network"`` (hash rate and
            fees), ``"gpu_rent"``, ``"rates"`` (the GPU groups, ignored here: freeze them on
            the GPU normals with :func:`freeze_gpu_normals`).
        """
        names = _check_groups(groups)
        out = self
        if "bitcoin" in names:
            zero = np.zeros_like(self.btc)
            out = dataclasses.replace(out, btc=zero, jump_excess=np.zeros_like(self.jump_excess))
        if "network" in names:
            out = dataclasses.replace(
                out, hashrate=np.zeros_like(self.hashrate), fees=np.zeros_like(self.fees)
            )
        return out


@dataclass(frozen=True, slots=True, eq=False)
class MinerMarketPaths:
    """Miner-market paths of one block, shape (path, month) unless noted.

    Attributes
    ----------
    month_ends : tuple of datetime.date
        End of each month, shape (month,).
    btc_usd : ndarray
        Month-end BTC price, USD per BTC.
    hashrate_eh_s : ndarray
        Monthly mean network hash rate, EH/s.
    subsidy_btc : ndarray, shape (month,)
        Block subsidy at each month's end, BTC per block.
    fees_btc_per_block : ndarray
        Transaction fees, BTC per block.
    hashprice_usd_per_ph_day : ndarray
        Hashprice, USD per PH/s per day.
    shocks : MinerShocks
        The shocks used (after freezing).
    """

    month_ends: tuple[dt.date, ...]
    btc_usd: Float64Array
    hashrate_eh_s: Float64Array
    subsidy_btc: Float64Array
    fees_btc_per_block: Float64Array
    hashprice_usd_per_ph_day: Float64Array
    shocks: MinerShocks

    @property
    def n_paths(self) -> int:
        return int(self.btc_usd.shape[0])

    @property
    def fee_share(self) -> Float64Array:
        """Fees / (subsidy + fees), ratio, shape (path, month)."""
        return np.asarray(
            self.fees_btc_per_block / (self.subsidy_btc[None, :] + self.fees_btc_per_block),
            dtype=np.float64,
        )


def _check_groups(groups: Iterable[str]) -> frozenset[str]:
    names = frozenset(groups)
    unknown = names - _ALL_GROUPS
    if unknown:
        raise ValueError(
            f"unknown factor group(s) {sorted(unknown)}: expected any of {sorted(_ALL_GROUPS)}"
        )
    return names


def freeze_gpu_normals(
    normals: Float64Array, groups: Iterable[str], n_generations: int
) -> Float64Array:
    """GPU raw normals with the named groups at their median path (zeros).

    Parameters
    ----------
    normals : ndarray, shape (path, month, factor)
        Raw GPU factor normals (``Shocks.normals``): rents (one per generation), utilisation,
        SOFR.
    groups : iterable of str
        ``"gpu_rent"`` zeroes the rent columns *and* utilisation (merchant utilisation moves
        with the rent market: it is the same leg of the bet); ``"rates"`` zeroes SOFR. The
        miner groups are ignored here.
    n_generations : int
        Number of rent columns.

    Returns
    -------
    ndarray, shape (path, month, factor)
        A copy; the input is not changed.
    """
    names = _check_groups(groups)
    if normals.ndim != 3 or normals.shape[2] != n_generations + 2:
        raise ValueError(
            f"normals have shape {normals.shape}, expected (path, month, {n_generations + 2})"
        )
    out = np.array(normals, dtype=np.float64, copy=True)
    if "gpu_rent" in names:
        out[:, :, : n_generations + 1] = 0.0
    if "rates" in names:
        out[:, :, n_generations + 1] = 0.0
    return out


# --- shocks ----------------------------------------------------------------------------------


def _month_days(grid: TimeGrid) -> Float64Array:
    return np.array(
        [(grid.end(m) - grid.start(m)).days for m in range(1, grid.n_months + 1)],
        dtype=np.float64,
    )


def _sofr_shock(
    normals: Float64Array,
    regime: Int8Array,
    convergence: ConvergenceParams,
    gpu_correlation: CorrelationParams | None,
) -> Float64Array:
    """The correlated SOFR shock of the GPU model, shape (path, month)."""
    n_gen = normals.shape[2] - 2
    if gpu_correlation is None:
        if convergence.rent_sofr != (0.0, 0.0):
            raise ValueError(
                f"ConvergenceParams.rent_sofr = {convergence.rent_sofr} is not zero: pass "
                f"gpu_correlation= (the GPU model's CorrelationParams) to recover the SOFR shock"
            )
        return np.asarray(normals[:, :, -1], dtype=np.float64)
    if any(
        not math.isclose(a, b, abs_tol=1e-12)
        for a, b in zip(convergence.rent_sofr, gpu_correlation.rent_sofr, strict=True)
    ):
        raise ValueError(
            f"ConvergenceParams.rent_sofr = {convergence.rent_sofr} differs from the GPU "
            f"model's {gpu_correlation.rent_sofr}: build it with convergence_params(..., "
            f"gpu_correlation=...)"
        )
    out = np.zeros(normals.shape[:2])
    for r in (0, 1):
        row = gpu_correlation.cholesky(n_gen, r)[-1]
        acc = np.zeros(normals.shape[:2])
        for j in range(row.size):  # fixed order: bit-identical for any block split
            if row[j] != 0.0:
                acc += row[j] * normals[:, :, j]
        out = np.where(regime == r, acc, out)
    return out


def _conditional(corr: Float64Array) -> tuple[Float64Array, Float64Array]:
    """``B = R_mg R_gg^-1`` and the Cholesky factor of ``R_mm - B R_gm`` (m: btc, hashrate;
    g: gpu_rent, sofr)."""
    m = [BTC, HASHRATE]
    g = [GPU_RENT, SOFR]
    r_mg = corr[np.ix_(m, g)]
    r_gg = corr[np.ix_(g, g)]
    b = np.linalg.solve(r_gg, r_mg.T).T
    cond = corr[np.ix_(m, m)] - b @ r_mg.T
    chol = np.linalg.cholesky(0.5 * (cond + cond.T))
    return np.asarray(b, dtype=np.float64), np.asarray(chol, dtype=np.float64)


def _norm_to_t(g: Float64Array, dof: float) -> Float64Array:
    """``T_nu^-1(Phi(g))``, computed on the lower tail for accuracy (odd in g)."""
    lower = special.stdtrit(dof, special.ndtr(-np.abs(g)))
    return np.asarray(-np.sign(g) * lower, dtype=np.float64)


def _t_to_norm(y: Float64Array, dof: float) -> Float64Array:
    """``Phi^-1(T_nu(y))``, computed on the lower tail for accuracy (odd in y)."""
    lower = special.ndtri(special.stdtr(dof, -np.abs(y)))
    return np.asarray(-np.sign(y) * lower, dtype=np.float64)


@numba.njit(cache=True, nogil=True)
def _mix_kernel(
    stress: BoolArray,
    core_rent: Float64Array,
    core_sofr: Float64Array,
    e_btc: Float64Array,
    e_hash: Float64Array,
    coefficients: Float64Array,
    z_btc: Float64Array,
    z_hash: Float64Array,
) -> None:
    """Bitcoin and hash-rate shocks, each path-month with its own regime's conditional
    coefficients (``coefficients[regime]``: b00 b01 lc00 b10 b11 lc10 lc11), summed left to
    right as ``b00 r + b01 s + lc00 e`` (no fused multiply-add: the NumPy expression's bits)."""
    for p in range(stress.shape[0]):
        for t in range(stress.shape[1]):
            c = coefficients[1] if stress[p, t] else coefficients[0]
            r, s, e = core_rent[p, t], core_sofr[p, t], e_btc[p, t]
            z_btc[p, t] = c[0] * r + c[1] * s + c[2] * e
            z_hash[p, t] = c[3] * r + c[4] * s + c[5] * e + c[6] * e_hash[p, t]


def draw_miner_shocks(
    params: MinerMarketParams,
    convergence: ConvergenceParams,
    grid: TimeGrid,
    regime: Int8Array,
    gpu_normals: Float64Array,
    seed: int,
    start: int,
    stop: int,
    *,
    gpu_correlation: CorrelationParams | None = None,
) -> MinerShocks:
    """Draw the miner shocks of paths ``[start, stop)`` given the GPU shocks of the block.

    Parameters
    ----------
    params : MinerMarketParams
        Jump intensity of the price (for the jump counts).
    convergence : ConvergenceParams
        Correlations by regime and copula.
    grid : TimeGrid
        Months of the run.
    regime : ndarray of int8, shape (path, month)
        The block's regime (``ScenarioSet.regime``): 0 calm, 1 stress.
    gpu_normals : ndarray, shape (path, month, factor)
        Raw (unfrozen) GPU normals of the block (``Shocks.normals``).
    seed, start, stop : int
        The run's seed and the block's path range.
    gpu_correlation : CorrelationParams, optional
        The GPU model's correlations, to recover its SOFR shock (see the module docstring).

    Returns
    -------
    MinerShocks
        Shocks with the regime's correlation with the GPU shocks (module docstring).
    """
    n, n_months = stop - start, grid.n_months
    if regime.shape != (n, n_months):
        raise ValueError(f"regime has shape {regime.shape}, expected ({n}, {n_months})")
    if gpu_normals.ndim != 3 or gpu_normals.shape[:2] != (n, n_months):
        raise ValueError(
            f"gpu_normals has shape {gpu_normals.shape}, expected ({n}, {n_months}, F)"
        )
    lam_days = params.btc.jump_intensity * _month_days(grid)

    def draw(rng: np.random.Generator, k: int) -> Float64Array:
        normals = rng.standard_normal((k, n_months, 3))
        counts = rng.poisson(lam_days[None, :], size=(k, n_months)).astype(np.float64)
        return np.concatenate([normals, counts[:, :, None]], axis=2)

    own = draw_paths(seed, Component.MINER_NORMALS, start, stop, draw)
    e_btc, e_hash, e_fee, counts = (own[:, :, i] for i in range(4))
    g_rent = np.asarray(gpu_normals[:, :, 0], dtype=np.float64)
    g_sofr = _sofr_shock(gpu_normals, regime, convergence, gpu_correlation)
    stress = regime == 1

    scale: Float64Array | None = None
    if convergence.copula == "student_t":
        dof = convergence.dof
        chi2 = draw_paths(
            seed,
            Component.MINER_MIXING,
            start,
            stop,
            lambda rng, k: rng.chisquare(dof + 1.0, size=(k, n_months)),
        )
        y_rent = _norm_to_t(g_rent, dof)
        scale = np.sqrt((dof + y_rent**2) / chi2)  # sqrt(W) given y_rent
        core_rent = y_rent / scale
        rho = np.where(stress, convergence.rent_sofr[1], convergence.rent_sofr[0])
        sofr_perp = (g_sofr - rho * g_rent) / np.sqrt(1.0 - rho**2)
        core_sofr = rho * core_rent + np.sqrt(1.0 - rho**2) * sofr_perp
    else:
        core_rent, core_sofr = g_rent, g_sofr

    coefficients = np.empty((2, 7))  # per regime: b00 b01 lc00 b10 b11 lc10 lc11
    for r in (0, 1):
        b, lc = _conditional(convergence.matrix(r))
        coefficients[r] = (b[0, 0], b[0, 1], lc[0, 0], b[1, 0], b[1, 1], lc[1, 0], lc[1, 1])
    z_btc = np.empty(stress.shape)
    z_hash = np.empty(stress.shape)
    _mix_kernel(stress, core_rent, core_sofr, e_btc, e_hash, coefficients, z_btc, z_hash)
    if scale is not None:
        z_btc = _t_to_norm(scale * z_btc, convergence.dof)
        z_hash = _t_to_norm(scale * z_hash, convergence.dof)
    return MinerShocks(
        btc=np.asarray(z_btc, dtype=np.float64),
        hashrate=np.asarray(z_hash, dtype=np.float64),
        fees=np.asarray(e_fee, dtype=np.float64),
        jump_excess=np.asarray(counts - lam_days[None, :], dtype=np.float64),
        btc_own=np.asarray(e_btc, dtype=np.float64),
    )


# --- paths -----------------------------------------------------------------------------------


def _months_from(earlier: dt.date, later: dt.date) -> int:
    return (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month)


@numba.njit(cache=True, nogil=True)
def _fee_kernel(
    shocks: Float64Array, x0: float, phi: float, sigma: float, level: float, out: Float64Array
) -> None:
    """Log fees per block (path, month): the AR(1) ``x_t = phi x_(t-1) + sigma e_t`` from
    ``x0``, plus ``level``."""
    for p in range(shocks.shape[0]):
        x = x0
        for t in range(shocks.shape[1]):
            x = phi * x + sigma * shocks[p, t]
            out[p, t] = level + x


def miner_market_paths(
    params: MinerMarketParams, grid: TimeGrid, shocks: MinerShocks
) -> MinerMarketPaths:
    """Turn miner shocks into price, hash-rate, fee and hashprice paths.

    Parameters
    ----------
    params : MinerMarketParams
        Models and starting values (``params.as_of`` must be ``grid.as_of``).
    grid : TimeGrid
        Months of the run.
    shocks : MinerShocks
        Shocks, shape (path, month) each.

    Returns
    -------
    MinerMarketPaths
        Vectorised over paths; a cumulative sum (price, hash rate) or a loop over months
        (fees).
    """
    if params.as_of != grid.as_of:
        raise ValueError(
            f"MinerMarketParams.as_of = {params.as_of} but the grid starts {grid.as_of}"
        )
    n_months = grid.n_months
    if shocks.btc.shape[1] != n_months:
        raise ValueError(f"shocks have {shocks.btc.shape[1]} months, expected {n_months}")
    days = _month_days(grid)
    p = params.btc
    count = p.jump_intensity * days[None, :] + shocks.jump_excess
    sd = np.sqrt(p.sigma**2 * days[None, :] + p.jump_vol**2 * np.maximum(count, 0.0))
    log_ret = p.mu * days[None, :] + p.jump_mean * count + sd * shocks.btc
    if params.btc_log_shift:  # a named stress scenario's drift (scenarios.named)
        log_ret = log_ret + _month_shift(params.btc_log_shift, n_months)[None, :]
    btc = params.btc_spot_usd * np.exp(np.cumsum(log_ret, axis=1))

    hp = params.hashrate
    gap = _months_from(params.hashrate_h0_month, grid.end(1)) - 1  # steps before month 1
    log_h0 = math.log(params.hashrate_h0_th_s) + hp.drift * max(gap, 0)
    growth = hp.drift + hp.vol * shocks.hashrate
    if params.hashrate_log_shift:  # a named stress scenario's drift (scenarios.named)
        growth = growth + _month_shift(params.hashrate_log_shift, n_months)[None, :]
    log_h = log_h0 + np.cumsum(growth, axis=1)
    hashrate_th_s = np.exp(log_h)

    fp = params.fees
    fee_gap = max(_months_from(fp.last_month, grid.end(1)) - 1, 0)
    x = (math.log(fp.last_btc_per_block) - fp.log_level) * fp.phi**fee_gap
    log_fees = np.empty(shocks.fees.shape)
    _fee_kernel(
        np.asarray(shocks.fees, dtype=np.float64), x, fp.phi, fp.sigma, fp.log_level, log_fees
    )
    fees = np.exp(log_fees)

    month_ends = tuple(grid.month_ends)
    subsidy = np.array([params.hashprice.subsidy_btc(e) for e in month_ends], dtype=np.float64)
    fee_share = fees / (subsidy[None, :] + fees)
    hashprice = hashprice_usd_per_ph_day_from(
        btc, subsidy[None, :], fee_share, params.hashprice.blocks_per_day, hashrate_th_s
    )
    return MinerMarketPaths(
        month_ends=month_ends,
        btc_usd=np.asarray(btc, dtype=np.float64),
        hashrate_eh_s=np.asarray(hashrate_th_s / TH_S_PER_EH_S, dtype=np.float64),
        subsidy_btc=subsidy,
        fees_btc_per_block=np.asarray(fees, dtype=np.float64),
        hashprice_usd_per_ph_day=hashprice,
        shocks=shocks,
    )


def _month_shift(shift: tuple[float, ...], n_months: int) -> Float64Array:
    """A per-month log shift (``MinerMarketParams.btc_log_shift``) on the run's months: the
    given months first, zero after them, shape (month,)."""
    out = np.zeros(n_months)
    k = min(len(shift), n_months)
    out[:k] = shift[:k]
    return out


def simulate_miner_market(
    params: MinerMarketParams,
    convergence: ConvergenceParams,
    grid: TimeGrid,
    scen: ScenarioSet,
    gpu_normals: Float64Array,
    seed: int,
    start: int,
    stop: int,
    *,
    gpu_correlation: CorrelationParams | None = None,
    frozen: Iterable[str] = (),
) -> MinerMarketPaths:
    """Miner-market paths of one block, dependent on the block's GPU scenario.

    Parameters
    ----------
    params : MinerMarketParams
        Miner-market models as of ``grid.as_of``.
    convergence : ConvergenceParams
        Correlations by regime, the convergence switch and the copula.
    grid : TimeGrid
        Months of the run.
    scen : ScenarioSet
        The GPU scenario of the same block (its ``regime`` is used).
    gpu_normals : ndarray, shape (path, month, factor)
        The block's raw GPU normals (``Shocks.normals``), *unfrozen*.
    seed : int
        The run's seed.
    start, stop : int
        The block's path range.
    gpu_correlation : CorrelationParams, optional
        The GPU model's correlations (needed when its rates correlate with rents).
    frozen : iterable of str
        Miner groups held at their median path: ``"bitcoin"``, ``"network"`` (GPU groups are
        accepted and ignored; freeze those with :func:`freeze_gpu_normals`).

    Returns
    -------
    MinerMarketPaths
        Price (USD/BTC), hash rate (EH/s), subsidy and fees (BTC per block), hashprice (USD per
        PH/s per day) and the shocks used; path ``i`` is the same whatever the block split.
    """
    if scen.n_paths != stop - start:
        raise ValueError(
            f"scenario has {scen.n_paths} paths, block [{start}, {stop}) has {stop - start}"
        )
    shocks = draw_miner_shocks(
        params,
        convergence,
        grid,
        scen.regime,
        gpu_normals,
        seed,
        start,
        stop,
        gpu_correlation=gpu_correlation,
    )
    return miner_market_paths(params, grid, shocks.frozen(frozen))


def deterministic_miner_market(
    params: MinerMarketParams, grid: TimeGrid, n_paths: int = 1
) -> MinerMarketPaths:
    """The miner market with every miner shock zero (stress paths, breakevens).

    BTC follows its mean log return (flat under the default zero drift), hash rate grows at its
    drift, fees revert at the AR(1) speed, the subsidy halves on the projected date.
    """
    zeros = np.zeros((n_paths, grid.n_months))
    shocks = MinerShocks(btc=zeros, hashrate=zeros, fees=zeros, jump_excess=zeros)
    return miner_market_paths(params, grid, shocks)
