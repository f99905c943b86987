"""Tests of the spherical family (SSFG, MSSFG, PSSFG): discrepancies/spherical.py.

Independent values: the NumPy reference (per-direction FG_beta on the very directions drawn,
and the objective at a fixed location by quadrature in d = 2), autograd through the
literal O(n^2) definition (for the fused kernel's closed-form gradient), finite differences
(for the ascent's gradient to the location), SFG and max-SFG (the kappa limits),
exact identities. Monte Carlo comparisons use z thresholds with Bonferroni's correction at a
family-wise alpha = 1e-3 (validation.spherical_checks.z_bonferroni), and each statistical check
is shown to fail on a mutated estimator.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import discrepancies.spherical as spherical
import validation.spherical_checks as sc
from discrepancies import REGISTRY, _kernels, _slices, mssfg, pssfg, reference, ssfg

FAMILY = sc.FAMILY
NAMES = tuple(FAMILY)


def _problem(n: int = 30, d: int = 4, seed: int = 0, dtype=torch.float64):
    return sc.problem(n, d, seed, dtype=dtype)


def _k(name: str) -> int:
    return FAMILY[name].n_components()


def _stratified_mean(values: np.ndarray, k: int) -> float:
    return float(np.mean([values[c::k].mean() for c in range(k)]))


def test_registry_holds_the_family():
    assert (REGISTRY["ssfg"].fn is ssfg and REGISTRY["mssfg"].fn is mssfg
            and REGISTRY["pssfg"].fn is pssfg)


# ---------------------------------------------------------------- the fused kernel's gradient

def _kernel_and_literal(X, Y, theta, beta, p, kernel=None):
    """FG_beta and its gradient to the directions (rows of theta) through the fused kernel
    (autograd calls its closed-form backward), and through the literal definition."""
    theta = theta.detach().requires_grad_(True)
    values = (kernel or spherical.fg_per_slice)(X, Y, theta.T, beta, p)
    (grad,) = torch.autograd.grad(values.sum(), theta)
    literal = torch.minimum(*sc.literal_fg(X, Y, theta.T, beta, p))
    (g_literal,) = torch.autograd.grad(literal.sum(), theta)
    return values.detach(), grad, literal.detach(), g_literal


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("beta", [0.0, 0.1, 1.0])
def test_closed_form_gradient_matches_autograd(p, beta):
    """The kernel's closed-form gradient against autograd through the O(n^2) definition."""
    g = torch.Generator().manual_seed(2)
    for X, Y in (_problem(25, 5, 1), sc.mirrored(*_problem(25, 5, 1))):
        theta = torch.nn.functional.normalize(torch.randn(40, 5, generator=g,
                                                          dtype=torch.float64), dim=1)
        values, grad, literal, g_literal = _kernel_and_literal(X, Y, theta, beta, p)
        torch.testing.assert_close(values, literal, rtol=1e-12, atol=0)
        torch.testing.assert_close(grad, g_literal, rtol=1e-10,
                                   atol=1e-12 * g_literal.abs().max())


def test_closed_form_covers_the_anti_identity_branch():
    X, Y = sc.mirrored(*_problem(25, 5, 1))
    P = torch.nn.functional.normalize(torch.randn(5, 40, dtype=torch.float64), dim=0)
    assert sc.anti_identity_wins(X, Y, P, 0.1, 2.0) >= 10


class _StructureGradientDropped(torch.autograd.Function):
    """Mutation: the kernel's values with the gradient of beta = 0 (no structure term)."""

    @staticmethod
    def forward(ctx, a, b, delta, beta, p):
        ctx.forward = _slices.fg_sorted(a, b, delta, beta, p)
        ctx.save_for_backward(a, b, delta)
        ctx.p = p
        return ctx.forward.values

    @staticmethod
    def backward(ctx, grad_out):
        return (*_slices.fg_sorted_grad(*ctx.saved_tensors, ctx.forward, 0.0, ctx.p, grad_out),
                None, None)


def _wrong_fg_per_slice(X, Y, P, beta, p):
    x_mean, y_mean = X.mean(dim=0), Y.mean(dim=0)
    a = _slices.sort_rows(_slices.project(X - x_mean, P))
    b = _slices.sort_rows(_slices.project(Y - y_mean, P))
    return _StructureGradientDropped.apply(a, b, (x_mean - y_mean) @ P, beta, p)


def test_a_wrong_gradient_is_caught():
    """Mutation: a kernel gradient without the structure term breaks the comparison above
    (while its values, the kernel's own, still agree)."""
    X, Y = _problem(25, 5, 1)
    theta = torch.nn.functional.normalize(torch.randn(10, 5, dtype=torch.float64), dim=1)
    values, wrong, literal, g_literal = _kernel_and_literal(X, Y, theta, 0.1, 2.0,
                                                            _wrong_fg_per_slice)
    torch.testing.assert_close(values, literal, rtol=1e-12, atol=0)
    assert (wrong - g_literal).norm() > 1e-3 * g_literal.norm()


def test_ascent_gradient_refuses_a_reused_workspace():
    """The ascent's gradient reads (and consumes) the buffers of its evaluation: a second call,
    or a call after a later evaluation on the same workspace, must raise, not return another
    point's gradient."""
    X, Y = _problem(25, 5, 1)
    draw, weights = spherical._draw_vmf(7.0, 23), torch.full((23,), 1 / 23, dtype=X.dtype)
    data = spherical._Centred.of(X, Y)
    locs = _locations(1, 5, 3)
    base = spherical._BaseDraws.of(*draw.base_draws(locs[0], torch.Generator().manual_seed(4)),
                                   data, 1)
    _, vjp = spherical._placed_fg(locs[0], base, data, 0.1, 2.0, need_grad=True)
    vjp(weights)
    with pytest.raises(RuntimeError, match="already taken"):
        vjp(weights)
    _, vjp = spherical._placed_fg(locs[0], base, data, 0.1, 2.0, need_grad=True)
    spherical._placed_fg(locs[1], base, data, 0.1, 2.0, need_grad=True)
    with pytest.raises(RuntimeError, match="later evaluation"):
        vjp(weights)


SAMPLERS = {"ssfg": (spherical._draw_vmf, 1), "mssfg": (spherical._draw_vmf, 3),
            "pssfg": (spherical._draw_power, 1)}


def _placed_objective(name: str, X, Y, locs, beta: float, p: float, seed: int = 4):
    """The ascent objective and its gradient to the locations, both ways: base draws placed
    through the projections (:func:`spherical._placed_fg`), and the sampler's own draws at
    ``locs`` (the same generator state) projected explicitly, with autograd through the
    Householder map and :func:`fg_per_slice`."""
    make, k = SAMPLERS[name]
    L = 23  # not a multiple of k: unequal strata
    draw, weights = make(7.0, L), spherical._stratum_weights(L, k, X)
    data = spherical._Centred.of(X, Y)
    base = spherical._BaseDraws.of(*draw.base_draws(locs, torch.Generator().manual_seed(seed)),
                                   data, k)
    values, vjp = spherical._placed_fg(locs, base, data, beta, p, need_grad=True)
    fast, g_fast = values @ weights, vjp(weights)
    x = locs.clone().requires_grad_(True)
    theta = draw(x, torch.Generator().manual_seed(seed))
    slow = spherical.fg_per_slice(X, Y, theta.T, beta, p) @ weights
    (g_slow,) = torch.autograd.grad(slow, x)
    return fast.detach(), g_fast, slow.detach(), g_slow


def _locations(k: int, d: int, seed: int) -> list[torch.Tensor]:
    """Random locations, and ones near +e1, near -e1 (beyond the switch at -0.9) and on the
    equator, where the Householder sign and the denominators take all their regimes."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for first in (None, 0.999, -0.999, -0.95, -0.5, 0.0):
        x = torch.randn(k, d, generator=g, dtype=torch.float64)
        if first is not None:
            x = torch.nn.functional.normalize(x[:, 1:], dim=1) * math.sqrt(1 - first ** 2)
            x = torch.cat((torch.full((k, 1), first, dtype=torch.float64), x), dim=1)
        out.append(torch.nn.functional.normalize(x, dim=1))
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("p, beta", [(2.0, 0.1), (1.5, 1.0)])
def test_placed_projections_match_explicit_draws(name, p, beta):
    """The ascent's projections of the placed base draws (no n d L product per step) and its
    chain-rule gradient to the locations agree with the draws placed by the sampler and
    projected explicitly, differentiated by autograd."""
    for X, Y in (_problem(25, 5, 1), sc.mirrored(*_problem(25, 5, 1))):
        for locs in _locations(SAMPLERS[name][1], 5, 3):
            fast, g_fast, slow, g_slow = _placed_objective(name, X, Y, locs, beta, p)
            torch.testing.assert_close(fast, slow, rtol=1e-10, atol=0)
            torch.testing.assert_close(g_fast, g_slow, rtol=0,
                                       atol=1e-9 * g_slow.abs().max().item())


def test_placed_projections_catch_a_wrong_sign(monkeypatch):
    """Mutation: the equator rule sigma = -sign(eps_1) for the placed draws must break the
    comparison above at a location with -0.9 < eps_1 < 0."""
    X, Y = _problem(25, 5, 1)
    monkeypatch.setattr(spherical, "householder_sign", lambda first: -torch.sign(first))
    fast, _, slow, _ = _placed_objective("ssfg", X, Y, _locations(1, 5, 3)[4], 0.1, 2.0)
    assert abs(fast - slow) > 1e-3 * slow


@pytest.mark.parametrize("name", NAMES)
def test_ascent_gradient_matches_finite_differences(name):
    """The ascent's gradient to the locations (chain rule through the placement and the fused
    kernel) against central differences of the placed objective along random directions of
    R^(k x d), float64, h in {1e-5, 1e-6, 1e-7}, at locations away from the Householder
    switch (eps_1 = -0.9, where the objective jumps). Mutations: the gradient of the
    previous evaluated point (a stale gradient) and the tangent part alone both fail it."""
    make, k = SAMPLERS[name]
    X, Y = _problem(25, 5, 1)
    L, steps = 23, (1e-5, 1e-6, 1e-7)
    draw, weights = make(7.0, L), spherical._stratum_weights(L, k, X)
    data = spherical._Centred.of(X, Y)
    g = torch.Generator().manual_seed(5)
    previous = None
    for locs in _locations(k, 5, 3):
        if (locs[:, 0] + 0.9).abs().min() < 0.02:
            continue
        base = spherical._BaseDraws.of(
            *draw.base_draws(locs, torch.Generator().manual_seed(4)), data, k)

        def objective(x, base=base):
            return spherical._placed_fg(x, base, data, 0.1, 2.0, need_grad=False)[0] @ weights

        _, vjp = spherical._placed_fg(locs, base, data, 0.1, 2.0, need_grad=True)
        grad = vjp(weights)
        tangent = grad - (grad * locs).sum(dim=1, keepdim=True) * locs
        for _ in range(3):
            direction = torch.randn(locs.shape, generator=g, dtype=locs.dtype)
            # the objective has kinks (a swap in a sort, a change of coupling): one of the
            # steps falls between them
            fds = [((objective(locs + h * direction) - objective(locs - h * direction))
                    / (2 * h)).item() for h in steps]
            scale = grad.norm().item() * direction.norm().item()
            slope = (grad * direction).sum().item()
            fd = min(fds, key=lambda value: abs(value - slope))
            assert abs(fd - slope) <= 1e-6 * scale
            assert abs(fd - (tangent * direction).sum().item()) > 1e-3 * scale
            if previous is not None:
                assert abs(fd - (previous * direction).sum().item()) > 1e-3 * scale
        previous = grad


# ---------------------------------------------------------------- values against the reference

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("p", "beta"), [(2.0, 0.1), (1.0, 0.0), (3.0, 1.0)])
def test_value_matches_reference_on_its_own_draws(name, p, beta):
    X, Y = _problem(30, 4, 3)
    # L = 23 is not a multiple of k = 5: unequal strata for MSSFG
    value, log = FAMILY[name](X, Y, p=p, beta=beta, seed=0, n_projections=23, n_iter=3,
                              log=True)
    ref = reference.fg_per_slice(X.numpy(), Y.numpy(), log["projections"].numpy(), beta, p)
    np.testing.assert_allclose(log["per_slice"].numpy(), ref, rtol=1e-12)
    assert value.item() == pytest.approx(_stratified_mean(ref, _k(name)), rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_float32_matches_reference(name):
    """float32: each FG_beta is a sum of n non-negative terms of 4th powers, so its relative
    rounding error is a few times n * 2^-24 ~ 2e-6 at n = 30; 1e-4 leaves margin and still
    catches any formula error (those are O(1))."""
    X, Y = _problem(30, 4, 3)
    value, log = FAMILY[name](X.float(), Y.float(), seed=0, n_projections=25, n_iter=3,
                              log=True)
    assert value.dtype == torch.float32
    ref = reference.fg_per_slice(X.numpy(), Y.numpy(), log["projections"].double().numpy(),
                                 0.1, 2.0)
    np.testing.assert_allclose(log["per_slice"].double().numpy(), ref, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_objective_matches_quadrature_and_catches_wrong_kappa(name):
    """The Monte Carlo objective at a fixed location (n_iter=0) against the reference's
    quadrature in d = 2, kappa in {2, 20}: |z| <= z(1e-3, Bonferroni over 2, two-sided). The
    same test must reject draws that ignore kappa."""
    X, Y = _problem(10, 2, 7)
    g = torch.Generator().manual_seed(4)
    kw = FAMILY[name].with_components(2)
    k = FAMILY[name].n_components(kw)
    locs = torch.nn.functional.normalize(torch.randn(k, 2, generator=g, dtype=torch.float64),
                                         dim=1)
    loc = FAMILY[name].loc(locs)
    z = sc.z_bonferroni(1e-3, 2, two_sided=True)
    for mutated in (None, "kappa_ignored"):
        rejected = 0
        for kappa in (2.0, 20.0):
            if mutated:
                with sc.mutation(mutated):
                    est, _ = sc.estimate(name, X, Y, n_projections=20000, n_iter=0, loc=loc,
                                         kappa=kappa, seed=1, **kw)
            else:
                est, _ = sc.estimate(name, X, Y, n_projections=20000, n_iter=0, loc=loc,
                                     kappa=kappa, seed=1, **kw)
            q = FAMILY[name].oracle(X.numpy(), Y.numpy(), loc.numpy(), kappa, n_grid=400)
            rejected += abs(est.value - q) / est.se > z
        assert rejected == (0 if mutated is None else 2), (mutated, rejected)


@pytest.mark.parametrize("name", NAMES)
def test_value_uses_fresh_draws_not_the_ascent_draws(name):
    """The value averages FG_beta over draws made after the ascent at its best location, not
    over the common random numbers the ascent maximised (that estimate is biased upwards).
    Independent re-evaluation: from the same seed, the sampler reproduces the draws the ascent
    placed at the best location (they sit on the base draws' generator state; their reference
    mean is the best objective of the history) and the fresh ones (the state after them).
    Mutation caught: the final draws taken on the base draws' generator state (the ascent's own
    draws; the value is then the history's best)."""
    X, Y = _problem(30, 4, 3)
    kw = FAMILY[name].with_components(2)
    k = FAMILY[name].n_components(kw)
    start = torch.eye(4, dtype=X.dtype)[1:1 + k]
    L, seed = 16, 7
    value, log = FAMILY[name](X, Y, loc=FAMILY[name].loc(start), n_iter=4, n_projections=L,
                              seed=seed, log=True, **kw)
    best = log["locations"]
    draw = SAMPLERS[name][0](spherical.DEFAULTS["kappa"], L)
    ascent_draws = draw(best, torch.Generator().manual_seed(seed)).T
    g = torch.Generator().manual_seed(seed)
    draw.base_draws(start, g)
    fresh = draw(best, g).T

    def mean_fg(P: torch.Tensor) -> float:
        per = reference.fg_per_slice(X.numpy(), Y.numpy(), P.numpy(), 0.1, 2.0)
        return _stratified_mean(per, k)

    assert mean_fg(ascent_draws) == pytest.approx(log["history"].max().item(), rel=1e-10)
    torch.testing.assert_close(log["projections"], fresh, rtol=0, atol=1e-15)
    assert value.item() == pytest.approx(mean_fg(fresh), rel=1e-12)
    assert (log["projections"] - ascent_draws).abs().max() > 0.1
    assert abs(value.item() - mean_fg(ascent_draws)) > 1e-6 * value.item()


# ---------------------------------------------------------------- ordering and kappa limits

Z_ORDER = sc.z_bonferroni(1e-3, 3 * len(NAMES))


@pytest.mark.parametrize("name", NAMES)
def test_ordering_and_limits(name):
    X, Y = _problem(40, 5, 11)
    ok, detail = sc.ordering(name, X, Y, L=300, seed=0, z=Z_ORDER)
    assert ok, detail
    ok_small, ok_large, detail = sc.kappa_limits(name, X, Y, L=300, seed=0, z=Z_ORDER)
    assert ok_small and ok_large, detail


@pytest.mark.parametrize("kind", sc.MUTATIONS)
def test_ordering_and_limits_catch_mutations(kind):
    X, Y = _problem(40, 5, 11)
    with sc.mutation(kind):
        ok, _ = sc.ordering("ssfg", X, Y, L=300, seed=0, z=Z_ORDER)
        ok_small, ok_large, detail = sc.kappa_limits("ssfg", X, Y, L=300, seed=0, z=Z_ORDER)
    assert not (ok and ok_small and ok_large), detail


def test_mutations_are_undone():
    X, Y = _problem(20, 3, 2)
    before = ssfg(X, Y, seed=0)
    for kind in sc.MUTATIONS:
        with sc.mutation(kind):
            pass
    assert ssfg(X, Y, seed=0) == before


# ---------------------------------------------------------------- identities

def test_mssfg_with_one_component_is_ssfg_on_the_same_draws():
    X, Y = _problem(30, 4, 5)
    a, log_a = ssfg(X, Y, seed=3, log=True)
    b, log_b = mssfg(X, Y, n_components=1, seed=3, log=True)
    assert a == b
    assert torch.equal(log_a["projections"], log_b["projections"])
    assert torch.equal(log_a["direction"], log_b["locations"][0])


@pytest.mark.parametrize("name", NAMES)
def test_self_distance_is_zero_and_symmetric(name):
    X, Y = _problem(30, 4, 6)
    fn = FAMILY[name]
    assert fn(X, X, seed=0).item() == 0.0
    assert fn(X, Y, seed=2).item() == pytest.approx(fn(Y, X, seed=2).item(), rel=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_in_numpy_out_and_seeds(name):
    X, Y = _problem(20, 3, 8)
    fn = FAMILY[name]
    out = fn(X.numpy(), Y.numpy(), seed=4)
    assert isinstance(out, np.float64)
    assert out == fn(X, Y, seed=4).item()
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert fn(X, Y, seed=g1) == fn(X, Y, seed=g2)
    assert fn(X, Y, seed=1) != fn(X, Y, seed=2)


@pytest.mark.parametrize("name", NAMES)
def test_log_contents(name):
    X, Y = _problem(20, 3, 8)
    L, T = 12, 4
    kw = FAMILY[name].with_components(3)
    _, log = FAMILY[name](X, Y, n_projections=L, n_iter=T, seed=0, log=True, **kw)
    assert log["projections"].shape == (3, L) and log["per_slice"].shape == (L,)
    torch.testing.assert_close(log["projections"].norm(dim=0), torch.ones(L, dtype=X.dtype))
    assert log["locations"].shape == (3 if FAMILY[name].has_components else 1, 3)
    assert log["history"].shape == (T + 1,)
    _, log0 = FAMILY[name](X, Y, n_projections=L, n_iter=0, seed=0, log=True, **kw)
    assert log0["history"].numel() == 0


def test_warm_start_location_is_used():
    X, Y = _problem(20, 3, 8)
    loc = torch.tensor([0.0, 0.6, 0.8], dtype=torch.float64)
    _, log = ssfg(X, Y, n_iter=0, loc=loc, seed=0, log=True)
    assert torch.equal(log["direction"], loc)


# ---------------------------------------------------------------- gradients

@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_at_a_fixed_location(name):
    X, Y = _problem(8, 3, 5)
    g = torch.Generator().manual_seed(1)
    components = FAMILY[name].with_components(2)
    locs = torch.nn.functional.normalize(
        torch.randn(FAMILY[name].n_components(components), 3, generator=g,
                    dtype=torch.float64), dim=1)
    kw = {**components, "loc": FAMILY[name].loc(locs)}
    torch.autograd.gradcheck(
        lambda A, B: FAMILY[name](A, B, n_iter=0, n_projections=20, seed=0, **kw),
        (X.clone().requires_grad_(True), Y.clone().requires_grad_(True)),
        eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_is_the_envelope_and_a_step_decreases(name):
    X, Y = _problem(20, 3, 5)
    kw = FAMILY[name].with_components(2)
    Xg = X.clone().requires_grad_(True)
    value, log = FAMILY[name](Xg, Y, n_iter=5, n_projections=30, seed=0, log=True, **kw)
    (grad,) = torch.autograd.grad(value, Xg)
    Xh = X.clone().requires_grad_(True)
    per = spherical.fg_per_slice(Xh, Y, log["projections"], 0.1, 2.0)
    weights = spherical._stratum_weights(30, FAMILY[name].n_components(kw), per)
    (g_ref,) = torch.autograd.grad(per @ weights, Xh)
    torch.testing.assert_close(grad, g_ref, rtol=1e-12, atol=0)
    step = 0.05 * value.item() / grad.norm().item() ** 2
    assert FAMILY[name](X - step * grad, Y, n_iter=5, n_projections=30, seed=0, **kw) \
        < value.item()


def test_ascent_uses_detached_data():
    """The ascent must not leave a graph on X: only the final recompute is differentiated."""
    X, Y = _problem(20, 3, 5)
    Xg = X.clone().requires_grad_(True)
    value = ssfg(Xg, Y, n_iter=3, seed=0)
    (grad,) = torch.autograd.grad(value, Xg)
    assert torch.isfinite(grad).all() and value.grad_fn is not None


# ---------------------------------------------------------------- bad inputs

BAD = [
    ({"kappa": -1.0}, ValueError, "kappa"),
    ({"kappa": float("nan")}, ValueError, "kappa"),
    ({"beta": 1.5}, ValueError, "beta"),
    ({"p": 0.5}, ValueError, "p must"),
    ({"n_projections": 0}, ValueError, "n_projections"),
    ({"n_projections": 2.5}, TypeError, "n_projections"),
    ({"n_iter": -1}, ValueError, "n_iter"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"seed": -3}, ValueError, "seed"),
    ({"seed": "a"}, TypeError, "seed"),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_keywords_raise(name, kwargs, error, match):
    X, Y = _problem(10, 3, 0)
    with pytest.raises(error, match=match):
        FAMILY[name](X, Y, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_bad_point_clouds_raise(name):
    X, Y = _problem(10, 3, 0)
    fn = FAMILY[name]
    with pytest.raises(ValueError, match="n=10 and m=9"):
        fn(X, Y[:9])
    with pytest.raises(ValueError, match="d >= 2"):
        fn(X[:, :1], Y[:, :1])
    with pytest.raises(ValueError, match="same dimension"):
        fn(X, Y[:, :2])
    bad = X.clone()
    bad[0, 0] = math.nan
    with pytest.raises(ValueError, match="X must be finite"):
        fn(bad, Y)
    with pytest.raises(ValueError, match="2-D"):
        fn(X[0], Y[0])


@pytest.mark.parametrize("name", ["ssfg", "pssfg"])
def test_bad_location_raises(name):
    X, Y = _problem(10, 3, 0)
    with pytest.raises(ValueError, match="loc must have unit norm"):
        FAMILY[name](X, Y, loc=torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64))
    with pytest.raises(ValueError, match=r"loc must have shape \(3,\)"):
        FAMILY[name](X, Y, loc=torch.eye(3, dtype=torch.float64)[:2])


def test_mssfg_bad_components_raise():
    X, Y = _problem(10, 3, 0)
    with pytest.raises(ValueError, match="n_components must be >= 1, got n_components=0"):
        mssfg(X, Y, n_components=0)
    with pytest.raises(TypeError, match="n_components"):
        mssfg(X, Y, n_components=2.0)
    with pytest.raises(ValueError, match="n_components=20 and n_projections=10"):
        mssfg(X, Y, n_components=20, n_projections=10)
    with pytest.raises(ValueError, match=r"loc must have shape \(2, 3\)"):
        mssfg(X, Y, n_components=2, loc=torch.eye(3, dtype=torch.float64))


# ---------------------------------------------------------------- the validate checks

@pytest.mark.slow
@pytest.mark.parametrize("check", ["torch_vs_reference", "objective_vs_quadrature",
                                   "ordering_and_limits", "identities", "gradients",
                                   "defaults"])
def test_validate_checks_pass(check):
    from validation.checks import Context

    results = getattr(sc, check)(Context(seed=0, quick=True))
    failed = [r for r in (results if isinstance(results, list) else [results]) if not r.passed]
    assert not failed, failed


@pytest.mark.parametrize("name", NAMES)
def test_torch_only_path_matches_numpy_path(name):
    """GPUs take the torch-only code (torch.sort, torch matmuls, torch row means) in the ascent
    and the final value; forced on the CPU it must give the NumPy path's value, location and
    gradient up to rounding (float64, the same draws)."""
    X, Y = _problem(40, 5, 2)

    def run() -> tuple[torch.Tensor, dict, torch.Tensor]:
        A = X.clone().requires_grad_(True)
        value, log = FAMILY[name](A, Y, seed=3, n_projections=30, n_iter=6, log=True)
        value.backward()
        return value.detach(), log, A.grad

    value, log, grad = run()
    with _kernels._torch_only():
        value_t, log_t, grad_t = run()
    torch.testing.assert_close(value_t, value, rtol=1e-10, atol=0)
    torch.testing.assert_close(log_t["history"], log["history"], rtol=1e-10, atol=0)
    torch.testing.assert_close(log_t["locations"], log["locations"], rtol=0, atol=1e-10)
    torch.testing.assert_close(grad_t, grad, rtol=1e-9, atol=1e-12)
