"""Checks of the samplers on the sphere, run by ``sliced-bench validate`` (group ``samplers``).

Statistical checks draw with fixed seeds (``ctx.seed`` + a per-check offset), test at
family-wise level :data:`ALPHA` with Holm's correction over each grid, and each comes with its
mutation check: the same test run on a deliberately wrong sampler (kappa off by 10%, d off by
one, Wood's envelope biased to ``b = (d-1)/(4 kappa)``, anisotropic tangent, permuted mixture
weights, a gradient that misses the tangent part) must FAIL at the same sample size.

The functions below take explicit sizes so that the tests can call them on a small subset;
the ``@check`` functions at the end choose the sizes (``ctx.quick``: smaller, under a minute).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import power_spherical
import scipy.special
import scipy.stats
import torch

from samplers import (
    MixtureVonMisesFisher,
    PowerSpherical,
    VonMisesFisher,
    iv_ratio,
    log_iv,
    uniform_sphere,
)
from samplers.marginals import beta_t_law, t_law
from samplers.von_mises_fisher import sample_vmf_t
from validation.checks import CheckResult, Context, check, property_tests
from validation.stats import (
    chi_square_counts,
    holm,
    ks_exact,
    ks_two_sample,
    z_test_mean,
)

ALPHA = 0.01
"""Family-wise significance level of every statistical check (Holm-corrected over its grid)."""

GRID_D = (2, 3, 5, 10, 100, 1000, 10000)
GRID_KAPPA = (0.0, 0.1, 1.0, 10.0, 100.0, 1e4)
FAMILIES = {"vmf": VonMisesFisher, "power_spherical": PowerSpherical}
_CHUNK = 2**22  # floats per draw call, so that d = 10^4 needs no gigabyte tensors

DrawT = Callable[[str, int, float, int, torch.Generator], np.ndarray]


def random_loc(d: int, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """A unit vector drawn uniformly (so that no check relies on loc = e1)."""
    return uniform_sphere(1, d, generator=generator, dtype=dtype)[0]


def draw_t(
    family: str, d: int, kappa: float, n: int, generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
) -> np.ndarray:
    """``t = loc^T x`` for ``n`` draws of the real sampler at a random ``loc`` (float64 NumPy).

    ``family`` is a key of :data:`FAMILIES` or ``"uniform"`` (:func:`uniform_sphere`).
    """
    loc = random_loc(d, generator, dtype)
    step = max(1, _CHUNK // d)
    if family == "uniform":  # uniform_sphere itself (kappa is ignored)
        parts = [uniform_sphere(min(step, n - i), d, generator=generator, dtype=dtype) @ loc
                 for i in range(0, n, step)]
        return torch.cat(parts).double().cpu().numpy()
    dist = FAMILIES[family](loc, kappa)
    parts = [dist.sample((min(step, n - i),), generator=generator) @ loc
             for i in range(0, n, step)]
    return torch.cat(parts).double().cpu().numpy()


def mutated_draw(mutation: str) -> DrawT:
    """A deliberately wrong sampler of ``t`` (see the module docstring)."""
    if mutation == "kappa+10%":
        return lambda family, d, kappa, n, g: draw_t(family, d, 1.1 * kappa, n, g)
    if mutation == "d+1":
        return lambda family, d, kappa, n, g: draw_t(family, d + 1, kappa, n, g)
    if mutation == "biased-envelope":
        def draw(family, d, kappa, n, g):
            k = torch.full((n,), kappa, dtype=torch.float64, device=g.device)
            b = (d - 1) / (4 * kappa) if kappa > 0 else 1.0
            return (1 - sample_vmf_t(k, d, g, envelope=torch.tensor(b))[0]).cpu().numpy()
        return draw
    raise ValueError(f"unknown mutation {mutation!r}")


def t_law_grid(
    draw: DrawT, families: Iterable[str], dims: Iterable[int], kappas: Iterable[float],
    n: int | Callable[[int], int], seed: int, device: str = "cpu",
) -> list[dict]:
    """KS of ``t`` against its exact law and z-test of its mean, for every grid cell.

    ``n`` is the sample size per cell, or a function of d. Returns one dict per cell with the
    p-values ``p_ks`` and ``p_mean``; decide with :func:`verdict`.
    """
    cells = []
    for i, (family, d, kappa) in enumerate(
        (f, d, k) for f in families for d in dims for k in kappas
    ):
        g = torch.Generator(device=device).manual_seed(seed + 7919 * i)
        size = n(d) if callable(n) else n
        t = draw(family, d, kappa, size, g)
        law = t_law(family, d, kappa)
        stat, p_ks = ks_exact(t, law.cdf)
        z, p_mean = z_test_mean(t, float(law.mean()))
        cells.append({"family": family, "d": d, "kappa": kappa, "n": size, "D": stat,
                      "p_ks": p_ks, "z": z, "p_mean": p_mean})
    return cells


def verdict(cells: list[dict], key: str, alpha: float = ALPHA) -> tuple[bool, list[dict]]:
    """``(no cell rejected, the rejected cells)`` under Holm's correction over ``cells``."""
    rejected = holm([c[key] for c in cells], alpha)
    return not rejected.any(), [c for c, r in zip(cells, rejected, strict=True) if r]


def _cell_names(cells: list[dict], limit: int = 6) -> str:
    def name(c: dict) -> str:
        where = ",".join(f"{k}={c[k]:g}" if isinstance(c[k], float) else f"{k}={c[k]}"
                         for k in ("d", "kappa", "loc") if k in c)
        return f"{c.get('family', c.get('test', '?'))}({where})"

    names = [name(c) for c in cells[:limit]]
    return ", ".join(names) + (f" and {len(cells) - limit} more" if len(cells) > limit else "")


def _min_p(cells: list[dict], key: str) -> str:
    worst = min(cells, key=lambda c: c[key])
    return f"min p={worst[key]:.2e} at {_cell_names([worst])}"


# ---------------------------------------------------------------- two-sample checks

def _projections(x: np.ndarray, loc: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    return x @ loc, x @ w


def scipy_vmf_two_sample(
    dims: Iterable[int], kappas: Iterable[float], n: int, seed: int, kappa_factor: float = 1.0
) -> list[dict]:
    """Two-sample KS of ours against ``scipy.stats.vonmises_fisher`` (``uniform_direction`` at
    kappa = 0), on ``t = loc^T x`` and on a fixed random projection ``w^T x``.

    ``kappa_factor`` scales our kappa (1.1 is the mutation that must be detected).
    """
    cells = []
    for i, (d, kappa) in enumerate((d, k) for d in dims for k in kappas):
        g = torch.Generator().manual_seed(seed + 104729 * i)
        loc = random_loc(d, g)
        w = random_loc(d, g).numpy()
        ours = VonMisesFisher(loc, kappa * kappa_factor).sample((n,), generator=g).numpy()
        rng = np.random.default_rng(seed + i)
        if kappa == 0:
            theirs = scipy.stats.uniform_direction(d).rvs(n, random_state=rng)
        else:
            theirs = scipy.stats.vonmises_fisher(loc.numpy(), kappa).rvs(n, random_state=rng)
        theirs = np.asarray(theirs).reshape(n, d)
        for name, a, b in zip(("t", "w^T x"), _projections(ours, loc.numpy(), w),
                              _projections(theirs, loc.numpy(), w), strict=True):
            stat, p = ks_two_sample(a, b)
            cells.append({"family": f"vmf/{name}", "d": d, "kappa": kappa, "D": stat, "p": p})
    return cells


def power_spherical_two_sample(
    dims: Iterable[int], kappas: Iterable[float], n: int, seed: int, kappa_factor: float = 1.0
) -> list[dict]:
    """Two-sample KS of our power spherical against the ``power-spherical`` package (De Cao),
    on ``t`` and on a random projection; ``kappa_factor`` scales our kappa (the mutation)."""
    cells = []
    for i, (d, kappa) in enumerate((d, k) for d in dims for k in kappas):
        g = torch.Generator().manual_seed(seed + 15485863 * i)
        loc = random_loc(d, g)
        w = random_loc(d, g)
        ours = PowerSpherical(loc, kappa * kappa_factor).sample((n,), generator=g)
        with torch.random.fork_rng(devices=[]):  # the package draws from the global generator
            torch.manual_seed(seed + i)
            if kappa == 0:  # the package needs scale > 0; its uniform law is the reference
                pkg = power_spherical.HypersphericalUniform(d, dtype=torch.float64)
            else:
                pkg = power_spherical.PowerSpherical(loc, torch.tensor(kappa, dtype=torch.float64))
            theirs = pkg.sample((n,))
        for name, a, b in zip(("t", "w^T x"), (ours @ loc, ours @ w), (theirs @ loc, theirs @ w),
                              strict=True):
            stat, p = ks_two_sample(a.numpy(), b.numpy())
            cells.append({"family": f"ps/{name}", "d": d, "kappa": kappa, "D": stat, "p": p})
    return cells


# ---------------------------------------------------------------- tangent part

def tangent_cells(
    dims: Iterable[int], kappa: float, n: int, seed: int,
    sample: Callable[[torch.Tensor, float, int, torch.Generator], torch.Tensor] | None = None,
) -> list[dict]:
    """Law of the tangent part ``v = (x - t loc) / sqrt(1 - t^2)`` for both families.

    For each d and each loc in {e1, -e1, e1 and -e1 perturbed by 1e-9, random} (the Householder
    edge cases), with ``w`` a fixed unit vector orthogonal to loc, two p-values: KS of ``w^T v``
    against the marginal of the uniform law on S^{d-2}, ``Beta((d-2)/2, (d-2)/2)`` on [-1, 1]
    (for d = 2, ``v = +-1`` with probability 1/2: binomial test), and two-sample KS of ``w^T v``
    between draws with ``t`` below and above its median (``v`` independent of ``t``; for d = 2
    a chi-square test of the 2 x 2 table sign x half); also
    max ``| ||x|| - 1 |``. ``sample(loc, kappa, n, g)`` replaces the samplers (mutations).
    """
    cells = []
    for i, (family, d) in enumerate((f, d) for f in FAMILIES for d in dims):
        g = torch.Generator().manual_seed(seed + 31 * i)
        e1 = torch.zeros(d, dtype=torch.float64)
        e1[0] = 1
        tiny = torch.zeros(d, dtype=torch.float64)
        tiny[-1] = 1e-9
        locs = {"e1": e1, "-e1": -e1, "e1+1e-9": e1 + tiny, "-e1+1e-9": -e1 + tiny,
                "random": random_loc(d, g)}
        for name, loc in locs.items():
            loc = loc / loc.norm()
            if sample is None:
                x = FAMILIES[family](loc, kappa).sample((n,), generator=g)
            else:
                x = sample(loc, kappa, n, g)
            t = x @ loc
            w = torch.randn(d, generator=g, dtype=torch.float64)
            w = w - (w @ loc) * loc
            w = w / w.norm()
            proj = ((x @ w) / torch.sqrt((1 - t) * (1 + t))).numpy()
            low = (t < t.median()).numpy()
            if d == 2:  # v = +-1: a sign, so a binomial test and a 2 x 2 contingency table
                positive = proj > 0
                p = float(scipy.stats.binomtest(int(positive.sum()), n).pvalue)
                table = [[np.sum(positive & low), np.sum(~positive & low)],
                         [np.sum(positive & ~low), np.sum(~positive & ~low)]]
                p_indep = float(scipy.stats.chi2_contingency(table).pvalue)
            else:
                p = ks_exact(proj, beta_t_law(d - 1).cdf)[1]
                p_indep = ks_two_sample(proj[low], proj[~low])[1]
            norm = float((x.norm(dim=-1) - 1).abs().max())
            base = {"family": family, "d": d, "loc": name, "norm": norm}
            cells.append({**base, "test": "uniform", "p": p})
            cells.append({**base, "test": "independent of t", "p": p_indep})
    return cells


def anisotropic_tangent(loc: torch.Tensor, kappa: float, n: int, g: torch.Generator):
    """Mutation: right ``t``, but the tangent Gaussian stretched by 1.3 along one axis."""
    d = loc.shape[0]
    t = torch.from_numpy(draw_t("vmf", d, kappa, n, g))
    z = torch.randn(n, d, generator=g, dtype=torch.float64)
    z[:, -1] *= 1.3
    z = z - (z @ loc)[:, None] * loc
    z = z / z.norm(dim=-1, keepdim=True)
    return t[:, None] * loc + torch.sqrt((1 - t) * (1 + t))[:, None] * z


# ---------------------------------------------------------------- mixture

MIXTURE_KAPPAS = (50.0, 100.0, 200.0)
MIXTURE_WEIGHTS = (0.2, 0.3, 0.5)


def mixture_cells(
    n: int, seed: int, d: int = 5, weights=MIXTURE_WEIGHTS, kappas=MIXTURE_KAPPAS,
) -> list[dict]:
    """Mixture of 3 vMF with orthonormal locations: chi-square of the counts of points nearest
    to each location against :data:`MIXTURE_WEIGHTS` (at these kappas a point is nearer its own
    location with probability > 1 - 1e-12), and KS of ``loc_i^T x`` over the points of
    component ``i`` against the vMF(d, kappa_i) law of ``t``. ``weights``/``kappas`` are those
    given to the sampler (a mutation passes wrong ones); the references stay the defaults.
    """
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, 3, generator=g, dtype=torch.float64))
    locs = q.T.contiguous()
    mix = MixtureVonMisesFisher(locs, torch.tensor(kappas, dtype=torch.float64),
                                torch.tensor(weights, dtype=torch.float64))
    x, comp = mix.rsample_with_components((n,), generator=g)
    x = x.detach()
    nearest = (x @ locs.T).argmax(dim=1)
    counts = torch.bincount(nearest, minlength=3).numpy()
    stat, p = chi_square_counts(counts, MIXTURE_WEIGHTS)
    cells = [{"test": "chi-square counts", "p": p, "stat": stat, "counts": counts.tolist()}]
    for i in range(3):
        t = (x[comp == i] @ locs[i]).numpy()
        stat, p = ks_exact(t, t_law("vmf", d, MIXTURE_KAPPAS[i]).cdf)
        cells.append({"test": f"KS component {i}", "p": p, "stat": stat, "n": int(t.size)})
    return cells


# ---------------------------------------------------------------- gradients

def gradient_cells(
    cases: Iterable[tuple[str, int, float]], n: int, seed: int, wrong: bool = False,
    h: float = 1e-6,
) -> list[dict]:
    """Autograd ``dF/ds`` against central finite differences, float64, for
    ``F(s) = mean_j f(x_j(loc(s)))`` with ``loc(s) = normalise(loc0 + s delta)``, the draws
    reparameterised with common random numbers (same seed), and the smooth statistic
    ``f(x) = (a^T x)^2 + sin(3 c^T x)``. ``wrong=True`` is the mutation: a gradient that
    misses the tangent part's dependence on loc (``x_wrong = x.detach() + t (loc - loc.detach())``).
    """
    cells = []
    for i, (family, d, kappa) in enumerate(cases):
        g = torch.Generator().manual_seed(seed + 17 * i)
        loc0 = random_loc(d, g)
        loc0[0] = loc0[0].abs() + 0.3  # keep away from loc_1 = -0.9 (the Householder switch)
        loc0 = loc0 / loc0.norm()
        delta, a, c = (random_loc(d, g) for _ in range(3))
        draw_seed = seed + 1000 + i

        def stat(s: torch.Tensor, family=family, kappa=kappa, loc0=loc0, delta=delta, a=a, c=c,
                 draw_seed=draw_seed) -> torch.Tensor:
            loc = loc0 + s * delta
            loc = loc / loc.norm()
            gen = torch.Generator().manual_seed(draw_seed)
            if family == "mixture":
                locs = torch.stack([loc, -loc0])
                x = MixtureVonMisesFisher(locs, kappa).rsample((n,), generator=gen)
            else:
                x = FAMILIES[family](loc, kappa).rsample((n,), generator=gen)
                if wrong:
                    x = x.detach() + (x.detach() @ loc.detach())[:, None] * (loc - loc.detach())
            return ((x @ a) ** 2 + torch.sin(3 * (x @ c))).mean()

        s = torch.zeros((), dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(stat(s), s)
        with torch.no_grad():
            fd = (stat(torch.tensor(h, dtype=torch.float64))
                  - stat(torch.tensor(-h, dtype=torch.float64))) / (2 * h)
        rel = abs(grad.item() - fd.item()) / max(abs(fd.item()), 1e-8)
        cells.append({"family": family, "d": d, "kappa": kappa, "autograd": grad.item(),
                      "fd": fd.item(), "rel": rel, "finite": math.isfinite(grad.item())})
    return cells


GRADIENT_TOL = 1e-5
"""Relative tolerance of autograd vs central differences (h = 1e-6: truncation ~1e-12,
rounding ~1e-10 relative): a missing term is off by O(1)."""

GRADIENT_CASES = (
    ("vmf", 2, 1.0), ("vmf", 3, 10.0), ("vmf", 10, 0.5), ("vmf", 100, 1e3),
    ("power_spherical", 3, 2.0), ("power_spherical", 50, 100.0), ("mixture", 6, 20.0),
)


# ---------------------------------------------------------------- log-Bessel

def log_iv_series(nu: float, x: float) -> float:
    """log I_nu(x) from its power series, summed in log space (all terms positive):
    ``nu log(x/2) + log sum_k (x^2/4)^k / (k! Gamma(nu + k + 1))``; exact to ~1e-13 relative
    when enough terms are taken (around the largest term ``k* ~ (sqrt(nu^2 + x^2) - nu) / 2``)."""
    k_star = (math.sqrt(nu * nu + x * x) - nu) / 2
    k = np.arange(0, int(k_star + 40 * math.sqrt(k_star + 1) + 200), dtype=np.float64)
    gammaln = scipy.special.gammaln
    terms = 2 * k * math.log(x / 2) - gammaln(k + 1) - gammaln(nu + k + 1)
    return nu * math.log(x / 2) + float(scipy.special.logsumexp(terms))


def bessel_cells() -> list[dict]:
    """Accuracy of ``log_iv`` and ``iv_ratio`` against independent references.

    - SciPy ``ive`` where it neither underflows nor overflows (nu <= 500): rel. error <= 2e-12;
    - the log-space power series for orders up to 5e4 (d up to 1e5) and x up to 2e4: <= 1e-11;
    - the large-x expansion ``x - log(2 pi x)/2 + log(1 - (mu-1)/(8x) + (mu-1)(mu-9)/(2(8x)^2))``
      (``mu = 4 nu^2``), x >= 1e5 x max(1, nu^2): <= 1e-13 relative;
    - Amos (1974) bounds on the ratio, everywhere including d = 1e5 and kappa = 1e6:
      ``x / (nu + 1 + sqrt(x^2 + (nu+1)^2)) <= I_{nu+1}/I_nu``
      ``<= x / (nu + 1/2 + sqrt(x^2 + (nu+1/2)^2))``, relative slack 1e-12;
    - finiteness of log_iv over nu in [0, 5e4], x in [0, 1e6].
    """
    cells = []
    nus = [0.0, 0.5, 1.0, 1.5, 4.0, 9.5, 29.5, 30.0, 49.0, 99.5, 500.0]
    xs = [1e-8, 1e-3, 0.1, 1.0, 7.0, 30.0, 100.0, 1e3, 1e4, 1e5]
    worst = 0.0
    for nu in nus:
        for x in xs:
            ive = scipy.special.ive(nu, x)
            if not (1e-290 < ive < 1e290):
                continue
            ref = math.log(ive) + x
            got = float(log_iv(nu, torch.tensor(x, dtype=torch.float64)))
            worst = max(worst, abs(got - ref) / max(1.0, abs(ref)))
            r_ref = scipy.special.ive(nu + 1, x) / ive
            if r_ref > 1e-290:
                r = float(iv_ratio(nu, torch.tensor(x, dtype=torch.float64)))
                worst = max(worst, abs(r - r_ref) / r_ref)
    cells.append({"test": "vs scipy ive (nu <= 500)", "err": worst, "tol": 2e-12})
    worst = 0.0
    for nu in [0.0, 0.5, 3.0, 49.5, 499.0, 4999.5, 49999.0]:
        for x in [1e-6, 0.5, 10.0, 300.0, 5e3, 2e4]:
            ref = log_iv_series(nu, x)
            got = float(log_iv(nu, torch.tensor(x, dtype=torch.float64)))
            worst = max(worst, abs(got - ref) / max(1.0, abs(ref)))
    cells.append({"test": "vs log-space series (nu <= 5e4)", "err": worst, "tol": 1e-11})
    worst = 0.0
    for nu in [0.0, 0.5, 2.0, 10.0, 30.5]:
        for x in [1e5 * max(1.0, nu * nu), 1e7 * max(1.0, nu * nu)]:
            mu = 4 * nu * nu
            s = 1 - (mu - 1) / (8 * x) + (mu - 1) * (mu - 9) / (2 * (8 * x) ** 2)
            ref = x - 0.5 * math.log(2 * math.pi * x) + math.log(s)
            got = float(log_iv(nu, torch.tensor(x, dtype=torch.float64)))
            worst = max(worst, abs(got - ref) / abs(ref))
    cells.append({"test": "vs large-x expansion", "err": worst, "tol": 1e-13})
    nu = torch.tensor([0.0, 0.5, 4.0, 49.0, 499.0, 4999.0, 49999.0], dtype=torch.float64)
    x = torch.tensor([0.0, 1e-6, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6], dtype=torch.float64)
    nn, xx = torch.meshgrid(nu, x, indexing="ij")
    lv, r = log_iv(nn, xx), iv_ratio(nn, xx)
    lower = xx / (nn + 1 + torch.sqrt(xx * xx + (nn + 1) ** 2))
    upper = xx / (nn + 0.5 + torch.sqrt(xx * xx + (nn + 0.5) ** 2))
    finite = bool(torch.isfinite(lv[:, 1:]).all() and torch.isfinite(r).all())
    inside = (r >= lower * (1 - 1e-12)) & (r <= upper * (1 + 1e-12))
    cells.append({"test": "Amos bounds on the ratio, finite, d <= 1e5, kappa <= 1e6",
                  "err": float((~inside).sum()) + (0.0 if finite else 1.0), "tol": 0.0})
    return cells


# ---------------------------------------------------------------- registered checks

def _sizes(ctx: Context) -> dict:
    """Sample sizes. d = 10^4 cells draw fewer points (each costs d floats); the mutation grids
    stop at d = 1000, where every mutation is already caught many times over."""
    if ctx.quick:
        return {"n": lambda d: 4000 if d < 10000 else 1500, "mut_dims": (2, 3, 5, 10, 100),
                "sp_dims": (2, 3, 5, 10, 100), "ps_dims": (2, 3, 10, 100, 1000), "n2": 2000,
                "tan_n": 2000, "mix_n": 6000}
    return {"n": lambda d: 20000 if d < 10000 else 5000, "mut_dims": GRID_D[:-1],
            "sp_dims": (2, 3, 5, 10, 100, 1000), "ps_dims": (2, 3, 5, 10, 100, 1000, 10000),
            "n2": 5000, "tan_n": 10000, "mix_n": 30000}


def _grid_results(name: str, cells: list[dict], criterion_extra: str = "") -> list[CheckResult]:
    out = []
    for key, what in (("p_ks", "KS of t vs exact CDF"), ("p_mean", "z-test of E[t]")):
        ok, rejected = verdict(cells, key)
        out.append(CheckResult(
            "samplers", f"{name}/{what}", ok,
            f"{len(rejected)}/{len(cells)} cells rejected; {_min_p(cells, key)}",
            f"no rejection, Holm at alpha={ALPHA} over {len(cells)} cells{criterion_extra}",
            _cell_names(rejected)))
    return out


@check("samplers")
def t_law_grid_check(ctx: Context) -> list[CheckResult]:
    """KS of t against the exact law and E[t] over d x kappa x {vmf, power spherical}."""
    s = _sizes(ctx)
    cells = t_law_grid(lambda f, d, k, n, g: draw_t(f, d, k, n, g), FAMILIES, GRID_D,
                       GRID_KAPPA, s["n"], ctx.seed, ctx.device)
    return _grid_results("t-law grid", cells, f", n={s['n'](2)} per cell "
                         f"({s['n'](10000)} at d=10000)")


@check("samplers")
def uniform_sphere_check(ctx: Context) -> list[CheckResult]:
    """uniform_sphere: KS of t and E[t] = 0 over d; the same check fails with d off by one."""
    s = _sizes(ctx)
    cells = t_law_grid(draw_t, ("uniform",), GRID_D, (0.0,), s["n"], ctx.seed + 11, ctx.device)
    out = _grid_results("uniform_sphere", cells, f", n={s['n'](2)} per d")
    mutated = t_law_grid(mutated_draw("d+1"), ("uniform",), GRID_D, (0.0,), s["n"],
                         ctx.seed + 12, ctx.device)
    ok, rejected = verdict(mutated, "p_ks")
    out.append(CheckResult("samplers", "uniform_sphere mutation d+1", not ok,
                           f"{len(rejected)}/{len(mutated)} cells rejected",
                           "the check FAILS on the mutated sampler", _cell_names(rejected)))
    return out


@check("samplers")
def t_law_grid_float32(ctx: Context) -> list[CheckResult]:
    """The same law check with float32 samplers on a sub-grid."""
    n = _sizes(ctx)["n"](2)
    cells = t_law_grid(lambda f, d, k, n, g: draw_t(f, d, k, n, g, torch.float32), FAMILIES,
                       (3, 10, 1000), (0.0, 1.0, 100.0), n, ctx.seed + 1, ctx.device)
    return _grid_results("t-law float32", cells, f", n={n} per cell")


@check("samplers")
def t_law_mutations(ctx: Context) -> list[CheckResult]:
    """The t-law grid check must FAIL on each mutated sampler, at the same sample size."""
    s = _sizes(ctx)
    out = []
    for mutation, families in (("kappa+10%", FAMILIES), ("d+1", FAMILIES),
                               ("biased-envelope", ("vmf",))):
        cells = t_law_grid(mutated_draw(mutation), families, s["mut_dims"], GRID_KAPPA,
                           s["n"], ctx.seed + 2, ctx.device)
        for key in ("p_ks", "p_mean"):
            ok, rejected = verdict(cells, key)
            out.append(CheckResult(
                "samplers", f"mutation {mutation}/{key}", not ok,
                f"{len(rejected)}/{len(cells)} cells rejected",
                "the check FAILS (>= 1 rejection) on the mutated sampler",
                _cell_names(rejected)))
    return out


def _two_sample_results(name: str, cells: list[dict], mutated: list[dict], n: int):
    ok, rejected = verdict(cells, "p")
    ok_mut, rejected_mut = verdict(mutated, "p")
    return [
        CheckResult("samplers", name, ok,
                    f"{len(rejected)}/{len(cells)} rejected; {_min_p(cells, 'p')}",
                    f"no rejection, Holm at alpha={ALPHA}, n={n} per side",
                    _cell_names(rejected)),
        CheckResult("samplers", f"{name} mutation kappa+10%", not ok_mut,
                    f"{len(rejected_mut)}/{len(mutated)} rejected",
                    "the check FAILS on our sampler with kappa x 1.1",
                    _cell_names(rejected_mut)),
    ]


@check("samplers")
def scipy_vmf_check(ctx: Context) -> list[CheckResult]:
    """Two-sample KS against scipy.stats.vonmises_fisher (d <= 1000: its cost grows fast)."""
    s = _sizes(ctx)
    kappas = GRID_KAPPA
    cells = scipy_vmf_two_sample(s["sp_dims"], kappas, s["n2"], ctx.seed + 3)
    mutated = scipy_vmf_two_sample(s["sp_dims"], kappas[3:], s["n2"], ctx.seed + 4, 1.1)
    return _two_sample_results("two-sample vs scipy vonmises_fisher", cells, mutated, s["n2"])


@check("samplers")
def power_spherical_package_check(ctx: Context) -> list[CheckResult]:
    """Two-sample KS against the power-spherical package (De Cao's reference code)."""
    s = _sizes(ctx)
    cells = power_spherical_two_sample(s["ps_dims"], GRID_KAPPA, s["n2"], ctx.seed + 5)
    mutated = power_spherical_two_sample(s["ps_dims"], GRID_KAPPA[3:], s["n2"], ctx.seed + 6,
                                         1.1)
    return _two_sample_results("two-sample vs power-spherical package", cells, mutated,
                               s["n2"])


@check("samplers")
def tangent_check(ctx: Context) -> list[CheckResult]:
    """Tangent part uniform on the sphere orthogonal to loc, including loc = +-e1 and near."""
    n = _sizes(ctx)["tan_n"]
    dims = (2, 3, 5, 100, 1000)
    cells = tangent_cells(dims, 10.0, n, ctx.seed + 7)
    ok, rejected = verdict(cells, "p")
    norm = max(c["norm"] for c in cells)
    mutated = tangent_cells((3, 5, 100), 10.0, n, ctx.seed + 8, anisotropic_tangent)
    ok_mut, rejected_mut = verdict(mutated, "p")
    return [
        CheckResult("samplers", "tangent part uniform", ok and norm < 1e-12,
                    f"{len(rejected)}/{len(cells)} rejected; max|norm-1|={norm:.1e}",
                    f"no rejection (Holm, alpha={ALPHA}, n={n}), |norm-1|<1e-12",
                    _cell_names(rejected)),
        CheckResult("samplers", "tangent mutation (anisotropic tangent)", not ok_mut,
                    f"{len(rejected_mut)}/{len(mutated)} rejected",
                    "the check FAILS on the mutated sampler", _cell_names(rejected_mut)),
    ]


@check("samplers")
def mixture_check(ctx: Context) -> list[CheckResult]:
    """Mixture: component frequencies (chi-square) and per-component laws (KS); mutations."""
    n = _sizes(ctx)["mix_n"]
    out = []
    for name, kw, expect_pass in (
        ("mixture frequencies and component laws", {}, True),
        ("mixture mutation: weights permuted", {"weights": (0.5, 0.3, 0.2)}, False),
        ("mixture mutation: kappas +10%", {"kappas": tuple(1.1 * k for k in MIXTURE_KAPPAS)},
         False),
    ):
        cells = mixture_cells(n, ctx.seed + 9, **kw)
        ok, rejected = verdict(cells, "p")
        out.append(CheckResult(
            "samplers", name, ok == expect_pass,
            f"{len(rejected)}/4 rejected; " + ", ".join(f"{c['test']}: p={c['p']:.2e}"
                                                        for c in cells),
            (f"no rejection (Holm, alpha={ALPHA}, n={n})" if expect_pass
             else "the check FAILS on the mutated sampler"),
            ", ".join(c["test"] for c in rejected)))
    return out


@check("samplers")
def gradient_check(ctx: Context) -> list[CheckResult]:
    """rsample gradients to loc against central finite differences (float64)."""
    n = 2000 if ctx.quick else 20000
    cells = gradient_cells(GRADIENT_CASES, n, ctx.seed + 10)
    worst = max(c["rel"] for c in cells)
    ok = all(c["finite"] for c in cells) and worst < GRADIENT_TOL
    mutated = gradient_cells(GRADIENT_CASES[:3], n, ctx.seed + 10, wrong=True)
    worst_mut = min(c["rel"] for c in mutated)
    return [
        CheckResult("samplers", "rsample gradient vs finite differences", ok,
                    f"max rel err {worst:.1e}", f"< {GRADIENT_TOL:g} on {len(cells)} cases",
                    "; ".join(f"{c['family']} d={c['d']} k={c['kappa']:g}: {c['rel']:.1e}"
                              for c in cells)),
        CheckResult("samplers", "gradient mutation (tangent part detached)",
                    worst_mut >= GRADIENT_TOL, f"min rel err {worst_mut:.1e}",
                    f">= {GRADIENT_TOL:g} on every mutated case (the check FAILS)"),
    ]


@check("samplers")
def bessel_check(ctx: Context) -> list[CheckResult]:
    """log I_nu and I_{nu+1}/I_nu against SciPy, the series, asymptotics and Amos bounds."""
    return [CheckResult("samplers", f"log-Bessel {c['test']}", c["err"] <= c["tol"],
                        f"err {c['err']:.1e}", f"<= {c['tol']:g}") for c in bessel_cells()]


FUZZ_TESTS = Path(__file__).resolve().parents[1] / "tests" / "test_fuzz_samplers.py"


@check("samplers")
def property_fuzz(ctx: Context) -> CheckResult:
    """The property-based fuzz of every sampler (tests/test_fuzz_samplers.py: each example a
    valid draw, density, mean or entropy, or a ValueError / TypeError naming the argument);
    see :func:`validation.checks.property_tests`."""
    return property_tests("samplers", FUZZ_TESTS, ctx,
                          "every example: valid output, or a clear error")
