"""The NumPy reference against POT, brute force and closed forms."""

import itertools
import math

import numpy as np
import ot
import pytest
from scipy.special import i0e, i1e

from discrepancies import reference
from validation.discrepancy_checks import KNOWN_GAP, brute_force_fg, pot_fgw_at_monotone_plans


@pytest.mark.parametrize("p", [1, 1.5, 2, 3])
def test_wasserstein_1d_matches_emd2(p):
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal(9), rng.exponential(size=14)
    a, b = rng.dirichlet(np.ones(9)), rng.dirichlet(np.ones(14))
    cost = np.abs(u[:, None] - v[None, :]) ** p
    assert reference.wasserstein_1d(u, v, a, b, p) == pytest.approx(ot.emd2(a, b, cost), rel=1e-12)
    uniform = ot.emd2(np.full(9, 1 / 9), np.full(14, 1 / 14), cost)
    assert reference.wasserstein_1d(u, v, p=p) == pytest.approx(uniform, rel=1e-12)


def test_fg_1d_is_the_literal_formula_on_a_hand_example():
    # u = (0, 1), v = (0, 2): identity W = (0 + 1)/2, structure = 2 * (1 - 4)^2 / 4 = 4.5;
    # anti-identity: W = (4 + 1)/2 = 2.5, same structure.
    assert reference.fg_1d([0, 1], [0, 2], beta=0.5, p=2) == pytest.approx(0.5 * 0.5 + 0.5 * 4.5)
    assert reference.fg_1d([1, 0], [2, 0], beta=0.0, p=1) == pytest.approx(0.5)


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_two_couplings_are_exact_for_small_n(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        u, v = rng.standard_normal(n), rng.standard_normal(n) * 2
        for beta in (0.1, 1.0):
            exact = reference.fg_1d_exact(u, v, beta)
            assert reference.fg_1d(u, v, beta) == pytest.approx(exact, rel=1e-12)
            assert brute_force_fg(np.sort(u), np.sort(v), beta, 2).min() == pytest.approx(
                exact, rel=1e-12)


def test_known_gap_instance_is_above_the_exact_optimum():
    u, v, beta, p = (KNOWN_GAP[k] for k in ("u", "v", "beta", "p"))
    two = reference.fg_1d(u, v, beta, p)
    exact = reference.fg_1d_exact(u, v, beta, p)
    assert (two - exact) / exact == pytest.approx(KNOWN_GAP["relative_gap"], rel=1e-3)


@pytest.mark.parametrize(("beta", "p"), [(0.0, 2), (0.3, 1), (0.7, 3), (1.0, 2)])
def test_fg_1d_equals_pot_fgw_objective_at_monotone_plans(beta, p):
    rng = np.random.default_rng(1)
    u, v = rng.standard_normal(11), rng.standard_normal(11) + 1
    assert reference.fg_1d(u, v, beta, p) == pytest.approx(
        pot_fgw_at_monotone_plans(u, v, beta, p), rel=1e-12)


def test_sliced_values_on_given_directions():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((12, 3)), rng.standard_normal((12, 3)) + 1
    P = rng.standard_normal((3, 5))
    P /= np.linalg.norm(P, axis=0)
    assert reference.sw(X, Y, P, 2) == pytest.approx(
        ot.sliced_wasserstein_distance(X, Y, projections=P), rel=1e-12)
    assert reference.max_sw(X, Y, P, 3) == pytest.approx(
        ot.max_sliced_wasserstein_distance(X, Y, projections=P, p=3), rel=1e-12)
    assert reference.sfg(X, Y, P, 0.0) == pytest.approx(reference.sw(X, Y, P) ** 2, rel=1e-12)


@pytest.mark.parametrize("kappa", [0.5, 4.0])
def test_spherical_expectation_mean_resultant_length(kappa):
    # E <loc, theta>: vMF on S^1: I1/I0; vMF on S^2: coth(k) - 1/k; power spherical on S^{d-1}:
    # t = 2z - 1 with z ~ Beta((d-1)/2 + k, (d-1)/2), so E t = k / (k + 1) (d = 2), k / (k + 2)
    # (d = 3). The midpoint rule in t meets the (1 + t)^k singularity of the power spherical
    # density at t = -1 (error ~ h^1.5 for k < 1): 5e-4 covers it; a wrong density is off by
    # 1e-1 or more.
    loc2 = np.array([0.6, 0.8])
    loc3 = np.array([2.0, -1.0, 2.0]) / 3.0
    cases = [
        (loc2, "vmf", i1e(kappa) / i0e(kappa)),
        (loc3, "vmf", 1 / math.tanh(kappa) - 1 / kappa),
        (loc2, "power", kappa / (kappa + 1)),
        (loc3, "power", kappa / (kappa + 2)),
    ]
    for loc, family, expected in cases:
        got = reference.spherical_expectation(lambda th, loc=loc: float(th @ loc), loc, kappa,
                                              family, n_grid=200)
        assert got == pytest.approx(expected, rel=5e-4), (len(loc), family)


def test_spherical_objectives_limits():
    # kappa = 0 averages FG over the uniform circle; a large kappa concentrates on loc.
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((6, 2)), rng.standard_normal((6, 2)) * 1.5
    phis = (np.arange(2000) + 0.5) * 2 * math.pi / 2000
    circle = np.stack([np.cos(phis), np.sin(phis)])
    uniform = reference.sfg(X, Y, circle, 0.2)
    loc = np.array([0.0, 1.0])
    assert reference.ssfg_objective(X, Y, loc, 0.0, 0.2, n_grid=2000) == pytest.approx(
        uniform, rel=1e-9)
    peak = reference.fg_1d(X @ loc, Y @ loc, 0.2)
    assert reference.ssfg_objective(X, Y, loc, 2000.0, 0.2, n_grid=4000) == pytest.approx(
        peak, rel=2e-3)
    assert reference.pssfg_objective(X, Y, loc, 0.0, 0.2, n_grid=2000) == pytest.approx(
        uniform, rel=1e-9)
    locs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert reference.mssfg_objective(X, Y, locs, 3.0, 0.2) == pytest.approx(np.mean(
        [reference.ssfg_objective(X, Y, e, 3.0, 0.2) for e in locs]), rel=1e-14)


def test_brute_force_covers_every_permutation():
    u, v = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 2.5])
    costs = brute_force_fg(u, v, 0.4, 2)
    literal = [reference._fg_cost(u, v[list(s)], 0.4, 2) for s in itertools.permutations(range(3))]
    assert np.allclose(costs, literal, rtol=1e-13)
