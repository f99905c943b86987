"""Checks of the slicing schemes for ``sliced-bench validate`` (group ``slicing``).

Independent values: the L -> infinity limits of :mod:`validation.exact_slicing` (randomised
dense rules in d = 2, 3; a large Monte Carlo beyond), themselves checked against closed forms
(a translate: SW_2^2 = ||m||^2 / d for the empirical clouds; W_1 between two points: a kink
with a closed-form mean). Each scheme's mean over many seeds must be within its standard error
of the limit (two-sided z-tests, Holm's correction at :data:`ALPHA` over the family), and the
same test must reject mutated schemes whose directions are not uniform or whose control
variates are centred at the wrong mean. The RMSE at fixed L is reported against plain Monte
Carlo and POT's ``ot.sliced_wasserstein_distance`` on the same data. The helpers are also used
by the benchmarks and the curves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np
import ot
import scipy.stats
import torch
from threadpoolctl import threadpool_limits

from discrepancies import sfg, sw
from discrepancies._slices import fg_per_slice, wp_per_slice
from discrepancies.slicing import (
    SCHEMES,
    control_variates,
    haar_columns,
    leave_one_out_estimate,
    numpy_seed,
    rqmc_projections,
)
from validation.checks import CheckResult, Context, check
from validation.exact_slicing import ExactValue, mean_abs_projection, sliced_limit
from validation.stats import holm
from validation.threads import torch_threads

GROUP = "slicing"
ALPHA = 1e-3  # family-wise level of each check's z-tests (Holm)
BETA = 0.1  # the fused weight of the SFG cases
POT = "POT ot.sliced_wasserstein_distance (peer)"


@contextmanager
def one_thread() -> Iterator[None]:
    """torch and BLAS on one thread (many tiny calls: a thread pool only adds overhead)."""
    with torch_threads(1), threadpool_limits(1):
        yield


def clouds(n: int, d: int, seed: int, device: str = "cpu",
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Two anisotropic Gaussian clouds of n points in R^d (float64) with different means and
    covariances, so that W_p(theta) varies with theta in every way (not a translate)."""
    g = torch.Generator().manual_seed(seed)
    scale = torch.linspace(0.4, 1.6, d, dtype=torch.float64)
    X = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    Y = torch.randn(n, d, generator=g, dtype=torch.float64) * scale.flip(0) * 1.2
    Y[:, 0] += 1.5
    return X.to(device), Y.to(device)


@dataclass(frozen=True)
class Quantity:
    """A sliced quantity: its per-direction cost and its estimator for a scheme name."""

    name: str
    per_slice: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    estimate: Callable[..., float]  # (X, Y, L, seed, *, slicing) -> float
    schemes: tuple[str, ...]


def _w2(X: torch.Tensor, Y: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    return wp_per_slice(X, Y, P, 2.0)


SW2 = Quantity("SW_2^2", _w2,
               lambda X, Y, L, seed, *, slicing: float(
                   sw(X, Y, n_projections=L, seed=seed, slicing=slicing)) ** 2,
               tuple(SCHEMES))
SFG = Quantity(f"SFG (beta={BETA})", lambda X, Y, P: fg_per_slice(X, Y, P, BETA, 2.0),
               lambda X, Y, L, seed, *, slicing: float(
                   sfg(X, Y, beta=BETA, n_projections=L, seed=seed, slicing=slicing)),
               tuple(s for s in SCHEMES if not SCHEMES[s].control_variate))


def limit(quantity: Quantity, X: torch.Tensor, Y: torch.Tensor, quick: bool,
          seed: int = 0) -> ExactValue:
    """The L -> infinity value of ``quantity`` on X, Y (:func:`sliced_limit`)."""
    d = X.shape[1]
    size = None if d <= 3 else (1 << 14 if quick else 1 << 16)
    return sliced_limit(lambda P: quantity.per_slice(X, Y, P), d, size=size, seed=seed,
                        like=X)


# --------------------------------------------------------------------------------------------
# mutants: the same estimators with one thing broken


def _biased_rotation(d: int, L: int, generator: torch.Generator, dtype: torch.dtype,
                     device: torch.device) -> torch.Tensor:
    """"orthogonal" with the rotation taken from the QR of a matrix of uniform [0, 1) entries:
    orthonormal blocks, but not Haar (the first column leans towards (1, ..., 1))."""
    G = torch.rand(-(-L // d), d, d, generator=generator, dtype=torch.float64, device=device)
    return haar_columns(G).transpose(0, 1).reshape(d, -1)[:, :L].to(dtype)


def _unrotated_rqmc(d: int, L: int, generator: torch.Generator, dtype: torch.dtype,
                    device: torch.device) -> torch.Tensor:
    """"rqmc" in d = 2, 3 without the random rotation (a fixed point set), and in higher d
    with the Sobol' cube normalised directly (no Gaussian inverse CDF: not uniform)."""
    if d > 3:
        rng = np.random.default_rng(numpy_seed(generator))
        cube = scipy.stats.qmc.Sobol(d, scramble=True, seed=rng).random(L) * 2 - 1
        P = (cube / np.linalg.norm(cube, axis=1, keepdims=True)).T
        return torch.from_numpy(np.ascontiguousarray(P)).to(dtype=dtype, device=device)
    fixed = torch.Generator().manual_seed(0)  # the same point set every call
    return rqmc_projections(d, L, fixed, dtype, torch.device(device))


def _mutant_estimate(quantity: Quantity, X: torch.Tensor, Y: torch.Tensor, L: int, seed: int,
                     *, mutant: str) -> float:
    """The estimate of ``quantity`` by a mutated scheme (see :data:`MUTANTS`)."""
    g = torch.Generator(device=X.device).manual_seed(seed)
    d = X.shape[1]
    if mutant.startswith("control-variate"):
        P = SCHEMES["mc"].draw(d, L, g, X.dtype, X.device)
        f = quantity.per_slice(X, Y, P)
        Z, expected = control_variates(P, X, Y)
        if mutant == CV_IN_SAMPLE:  # least squares with intercept on all L directions
            z = Z - expected
            zc = z - z.mean(0)
            coef = torch.linalg.lstsq(zc, (f - f.mean()).unsqueeze(1)).solution.squeeze(1)
            return float((f - z @ coef).mean())
        return float(leave_one_out_estimate(f, Z - expected * d / (d - 1)))
    draw = {"orthogonal: QR of uniform entries": _biased_rotation,
            "rqmc: no randomisation (d <= 3) / no Phi^-1 (d > 3)": _unrotated_rqmc}[mutant]
    return float(quantity.per_slice(X, Y, draw(d, L, g, X.dtype, X.device)).mean())


#: the natural shortcut for the control-variate coefficient, biased by O(1/L)
CV_IN_SAMPLE = "control-variate: coefficient fitted on the same L directions"
#: mutant -> the quantities it applies to
MUTANTS = {"orthogonal: QR of uniform entries": (SW2, SFG),
           "rqmc: no randomisation (d <= 3) / no Phi^-1 (d > 3)": (SW2, SFG),
           "control-variate: E Z with 1/(d - 1) for 1/d": (SW2,),
           CV_IN_SAMPLE: (SW2,)}


def z_test(values: np.ndarray, exact: ExactValue) -> tuple[float, float]:
    """Two-sided z-test of mean(values) = exact.value, with the standard errors of both
    (a spread of exactly 0, as for a fixed point set, leaves the limit's error alone)."""
    se = math.sqrt(values.var(ddof=1) / values.size + exact.error**2)
    z = (values.mean() - exact.value) / se if se > 0 else (
        0.0 if values.mean() == exact.value else math.inf)
    return float(z), float(2 * scipy.stats.norm.sf(abs(z)))


# --------------------------------------------------------------------------------------------
# checks


@check(GROUP)
def exact_limits_on_closed_forms(ctx: Context) -> CheckResult:
    """The limits against closed forms: a translate (SW_2^2 = ||m||^2 / d, exact for the
    rules in d = 2, 3) and W_1 between two points (a kink: mean |theta^T v|), in d = 2, 3, 10,
    within 5 of their standard errors, which must be small."""
    rng = np.random.default_rng(ctx.seed + 100)
    rows, ok = {}, True
    for d in (2, 3, 10):
        X = torch.as_tensor(rng.standard_normal((40, d)), device=ctx.device)
        m = torch.as_tensor(rng.standard_normal(d), device=ctx.device)
        size = None if d <= 3 else 1 << 14
        shift = sliced_limit(partial(_w2, X, X + m), d, size=size, like=X)
        exact_shift = float(m @ m) / d
        x, y = X[:1], X[1:2]
        kink = sliced_limit(partial(wp_per_slice, x, y, p=1.0), d, size=size, like=X)
        exact_kink = mean_abs_projection((x - y)[0].cpu().numpy())
        rel_shift = abs(shift.value - exact_shift) / exact_shift
        z_kink = abs(kink.value - exact_kink) / kink.error
        rel_err = kink.error / exact_kink
        rows[d] = {"translate_rel_diff": rel_shift, "kink_z": z_kink, "kink_rel_se": rel_err}
        if d <= 3:
            ok &= rel_shift <= 1e-12 and z_kink <= 5 and rel_err <= 1e-5
        else:
            ok &= abs(shift.value - exact_shift) <= 5 * shift.error and z_kink <= 5
    summary = ", ".join(f"d={d}: translate {r['translate_rel_diff']:.0e}, kink |z| "
                        f"{r['kink_z']:.1f} (rel se {r['kink_rel_se']:.0e})"
                        for d, r in rows.items())
    return CheckResult(GROUP, "exact_limits_on_closed_forms", bool(ok), summary,
                       "d<=3: translate <= 1e-12 rel, kink |z| <= 5, rel se <= 1e-5; "
                       "d=10 (Monte Carlo): |z| <= 5",
                       "rules: shifted trapezoid (d=2), rotated Gauss-Legendre x azimuth (d=3), "
                       "2^14 x 8 directions (d=10)", rows)


@check(GROUP)
def schemes_exact_on_translates(ctx: Context) -> CheckResult:
    """Y = X + m: orthonormal blocks (L a multiple of d), the regular L-gon (d = 2) and the
    control variates (which contain W_2^2 = (theta^T m)^2 itself) give ||m||^2 / d to rounding;
    plain Monte Carlo does not (so the check can fail)."""
    rng = np.random.default_rng(ctx.seed + 101)
    worst, mc_err = 0.0, math.inf
    for d in (2, 3, 10):
        X = torch.as_tensor(rng.standard_normal((30, d)), device=ctx.device)
        m = torch.as_tensor(rng.standard_normal(d), device=ctx.device)
        exact = float(m @ m) / d
        cases = [("orthogonal", 2 * d), ("control-variate", 12)] + (
            [("rqmc", 7)] if d == 2 else [])
        for scheme, L in cases:
            value = float(sw(X, X + m, n_projections=L, seed=ctx.seed, slicing=scheme)) ** 2
            worst = max(worst, abs(value - exact) / exact)
        mc = float(sw(X, X + m, n_projections=12, seed=ctx.seed)) ** 2
        mc_err = min(mc_err, abs(mc - exact) / exact)
    return CheckResult(GROUP, "schemes_exact_on_translates", worst <= 1e-10 and mc_err > 1e-6,
                       f"max rel error {worst:.1e} (plain MC: >= {mc_err:.1e})",
                       "<= 1e-10", "d = 2, 3, 10; orthogonal L = 2d, control variates L = 12, "
                       "rqmc L = 7 (d = 2)", {"max_relative_error": worst})


def estimators(quantity: Quantity, X: torch.Tensor, Y: torch.Tensor, L: int,
               mutants: bool = True, quick: bool = False) -> dict[str, Callable[[int], float]]:
    """name -> ``estimate(seed)`` of ``quantity`` at L directions: every scheme that applies,
    POT's ``ot.sliced_wasserstein_distance`` (SW_2^2 only: a peer of "mc"), and the mutants
    (without :data:`CV_IN_SAMPLE` when ``quick``: its O(1/L) bias, about 4 % of SW_2^2 at
    L = 10, needs the full mode's seeds to show)."""
    out = {s: partial(quantity.estimate, X, Y, L, slicing=s) for s in quantity.schemes}
    if quantity is SW2:
        Xn, Yn = X.cpu().numpy(), Y.cpu().numpy()
        out[POT] = lambda seed: float(ot.sliced_wasserstein_distance(
            Xn, Yn, n_projections=L, seed=seed)) ** 2
    if mutants:
        for mutant, applies in MUTANTS.items():
            if quantity in applies and not (quick and mutant == CV_IN_SAMPLE):
                out[f"mutant {mutant}"] = partial(_mutant_estimate, quantity, X, Y, L,
                                                  mutant=mutant)
    return out


def _study(ctx: Context, dims: tuple[int, ...], L: int, n_seeds: int, n: int) -> list[dict]:
    """Estimates of SW_2^2 and SFG by every scheme, peer and mutant over ``n_seeds`` seeds in
    each d, against the limit: rows of (quantity, d, scheme, mean, z, p, rmse)."""
    rows = []
    seeds = range(ctx.seed * 100_003, ctx.seed * 100_003 + n_seeds)
    for d in dims:
        X, Y = clouds(n, d, ctx.seed + d, ctx.device)
        for quantity in (SW2, SFG):
            exact = limit(quantity, X, Y, ctx.quick, seed=ctx.seed)
            for name, fn in estimators(quantity, X, Y, L, quick=ctx.quick).items():
                values = np.array([fn(seed) for seed in seeds])
                z, p = z_test(values, exact)
                rows.append({"quantity": quantity.name, "d": d, "scheme": name,
                             "mean": float(values.mean()), "exact": exact.value,
                             "exact_se": exact.error, "z": z, "p": p,
                             "rmse": float(np.sqrt(np.mean((values - exact.value) ** 2)))})
    return rows


def _settings(ctx: Context) -> tuple[tuple[int, ...], int, int, int]:
    """(dimensions, L, seeds, n): L = 10 is not a power of 2 (Sobol', d = 10) nor a multiple
    of d = 3 (orthogonal: a partial block), so both documented edge cases are exercised."""
    return ((2, 3), 10, 200, 24) if ctx.quick else ((2, 3, 10), 10, 600, 48)


@check(GROUP)
def schemes_unbiased_mutants_caught(ctx: Context) -> list[CheckResult]:
    """Every scheme's mean over many seeds is within its standard error of the limit (plus the
    limit's own), for SW_2^2 and SFG (beta = 0.1), two-sided z-tests with Holm's correction at
    ALPHA over the family; the same tests, in the same family, reject every mutant."""
    dims, L, n_seeds, n = _settings(ctx)
    with one_thread():
        rows = _study(ctx, dims, L, n_seeds, n)
    _STUDIES[(ctx.seed, ctx.quick, ctx.device)] = rows
    rejected = holm([r["p"] for r in rows], ALPHA)
    for r, rej in zip(rows, rejected, strict=True):
        r["rejected"] = bool(rej)
    honest = [r for r in rows if not r["scheme"].startswith("mutant")]
    mutants = [r for r in rows if r["scheme"].startswith("mutant")]
    false_alarms = [f"{r['scheme']} {r['quantity']} d={r['d']} (z={r['z']:.1f})"
                    for r in honest if r["rejected"]]
    caught = {name: [r for r in mutants if r["scheme"] == name] for name in
              dict.fromkeys(r["scheme"] for r in mutants)}
    missed = [name for name, cases in caught.items() if not any(r["rejected"] for r in cases)]
    worst = max(honest, key=lambda r: abs(r["z"]))
    setting = f"d in {dims}, L = {L}, n = {n}, {n_seeds} seeds per case"
    return [
        CheckResult(GROUP, "schemes_unbiased", not false_alarms,
                    f"max |z| {abs(worst['z']):.2f} ({worst['scheme']}, {worst['quantity']}, "
                    f"d={worst['d']})" + (f"; rejected: {false_alarms}" if false_alarms else ""),
                    f"no rejection, Holm at {ALPHA} over {len(rows)} z-tests", setting,
                    {"rows": honest}),
        CheckResult(GROUP, "mutated_schemes_caught", not missed,
                    "; ".join(f"{name[7:]}: {sum(r['rejected'] for r in cases)}/{len(cases)} "
                              f"cases, max |z| {max(abs(r['z']) for r in cases):.1f}"
                              for name, cases in caught.items()),
                    "each mutant rejected in at least one case (quantity, d) by the same tests",
                    setting, {"rows": mutants}),
    ]


#: the study of :func:`schemes_unbiased_mutants_caught`, reused by :func:`rmse_against_mc`
_STUDIES: dict[tuple, list[dict]] = {}


@check(GROUP)
def rmse_against_mc(ctx: Context) -> CheckResult:
    """RMSE against the limit at L = 10, per scheme and d, as a ratio to plain Monte Carlo's
    (same seeds and data; POT's random projections as a peer). Criterion: no ratio above
    1 + 6 / sqrt(k) for k seeds (1.49 quick, 1.24 full): an RMSE from k seeds has a relative
    standard error near 1 / sqrt(2k), a ratio of two about 1 / sqrt(k), so POT (i.i.d. uniform
    like MC) passes, and a scheme materially worse than MC does not."""
    key = (ctx.seed, ctx.quick, ctx.device)
    rows = _STUDIES.get(key)
    if rows is None:
        dims, L, n_seeds, n = _settings(ctx)
        with one_thread():
            rows = _study(ctx, dims, L, n_seeds, n)
    honest = [r for r in rows if not r["scheme"].startswith("mutant")]
    mc = {(r["quantity"], r["d"]): r["rmse"] for r in honest if r["scheme"] == "mc"}
    ratios = {f"{r['quantity']} d={r['d']} {r['scheme']}": r["rmse"] / mc[(r["quantity"], r["d"])]
              for r in honest if r["scheme"] != "mc"}
    worst = max(ratios.values())
    dims, L, n_seeds, n = _settings(ctx)
    bound = 1 + 6 / math.sqrt(n_seeds)
    shown = ", ".join(f"{k}: {v:.2f}" for k, v in ratios.items())
    return CheckResult(GROUP, "rmse_against_mc", worst <= bound,
                       f"RMSE / RMSE(mc): {shown}", f"every ratio <= {bound:.2f}",
                       f"d in {dims}, L = {L}, n = {n}, {n_seeds} seeds (those of "
                       "schemes_unbiased)", {"ratios": ratios})
