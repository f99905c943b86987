"""Slicing schemes: the default unchanged, directions uniform and reproducible, exact on closed
forms, unbiased against the L -> infinity limit, differentiable, refused where they do not
apply; and the limits themselves against closed forms."""

from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np
import pytest
import scipy.stats
import torch

from discrepancies import REGISTRY, reference, sfg, sw
from discrepancies._slices import wp_per_slice
from discrepancies.slicing import SCHEMES, haar_columns, numpy_seed, slicing_scheme
from validation.exact_slicing import mean_abs_projection, sliced_limit
from validation.slicing_checks import one_thread
from validation.stats import holm

ALPHA = 1e-3  # family-wise level of every statistical test here (Holm)
RANDOM_SCHEMES = ("mc", "orthogonal", "rqmc")  # the ones that draw their own directions


def _clouds(n: int = 30, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Y = torch.randn(n, d, generator=g, dtype=torch.float64) * 1.3 + 0.2
    return X, Y


# Values of the suite before the slicing schemes existed (same inputs, n_projections=20,
# seed=3, n_iter=3 for the optimised ones): the default must not move. Bit for bit for the
# plain means; the optimised ones within 1e-14 relative (measured: 0 for max-SW, 4e-16 to
# 2.2e-15 for the FG family's, a few ulps from later rewrites of the ascent's kernels).
STORED = {"sw": 0.6119902125868759, "max_sw": 0.9151216322378306, "sfg": 2.2176886516097016,
          "max_sfg": 4.481676029643314, "ssfg": 3.064226953781019,
          "mssfg": 2.9599504067832703, "pssfg": 2.658850020229646,
          # added with the distributional entries (their first values)
          "dsw": 0.7041482518656653, "dsfg": 3.1782665720774754,
          # the energy-based entries, at their introduction (they came with the schemes)
          "ebsw": 0.6356750077096297, "ebsfg": 2.435575260464645,
          "sir_ebsw": 0.6562910240586504, "mh_ebsw": 0.6070769617783256}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_default_slicing_is_the_old_monte_carlo(name):
    X, Y = _clouds()
    kw = {"n_iter": 3} if REGISTRY[name].optimised else {}
    fn = partial(REGISTRY[name], X, Y, n_projections=20, seed=3, **kw)
    assert fn().item() == fn(slicing="mc").item()
    assert fn().item() == pytest.approx(STORED[name], rel=1e-14 if REGISTRY[name].optimised
                                        else 0, abs=0)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registry_entry_takes_slicing(name):
    X, Y = _clouds(12, 3)
    kw = {"n_iter": 2} if REGISTRY[name].optimised else {}
    fn = partial(REGISTRY[name], X, Y, n_projections=10, seed=0, **kw)
    for scheme in RANDOM_SCHEMES:
        assert torch.isfinite(fn(slicing=scheme))
    with pytest.raises(ValueError, match="'nope'"):
        fn(slicing="nope")
    with pytest.raises(TypeError, match="slicing"):
        fn(slicing=None)
    if REGISTRY[name].slicing_law != "uniform":  # a maximum, or a vMF / power spherical mean
        with pytest.raises(ValueError, match="control-variate"):
            fn(slicing="control-variate")
        # refused for what the entry is, not for its p or beta: p = 2 and beta = 0 too
        with pytest.raises(ValueError, match="control-variate"):
            fn(slicing="control-variate", p=2.0, **({"beta": 0.0} if REGISTRY[name].fused
                                                    else {}))


def test_control_variates_only_for_w2():
    X, Y = _clouds(12, 3)
    assert torch.isfinite(sw(X, Y, slicing="control-variate"))
    assert torch.isfinite(sfg(X, Y, beta=0.0, slicing="control-variate"))
    with pytest.raises(ValueError, match="p=3"):
        sw(X, Y, p=3, slicing="control-variate")
    with pytest.raises(ValueError, match=r"beta=0\.1"):
        sfg(X, Y, beta=0.1, slicing="control-variate")


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("d", [2, 3, 5])
@pytest.mark.parametrize("L", [1, 7, 16])
def test_directions_unit_reproducible_and_seeded(scheme, d, L):
    draw = SCHEMES[scheme].draw

    def directions(seed, dtype=torch.float64):
        return draw(d, L, torch.Generator().manual_seed(seed), dtype, torch.device("cpu"))

    P = directions(1)
    assert P.shape == (d, L) and P.dtype == torch.float64
    assert torch.allclose(P.norm(dim=0), torch.ones(L, dtype=torch.float64), atol=1e-12)
    assert torch.equal(P, directions(1))
    assert not torch.allclose(P, directions(2))
    assert directions(1, torch.float32).dtype == torch.float32


@pytest.mark.parametrize("d, L", [(3, 3), (4, 11), (5, 15), (6, 4)])
def test_orthogonal_blocks_are_orthonormal(d, L):
    P = SCHEMES["orthogonal"].draw(d, L, torch.Generator().manual_seed(0), torch.float64, "cpu")
    for start in range(0, L, d):
        block = P[:, start:start + d]
        assert torch.allclose(block.T @ block, torch.eye(block.shape[1], dtype=torch.float64),
                              atol=1e-12)
    if L > d:  # different blocks are independent rotations, not the same one
        assert (P[:, :d].T @ P[:, d:]).abs().max() > 1e-3


def test_rqmc_point_sets():
    g = torch.Generator().manual_seed(0)
    # d = 2: a rotated regular L-gon
    P = SCHEMES["rqmc"].draw(2, 7, g, torch.float64, "cpu").numpy()
    angles = np.sort(np.mod(np.arctan2(P[1], P[0]), 2 * np.pi))
    gaps = np.diff(np.concatenate([angles, [angles[0] + 2 * np.pi]]))
    assert np.allclose(gaps, 2 * np.pi / 7, atol=1e-12)
    # d = 3: a rotated Fibonacci spiral (Gram matrix of the unrotated spiral)
    L = 50
    i = np.arange(L)
    z = 1 - (2 * i + 1) / L
    phi = np.pi * (3 - np.sqrt(5)) * i
    spiral = np.stack([np.sqrt(1 - z**2) * np.cos(phi), np.sqrt(1 - z**2) * np.sin(phi), z])
    P = SCHEMES["rqmc"].draw(3, L, g, torch.float64, "cpu").numpy()
    assert np.allclose(P.T @ P, spiral.T @ spiral, atol=1e-12)
    assert not np.allclose(P, spiral)
    # other d: Sobol', with L not a power of 2 (no balance warning reaches the user)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SCHEMES["rqmc"].draw(5, 100, g, torch.float64, "cpu")
    with pytest.raises(ValueError, match="d <= 21201"):
        SCHEMES["rqmc"].draw(21202, 2, g, torch.float64, "cpu")


def _biased_rotation(d, L, generator, dtype, device):
    """A mutant of "orthogonal": QR of a matrix of uniform [0, 1) entries (not rotation
    invariant)."""
    blocks = -(-L // d)
    G = torch.rand(blocks, d, d, generator=generator, dtype=torch.float64)
    return haar_columns(G).transpose(0, 1).reshape(d, -1)[:, :L].to(dtype)


def _unsigned_qr(d, L, generator, dtype, device):
    """A mutant of "orthogonal": no sign correction (each column is uniform up to its sign;
    since W_p(theta) = W_p(-theta) the sliced values do not change, but the law does)."""
    blocks = -(-L // d)
    G = torch.randn(blocks, d, d, generator=generator, dtype=torch.float64)
    return torch.linalg.qr(G)[0].transpose(0, 1).reshape(d, -1)[:, :L].to(dtype)


def _marginal_pvalues(draw, d: int, L: int, n_seeds: int) -> list[float]:
    """KS p-values of theta^T u for the last direction of each of ``n_seeds`` independent sets
    (so i.i.d. across sets), for u = e_1 and u on the diagonal, against the exact law:
    (t + 1) / 2 ~ Beta((d - 1) / 2, (d - 1) / 2) for theta uniform on S^{d-1}."""
    last = torch.stack([draw(d, L, torch.Generator().manual_seed(s), torch.float64, "cpu")[:, -1]
                        for s in range(n_seeds)]).numpy()
    u = np.ones(d)  # the diagonal: where a cube-based mutant puts too much mass
    law = scipy.stats.beta((d - 1) / 2, (d - 1) / 2, loc=-1, scale=2)
    oblique = last @ u / np.linalg.norm(u)
    return [scipy.stats.kstest(t, law.cdf).pvalue for t in (last[:, 0], oblique)]


@pytest.mark.parametrize("d, L", [(2, 5), (3, 7), (5, 12)])
def test_each_direction_is_marginally_uniform(d, L):
    with one_thread():  # thousands of tiny draws
        pvalues = [p for name in RANDOM_SCHEMES
                   for p in _marginal_pvalues(SCHEMES[name].draw, d, L, 500)]
        assert not holm(pvalues, ALPHA).any(), pvalues
        # the same test catches both non-uniform mutants
        for mutant in (_biased_rotation, _unsigned_qr):
            assert holm(_marginal_pvalues(mutant, d, L, 500), ALPHA).any(), mutant.__name__


def _cube_sobol(d, L, generator, dtype, device):
    """A mutant of "rqmc": scrambled Sobol' points of [-1, 1)^d normalised directly, without
    the Gaussian inverse CDF (too much mass towards the cube's corners)."""
    seed = numpy_seed(generator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # L not a power of 2, as in the scheme
        cube = scipy.stats.qmc.Sobol(d, scramble=True, seed=seed).random(L) * 2 - 1
    return torch.from_numpy((cube / np.linalg.norm(cube, axis=1, keepdims=True)).T).to(dtype)


def _fourth_moment_pvalues(draw, d: int, L: int, n_seeds: int) -> list[float]:
    """z-tests of E[(v^T theta)^4] = 3 / (d (d + 2)) (theta uniform on S^{d-1}, v a unit
    vector: e_1 and the diagonal), each seed's set averaged over its L directions (an
    unbiased estimate when every direction is uniform; the sets are independent)."""
    sets = [draw(d, L, torch.Generator().manual_seed(s), torch.float64, "cpu").numpy()
            for s in range(n_seeds)]
    exact = 3 / (d * (d + 2))
    out = []
    for v in (np.eye(d)[0], np.ones(d) / math.sqrt(d)):
        values = np.array([np.mean((v @ P) ** 4) for P in sets])
        se = values.std(ddof=1) / math.sqrt(n_seeds)
        out.append(2 * scipy.stats.norm.sf(abs(values.mean() - exact) / se) if se > 0 else
                   float(values.mean() != exact))
    return out


@pytest.mark.parametrize("d", [3, 5, 10])
def test_fourth_moments_of_every_scheme(d):
    """A smooth non-quadratic integrand, where a non-uniform point set shows a bias that a
    marginal KS test at this sample size misses (the cube mutant in d = 5)."""
    L = 12  # not a power of 2 (Sobol'), not a multiple of d (a partial orthogonal block)
    with one_thread():
        pvalues = [p for name in RANDOM_SCHEMES
                   for p in _fourth_moment_pvalues(SCHEMES[name].draw, d, L, 300)]
        assert not holm(pvalues, ALPHA).any(), pvalues
        mutants = (_biased_rotation,) + ((_cube_sobol,) if d > 3 else ())
        for mutant in mutants:
            assert holm(_fourth_moment_pvalues(mutant, d, L, 300), ALPHA).any(), mutant.__name__


@pytest.mark.parametrize("d", [2, 3, 7])
def test_translate_is_exact_for_orthogonal_rqmc_circle_and_control_variates(d):
    """Y = X + m: W_2^2(theta) = (theta^T m)^2, SW_2^2 = ||m||^2 / d. Orthonormal blocks sum
    (theta^T m)^2 to ||m||^2 exactly; so does a regular L-gon (L >= 3) in d = 2; the control
    variates contain W_2^2 itself."""
    X, _ = _clouds(20, d)
    m = torch.linspace(-1.0, 2.0, d, dtype=torch.float64)
    exact = (m @ m).item() / d
    cases = [("orthogonal", 2 * d), ("control-variate", 9)] + ([("rqmc", 5)] if d == 2 else [])
    for scheme, L in cases:
        value = sw(X, X + m, n_projections=L, seed=4, slicing=scheme).item() ** 2
        assert value == pytest.approx(exact, rel=1e-10), scheme
    assert sfg(X, X + m, beta=0.0, n_projections=9, seed=4,
               slicing="control-variate").item() == pytest.approx(exact, rel=1e-10)
    # plain Monte Carlo on the same directions is not exact (the test can fail)
    assert sw(X, X + m, n_projections=9, seed=4).item() ** 2 != pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize("weighted", [False, True])
def test_control_variates_match_the_oracle(weighted):
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((11, 4)), rng.standard_normal((8, 4)) * [1, 2, 0.5, 1] + 0.3
    a, b = (rng.dirichlet(np.ones(11)), rng.dirichlet(np.ones(8))) if weighted else (None, None)
    P = rng.standard_normal((4, 13))
    P /= np.linalg.norm(P, axis=0)
    ours = sw(X, Y, projections=P, a=a, b=b, slicing="control-variate")
    oracle = reference.sw(X, Y, P, 2, a, b, slicing="control-variate")
    assert ours == pytest.approx(oracle, rel=1e-12)
    assert ours != pytest.approx(reference.sw(X, Y, P, 2, a, b), rel=1e-3)
    for scheme in RANDOM_SCHEMES:  # the others only draw: the plain mean on given directions
        assert sw(X, Y, projections=P, a=a, b=b, slicing=scheme) == pytest.approx(
            reference.sw(X, Y, P, 2, a, b, slicing=scheme), rel=1e-12)
    if not weighted:
        Y8 = rng.standard_normal((11, 4))
        assert sfg(X, Y8, beta=0.0, projections=P, slicing="control-variate") == pytest.approx(
            reference.sfg(X, Y8, P, 0.0, slicing="control-variate"), rel=1e-12)


@pytest.mark.parametrize("slicing", list(SCHEMES))
@pytest.mark.parametrize("scale", [2.0**600, 2.0**-600])
def test_every_scheme_estimates_from_rescaled_roots(slicing, scale):
    """On data of size 2^600 or 2^-600 (W_2^2 leaves float64's range: sw works on rescaled
    data and the scheme estimates from the per-slice roots), sw is ``scale`` times the oracle
    on the unscaled data, for every scheme (the control variates too). Mutation caught: the
    plain power mean of the roots for the control-variate scheme (7% off here)."""
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((11, 4)), rng.standard_normal((8, 4)) * [1, 2, 0.5, 1] + 0.3
    a, b = rng.dirichlet(np.ones(11)), rng.dirichlet(np.ones(8))
    P = rng.standard_normal((4, 13))
    P /= np.linalg.norm(P, axis=0)
    ours = sw(X * scale, Y * scale, projections=P, a=a, b=b, slicing=slicing)
    oracle = reference.sw(X, Y, P, 2, a, b, slicing=slicing)
    assert ours / scale == pytest.approx(oracle, rel=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_each_scheme_is_unbiased_against_the_exact_limit(d):
    """Mean of SW_2^2 over 400 seeds at L = 6 (not a multiple of d = 4, not a power of 2)
    within its standard error of the limit (two-sided z-tests, Holm at ALPHA)."""
    X, Y = _clouds(16, d, seed=2)
    limit = sliced_limit(lambda P: wp_per_slice(X, Y, P, 2.0), d)
    pvalues = {}
    for scheme in SCHEMES:
        with one_thread():
            values = np.array([sw(X, Y, n_projections=6, seed=s, slicing=scheme).item() ** 2
                               for s in range(400)])
        se = math.sqrt(values.var(ddof=1) / values.size + limit.error**2)
        pvalues[scheme] = 2 * scipy.stats.norm.sf(abs(values.mean() - limit.value) / se)
    assert not holm(list(pvalues.values()), ALPHA).any(), pvalues


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_gradients_through_every_scheme(scheme):
    X, Y = _clouds(6, 3)
    inputs = (X.clone().requires_grad_(), Y.clone().requires_grad_())
    with one_thread():
        assert torch.autograd.gradcheck(
            lambda x, y: sw(x, y, n_projections=8, seed=1, slicing=scheme), inputs)
        assert torch.autograd.gradcheck(
            lambda x, y: sfg(x, y, beta=0.0, n_projections=8, seed=1, slicing=scheme), inputs)


@pytest.mark.parametrize("name", [n for n, spec in REGISTRY.items() if spec.slicing_law == "max"])
@pytest.mark.parametrize("scheme", RANDOM_SCHEMES)
def test_maxima_start_from_the_scheme_directions(name, scheme):
    X, Y = _clouds(15, 4)
    value = REGISTRY[name](X, Y, n_projections=9, seed=5, n_iter=0, slicing=scheme)
    P = SCHEMES[scheme].draw(4, 9, torch.Generator().manual_seed(5), torch.float64, "cpu")
    best = REGISTRY[name].oracle(X.numpy(), Y.numpy(), P.numpy())
    assert value.item() == pytest.approx(best, rel=1e-12)


def test_float32_inputs_keep_their_dtype():
    X, Y = (t.float() for t in _clouds(10, 4))
    for scheme in SCHEMES:
        value, log = sw(X, Y, n_projections=9, seed=0, slicing=scheme, log=True)
        assert value.dtype == torch.float32 and log["projections"].dtype == torch.float32


def test_slicing_scheme_error_names_the_caller():
    with pytest.raises(ValueError, match="max_sw maximises"):
        slicing_scheme("control-variate", "max_sw", expectation=False)


@pytest.mark.parametrize("d", [2, 3, 6])
def test_exact_limit_on_closed_forms(d):
    X, _ = _clouds(12, d)
    m = torch.linspace(0.5, -1.5, d, dtype=torch.float64)
    translate = sliced_limit(lambda P: wp_per_slice(X, X + m, P, 2.0), d, size=64 if d < 4
                             else 1 << 14)
    tol = 1e-12 if d < 4 else 5 * translate.error / ((m @ m).item() / d)
    assert translate.value == pytest.approx((m @ m).item() / d, rel=tol)
    # a kink: W_1 between two points is |theta^T (x - y)|
    x, y = X[:1], X[1:2]
    kink = sliced_limit(lambda P: wp_per_slice(x, y, P, 1.0), d,
                        size=None if d < 4 else 1 << 14)
    exact = mean_abs_projection((x - y)[0].numpy())
    assert abs(kink.value - exact) <= 5 * kink.error
    assert kink.error <= (1e-5 if d < 4 else 1e-2) * exact


def test_validation_group_quick_passes():
    from validation.checks import Context
    from validation.slicing_checks import exact_limits_on_closed_forms, schemes_exact_on_translates

    for fn in (exact_limits_on_closed_forms, schemes_exact_on_translates):
        result = fn(Context(quick=True))
        assert result.passed, (result.measured, result.criterion)


@pytest.mark.slow
def test_validation_statistical_checks_quick_pass():
    from validation.checks import Context
    from validation.slicing_checks import rmse_against_mc, schemes_unbiased_mutants_caught

    ctx = Context(quick=True, seed=3)
    for result in [*schemes_unbiased_mutants_caught(ctx), rmse_against_mc(ctx)]:
        assert result.passed, (result.name, result.measured)


def test_exact_limit_rejects_bad_arguments():
    with pytest.raises(ValueError, match="d=1"):
        sliced_limit(lambda P: P[0], 1)
    with pytest.raises(ValueError, match="replicates"):
        sliced_limit(lambda P: P[0], 2, replicates=1)
