"""The convention adapters against literal implementations of each published convention."""

import numpy as np
import pytest
import torch

from discrepancies import sfg, sw
from discrepancies.conventions import CONVENTIONS, sfg_in_convention, sw_in_convention

RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((15, 4)), RNG.standard_normal((15, 4)) * 1.3 + 0.5
GAUSS = RNG.standard_normal((4, 6))
UNIT = GAUSS / np.linalg.norm(GAUSS, axis=0)


def literal_swae(X, Y, theta, p):
    """SWAE-style code: project, sort, mean of |diff|^p over samples and directions."""
    Xt, Yt, Tt = (torch.from_numpy(a) for a in (X, Y, theta))
    u = torch.sort(Xt @ Tt, dim=0).values
    v = torch.sort(Yt @ Tt, dim=0).values
    return torch.mean(torch.abs(u - v) ** p).item()


def literal_rae_sw(X, Y, gaussian, p):
    """RAE-style code: raw Gaussian directions, a sum over samples, a mean over directions."""
    total = 0.0
    for g in gaussian.T:
        u, v = np.sort(X @ g), np.sort(Y @ g)
        total += sum(abs(u[i] - v[i]) ** p for i in range(len(u)))
    return total / gaussian.shape[1]


def literal_rae_sfg(X, Y, gaussian, beta, p):
    """RAE-style fused term: sums over samples and pairs, the better monotone coupling."""
    total = 0.0
    for g in gaussian.T:
        u, v = np.sort(X @ g), np.sort(Y @ g)
        best = np.inf
        for w in (v, v[::-1]):
            transport = sum(abs(u[i] - w[i]) ** p for i in range(len(u)))
            structure = sum(((u[i] - u[j]) ** 2 - (w[i] - w[j]) ** 2) ** 2
                            for i in range(len(u)) for j in range(len(u)))
            best = min(best, (1 - beta) * transport + beta * structure)
        total += best
    return total / gaussian.shape[1]


@pytest.mark.parametrize("p", [1, 2, 3])
def test_sw_conventions_match_literal_code(p):
    assert sw_in_convention(X, Y, UNIT, p, convention="design") == pytest.approx(
        sw(X, Y, projections=UNIT, p=p), rel=1e-13)
    assert sw_in_convention(X, Y, UNIT, p, convention="swae") == pytest.approx(
        literal_swae(X, Y, UNIT, p), rel=1e-12)
    assert sw_in_convention(X, Y, GAUSS, p, convention="rae") == pytest.approx(
        literal_rae_sw(X, Y, GAUSS, p), rel=1e-12)


@pytest.mark.parametrize(("beta", "p"), [(0.0, 2), (0.1, 2), (0.6, 1), (1.0, 3)])
def test_sfg_conventions_match_literal_code(beta, p):
    assert sfg_in_convention(X, Y, UNIT, beta, p, convention="design") == pytest.approx(
        sfg(X, Y, projections=UNIT, beta=beta, p=p), rel=1e-13)
    assert sfg_in_convention(X, Y, UNIT, beta, p, convention="swae") == pytest.approx(
        sfg(X, Y, projections=UNIT, beta=beta, p=p), rel=1e-13)
    assert sfg_in_convention(X, Y, GAUSS, beta, p, convention="rae") == pytest.approx(
        literal_rae_sfg(X, Y, GAUSS, beta, p), rel=1e-12)


def test_rae_convention_is_about_n_d_times_ours_in_expectation():
    # E ||g||^2 = d and the sum is n times the mean: E[rae SW_2] = n d SW_2^2 exactly; with
    # 4000 Gaussian directions the relative Monte Carlo error is ~ sqrt(2/d)/sqrt(4000) ~ 1.1%.
    gauss = np.random.default_rng(1).standard_normal((4, 4000))
    ratio = sw_in_convention(X, Y, gauss, 2, convention="rae") / (
        15 * 4 * sw(X, Y, n_projections=4000, seed=0) ** 2)
    assert ratio == pytest.approx(1.0, abs=0.06)


def test_convention_errors():
    with pytest.raises(ValueError, match="convention must be one of"):
        sw_in_convention(X, Y, UNIT, convention="kolouri")
    with pytest.raises(ValueError, match="projections must have unit-norm columns"):
        sw_in_convention(X, Y, GAUSS, convention="design")
    with pytest.raises(ValueError, match=r"directions must have shape \(d, L\)"):
        sw_in_convention(X, Y, GAUSS[:3], convention="rae")
    with pytest.raises(ValueError, match="same number of points"):
        sw_in_convention(X, Y[:7], GAUSS, convention="rae")
    assert set(CONVENTIONS) == {"design", "swae", "rae"}
