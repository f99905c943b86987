"""Cross-checks of the discrepancies for ``sliced-bench validate`` (group ``discrepancies``).

Independent values: POT (``ot.sliced_wasserstein_distance``, ``ot.max_sliced_wasserstein_distance``,
``ot.wasserstein_1d``, ``ot.emd2``, the objective of ``ot.gromov.fused_gromov_wasserstein2`` at
fixed plans), brute force over permutations, the NumPy reference, and closed forms. The helpers
below are also used by the tests at smaller sizes.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import ot
import torch

from discrepancies import REGISTRY, Spec, max_sfg, max_sw, reference, sfg, sw
from discrepancies._slices import fg_per_slice, wp_per_slice
from validation.checks import CheckResult, Context, check, property_tests

GROUP = "discrepancies"
# the registry's entries that are functions of their directions: on uniform directions, their
# maximum or weighted by their energy (not the spherical family, not the resampled ones)
DIRECTIONAL = {name: spec for name, spec in REGISTRY.items()
               if not spec.spherical and not spec.resampled}


def unit_columns(rng: np.random.Generator, d: int, L: int) -> np.ndarray:
    """L directions uniform on S^{d-1} as the columns of a (d, L) array (NumPy's generator,
    independent of the torch draws under test)."""
    g = rng.standard_normal((d, L))
    return g / np.linalg.norm(g, axis=0)


def clustered_line(rng: np.random.Generator, n: int) -> np.ndarray:
    """n sorted points on the line in 2 or 3 tight clusters of random (often unbalanced) sizes
    and spreads: the configurations on which the two monotone couplings can miss the exact
    fused optimum (see :data:`KNOWN_GAP`)."""
    k = int(rng.integers(2, 4))
    sizes = rng.multinomial(n - k, rng.dirichlet(np.full(k, 0.5))) + 1
    centres = rng.uniform(-3.0, 3.0, k)
    return np.sort(np.concatenate([rng.normal(c, rng.uniform(1e-3, 0.3), s)
                                   for c, s in zip(centres, sizes, strict=True)]))


# n = 7, beta = 0.1, p = 2: min(identity, anti-identity) is 2.7% above the exact optimum over
# all permutations (found by a random search over clustered configurations, then a local
# search that increased the gap; rounded to three decimals).
KNOWN_GAP = {
    "u": np.array([-2.507, -1.434, -1.432, -1.412, -1.41, -1.393, 2.522]),
    "v": np.array([-1.762, -1.648, 1.896, 1.898, 1.9, 1.911, 1.915]),
    "beta": 0.1, "p": 2.0, "relative_gap": 0.02724,
}


def brute_force_fg(u: np.ndarray, v: np.ndarray, beta: float, p: float) -> np.ndarray:
    """FG cost of every permutation coupling u_i <-> v_{perm(i)}, vectorised over the n!
    permutations (in ``itertools.permutations`` order: first the identity, last the
    anti-identity when v is sorted)."""
    n = len(u)
    perms = np.array(list(itertools.permutations(range(n))))
    w = v[perms]
    transport = np.mean(np.abs(u[None, :] - w) ** p, axis=1)
    du = (u[:, None] - u[None, :]) ** 2
    dw = (w[:, :, None] - w[:, None, :]) ** 2
    structure = np.mean((du[None] - dw) ** 2, axis=(1, 2))
    return (1.0 - beta) * transport + beta * structure


def pot_fgw_at_monotone_plans(u: np.ndarray, v: np.ndarray, beta: float, p: float) -> float:
    """min over the identity and anti-identity plans of POT's fused Gromov-Wasserstein
    objective ``(1 - alpha) <M, T> + alpha * sum L(C1_ik, C2_jl) T_ij T_kl`` (square loss),
    with ``alpha = beta``, ``M_ij = |u_i - v_j|^p``, ``C1_ik = (u_i - u_k)^2``, u and v sorted
    and ``T = P_sigma / n``: exactly FG_beta as this suite defines it (docs/design.md)."""
    u, v = np.sort(u), np.sort(v)
    n = len(u)
    M = np.abs(u[:, None] - v[None, :]) ** p
    C1, C2 = (u[:, None] - u[None, :]) ** 2, (v[:, None] - v[None, :]) ** 2
    h = np.full(n, 1.0 / n)
    constC, hC1, hC2 = ot.gromov.init_matrix(C1, C2, h, h, "square_loss")
    values = []
    for T in (np.eye(n) / n, np.fliplr(np.eye(n)) / n):
        values.append((1 - beta) * np.sum(M * T) + beta * ot.gromov.gwloss(constC, hC1, hC2, T))
    return float(min(values))


def gap_study(n_values: tuple[int, ...], n_trials: int, beta: float, p: float,
              seed: int) -> dict:
    """How often, and by how much, min(identity, anti-identity) exceeds the exact optimum over
    all permutations, on random (Gaussian) and clustered points. Also records the smallest
    (two - exact) difference, which must never be negative beyond rounding."""
    rng = np.random.default_rng(seed)
    out = {}
    for kind, draw in (("random", lambda n: np.sort(rng.standard_normal(n))),
                       ("clustered", lambda n: clustered_line(rng, n))):
        for n in n_values:
            gaps, lowest = [], math.inf
            for _ in range(n_trials):
                u, v = draw(n), draw(n)
                costs = brute_force_fg(u, v, beta, p)
                two, exact = min(costs[0], costs[-1]), float(costs.min())
                gaps.append((two - exact) / exact if exact > 0 else 0.0)
                lowest = min(lowest, (two - exact) / max(exact, 1e-300))
            gaps = np.array(gaps)
            out[f"{kind}_n{n}"] = {"trials": n_trials,
                                   "fraction_above": float(np.mean(gaps > 1e-12)),
                                   "max_relative_gap": float(gaps.max()),
                                   "mean_relative_gap": float(gaps.mean()),
                                   "min_two_minus_exact_relative": float(lowest)}
    return out


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def _tensor(a: np.ndarray, ctx: Context, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.as_tensor(a, dtype=dtype, device=ctx.device)


@check(GROUP)
def sw_and_max_sw_vs_pot(ctx: Context) -> list[CheckResult]:
    """SW equals POT on the same directions; max-SW is >= POT's max over them and <= W_p."""
    rng = np.random.default_rng(ctx.seed)
    worst_sw, worst_low, worst_high, cases = 0.0, 0.0, 0.0, 0
    for (n, m, weighted), p in itertools.product(
            [(40, 40, False), (40, 27, False), (33, 50, True)], (1, 2, 3)):
        X, Y = rng.standard_normal((n, 5)), rng.standard_normal((m, 5)) * 1.5 + 0.3
        a = b = None
        if weighted:
            a, b = rng.uniform(0.1, 1, n), rng.uniform(0.1, 1, m)
            a, b = a / a.sum(), b / b.sum()
        P = unit_columns(rng, 5, 30)
        ours = sw(_tensor(X, ctx), _tensor(Y, ctx), projections=_tensor(P, ctx), p=p,
                  a=a, b=b).item()
        pot = ot.sliced_wasserstein_distance(X, Y, a, b, projections=P, p=p)
        worst_sw = max(worst_sw, _rel(ours, pot))
        ours_max = max_sw(_tensor(X, ctx), _tensor(Y, ctx), projections=_tensor(P, ctx), p=p,
                          a=a, b=b).item()
        pot_max = ot.max_sliced_wasserstein_distance(X, Y, a, b, projections=P, p=p)
        wa = np.full(n, 1 / n) if a is None else a
        wb = np.full(m, 1 / m) if b is None else b
        exact = ot.emd2(wa, wb, ot.dist(X, Y, metric="euclidean") ** p) ** (1 / p)
        worst_low = max(worst_low, (pot_max - ours_max) / pot_max)
        worst_high = max(worst_high, (ours_max - exact) / exact)
        cases += 1
    return [
        CheckResult(GROUP, "sw_vs_pot", worst_sw <= 1e-10, f"max rel diff {worst_sw:.2e}",
                    "<= 1e-10 (float64, same directions)",
                    f"{cases} cases: n=m, n!=m, weights; p in 1,2,3",
                    {"max_relative_difference": worst_sw}),
        CheckResult(GROUP, "max_sw_between_pot_and_exact",
                    worst_low <= 1e-12 and worst_high <= 1e-10,
                    f"POT-ours {worst_low:.1e}, ours-W_p {worst_high:.1e} (rel)",
                    "ours >= POT max over the directions, <= exact W_p (emd2)",
                    f"{cases} cases", {"max_below_pot": worst_low, "max_above_exact": worst_high}),
    ]


@check(GROUP)
def wasserstein_1d_vs_pot(ctx: Context) -> CheckResult:
    """W_p^p per slice against ot.wasserstein_1d and ot.emd2 with the 1-D cost |u - v|^p."""
    rng = np.random.default_rng(ctx.seed + 1)
    worst = 0.0
    for (n, m, weighted), p in itertools.product(
            [(30, 30, False), (30, 17, False), (25, 41, True)], (1, 1.5, 2, 3)):
        X, Y = rng.standard_normal((n, 1)), rng.exponential(size=(m, 1))
        a = b = None
        if weighted:
            a, b = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(m))
        ours = wp_per_slice(_tensor(X, ctx), _tensor(Y, ctx), _tensor(np.ones((1, 1)), ctx), p,
                            None if a is None else _tensor(a, ctx),
                            None if b is None else _tensor(b, ctx)).item()
        w1d = ot.wasserstein_1d(X[:, 0], Y[:, 0], a, b, p=p)
        wa = np.full(n, 1 / n) if a is None else a
        wb = np.full(m, 1 / m) if b is None else b
        emd = ot.emd2(wa, wb, np.abs(X - Y.T) ** p)
        worst = max(worst, _rel(ours, w1d), _rel(ours, emd))
    return CheckResult(GROUP, "wasserstein_1d_vs_pot", worst <= 1e-10, f"max rel diff {worst:.2e}",
                       "<= 1e-10 vs wasserstein_1d and emd2", "n=m, n!=m, weights; p 1,1.5,2,3",
                       {"max_relative_difference": worst})


@check(GROUP)
def fg_vs_reference_and_pot(ctx: Context) -> CheckResult:
    """FG_beta per slice: torch vs reference.py vs POT's FGW objective at the monotone plans."""
    rng = np.random.default_rng(ctx.seed + 2)
    worst_ref, worst_pot = 0.0, 0.0
    for n, beta, p in itertools.product((5, 16, 40), (0.0, 0.1, 0.5, 1.0), (1, 2, 3)):
        X, Y = rng.standard_normal((n, 3)), rng.standard_normal((n, 3)) * 0.7 + 0.5
        P = unit_columns(rng, 3, 4)
        ours = fg_per_slice(_tensor(X, ctx), _tensor(Y, ctx), _tensor(P, ctx), beta, p)
        ours = ours.cpu().numpy()
        ref = reference.fg_per_slice(X, Y, P, beta, p)
        pot = np.array([pot_fgw_at_monotone_plans(X @ P[:, l], Y @ P[:, l], beta, p)
                        for l in range(P.shape[1])])
        worst_ref = max(worst_ref, float(np.max(np.abs(ours - ref) / np.abs(ref))))
        worst_pot = max(worst_pot, float(np.max(np.abs(ours - pot) / np.abs(pot))))
    return CheckResult(GROUP, "fg_vs_reference_and_pot", worst_ref <= 1e-12 and worst_pot <= 1e-10,
                       f"rel diff ref {worst_ref:.1e}, POT {worst_pot:.1e}",
                       "<= 1e-12 vs reference, <= 1e-10 vs POT FGW objective (alpha = beta)",
                       "n 5,16,40; beta 0,0.1,0.5,1; p 1,2,3",
                       {"vs_reference": worst_ref, "vs_pot": worst_pot})


@check(GROUP)
def fg_two_couplings_vs_brute_force(ctx: Context) -> CheckResult:
    """How often min(identity, anti-identity) exceeds the exact optimum over all permutations."""
    # n! grows fast: n = 8 (40320 couplings per draw) gets a quarter of the draws.
    trials = 60 if ctx.quick else 400
    plan = {(4, 5, 6, 7): trials} if ctx.quick else {(4, 5, 6, 7): trials, (8,): trials // 4}
    studies = {f"beta={beta}": {k: v for n_values, t in plan.items()
                                for k, v in gap_study(n_values, t, beta, 2, ctx.seed + 3).items()}
               for beta in (0.1, 1.0)}
    lowest = min(s["min_two_minus_exact_relative"] for st in studies.values() for s in st.values())
    small_gaps = max(s["fraction_above"] for st in studies.values()
                     for key, s in st.items() if int(key.split("_n")[1]) <= 6)
    summary = {b: {k: f"{s['fraction_above']:.3f}/{s['max_relative_gap']:.1e}"
                   for k, s in st.items() if s["fraction_above"] > 0}
               for b, st in studies.items()}
    costs = brute_force_fg(KNOWN_GAP["u"], KNOWN_GAP["v"], KNOWN_GAP["beta"], KNOWN_GAP["p"])
    known = float((min(costs[0], costs[-1]) - costs.min()) / costs.min())
    studies["known_gap_n7"] = {"relative_gap": known}
    return CheckResult(
        GROUP, "fg_two_couplings_vs_brute_force",
        lowest >= -1e-12 and small_gaps == 0 and known > 0.02,
        f"gaps (fraction/max rel) {summary}; known n=7 instance {known:.2%}",
        "never below the exact optimum; exact for n <= 6; the known n=7 gap is found",
        f"draws per n (random Gaussian, clustered): {plan}; beta 0.1 and 1, p = 2; "
        "full numbers in extra", studies)


def _reference_keywords(spec: Spec) -> dict[str, float]:
    """The settings :func:`torch_vs_reference` compares ``spec`` at, besides its defaults:
    beta = 0.3 for the fused ones, p = 3 for the mean of W_p (orders and weights other than
    the defaults), the maxima at their default p."""
    if spec.fused:
        return {"beta": 0.3}
    return {"p": 3} if spec.expectation else {}


@check(GROUP)
def torch_vs_reference(ctx: Context) -> CheckResult:
    """The entries of :data:`DIRECTIONAL` (sw, max_sw, sfg, max_sfg) on given directions, the
    maxima with n_iter=0, vs their oracles in reference.py: float64 to 1e-12; float32 to 1e-4
    (sums of O(n) float32 terms with rounding 6e-8 each, amplified by the squaring in FG:
    1e-4 leaves a margin of ~10 over the errors observed, and a real bug is O(1))."""
    rng = np.random.default_rng(ctx.seed + 4)
    X, Y = rng.standard_normal((24, 4)), rng.standard_normal((24, 4)) + 0.4
    P = unit_columns(rng, 4, 12)
    errors = {}
    for dtype in (torch.float64, torch.float32):
        Xt, Yt, Pt = (_tensor(a, ctx, dtype) for a in (X, Y, P))
        for name, spec in DIRECTIONAL.items():
            kwargs = _reference_keywords(spec)
            ascent = {"n_iter": 0} if spec.optimised else {}
            value = spec(Xt, Yt, projections=Pt, **kwargs, **ascent).item()
            errors[f"{name}_{str(dtype)[6:]}"] = _rel(value, spec.oracle(X, Y, P, **kwargs))
    f64 = max(v for k, v in errors.items() if k.endswith("64"))
    f32 = max(v for k, v in errors.items() if k.endswith("32"))
    return CheckResult(GROUP, "torch_vs_reference", f64 <= 1e-12 and f32 <= 1e-4,
                       f"float64 {f64:.1e}, float32 {f32:.1e}", "<= 1e-12 / <= 1e-4 relative",
                       "same explicit directions", errors)


@check(GROUP)
def properties(ctx: Context) -> list[CheckResult]:
    """D(X, X) = 0, symmetry, sfg(beta=0) = sw**p, SFG <= max-SFG, max-SW <= W_p."""
    g = ctx.generator(5)
    X = torch.randn(50, 6, generator=g, dtype=torch.float64, device=ctx.device)
    Y = torch.randn(50, 6, generator=g, dtype=torch.float64, device=ctx.device) * 2 + 1
    fns = DIRECTIONAL
    self_dist = max(abs(f(X, X, seed=1).item()) for f in fns.values())
    asym = max(_rel(f(X, Y, seed=1).item(), f(Y, X, seed=1).item()) for f in fns.values())
    beta0 = _rel(sfg(X, Y, beta=0.0, p=3, seed=2).item(), sw(X, Y, p=3, seed=2).item() ** 3)
    order = sfg(X, Y, seed=3).item() <= max_sfg(X, Y, seed=3).item()
    exact = ot.emd2([], [], ot.dist(X.cpu().numpy(), Y.cpu().numpy())) ** 0.5
    below = max_sw(X, Y, seed=4).item() <= exact * (1 + 1e-10)
    # 1e-10 for the symmetry: DSW / DSFG's ten Adam steps amplify the rounding of their
    # gradients, which differs between (X, Y) and (Y, X) (2.6e-12 measured); a real asymmetry
    # is O(1)
    ok = self_dist <= 1e-12 and asym <= 1e-10 and beta0 <= 1e-12 and order and below
    return [CheckResult(
        GROUP, "properties", ok,
        f"D(X,X) {self_dist:.1e}, asym {asym:.1e}, sfg(0)-sw^3 {beta0:.1e}, "
        f"SFG<=maxSFG {order}, maxSW<=W2 {below}",
        "<= 1e-12 (symmetry 1e-10) and both orders hold",
        "seeds fixed; same directions on both sides")]


@check(GROUP)
def translation_closed_form(ctx: Context) -> CheckResult:
    """SW_2^2(X, X + m) = E(theta^T m)^2 = ||m||^2 / d, within 4 Monte Carlo standard errors."""
    d, L = 8, 4000
    g = ctx.generator(6)
    X = torch.randn(64, d, generator=g, dtype=torch.float64, device=ctx.device)
    shift = torch.randn(d, generator=g, dtype=torch.float64, device=ctx.device)
    value = sw(X, X + shift, n_projections=L, seed=ctx.seed).item() ** 2
    expected = shift.square().sum().item() / d
    # Var((theta^T e)^2) = E t^4 - (E t^2)^2 = 3 / (d (d + 2)) - 1 / d^2 for theta uniform.
    sd = shift.square().sum().item() * math.sqrt(3 / (d * (d + 2)) - 1 / d**2) / math.sqrt(L)
    z = (value - expected) / sd
    return CheckResult(GROUP, "translation_closed_form", abs(z) <= 4,
                       f"z = {z:.2f} ({value:.4f} vs {expected:.4f})", "|z| <= 4",
                       f"d={d}, L={L}", {"value": value, "expected": expected, "sd": sd})


@check(GROUP)
def monte_carlo_rate(ctx: Context) -> CheckResult:
    """The standard deviation of SW_2^2 over seeds decreases like L^(-1/2)."""
    g = ctx.generator(7)
    X = torch.randn(40, 5, generator=g, dtype=torch.float64, device=ctx.device)
    Y = torch.randn(40, 5, generator=g, dtype=torch.float64, device=ctx.device) * 1.5 + 0.5
    Ls, reps = (10, 40, 160, 640), 60 if ctx.quick else 200
    sds = [float(np.std([sw(X, Y, n_projections=L, seed=1000 * L + r).item() ** 2
                         for r in range(reps)])) for L in Ls]
    slope = float(np.polyfit(np.log(Ls), np.log(sds), 1)[0])
    return CheckResult(GROUP, "monte_carlo_rate", abs(slope + 0.5) <= 0.1,
                       f"log-log slope {slope:.3f}", "-0.5 +- 0.1",
                       f"{reps} seeds per L in {Ls}", {"L": list(Ls), "sd": sds})


@check(GROUP)
def gradients(ctx: Context) -> CheckResult:
    """gradcheck (float64) for SW and SFG, and one gradient step on X decreasing each of the
    four discrepancies (same directions before and after the step)."""
    g = ctx.generator(8)
    X = torch.randn(7, 3, generator=g, dtype=torch.float64, device=ctx.device)
    Y = torch.randn(7, 3, generator=g, dtype=torch.float64, device=ctx.device) + 1
    P = torch.as_tensor(unit_columns(np.random.default_rng(ctx.seed), 3, 5), device=ctx.device)
    inputs = (X.clone().requires_grad_(), Y.clone().requires_grad_())
    ok_sw = torch.autograd.gradcheck(lambda x, y: sw(x, y, projections=P), inputs,
                                     raise_exception=False)
    ok_sfg = torch.autograd.gradcheck(lambda x, y: sfg(x, y, projections=P, beta=0.3), inputs,
                                      raise_exception=False)
    decreased = {}
    # looked up at the call: the mutation tests replace entries of DIRECTIONAL
    for name, fn in DIRECTIONAL.items():
        Xg = X.clone().requires_grad_(True)
        before = fn(Xg, Y, seed=5)
        (grad,) = torch.autograd.grad(before, Xg)
        after = fn(X - 0.05 * grad / grad.norm(), Y, seed=5)
        decreased[name] = bool(after < before)
    ok = ok_sw and ok_sfg and all(decreased.values())
    return CheckResult(GROUP, "gradients", ok, f"gradcheck sw {ok_sw}, sfg {ok_sfg}; "
                       f"descent {decreased}", "all True", "float64, explicit directions")


@check(GROUP)
def default_parameters(ctx: Context) -> list[CheckResult]:
    """The defaults: max-SW / max-SFG at their defaults reach the best of 10^4 random
    directions in d = 3; max-SW finds the exact value ||m|| of a translated cloud in d = 100;
    SW at the default L = 100 has a relative standard deviation of a few
    percent on two Gaussian clouds in d = 10."""
    rng = np.random.default_rng(ctx.seed + 9)
    results = []
    X = rng.standard_normal((200, 3)) * np.array([1.0, 0.5, 0.2])
    Y = rng.standard_normal((200, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 0.5]]) + 0.2
    P = torch.as_tensor(unit_columns(rng, 3, 10_000))
    Xt, Yt = torch.as_tensor(X), torch.as_tensor(Y)
    for name, spec in DIRECTIONAL.items():
        if spec.expectation:
            continue
        p = float(spec.defaults["p"])
        if spec.fused:
            best = fg_per_slice(Xt, Yt, P, spec.defaults["beta"], p).max().item()
        else:
            best = wp_per_slice(Xt, Yt, P, p).pow(1 / p).max().item()
        ours = float(spec(X, Y, seed=ctx.seed))
        results.append(CheckResult(GROUP, f"{name}_defaults_reach_random_best",
                                   ours >= best * (1 - 1e-6), f"{ours:.6f} vs {best:.6f}",
                                   ">= best of 10^4 random directions (1e-6 rel)",
                                   "d = 3, n = 200, anisotropic clouds"))
    # Y = X + m: W_p(theta) = |theta^T m|, so max-SW = ||m|| exactly, at theta = m / ||m||.
    shifted = {}
    for d in (10, 100):
        X = torch.as_tensor(rng.standard_normal((200, d)), device=ctx.device)
        m = torch.as_tensor(rng.standard_normal(d), device=ctx.device)
        shifted[d] = max_sw(X, X + m, seed=ctx.seed).item() / m.norm().item()
    worst = min(shifted.values())
    results.append(CheckResult(GROUP, "max_sw_defaults_translation", worst >= 1 - 1e-8,
                               f"max-SW / ||m|| = {shifted}", ">= 1 - 1e-8 (exact value 1)",
                               "Y = X + m, d = 10 and 100, n = 200, defaults"))
    Xt = torch.as_tensor(rng.standard_normal((300, 10)))
    Yt = torch.as_tensor(rng.standard_normal((300, 10)) * 1.3 + 0.3)
    values = np.array([sw(Xt, Yt, seed=s).item() for s in range(100)])
    cv = float(values.std() / values.mean())
    results.append(CheckResult(GROUP, "sw_default_projections", cv <= 0.05,
                               f"relative sd {cv:.3f}", "<= 0.05 at n_projections = 100",
                               "d = 10, n = 300, 100 seeds"))
    return results


FUZZ_TESTS = Path(__file__).resolve().parents[1] / "tests" / "test_fuzz_discrepancies.py"


@check(GROUP)
def property_fuzz(ctx: Context) -> CheckResult:
    """The property-based fuzz of every discrepancy (tests/test_fuzz_discrepancies.py: each
    example's outcome decided from the input before the call, an error naming the argument
    where one is due, else a value equal to the exact one and invariant, within bounds on the
    rounding of the computation); see :func:`validation.checks.property_tests`."""
    return property_tests(GROUP, FUZZ_TESTS, ctx,
                          "every example: the error due, or the exact value and invariant")
