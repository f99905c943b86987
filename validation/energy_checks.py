"""Checks of energy-based slicing for ``sliced-bench validate`` (group ``energy``).

Every entry of :data:`discrepancies.REGISTRY` whose slicing law is ``"energy"`` is checked
from what its spec and its ``log`` say (no entry is named here):

- bounds: on the same directions, the uniform mean of the per-slice costs (SW / SFG) <= the
  importance-sampled value <= the largest slice;
- limits: temperature -> infinity gives SW / SFG, -> 0 the largest slice (to rounding);
- the law: the directions the resampled estimators keep (SIR's resampled pool, MH's final
  chain states) against the density proportional to f(c(theta)), computed by quadrature on
  the sphere (:func:`discrepancies.reference.sphere_grid`) in d = 2 and 3, by a Pearson
  chi-square test on cells of the sphere folded by theta -> -theta (both give the same slice)
  at the level :data:`ALPHA` (Holm over the family);
- convergence: every estimator's error against the law's value by quadrature
  (:func:`discrepancies.reference.energy_law_value`) shrinks as L grows;
- the default temperature (see :func:`default_temperature`).

The helpers take the entry to test, so that the tests can run them on deliberately wrong
implementations (mutations) and see them fail.
"""

from __future__ import annotations

import math

import numpy as np

from discrepancies import REGISTRY, Spec, reference
from validation.checks import CheckResult, Context, check
from validation.slicing_checks import one_thread
from validation.stats import chi_square_counts, holm

GROUP = "energy"
ALPHA = 1e-3  # family-wise level of the chi-square tests of each check (Holm)
ENERGY = {name: spec for name, spec in REGISTRY.items() if spec.slicing_law == "energy"}
# the ones that are a function of their directions (importance sampling)
WEIGHTED = {name: spec for name, spec in ENERGY.items() if not spec.resampled}
RESAMPLED = {name: spec for name, spec in ENERGY.items() if spec.resampled}


def test_clouds(d: int, seed: int, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Two anisotropic clouds whose slice costs vary by a factor of a few over the sphere
    (so that the energy-based law differs visibly from the uniform one)."""
    rng = np.random.default_rng(seed)
    stretch = np.linspace(1.0, 0.3, d)
    X = rng.standard_normal((n, d)) * stretch
    Y = rng.standard_normal((n, d)) * stretch[::-1] + 0.3
    return X, Y


def _value_of_mean(spec: Spec, mean: float, p: float) -> float:
    """The entry's value for a mean cost: its p-th root (W convention) or itself (FG)."""
    return mean ** (1.0 / p) if spec.root else mean


def _keywords(spec: Spec) -> dict[str, float]:
    return {"beta": 0.3} if spec.fused else {}


def bounds(spec: Spec, n_cases: int, seed: int = 0) -> dict[str, float]:
    """The worst relative violation of uniform mean <= value <= largest slice over random
    problems, energies and p (0 when the bounds hold), and whether the value is ever strictly
    inside (it must move off the uniform mean)."""
    rng = np.random.default_rng(seed)
    worst, moved = 0.0, 0
    for case in range(n_cases):
        d = int(rng.integers(2, 8))
        X, Y = test_clouds(d, seed + case, n=int(rng.integers(5, 30)))
        p = float(rng.choice([1.0, 2.0, 3.0]))
        energy = ("exp", "identity", "poly")[case % 3]
        value, log = spec(X, Y, n_projections=int(rng.integers(2, 40)), p=p, energy=energy,
                          seed=case, log=True, **_keywords(spec))
        c = log["per_slice"]
        low = _value_of_mean(spec, float(np.mean(c)), p)
        high = _value_of_mean(spec, float(np.max(c)), p)
        worst = max(worst, (low - value) / high, (value - high) / high)
        moved += value > low * (1 + 1e-9)
    return {"worst_violation": max(worst, 0.0), "moved": moved / n_cases}


def temperature_limits(spec: Spec, seed: int = 0) -> dict[str, float]:
    """Relative errors of the value at temperature 1e12 against the uniform mean of the
    logged costs, and at 1e-9 against the largest slice (exp energy, both scales)."""
    errors = {}
    for scale in ("mean", "absolute"):
        X, Y = test_clouds(5, seed)
        for temperature, target in ((1e12, np.mean), (1e-9, np.max)):
            value, log = spec(X, Y, n_projections=50, seed=seed, temperature=temperature,
                              temperature_scale=scale, log=True, **_keywords(spec))
            p = 2.0
            expected = _value_of_mean(spec, float(target(log["per_slice"])), p)
            errors[f"{scale}_{temperature:g}"] = abs(value / expected - 1)
    return errors


def _fold(P: np.ndarray) -> np.ndarray:
    """Directions (d, N) moved to the half-sphere of a non-negative last coordinate."""
    return P * np.where(P[-1] < 0, -1.0, 1.0)


def _cells(P: np.ndarray, n_cells: int) -> np.ndarray:
    """The cell of each folded direction: the angle in [0, pi) in d = 2; in d = 3 the height
    z in [0, 1] (uniform under the uniform law) times the azimuth."""
    P = _fold(P)
    if P.shape[0] == 2:
        angle = np.mod(np.arctan2(P[1], P[0]), math.pi)
        return np.minimum((angle / math.pi * n_cells).astype(int), n_cells - 1)
    heights, azimuths = n_cells // 8, 8
    z = np.minimum((P[2] * heights).astype(int), heights - 1)
    psi = np.mod(np.arctan2(P[1], P[0]), 2 * math.pi)
    return z * azimuths + np.minimum((psi / (2 * math.pi) * azimuths).astype(int), azimuths - 1)


def law_sample(spec: Spec, X: np.ndarray, Y: np.ndarray, draws: int, seed: int,
               **kw: object) -> np.ndarray:
    """``draws`` directions (d, draws) from what ``spec`` keeps. An entry with Markov chains
    (an ``n_steps`` keyword): the final states of ``draws`` chains, independent (each chain
    decides alone). A resampling one: 20 of the resampled directions of each call on a pool
    of 2000 (the draws of one call share its pool; k draws per pool of L inflate the
    chi-square statistic by about k / L = 1%, where all L would double it)."""
    with one_thread():  # many small calls
        if "n_steps" in spec.defaults:
            _, log = spec(X, Y, n_projections=draws, seed=seed, log=True, **kw)
            return log["states"]
        rng = np.random.default_rng(seed)
        out = []
        for r in range(draws // 20):
            _, log = spec(X, Y, n_projections=2000, seed=seed * 100_000 + r, log=True, **kw)
            kept = np.repeat(log["projections"], log["resampled"], axis=1)
            out.append(kept[:, rng.choice(kept.shape[1], 20, replace=False)])
    return np.concatenate(out, axis=1)


def law_pvalues(spec: Spec, settings: list[dict], draws: int, seed: int = 0,
                dims: tuple[int, ...] = (2, 3)) -> dict[str, float]:
    """Chi-square p-values of :func:`law_sample` against the law by quadrature, in d = 2
    (16 cells) and d = 3 (32 cells), for each keyword setting (absolute temperature twice the
    uniform mean cost: the default law, with its mean computed exactly)."""
    out = {}
    for d in dims:
        n_cells, n_grid = (16, 1600) if d == 2 else (32, 80)
        X, Y = test_clouds(d, seed + d)
        # the law's cell probabilities by quadrature (NumPy oracle, equal-weight nodes)
        nodes = reference.sphere_grid(d, n_grid).T
        c = reference.wp_per_slice(X, Y, nodes, 2.0)
        temperature = float(spec.defaults["temperature"]) * float(np.mean(c))
        probs = np.bincount(_cells(nodes, n_cells), minlength=n_cells,
                            weights=reference.energy_weights(c, "exp", temperature, "absolute"))
        for k, kw in enumerate(settings):
            sample = law_sample(spec, X, Y, draws, seed + 10 * d + k, temperature=temperature,
                                temperature_scale="absolute", **kw)
            counts = np.bincount(_cells(sample, n_cells), minlength=n_cells)
            out[f"d{d}_{'_'.join(f'{a}={b}' for a, b in kw.items()) or 'defaults'}"] = (
                chi_square_counts(counts, probs)[1])
    return out


def mixed(spec: Spec) -> dict[str, int]:
    """The keywords that let an entry's Markov chains mix before the states are averaged
    (60 steps, the first 20 left out); ``{}`` for an entry without chains. At its default 10
    steps from a uniform start, MH keeps a bias towards SW (reported in the docs)."""
    return {"n_steps": 60, "burn_in": 20} if "n_steps" in spec.defaults else {}


def convergence(spec: Spec, Ls: tuple[int, ...], reps: int, seed: int = 0,
                **kw: object) -> list[float]:
    """Root mean square relative error against the law's value by quadrature (d = 2), at each
    L, over ``reps`` seeds (chains run by :func:`mixed`)."""
    X, Y = test_clouds(2, seed)
    beta = _keywords(spec).get("beta")
    law = reference.energy_law_value(X, Y, temperature=float(spec.defaults["temperature"]),
                                     beta=beta, n_grid=4000)
    extra = {**_keywords(spec), **mixed(spec), **kw}
    with one_thread():
        return [float(np.sqrt(np.mean([(float(spec(X, Y, n_projections=L, seed=1000 * L + r,
                                                    **extra)) / law - 1) ** 2
                                       for r in range(reps)])))
                for L in Ls]


def default_temperature(spec: Spec, seed: int = 0) -> dict[str, float]:
    """What the default temperature must give on three problems at the default L (d = 5
    anisotropic clouds, d = 10 Gaussians of other scale and mean, d = 50 translates): the
    smallest effective sample size of the importance weights, 1 / sum w^2, as a fraction of
    L (too small a temperature collapses them onto a few directions); the smallest share of
    the way the value moves from the uniform mean towards the largest slice, in cost units
    (too large a temperature leaves it at SW); and the worst relative departure from
    1-homogeneity (value(1000 X, 1000 Y) = 1000^k value(X, Y) with k = 1 for the root,
    2 for FG at beta = 0; fails for a default in absolute units)."""
    rng = np.random.default_rng(seed)
    X5, Y5 = test_clouds(5, seed, n=100)
    X10 = rng.standard_normal((100, 10))
    Y10 = rng.standard_normal((100, 10)) * 1.5 + 0.2
    X50 = rng.standard_normal((100, 50))
    problems = {"anisotropic_d5": (X5, Y5), "gaussians_d10": (X10, Y10),
                "translate_d50": (X50, X50 + rng.standard_normal(50) * 0.3)}
    ess, move, homogeneity = [], [], []
    # FG_0 = W_2^2 is 2-homogeneous (other beta mix the degrees 2 and 4)
    fused = {"beta": 0.0} if spec.fused else {}
    degree = 2.0 if spec.fused else 1.0
    for X, Y in problems.values():
        value, log = spec(X, Y, seed=seed, log=True)
        c, w = log["per_slice"], log["weights"]
        ess.append(float(1.0 / np.sum(w**2) / len(w)))
        cost = value ** (float(spec.defaults["p"]) if spec.root else 1.0)
        move.append(float((cost - np.mean(c)) / (np.max(c) - np.mean(c))))
        unscaled = spec(X, Y, seed=seed, **fused)
        scaled = spec(1000 * X, 1000 * Y, seed=seed, **fused)
        homogeneity.append(abs(scaled / (1000**degree * unscaled) - 1))
    return {"min_ess_fraction": min(ess), "min_move": min(move),
            "max_homogeneity_error": max(homogeneity)}


@check(GROUP)
def energy_bounds(ctx: Context) -> CheckResult:
    """Uniform mean <= IS value <= largest slice on the same directions (W: roots; FG: the
    costs), for every importance-sampled energy entry; and the value moves off the mean."""
    n = 20 if ctx.quick else 100
    found = {name: bounds(spec, n, ctx.seed) for name, spec in WEIGHTED.items()}
    worst = max(r["worst_violation"] for r in found.values())
    moved = min(r["moved"] for r in found.values())
    return CheckResult(GROUP, "energy_bounds", worst <= 1e-12 and moved >= 0.9,
                       f"worst violation {worst:.1e}, strictly inside in {moved:.0%}",
                       "violation <= 1e-12 relative, inside in >= 90% of cases",
                       f"{n} random problems per entry (d 2-7, n 5-29, L 2-39, p 1-3, "
                       "three energies)", found)


@check(GROUP)
def energy_temperature_limits(ctx: Context) -> CheckResult:
    """temperature 1e12 gives the uniform mean (SW / SFG), 1e-9 the largest slice."""
    found = {name: temperature_limits(spec, ctx.seed) for name, spec in WEIGHTED.items()}
    worst = max(e for r in found.values() for e in r.values())
    return CheckResult(GROUP, "energy_temperature_limits", worst <= 1e-10,
                       f"worst relative error {worst:.1e}", "<= 1e-10",
                       "exp energy, both temperature scales, d = 5, L = 50", found)


# The settings whose law is tested: an entry with Markov chains runs them long enough to mix
# (its default 10 steps leave part of the uniform start in the final states), with either
# proposal; one without chains at its defaults.
CHAIN_SETTINGS = ({"n_steps": 60}, {"n_steps": 120, "proposal": "vmf"})


def _law_settings(spec: Spec) -> list[dict]:
    return list(CHAIN_SETTINGS) if "n_steps" in spec.defaults else [{}]


@check(GROUP)
def energy_law_draws(ctx: Context) -> CheckResult:
    """The directions SIR keeps and MH's final chain states follow the density proportional
    to f(c(theta)) (chi-square against the quadrature, d = 2 and 3, Holm at ALPHA)."""
    draws = 4000 if ctx.quick else 20000
    pvalues = {f"{name}_{k}": v for name, spec in RESAMPLED.items()
               for k, v in law_pvalues(spec, _law_settings(spec), draws, ctx.seed).items()}
    rejected = holm(list(pvalues.values()), ALPHA)
    worst = min(pvalues.values())
    return CheckResult(GROUP, "energy_law_draws", not bool(np.any(rejected)),
                       f"smallest p-value {worst:.2g} over {len(pvalues)} tests",
                       f"no rejection at family-wise level {ALPHA} (Holm)",
                       f"{draws} draws per test; exp energy at the default law",
                       pvalues)


@check(GROUP)
def energy_estimators_converge(ctx: Context) -> CheckResult:
    """Every energy entry's RMS relative error against the law's value by quadrature falls
    as L grows (d = 2; chains as :func:`mixed` runs them): at L = 10^4 at most a third of the
    error at L = 10^2, and at most 2%."""
    Ls, reps = (100, 1000, 10000), 5 if ctx.quick else 20
    found = {name: convergence(spec, Ls, reps, ctx.seed) for name, spec in ENERGY.items()}
    ok = all(e[-1] <= e[0] / 3 and e[-1] <= 0.02 for e in found.values())
    return CheckResult(GROUP, "energy_estimators_converge", ok,
                       "; ".join(f"{k} {e[0]:.1e}->{e[-1]:.1e}" for k, e in found.items()),
                       "error at L=1e4 <= error at L=1e2 / 3 and <= 2%",
                       f"L in {Ls}, {reps} seeds, defaults", {"L": list(Ls), **found})


@check(GROUP)
def energy_default_temperature(ctx: Context) -> CheckResult:
    """The default temperature (2, in units of the mean slice cost) at the default L = 100:
    effective sample size of the weights >= 25% of L, the value at least 5% of the way from
    the uniform mean towards the largest slice, and the value 1-homogeneous in the data (to
    1e-10), on three problems."""
    found = {name: default_temperature(spec, ctx.seed) for name, spec in WEIGHTED.items()}
    ok = all(r["min_ess_fraction"] >= 0.25 and r["min_move"] >= 0.05
             and r["max_homogeneity_error"] <= 1e-10 for r in found.values())
    return CheckResult(GROUP, "energy_default_temperature", ok,
                       "; ".join(f"{k}: ESS/L {r['min_ess_fraction']:.2f}, move "
                                 f"{r['min_move']:.2f}, homog {r['max_homogeneity_error']:.0e}"
                                 for k, r in found.items()),
                       "ESS/L >= 0.25, move >= 0.05, homogeneity <= 1e-10",
                       "d = 5, 10, 50; n = 100; defaults", found)
