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

from samplers import MixtureVonMisesFisher, PowerSpherical, VonMisesFisher, iv_ratio, log_iv
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
