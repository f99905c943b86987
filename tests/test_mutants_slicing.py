"""Tests that kill the mutants of discrepancies/slicing.py that the rest of the suite let through
(scripts/mutation.sh discrepancies/slicing.py; docs/mutation.md lists the equivalent ones)."""

import math
import warnings

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from discrepancies import slicing
from discrepancies.slicing import rqmc_projections

CPU, F64 = torch.device("cpu"), torch.float64


def _rqmc(d, L, seed=0):
    return rqmc_projections(d, L, torch.Generator().manual_seed(seed), F64, CPU)


def test_rqmc_is_silent_for_any_number_of_directions_and_takes_every_sobol_dimension():
    """SciPy warns that Sobol' nets are balanced only for L a power of 2; the first L points
    are used on purpose (documented), so no warning reaches the caller. Sobol' is defined up to
    d = 21201, which is accepted."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = _rqmc(5, 7)
        assert P.shape == (5, 7)
        assert _rqmc(slicing._SOBOL_MAX_D, 2).shape == (slicing._SOBOL_MAX_D, 2)


def test_sobol_points_are_moved_uniformly_inside_their_own_cell(monkeypatch):
    """Each scrambled Sobol' coordinate (a multiple of 2^-30) is moved by an independent
    uniform offset in [0, 2^-30) before the inverse Gaussian CDF: recorded at both ends, the
    offsets lie in the cell, differ from one coordinate to the next, and fill it (their mean is
    half the cell to 5 standard errors: 1000 offsets, standard error 0.009 of the cell)."""
    seen = {}
    sobol_random = scipy.stats.qmc.Sobol.random

    def record_random(self, n):
        seen["cube"] = sobol_random(self, n)
        return seen["cube"]

    def record_ndtri(x):
        seen["moved"] = x
        return scipy.special.erfinv(2 * x - 1) * math.sqrt(2)

    monkeypatch.setattr(scipy.stats.qmc.Sobol, "random", record_random)
    monkeypatch.setattr(scipy.special, "ndtri", record_ndtri)
    _rqmc(100, 10)
    cell = 2.0**-30
    offset = (seen["moved"] - seen["cube"]) / cell
    assert offset.shape == (10, 100)
    assert np.all(offset >= 0) and np.all(offset < 1)
    assert len(np.unique(offset)) > 900
    assert abs(offset.mean() - 0.5) < 5 * math.sqrt(1 / 12 / offset.size)


def test_fibonacci_spiral_under_a_rotation():
    """d = 3: the directions are a rotation of the spiral z_i = 1 - (2i + 1)/L,
    phi_i = 2 pi i / varphi^2 (their Gram matrix is the spiral's, built here from the formula),
    and the rotation is orthogonal."""
    L = 12
    i = np.arange(L)
    z = 1 - (2 * i + 1) / L
    phi = 2 * math.pi * i / ((1 + math.sqrt(5)) / 2) ** 2
    r = np.sqrt(1 - z**2)
    spiral = np.stack([r * np.cos(phi), r * np.sin(phi), z])
    P = _rqmc(3, L).numpy()
    np.testing.assert_allclose(P.T @ P, spiral.T @ spiral, rtol=0, atol=1e-13)


def _leave_one_out_by_hand(f, z):
    """The formula of leave_one_out_estimate, one left-out direction at a time, in NumPy."""
    L, k = z.shape
    ridge = 10 * np.finfo(float).eps * np.sum(z**2)
    terms = []
    for out in range(L):
        keep = np.arange(L) != out
        zc = z[keep] - z[keep].mean(0)
        fc = f[keep] - f[keep].mean()
        c = np.linalg.solve(zc.T @ zc + ridge * np.eye(k), zc.T @ fc)
        terms.append(f[out] - c @ z[out])
    return np.mean(terms)


def test_leave_one_out_from_three_directions_on():
    """From L = 3 on, the estimate is the leave-one-out fit (by hand, in NumPy); below, the
    plain mean. With L = 3 and one control variate each fit is a line through two points (not
    the plain mean)."""
    rng = np.random.default_rng(2)
    for L in (2, 3, 6):
        f, z = rng.standard_normal(L), rng.standard_normal((L, 1))
        got = slicing.leave_one_out_estimate(torch.tensor(f), torch.tensor(z)).item()
        expected = f.mean() if L < 3 else _leave_one_out_by_hand(f, z)
        assert got == pytest.approx(expected, rel=1e-9), L
        if L == 3:
            assert abs(got - f.mean()) > 1e-3


def test_a_slicing_that_is_not_a_string_is_named_in_the_error():
    with pytest.raises(TypeError, match=r"^slicing must be a string, .*, got 3$"):
        slicing.slicing_scheme(3, "sw")


def test_haar_columns_of_a_rank_deficient_matrix_are_still_orthonormal():
    """A zero on R's diagonal (a column of G in the span of the previous ones) has no sign: the
    column of Q is kept as it is, not multiplied by that zero."""
    G = torch.tensor([[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]], dtype=F64)
    Q = slicing.haar_columns(G)
    torch.testing.assert_close(Q.T @ Q, torch.eye(2, dtype=F64), rtol=0, atol=1e-15)


def test_control_variate_refusal_names_p_and_beta_only_when_given():
    with pytest.raises(ValueError, match=r"got sw with p=3\.0$"):
        slicing.slicing_scheme("control-variate", "sw", p=3.0)
    with pytest.raises(ValueError, match=r"got sfg with p=2\.0, beta=0\.5$"):
        slicing.slicing_scheme("control-variate", "sfg", p=2.0, beta=0.5)
