"""Numerics of the samplers: log-Bessel, exact laws of t, densities, entropies, edge cases.

References: SciPy (ive, vonmises, vonmises_fisher, beta), the power-spherical package, closed
forms (d = 3, kappa = 0, the half-integer order nu = 1/2) and quadrature.
"""

import math

import numpy as np
import power_spherical
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
import torch

from samplers import (
    MixtureVonMisesFisher,
    PowerSpherical,
    VonMisesFisher,
    iv_ratio,
    iv_ratio_complement,
    log_iv,
    log_ive,
)
from samplers.marginals import VonMisesFisherT, beta_t_law, t_law
from samplers.sphere import householder_place
from samplers.von_mises_fisher import mean_resultant_length, sample_vmf_t, wood_envelope
from validation.sampler_checks import bessel_cells, log_iv_series

F64 = torch.float64


def _unit(d, seed=0):
    x = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return x / x.norm()


def test_log_bessel_against_independent_references():
    for cell in bessel_cells():
        assert cell["err"] <= cell["tol"], cell


def test_log_bessel_closed_form_half_order_and_zero_argument():
    # I_{1/2}(x) = sqrt(2 / (pi x)) sinh(x), I_{3/2}/I_{1/2} = coth(x) - 1/x
    x = torch.tensor([1e-4, 0.3, 2.0, 40.0, 700.0, 1e5], dtype=F64)
    ref = 0.5 * torch.log(2 / (math.pi * x)) + x + torch.log(-torch.expm1(-2 * x)) - math.log(2)
    torch.testing.assert_close(log_iv(0.5, x), ref, rtol=1e-13, atol=1e-13)
    ratio = 1 / torch.tanh(x) - 1 / x
    torch.testing.assert_close(iv_ratio(0.5, x[1:]), ratio[1:], rtol=1e-12, atol=0)
    assert log_iv(0.0, torch.tensor(0.0, dtype=F64)) == 0
    assert log_iv(3.0, torch.tensor(0.0, dtype=F64)) == -math.inf
    assert iv_ratio(3.0, torch.tensor(0.0, dtype=F64)) == 0


def test_mean_resultant_length_stable_at_extremes():
    # A_d(kappa) ~ kappa / d for small kappa and 1 - (d-1)/(2 kappa) for kappa >> d^2
    for d in (2, 3, 100, 10**5):
        small = float(mean_resultant_length(torch.tensor(1e-8, dtype=F64), d))
        assert small == pytest.approx(1e-8 / d, rel=1e-6)
    for d in (2, 3, 10):
        k = 1e6
        a = float(mean_resultant_length(torch.tensor(k, dtype=F64), d))
        # 1 - A = (d-1)/(2 kappa) - (d-1)(d-3)/(8 kappa^2) + O(kappa^-3)
        assert 1 - a == pytest.approx((d - 1) / (2 * k) - (d - 1) * (d - 3) / (8 * k * k),
                                      rel=1e-6)
    a = mean_resultant_length(torch.tensor([0.0, 1.0, 1e3, 1e6], dtype=F64), 10**5)
    assert torch.isfinite(a).all() and (a[1:] > 0).all() and (torch.diff(a) > 0).all()


def test_wood_envelope_matches_the_original_formula_and_has_no_cancellation():
    k = torch.tensor([1e-3, 0.5, 3.0, 50.0], dtype=F64)
    for d in (2, 5, 100):
        m = d - 1
        original = (-2 * k + torch.sqrt(4 * k * k + m * m)) / m
        torch.testing.assert_close(wood_envelope(k, d), original, rtol=1e-12, atol=0)
    # at kappa = 1e8 the original formula cancels to 0; the stable one gives (d-1)/(4 kappa)
    b = wood_envelope(torch.tensor(1e8, dtype=F64), 5)
    assert float(b) == pytest.approx(4 / 4e8, rel=1e-12)


@pytest.mark.parametrize("kappa", [0.1, 1.0, 10.0, 100.0, 1e4])
def test_vmf_t_cdf_table_against_closed_forms(kappa):
    t = np.linspace(-1, 1, 1001)
    # d = 2: t = cos(phi) with phi von Mises on the circle (SciPy; its own error is ~1e-6)
    ref2 = 2 * scipy.stats.vonmises(kappa).sf(np.arccos(t))
    np.testing.assert_allclose(VonMisesFisherT(2, kappa).cdf(t), ref2, atol=5e-6)
    # d = 3: the tabulated CDF against the closed form
    law = VonMisesFisherT(3, kappa)
    phi, g = law._tabulate()
    table = 1 - np.interp(np.arccos(t), phi, g)
    np.testing.assert_allclose(table, law.cdf(t), atol=1e-7)


@pytest.mark.parametrize("d", [2, 3, 5, 100, 10000])
def test_vmf_t_law_uniform_limit_and_density_normalised(d):
    t = np.linspace(-1, 1, 501)
    np.testing.assert_allclose(VonMisesFisherT(d, 0.0).cdf(t), beta_t_law(d).cdf(t), atol=1e-12)
    for kappa in (0.1, 10.0, 1e3):
        law = VonMisesFisherT(d, kappa)
        mean = law.mean()
        total = scipy.integrate.quad(law.pdf, -1, 1, points=[mean], limit=500)[0]
        assert total == pytest.approx(1, abs=1e-8)
        first = scipy.integrate.quad(lambda s, law=law: s * law.pdf(s), -1, 1, points=[mean],
                                     limit=500)[0]
        assert first == pytest.approx(mean, abs=1e-8)


def test_power_spherical_t_law_mean():
    for d, k in [(3, 0.5), (100, 10.0), (1000, 1e4)]:
        assert t_law("power_spherical", d, k).mean() == pytest.approx(k / (d - 1 + k))


@pytest.mark.parametrize("d", [2, 3, 10, 300])
@pytest.mark.parametrize("kappa", [0.0, 0.5, 30.0, 2e3])
def test_vmf_log_prob_entropy_against_scipy(d, kappa):
    loc = _unit(d, d)
    dist = VonMisesFisher(loc, kappa)
    x = dist.sample((20,), generator=torch.Generator().manual_seed(0))
    if kappa == 0:
        area = math.log(2) + d / 2 * math.log(math.pi) - math.lgamma(d / 2)
        torch.testing.assert_close(dist.log_prob(x), torch.full((20,), -area, dtype=F64))
        assert float(dist.entropy()) == pytest.approx(area, rel=1e-12)
        return
    ref = scipy.stats.vonmises_fisher(loc.numpy(), kappa)
    with np.errstate(divide="ignore"):
        expected = ref.logpdf(x.numpy())
    if not np.isfinite(expected).all():
        # SciPy's ive underflows here (d = 300, kappa = 0.5): use the log-space series
        log_c = ((d / 2 - 1) * math.log(kappa) - d / 2 * math.log(2 * math.pi)
                 - log_iv_series(d / 2 - 1, kappa))
        expected = log_c + kappa * (x @ loc).numpy()
    else:
        assert float(dist.entropy()) == pytest.approx(float(ref.entropy()), rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(dist.log_prob(x).numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("d", [2, 3, 10, 300])
@pytest.mark.parametrize("kappa", [0.5, 30.0, 2e3])
def test_power_spherical_log_prob_entropy_mean_against_package(d, kappa):
    loc = _unit(d, d)
    ours = PowerSpherical(loc, kappa)
    theirs = power_spherical.PowerSpherical(loc, torch.tensor(kappa, dtype=F64))
    x = ours.sample((20,), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ours.entropy(), theirs.entropy(), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ours.mean, theirs.mean, rtol=1e-12, atol=1e-12)


def test_densities_integrate_to_one_on_the_circle_and_the_sphere():
    theta = np.linspace(0, 2 * np.pi, 20001)[:-1]
    circle = torch.from_numpy(np.stack([np.cos(theta), np.sin(theta)], 1))
    loc = _unit(2, 1)
    for dist in (VonMisesFisher(loc, 7.0), PowerSpherical(loc, 7.0)):
        total = dist.log_prob(circle).exp().mean() * 2 * math.pi  # periodic trapezoid: exact-ish
        assert float(total) == pytest.approx(1, abs=1e-12)
    # d = 3: integrate in (t, phi) around loc, density depends on t only: 2 pi int p dt
    loc3 = _unit(3, 2)
    perp = torch.linalg.svd(loc3[None])[2][1]
    for dist in (VonMisesFisher(loc3, 12.0), PowerSpherical(loc3, 12.0)):
        def p(t, dist=dist):
            x = t * loc3 + math.sqrt(max(0.0, 1 - t * t)) * perp
            return float(dist.log_prob(x).exp())
        assert 2 * math.pi * scipy.integrate.quad(p, -1, 1)[0] == pytest.approx(1, abs=1e-10)


def test_mixture_log_prob_is_logsumexp_of_components_and_mean():
    locs = torch.stack([_unit(4, 1), _unit(4, 2), _unit(4, 3)])
    kappas = torch.tensor([1.0, 10.0, 100.0], dtype=F64)
    w = torch.tensor([0.2, 0.3, 0.5], dtype=F64)
    mix = MixtureVonMisesFisher(locs, kappas, w)
    x = mix.sample((50,), generator=torch.Generator().manual_seed(0))
    comps = torch.stack([VonMisesFisher(locs[i], kappas[i]).log_prob(x) for i in range(3)], -1)
    torch.testing.assert_close(mix.log_prob(x), torch.logsumexp(comps + w.log(), -1))
    mean = sum(w[i] * VonMisesFisher(locs[i], kappas[i]).mean for i in range(3))
    torch.testing.assert_close(mix.mean, mean)


def test_extreme_dimension_and_concentration_stay_finite():
    for d, kappa in [(10**5, 1e6), (10**5, 0.0), (10**5, 1e-3), (2, 1e6), (3, 1e6)]:
        loc = torch.zeros(d, dtype=F64)
        loc[-1] = 1.0
        for cls in (VonMisesFisher, PowerSpherical):
            dist = cls(loc, kappa)
            x = dist.sample((8,), generator=torch.Generator().manual_seed(0))
            assert torch.isfinite(x).all() and ((x.norm(dim=-1) - 1).abs() < 1e-12).all()
            for value in (dist.log_prob(x), dist.entropy(), dist.mean):
                assert torch.isfinite(value).all(), (cls, d, kappa)


def test_large_kappa_keeps_angle_resolution():
    # kappa = 1e12, d = 3: 1 - t ~ Exp(kappa) ~ 1e-12; t alone cannot resolve it, 1 - t can
    omt, _ = sample_vmf_t(torch.full((20000,), 1e12, dtype=F64), 3,
                            torch.Generator().manual_seed(0))
    assert float(omt.mean()) == pytest.approx(1e-12, rel=0.05)
    loc = torch.zeros(3, dtype=F64)
    loc[2] = 1.0
    for cls in (VonMisesFisher, PowerSpherical):
        x = cls(loc, 1e12).sample((2000,), generator=torch.Generator().manual_seed(1))
        tangent = x[:, :2].norm(dim=-1)  # = sqrt(1 - t^2) ~ sqrt(2e-12): no floor
        assert 1e-7 < float(tangent.median()) < 1e-5


def test_d3_inverse_cdf_accurate_at_tiny_and_huge_kappa():
    g = torch.Generator().manual_seed(0)
    omt, _ = sample_vmf_t(torch.full((40000,), 1e-12, dtype=F64), 3, g)
    assert float(omt.mean()) == pytest.approx(1.0, abs=0.02)  # uniform: E[1 - t] = 1
    omt, opt = sample_vmf_t(torch.full((1000,), 800.0, dtype=F64), 3, g)
    assert torch.isfinite(omt).all() and (omt >= 0).all() and (opt <= 2).all()


@pytest.mark.parametrize("first", [1.0, -1.0, 0.0, -0.9 + 1e-12, -0.9 - 1e-12])
@pytest.mark.parametrize("offset", [0.0, 1e-12, 1e-6])
def test_householder_maps_e1_to_loc_and_is_orthogonal_near_pm_e1(first, offset):
    # +-e1 and near them, and both sides of the branch switch at loc_1 = -0.9
    d = 6
    loc = torch.zeros(d, dtype=F64)
    loc[0] = first
    loc[3] = offset
    loc[5] = math.sqrt(max(0.0, 1 - first * first - offset * offset))
    loc = loc / loc.norm()
    # the images of e1 and of the tangent basis e2..ed form an orthonormal basis
    basis = torch.eye(d, dtype=F64)
    images = torch.stack([
        householder_place(torch.tensor(1.0, dtype=F64), torch.tensor(0.0, dtype=F64),
                          basis[1].clone(), loc),
        *[householder_place(torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64),
                            basis[i].clone(), loc) for i in range(1, d)],
    ])
    torch.testing.assert_close(images[0], loc, rtol=0, atol=1e-15)
    torch.testing.assert_close(images @ images.T, torch.eye(d, dtype=F64), rtol=0, atol=1e-14)


def test_kappa_zero_is_uniform_for_every_family():
    d = 7
    loc = _unit(d, 3)
    for cls in (VonMisesFisher, PowerSpherical):
        x = cls(loc, 0.0).sample((4000,), generator=torch.Generator().manual_seed(2))
        p = scipy.stats.kstest((x @ loc).numpy(), beta_t_law(d).cdf).pvalue
        assert p > 1e-3
    mutated = VonMisesFisher(loc, 0.3).sample((4000,), generator=torch.Generator().manual_seed(2))
    assert scipy.stats.kstest((mutated @ loc).numpy(), beta_t_law(d).cdf).pvalue < 1e-3


@pytest.mark.parametrize("cls", [VonMisesFisher, PowerSpherical])
def test_common_random_number_draws_are_continuous_across_the_equator(cls):
    # loc_1 changes sign: the draws (same seed) move by O(step), no jump (the SSFG ascent
    # relies on it); the map switches branch only at loc_1 = -0.9
    base, e1 = _unit(5, 4), torch.zeros(5, dtype=F64)
    base[0], e1[0] = 0.0, 1.0
    base = base / base.norm()

    def draw(step):
        loc = base + step * e1
        return cls(loc / loc.norm(), 20.0).sample((50,), generator=torch.Generator().manual_seed(1))

    assert (draw(1e-9) - draw(-1e-9)).abs().max() < 1e-7


# --- Large concentrations: log p at the mode, entropy, mean, draws (kappa up to 1e300) ---

HUGE = (1e7, 1e8, 1e17, 1e155, 1e300)


def _hankel_log_ive(nu, x, terms=4):
    """``log(I_nu(x) e^{-x})`` from Hankel's expansion (DLMF 10.40.1), for ``x >> nu^2``:
    ``-log(2 pi x) / 2 + log sum_k (-1)^k a_k(nu) / x^k``."""
    mu = 4 * nu * nu
    term = total = 1.0
    for k in range(1, terms):
        term *= -(mu - (2 * k - 1) ** 2) / (8 * k) / x
        total += term
    return -0.5 * math.log(2 * math.pi * x) + math.log(total)


def _vmf_log_mode_reference(d, kappa):
    """``nu log kappa - (d/2) log(2 pi) - log ive(nu, kappa)`` with SciPy's exponentially
    scaled ``ive`` where it is positive (kappa <= 1e8 here), Hankel's expansion beyond (where
    ``ive`` returns 0 and ``nu^2 / kappa`` is below 1e-9)."""
    nu = d / 2 - 1
    ive = scipy.special.ive(nu, kappa)
    if ive > 0:
        log_ive_ref = math.log(ive)
    else:
        assert nu * nu / kappa < 1e-9
        log_ive_ref = _hankel_log_ive(nu, kappa)
    return nu * math.log(kappa) - d / 2 * math.log(2 * math.pi) - log_ive_ref


def _ps_log_mode_reference(d, kappa):
    """Power spherical ``log p(mu) = -((d-1) log 2 + b log pi + lgamma(a) - lgamma(a + b))``
    with SciPy's ``betaln(a, b) - gammaln(b)`` for the log-Gamma difference."""
    b = (d - 1) / 2
    diff = scipy.special.betaln(kappa + b, b) - scipy.special.gammaln(b)
    return -((d - 1) * math.log(2) + b * math.log(math.pi) + diff)


def _e_last(d, dtype=F64):
    loc = torch.zeros(d, dtype=dtype)
    loc[-1] = 1
    return loc


@pytest.mark.parametrize("d", [2, 3, 5, 100, 10**4])
@pytest.mark.parametrize("kappa", HUGE)
def test_log_prob_at_the_mode_at_huge_kappa(d, kappa):
    # log p(mu) is O(d log kappa) while log C_d and kappa are O(kappa): the old evaluation
    # log C_d + kappa t gave exactly 0 from kappa ~ 1e17 in float64 and missed by nats in
    # float32 at 1e7-1e8. float64 within 1e-11 of SciPy / Hankel (power spherical: 1e-9,
    # SciPy's betaln is accurate to about 1e-10 there; odd d is checked to 1e-12 below against
    # exact sums); float32 within 2 ulps.
    for cls, ref, rtol in ((VonMisesFisher, _vmf_log_mode_reference(d, kappa), 1e-11),
                           (PowerSpherical, _ps_log_mode_reference(d, kappa), 1e-9)):
        loc = _e_last(d)
        got = float(cls(loc, kappa).log_prob(loc))
        assert abs(got - ref) <= rtol * max(1.0, abs(ref)), (cls.__name__, got, ref)
        if kappa < torch.finfo(torch.float32).max:
            loc32 = loc.float()
            got32 = cls(loc32, kappa).log_prob(loc32)
            assert got32.dtype == torch.float32
            assert abs(float(got32) - ref) <= 2 * 1.2e-7 * max(1.0, abs(ref)), (cls.__name__,)
    mix = MixtureVonMisesFisher(torch.stack([_e_last(d), -_e_last(d)]), kappa)
    # the antipodal component contributes exp(-2 kappa): nothing
    ref = _vmf_log_mode_reference(d, kappa) + math.log(0.5)
    assert float(mix.log_prob(_e_last(d))) == pytest.approx(ref, rel=1e-11, abs=1e-11)


@pytest.mark.parametrize("d", [3, 5, 101, 10001])
@pytest.mark.parametrize("kappa", HUGE)
def test_power_spherical_entropy_at_huge_kappa_against_exact_sums(d, kappa):
    # odd d: b = (d-1)/2 is an integer, and lgamma(a) - lgamma(a+b) = -sum_j log(a+j),
    # digamma(a+b) - digamma(a) = sum_j 1/(a+j), j < b: exact finite sums
    b = (d - 1) // 2
    a = kappa + b
    log_mode = -((d - 1) * math.log(2) + b * math.log(math.pi)
                 - math.fsum(math.log(a + j) for j in range(b)))
    entropy = -log_mode + kappa * math.fsum(1 / (a + j) for j in range(b))
    dist = PowerSpherical(_e_last(d), kappa)
    assert float(dist.log_prob(_e_last(d))) == pytest.approx(log_mode, rel=1e-12)
    assert float(dist.entropy()) == pytest.approx(entropy, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("d", "kappa"), [
    (d, kappa) for d in (2, 3, 5, 100, 10**4) for kappa in (1e8, 1e17, 1e155, 1e300)
    if (d / 2) ** 2 / kappa < 1e-4  # the asymptotic regime kappa >> d^2
])
def test_vmf_entropy_and_mean_at_huge_kappa_against_asymptotics(d, kappa):
    # H = -log p(mu) + kappa (1 - A_d), kappa (1 - A_d) = (d-1)/2 - (d-1)(d-3)/(8 kappa) + ...
    # and 1 - A_d = (d-1)/(2 kappa) - (d-1)(d-3)/(8 kappa^2) + O(d^3 / kappa^3)
    dist = VonMisesFisher(_e_last(d), kappa)
    one_m_a = (d - 1) / (2 * kappa) - (d - 1) * (d - 3) / (8 * kappa * kappa)
    entropy = (-_vmf_log_mode_reference(d, kappa) + (d - 1) / 2
               - (d - 1) * (d - 3) / (8 * kappa))
    assert float(dist.entropy()) == pytest.approx(entropy, rel=1e-11, abs=1e-11)
    assert float(iv_ratio_complement(d / 2 - 1, torch.tensor(kappa, dtype=F64))) == \
        pytest.approx(one_m_a, rel=1e-9)
    mean = dist.mean
    assert torch.isfinite(mean).all() and float(mean.norm()) <= 1
    assert float(mean[-1]) == pytest.approx(1 - one_m_a, rel=1e-15)


@pytest.mark.parametrize("nu", [0.0, 0.5, 1.5, 29.5, 48.0, 4999.0])
def test_log_ive_against_scipy_and_hankel_up_to_1e308(nu):
    # SciPy's ive where it is positive and normal, Hankel's expansion at x >> nu^2
    x = np.concatenate([np.logspace(-300, 8, 60), [1e12, 1e17, 1e100, 1e155, 1e300, 1.7e308]])
    got = log_ive(nu, torch.from_numpy(x)).numpy()
    assert np.isfinite(got).all()
    for xi, g in zip(x.tolist(), got, strict=True):
        ive = scipy.special.ive(nu, xi)
        if ive > 1e-300 and xi <= 1e8:
            ref = math.log(ive)
        elif nu * nu / xi < 1e-9:
            ref = _hankel_log_ive(nu, xi)
        else:
            continue
        assert abs(g - ref) <= 1e-11 * max(1.0, abs(ref)), (nu, xi, g, ref)


@pytest.mark.parametrize("nu", [0.0, 0.5, 1.5, 29.5, 48.0])
def test_iv_ratio_complement_keeps_relative_accuracy_up_to_1e308(nu):
    # 1 - I_{nu+1}/I_nu = (2nu+1)/(2x) - (2nu+1)(2nu-1)/(8x^2) + O(nu^4 / x^3): every decade
    # from 1e10 (where the next term is below 1e-13 of the value) to 1e308, including
    # 1e12..1e16, where 1 - I_{nu+1}/I_nu is within a few ulps of 0 in float64
    x = torch.logspace(10, 308, 299, dtype=F64)
    expected = (nu + 0.5) / x - (2 * nu + 1) * (2 * nu - 1) / 8 / x / x  # no 2x: overflow
    torch.testing.assert_close(iv_ratio_complement(nu, x), expected, rtol=1e-12, atol=0)


def test_log_density_entropy_at_extreme_kappa_against_mpmath():
    # an independent arbitrary-precision reference over the whole range, both families
    mpmath = pytest.importorskip("mpmath")
    for d in (2, 5, 100, 10**4):
        nu, b = mpmath.mpf(d) / 2 - 1, mpmath.mpf(d - 1) / 2
        for kappa in (0.5, 1e3, 1e8, 1e17, 1e155, 1e300):
            with mpmath.workdps(40 + max(0, int(math.log10(kappa)))):
                k = mpmath.mpf(kappa)
                i0, i1 = mpmath.besseli(nu, k), mpmath.besseli(nu + 1, k)
                vmf_mode = (nu * mpmath.log(k) - mpmath.mpf(d) / 2 * mpmath.log(2 * mpmath.pi)
                            - mpmath.log(i0 * mpmath.exp(-k)))
                vmf_entropy = -vmf_mode + k * (i0 - i1) / i0
                a = k + b
                ps_mode = -((d - 1) * mpmath.log(2) + b * mpmath.log(mpmath.pi)
                            + mpmath.loggamma(a) - mpmath.loggamma(a + b))
                ps_entropy = -ps_mode + k * (mpmath.digamma(a + b) - mpmath.digamma(a))
            loc = _e_last(d)
            for dist, mode, entropy in ((VonMisesFisher(loc, kappa), vmf_mode, vmf_entropy),
                                        (PowerSpherical(loc, kappa), ps_mode, ps_entropy)):
                for got, ref in ((dist.log_prob(loc), mode), (dist.entropy(), entropy)):
                    ref = float(ref)
                    assert abs(float(got) - ref) <= 1e-11 * max(1.0, abs(ref)), (d, kappa)


@pytest.mark.parametrize("cls", [VonMisesFisher, PowerSpherical])
@pytest.mark.parametrize("kappa", [1e7, 1e8, 1e20])
def test_float32_log_prob_agrees_with_float64_at_large_kappa(cls, kappa):
    # The same float32 points evaluated in float32 and in float64: agreement to a few float32
    # ulps of the scale of the two terms, |log p(mu)| + |log p(x) - log p(mu)| + 1. The dot
    # product 1 - loc^T x alone has a rounding error of kappa * eps32 = 6 nats at kappa = 1e8.
    # Draws (near the mode) and points near the antipode, where the power spherical's
    # log((1 + t) / 2) needs 1 + t to its relative precision.
    eps32 = torch.finfo(torch.float32).eps
    for d in (3, 10, 1000):
        loc32 = _unit(d, d).float()
        g = torch.Generator().manual_seed(d)
        x32 = cls(loc32, kappa).sample((500,), generator=g)
        far = -loc32 + torch.logspace(-4, -1, 20).unsqueeze(1) * torch.randn(20, d, generator=g)
        x32 = torch.cat([x32, far / far.norm(dim=-1, keepdim=True)])
        got = cls(loc32, kappa).log_prob(x32).double()
        ref64 = cls(loc32.double(), kappa, validate_args=False)
        ref = ref64.log_prob(x32.double())
        mode = ref64.log_prob(loc32.double())
        scale = mode.abs() + (ref - mode).abs() + 1
        assert ((got - ref).abs() <= 8 * eps32 * scale).all(), (d, (got - ref).abs().max())


def _gamma_limit_statistic(family, x, kappa):
    """At kappa >> d^2 with loc = e_d: kappa s^2 / 2 (vMF) and kappa s^2 / 4 (power spherical),
    s^2 = 1 - t^2 the squared tangent part, follow Gamma((d-1)/2, 1) up to O(d^2 / kappa)
    (vMF: 1 - t has density prop. to e^{-kappa u} u^{a-1} (2 - u)^{a-1}; power spherical:
    (1 - t) / 2 ~ Beta(a, kappa + a))."""
    s2 = (x[:, :-1].double() ** 2).sum(-1)
    return (kappa * s2 / (2 if family == "vmf" else 4)).numpy()


@pytest.mark.parametrize(("dtype", "kappas"), [(F64, (1e17, 1e160, 1e300)),
                                               (torch.float32, (1e20, 1e37))])
def test_draws_at_huge_kappa_follow_the_gamma_limit(dtype, kappas):
    # kappa = 1e160 raised "math domain error" (Wood's envelope overflowed to b = 0); the draws
    # must also be right, not only finite: KS against the limit law, Holm at level 1e-3
    pvalues = []
    for d in (2, 5, 50):
        loc = _e_last(d, dtype)
        for kappa in kappas:
            g = torch.Generator().manual_seed(int(math.log10(kappa)) + d)
            draws = {"vmf": VonMisesFisher(loc, kappa).sample((2000,), generator=g),
                     "power_spherical": PowerSpherical(loc, kappa).sample((2000,), generator=g),
                     "mixture": MixtureVonMisesFisher(torch.stack([loc, loc]), kappa)
                     .sample((2000,), generator=g)}
            for family, x in draws.items():
                assert x.dtype == dtype and torch.isfinite(x).all()
                law = scipy.stats.gamma((d - 1) / 2)
                stat = _gamma_limit_statistic("power_spherical" if family == "power_spherical"
                                              else "vmf", x, kappa)
                pvalues.append((scipy.stats.kstest(stat, law.cdf).pvalue, family, d, kappa))
    pvalues.sort()
    m = len(pvalues)
    assert all(p > 1e-3 / (m - i) for i, (p, *_) in enumerate(pvalues)), pvalues[:3]
