"""The torch discrepancies against the NumPy reference, their return conventions, properties
and gradients."""

import inspect
from functools import partial

import numpy as np
import ot
import pytest
import torch

from discrepancies import REGISTRY, _kernels, _slices, max_sfg, max_sw, reference, sfg, sw
from discrepancies._kernels import _sort_rows_packed, row_mean_product, sort_with_index
from discrepancies._slices import fg_per_slice, sort_rows, wp_per_slice
from validation.discrepancy_checks import unit_columns

FNS = {"sw": sw, "max_sw": max_sw, "sfg": sfg, "max_sfg": max_sfg}


@pytest.fixture
def clouds():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((20, 4)), rng.standard_normal((20, 4)) * 1.5 + 0.4
    return X, Y, unit_columns(rng, 4, 9)


def _reference(name, X, Y, P, p):
    return {"sw": lambda: reference.sw(X, Y, P, p), "max_sw": lambda: reference.max_sw(X, Y, P, p),
            "sfg": lambda: reference.sfg(X, Y, P, 0.3, p),
            "max_sfg": lambda: reference.max_sfg(X, Y, P, 0.3, p)}[name]()


def _call(name, X, Y, P, p, **kw):
    extra = {"beta": 0.3} if "sfg" in name else {}
    if name.startswith("max"):
        extra["n_iter"] = 0  # only the given directions: comparable with the reference
    return FNS[name](X, Y, projections=P, p=p, **extra, **kw)


@pytest.mark.parametrize("name", FNS)
@pytest.mark.parametrize("p", [1, 2, 3.5])
def test_float64_matches_reference(clouds, name, p):
    X, Y, P = clouds
    got = _call(name, torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(P), p)
    assert got.dtype == torch.float64 and got.ndim == 0
    assert got.item() == pytest.approx(_reference(name, X, Y, P, p), rel=1e-12)


@pytest.mark.parametrize("name", FNS)
def test_float32_matches_reference(clouds, name):
    # n = 20 float32 terms (eps 6e-8) per mean, squared differences in FG: observed errors are
    # ~1e-7; 1e-5 keeps a margin of 100 and still catches any real bug (O(1) or O(1/n) errors).
    X, Y, P = clouds
    t = [torch.from_numpy(a).float() for a in (X, Y, P)]
    got = _call(name, *t, 2)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(_reference(name, X, Y, P, 2), rel=1e-5)


@pytest.mark.parametrize("name", FNS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_matches_reference(clouds, name, dtype):
    # Rounding the inputs to the dtype moves these values by about its eps relative (observed
    # at most 0.8 eps for the means and 3 eps for max-SFG's ascent, over 20 problems of 40
    # points); 3 eps and 10 eps keep a margin and, in float16, still catch an O(1/n) error.
    X, Y, P = clouds
    got = _call(name, *(torch.from_numpy(a).to(dtype) for a in (X, Y, P)), 2)
    assert got.dtype == dtype and got.ndim == 0
    eps = torch.finfo(dtype).eps
    rel = (10 if name == "max_sfg" else 3) * eps
    assert got.item() == pytest.approx(_reference(name, X, Y, P, 2), rel=rel)


@pytest.mark.parametrize("name", [name for name, spec in REGISTRY.items() if spec.spherical])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_spherical_family_in_low_precision(clouds, name, dtype):
    # Draws at a fixed location (n_iter = 0): the value is FG averaged over the directions the
    # log returns, so float64 arithmetic on the same directions is the reference. They are unit
    # vectors rounded to the dtype (norm error up to eps), hence 10 eps. Then an ascent runs
    # and backpropagates.
    X, Y, _ = clouds
    spec = REGISTRY[name]
    components = spec.with_components(2)
    k = spec.n_components(components)
    fn = partial(spec, **components)
    loc = spec.loc(torch.eye(X.shape[1], dtype=dtype)[:k])
    Xl, Yl = (torch.from_numpy(a).to(dtype) for a in (X, Y))
    got, log = fn(Xl, Yl, loc=loc, n_iter=0, seed=0, log=True)
    assert got.dtype == dtype and log["projections"].dtype == dtype
    P = log["projections"].double()
    P = (P / P.norm(dim=0)).numpy()
    per_slice = np.array([reference.sfg(X, Y, P[:, [j]], 0.1, 2) for j in range(P.shape[1])])
    component = np.arange(P.shape[1]) % k  # stratified: each component's draws weigh 1/k
    expected = np.mean([per_slice[component == c].mean() for c in range(k)])
    assert got.item() == pytest.approx(expected, rel=10 * torch.finfo(dtype).eps)
    Xg = Xl.clone().requires_grad_()
    value = fn(Xg, Yl, n_iter=3, seed=0)
    value.backward()
    assert value.dtype == dtype and torch.isfinite(value) and torch.isfinite(Xg.grad).all()


def test_unequal_sizes_and_weights_match_reference():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((13, 3)), rng.standard_normal((21, 3)) + 1
    a, b = rng.dirichlet(np.ones(13)), rng.dirichlet(np.ones(21))
    P = unit_columns(rng, 3, 5)
    for p in (1, 2, 3):
        assert sw(X, Y, projections=P, p=p, a=a, b=b) == pytest.approx(
            reference.sw(X, Y, P, p, a, b), rel=1e-12)
        assert sw(X, Y, projections=P, p=p) == pytest.approx(reference.sw(X, Y, P, p), rel=1e-12)


def test_weighted_paths_match_reference_with_ties_and_zero_weights():
    # Integer points on axis directions (ties inside each cloud and across them), weights in
    # eighths (cumulative weights of u and v meet exactly) with zeros among them: the NumPy
    # path (no gradient) and the torch path (gradient) against the oracle.
    rng = np.random.default_rng(4)
    P = np.eye(3)[:, [0, 1, 2, 0, 1]]
    for trial in range(40):
        n, m = rng.integers(1, 12, 2)
        X, Y = rng.integers(-2, 3, (n, 3)).astype(float), rng.integers(-2, 3, (m, 3)).astype(float)
        a, b = rng.integers(0, 3, n).astype(float), rng.integers(0, 3, m).astype(float)
        a[0], b[0] = a[0] + 1, b[0] + 1
        a, b = a / a.sum(), b / b.sum()
        for wa, wb in ((a, b), (None, b), (None, None)):
            expected = reference.wp_per_slice(X, Y, P, 1.5, wa, wb)
            t = [None if z is None else torch.from_numpy(z) for z in (X, Y, P, wa, wb)]
            free = wp_per_slice(t[0], t[1], t[2], 1.5, t[3], t[4])
            graph = wp_per_slice(t[0].clone().requires_grad_(), t[1], t[2], 1.5, t[3], t[4])
            for got in (free, graph.detach()):
                np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-15,
                                           err_msg=str(trial))
            low = [None if z is None else z.float() for z in t]
            np.testing.assert_allclose(wp_per_slice(*low[:3], 1.5, *low[3:]).numpy(), expected,
                                       rtol=1e-5, atol=1e-6, err_msg=str(trial))


def test_numpy_in_numpy_out_and_tensor_in_tensor_out(clouds):
    X, Y, _ = clouds
    for name, fn in FNS.items():
        out = fn(X, Y, seed=0)
        assert isinstance(out, np.float64), name
        t = fn(torch.from_numpy(X).float(), torch.from_numpy(Y).float(), seed=0)
        assert isinstance(t, torch.Tensor) and t.ndim == 0 and t.dtype == torch.float32, name
        assert t.item() == pytest.approx(out, rel=1e-4), name


def test_seed_reproducible_and_changes_draws(clouds):
    X, Y, _ = clouds
    for name, fn in FNS.items():
        assert fn(X, Y, seed=3) == fn(X, Y, seed=3), name
        g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        assert fn(X, Y, seed=g1) == fn(X, Y, seed=g2) == fn(X, Y, seed=3), name
    assert sw(X, Y, seed=3) != sw(X, Y, seed=4)
    torch.manual_seed(11)
    first = sw(X, Y)
    torch.manual_seed(11)
    assert sw(X, Y) == first


def test_log_contents(clouds):
    X, Y, P = clouds
    value, log = sw(X, Y, projections=P, log=True)
    assert np.allclose(log["projections"], P) and log["per_slice"].shape == (9,)
    assert value == pytest.approx(np.mean(log["per_slice"]) ** 0.5, rel=1e-14)
    value, log = sfg(torch.from_numpy(X), torch.from_numpy(Y), n_projections=7, log=True)
    assert log["projections"].shape == (4, 7) and not log["per_slice"].requires_grad
    assert value.item() == pytest.approx(log["per_slice"].mean().item(), rel=1e-14)
    for fn in (max_sw, max_sfg):
        value, log = fn(X, Y, seed=0, log=True)
        assert log["direction"].shape == (4,) and log["projections"].shape == (4, 1)
        assert np.linalg.norm(log["direction"]) == pytest.approx(1, abs=1e-12)
        assert np.all(np.diff(np.maximum.accumulate(log["history"])) >= 0)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_entry_runs_under_no_grad(name):
    # a training loop estimates scales and evaluates under torch.no_grad(): the ascents inside
    # an entry need autograd all the same, and the value must be the one of a plain call
    # (mutation: DSW's Adam steps without torch.enable_grad raise here)
    gen = torch.Generator().manual_seed(0)
    X, Y = (torch.randn(12, 3, generator=gen, dtype=torch.float64) for _ in range(2))
    kw = {"n_iter": 2} if REGISTRY[name].optimised else {}
    plain = REGISTRY[name](X, Y, n_projections=8, seed=1, **kw)
    with torch.no_grad():
        value = REGISTRY[name](X, Y, n_projections=8, seed=1, **kw)
    assert value.item() == plain.item()


def test_registry_names_functions():
    assert set(REGISTRY) == {"sw", "max_sw", "sfg", "max_sfg", "ssfg", "mssfg", "pssfg", "ebsw",
                             "ebsfg", "sir_ebsw", "mh_ebsw", "dsw", "dsfg"}
    for name, fn in REGISTRY.items():
        assert fn.__name__ == name


# name -> (oracle, slicing law, optimised, fused, root, weighted, k at the defaults), written
# from the definitions
SPECS = {
    "sw": (reference.sw, "uniform", False, False, True, True, 1),
    "max_sw": (reference.max_sw, "max", True, False, True, True, 1),
    "sfg": (reference.sfg, "uniform", False, True, False, False, 1),
    "max_sfg": (reference.max_sfg, "max", True, True, False, False, 1),
    "ssfg": (reference.ssfg_objective, "vmf", True, True, False, False, 1),
    "mssfg": (reference.mssfg_objective, "vmf", True, True, False, False, 5),
    "pssfg": (reference.pssfg_objective, "power_spherical", True, True, False, False, 1),
    "ebsw": (reference.ebsw, "energy", False, False, True, True, 1),
    "ebsfg": (reference.ebsfg, "energy", False, True, False, False, 1),
    "sir_ebsw": (reference.energy_law_value, "energy", False, False, True, True, 1),
    "mh_ebsw": (reference.energy_law_value, "energy", False, False, True, True, 1),
    "dsw": (reference.dsw, "distributional", True, False, True, True, 1),
    "dsfg": (reference.dsfg, "distributional", True, True, False, False, 1),
}
# the entries whose directions are drawn at random from the base ones
RESAMPLED = {"sir_ebsw", "mh_ebsw"}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_registry_specs_carry_their_fields(name):
    spec = REGISTRY[name]
    oracle, law, optimised, fused, root, weighted, k = SPECS[name]
    assert (spec.oracle, spec.slicing_law, spec.optimised, spec.fused, spec.root,
            spec.weighted, spec.n_components()) == (oracle, law, optimised, fused, root,
                                                    weighted, k)
    assert spec.resampled == (name in RESAMPLED)
    assert inspect.signature(spec) == inspect.signature(spec.fn)
    params = inspect.signature(spec.fn).parameters
    assert set(spec.defaults) == {n for n, q in params.items() if q.kind is q.KEYWORD_ONLY
                                  and q.default is not None and n not in ("log", "_variant")}
    assert all(params[n].default == v for n, v in spec.defaults.items())
    assert ("beta" in params) == fused and ("a" in params) == weighted
    X = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert spec(X, X + 0.5, seed=3).item() == spec.fn(X, X + 0.5, seed=3).item()
    assert spec.n_components(spec.with_components(2)) == (2 if name == "mssfg" else 1)
    locs = np.eye(3)[:2]
    assert np.shape(spec.loc(locs)) == ((2, 3) if spec.has_components else (3,))


@pytest.mark.parametrize("huge", [False, True])  # True: through the rescaled paths
@pytest.mark.parametrize("name", sorted(SPECS))
def test_optimised_entries_log_their_locations(name, huge):
    spec = REGISTRY[name]
    scale = (1e75 if spec.fused else 1e160) if huge else 1.0
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((12, 3)) * scale, (rng.standard_normal((12, 3)) + 0.7) * scale
    kw = spec.with_components(3) if spec.has_components else {}
    value, log = spec(X, Y, seed=0, log=True, n_projections=30, **kw)
    assert ("state" in log) == spec.optimised
    if not spec.located:
        assert "locations" not in log
        return
    assert np.isfinite(value)
    locations = log["locations"]
    k = spec.n_components(kw)
    assert isinstance(locations, np.ndarray) and locations.shape == (k, 3)
    assert np.allclose(np.linalg.norm(locations, axis=1), 1, atol=1e-12)
    if not spec.has_components:
        assert np.array_equal(log["direction"], locations[0])
    if not spec.spherical and not huge:  # the value is the oracle's on the logged direction
        assert value == pytest.approx(spec.oracle(X, Y, locations.T), rel=1e-9)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    _, log_t = spec(Xt, Yt, seed=0, log=True, n_projections=30, **kw)
    assert torch.equal(log_t["locations"], torch.from_numpy(locations))


@pytest.mark.parametrize("name", [n for n in sorted(SPECS)
                                  if not REGISTRY[n].spherical and not REGISTRY[n].resampled])
def test_registry_oracle_on_given_directions(clouds, name):
    X, Y, P = clouds
    spec = REGISTRY[name]
    kw = {"n_iter": 0} if spec.optimised else {}
    assert spec(X, Y, projections=P, **kw) == pytest.approx(spec.oracle(X, Y, P), rel=1e-12)


def test_zero_on_identical_inputs_and_symmetric(clouds):
    X, Y, _ = clouds
    for name, fn in FNS.items():
        assert fn(X, X, seed=1) == pytest.approx(0, abs=1e-14), name
        assert fn(X, Y, seed=1) == pytest.approx(fn(Y, X, seed=1), rel=1e-12), name


@pytest.mark.parametrize("p", [1, 2, 3])
def test_sfg_beta0_is_sw_power_p(clouds, p):
    X, Y, _ = clouds
    assert sfg(X, Y, beta=0, p=p, seed=5) == pytest.approx(sw(X, Y, p=p, seed=5) ** p, rel=1e-12)


def test_max_sw_between_pot_max_and_exact_wasserstein(clouds):
    X, Y, P = clouds
    exact = ot.emd2([], [], ot.dist(X, Y)) ** 0.5
    pot = ot.max_sliced_wasserstein_distance(X, Y, projections=P)
    ours = max_sw(X, Y, projections=P, n_iter=30)
    assert pot * (1 - 1e-12) <= ours <= exact * (1 + 1e-12)
    assert ours > pot * 1.001  # the ascent does improve on the 9 given directions


def test_max_sfg_not_below_start_and_above_sfg(clouds):
    X, Y, P = clouds
    start = reference.max_sfg(X, Y, P, 0.1)
    assert max_sfg(X, Y, projections=P, n_iter=20) >= start * (1 - 1e-12)
    assert sfg(X, Y, seed=0) <= max_sfg(X, Y, seed=0)


def test_translation_closed_form_for_one_direction():
    # Y = X + m shifts every sorted projection by theta^T m: W_p(theta) = |theta^T m| exactly.
    rng = np.random.default_rng(2)
    X, shift = rng.standard_normal((30, 5)), rng.standard_normal(5)
    P = unit_columns(rng, 5, 6)
    per = wp_per_slice(torch.from_numpy(X), torch.from_numpy(X + shift), torch.from_numpy(P), 3)
    assert np.allclose(per.numpy(), np.abs(P.T @ shift) ** 3, rtol=1e-12)


def test_gradcheck_sw_sfg_and_through_projections():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    Y = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    Z = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    P = torch.from_numpy(unit_columns(np.random.default_rng(0), 3, 4))
    a = torch.full((6,), 1 / 6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x, y: sw(x, y, projections=P, p=3), (X, Y))
    assert torch.autograd.gradcheck(lambda x, z: sw(x, z, projections=P, a=a), (X, Z))
    assert torch.autograd.gradcheck(lambda x, y: sfg(x, y, projections=P, beta=0.4), (X, Y))
    # one cloud at a time: the other one is sorted without its permutation
    for q in (2, 3):
        assert torch.autograd.gradcheck(
            lambda x, q=q: sfg(x, Y.detach(), projections=P, beta=0.4, p=q), (X,))
        assert torch.autograd.gradcheck(
            lambda y, q=q: sfg(X.detach(), y, projections=P, beta=0.4, p=q), (Y,))
    Pg = P.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda q: fg_per_slice(X.detach(), Y.detach(), q, 0.4, 2),
                                    (Pg,))
    assert torch.autograd.gradcheck(lambda q: wp_per_slice(X.detach(), Z.detach(), q, 2), (Pg,))


def test_gradient_step_decreases_each_discrepancy():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(30, 4, generator=g, dtype=torch.float64)
    Y = torch.randn(30, 4, generator=g, dtype=torch.float64) * 2 + 1
    for name, fn in FNS.items():
        Xg = X.clone().requires_grad_(True)
        before = fn(Xg, Y, seed=2)
        before.backward()
        after = fn(X - 0.05 * Xg.grad / Xg.grad.norm(), Y, seed=2)
        assert after < before, name


def test_gradient_is_zero_not_nan_at_identical_inputs():
    X = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    for fn in FNS.values():
        X.grad = None
        fn(X, X.detach(), seed=0).backward()
        assert torch.isfinite(X.grad).all() and X.grad.abs().max() < 1e-12


def test_fg_per_slice_never_builds_an_n_by_n_tensor():
    # n = 30000: an (n, n) float64 tensor would need 7.2 GB; O(n) memory finishes at once.
    g = torch.Generator().manual_seed(0)
    X, Y = torch.randn(30_000, 2, generator=g), torch.randn(30_000, 2, generator=g)
    P = torch.tensor([[1.0], [0.0]])
    value = fg_per_slice(X, Y, P, 0.5, 2)
    assert value.shape == (1,) and torch.isfinite(value).all()


def test_gradient_free_path_leaves_inputs_untouched(clouds):
    X, Y, P = clouds
    Xt, Yt = torch.from_numpy(X.copy()), torch.from_numpy(Y.copy())
    sw(Xt, Yt, projections=P)
    assert np.array_equal(Xt.numpy(), X) and np.array_equal(Yt.numpy(), Y)


@pytest.mark.parametrize(("beta", "p"), [(0.0, 2), (0.5, 1), (0.5, 3), (0.9, 2), (1.0, 2.5)])
@pytest.mark.parametrize("mirrored", [False, True])
def test_fg_closed_form_backward_matches_finite_differences(beta, p, mirrored):
    # mirrored: Y close to -X, so that the anti-identity coupling is the one chosen.
    g = torch.Generator().manual_seed(2)
    X = torch.randn(7, 3, generator=g, dtype=torch.float64)
    Y = (-X if mirrored else torch.randn(7, 3, generator=g, dtype=torch.float64))
    Y = Y + 0.1 * torch.randn(7, 3, generator=g, dtype=torch.float64)
    P = torch.from_numpy(unit_columns(np.random.default_rng(1), 3, 3))
    identity, anti = (reference._fg_cost(np.sort((X @ P[:, 0]).numpy()), w, beta, p)
                      for w in (np.sort((Y @ P[:, 0]).numpy()),
                                np.sort((Y @ P[:, 0]).numpy())[::-1]))
    if beta == 1.0:  # the structure term alone: a mirror image is matched by the anti-identity
        assert (anti < identity) == mirrored
    inputs = tuple(t.clone().requires_grad_(True) for t in (X, Y, P))
    assert torch.autograd.gradcheck(lambda x, y, q: fg_per_slice(x, y, q, beta, p), inputs)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_gradient_and_gradient_free_paths_agree(clouds, p):
    # Without a gradient, CPU inputs are projected and sorted in NumPy; with one, in torch.
    X, Y, P = (torch.from_numpy(a) for a in clouds)
    for fn in (lambda x: wp_per_slice(x, Y, P, p), lambda x: fg_per_slice(x, Y, P, 0.3, p)):
        plain = fn(X)
        tracked = fn(X.clone().requires_grad_(True))
        assert tracked.requires_grad and not plain.requires_grad
        assert torch.allclose(plain, tracked.detach(), rtol=1e-13, atol=0)


def test_torch_only_path_used_off_cpu_matches_reference(clouds):
    # GPUs take the torch.sort / torch matmul path; force it on CPU and compare.
    X, Y, P = clouds
    with _kernels._torch_only():
        for name in FNS:
            for grad in (False, True):
                Xt = torch.from_numpy(X).requires_grad_(grad)
                got = _call(name, Xt, torch.from_numpy(Y), torch.from_numpy(P), 3)
                assert got.item() == pytest.approx(_reference(name, X, Y, P, 3), rel=1e-12), name
        a = np.full(20, 1 / 20)
        assert sw(X, Y[:15], projections=P, a=a) == pytest.approx(
            reference.sw(X, Y[:15], P, 2, a), rel=1e-12)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_torch_only_path_gradients_match_the_numpy_path(p):
    """The gradients of SW and SFG (sort permutations, the FG backward with anti-identity rows)
    are the same on the torch-only path GPUs take as on the CPU's NumPy path."""
    rng = np.random.default_rng(3)
    # skewed one way and the other, so that some slices take the anti-identity coupling
    X = torch.from_numpy(np.exp(rng.standard_normal((30, 5))))
    Y = torch.from_numpy(-np.exp(rng.standard_normal((30, 5))))
    P = torch.from_numpy(unit_columns(rng, 5, 40))

    def gradients():
        out = []
        for fn in (lambda x, y: wp_per_slice(x, y, P, p).sum(),
                   lambda x, y: (fg_per_slice(x, y, P, 0.9, p) * torch.arange(40.0)).sum()):
            x, y = X.clone().requires_grad_(True), Y.clone().requires_grad_(True)
            fn(x, y).backward()
            out += [x.grad, y.grad]
        return out

    a, b = (sort_rows(P.T @ (Z - Z.mean(dim=0)).T) for Z in (X, Y))
    use_anti = _slices.fg_sorted(a, b, (X.mean(dim=0) - Y.mean(dim=0)) @ P, 0.9, p).use_anti
    assert use_anti.any() and not use_anti.all()  # both couplings are used
    numpy_path = gradients()
    with _kernels._torch_only():
        torch_path = gradients()
    for got, expected in zip(torch_path, numpy_path, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("d", [2, 30])
def test_max_sw_at_defaults_finds_the_translation_norm(d):
    # Y = X + m: W_p(theta) = |theta^T m| exactly, maximised at theta = m / ||m||.
    g = torch.Generator().manual_seed(d)
    X = torch.randn(100, d, generator=g, dtype=torch.float64)
    m = torch.randn(d, generator=g, dtype=torch.float64)
    value, log = max_sw(X, X + m, p=3, seed=0, log=True)
    assert value.item() == pytest.approx(m.norm().item(), rel=1e-9)
    assert abs(log["direction"] @ m).item() == pytest.approx(m.norm().item(), rel=1e-9)


@pytest.mark.parametrize("infinite", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_sort_sorts(dtype, infinite):
    """Sorted values and a permutation giving them, against NumPy, with signed zeros, the
    smallest normals, subnormals, ties and 60 decades of scale; float32 without infinities takes
    the float64-key path, with them the integer keys."""
    rng = np.random.default_rng(0)
    # cast after scaling: a float64 scale would promote U and leave float32 untested
    U = (rng.standard_normal((7, 1001)) * 10.0 ** rng.integers(-30, 30, (7, 1))).astype(dtype)
    tiny = np.finfo(dtype).tiny
    U[0, :6] = [-0.0, 0.0, tiny, -tiny, tiny / 4, -tiny / 4]
    if infinite:
        U[0, 6:8] = [-np.inf, np.inf]
    U[1] = 3.0  # all ties
    U[2, 1::2] = U[2, :-1:2]  # pairs of ties, negative ones included
    values, idx = _sort_rows_packed(torch.from_numpy(U))
    idx = idx.numpy()
    assert np.array_equal(np.sort(idx, axis=1), np.tile(np.arange(1001), (7, 1)))
    expected = np.sort(U, axis=1)
    assert np.array_equal(np.take_along_axis(U, idx, axis=1), expected)
    assert np.array_equal(values.numpy(), expected)
    assert values.dtype == torch.from_numpy(U).dtype


def test_float32_gradient_path_sorts_like_numpy():
    """The gradient path of float32 (permutation from the packed keys, then a gather) gives
    NumPy's sorted rows and the gradient of a sum of sorted values times weights is the weights
    put back in place."""
    rng = np.random.default_rng(1)
    U = torch.tensor(rng.standard_normal((5, 300)), dtype=torch.float32, requires_grad=True)
    weights = torch.linspace(-1.0, 1.0, 300)
    (sort_rows(U) * weights).sum().backward()
    order = np.argsort(U.detach().numpy(), axis=1, kind="stable")
    np.testing.assert_array_equal(sort_rows(U.detach()).numpy(),
                                  np.take_along_axis(U.detach().numpy(), order, axis=1))
    expected = np.empty((5, 300), dtype=np.float32)
    np.put_along_axis(expected, order, np.broadcast_to(weights.numpy(), (5, 300)), axis=1)
    np.testing.assert_array_equal(U.grad.numpy(), expected)


def test_row_mean_product_is_accurate_in_float32():
    """Means of products over the last axis in float32 against float64, for a (2, L, n) stack
    as the FG kernel passes (both couplings at once), at n = 2 10^5 where a plain float32 loop
    is off by more than 1e-6. Mutation: NumPy's einsum (that plain loop) fails the same
    tolerance."""
    rng = np.random.default_rng(4)
    a, b = (rng.standard_normal((2, 3, 200_000)).astype(np.float32) ** 2 + 1 for _ in range(2))
    tol = 1e-6
    exact = np.einsum("kij,kij->ki", a.astype(np.float64), b.astype(np.float64)) / a.shape[-1]
    got = row_mean_product(torch.from_numpy(a), torch.from_numpy(b))
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got.numpy(), exact, rtol=tol)
    plain = np.einsum("kij,kij->ki", a, b) / a.shape[-1]
    assert np.abs(plain / exact - 1).max() > tol


def test_float64_sort_with_index_repairs_near_ties():
    """float64 keys give the lowest log2(n) bits to the index, so values a few ulps apart can
    come out of order; sort_with_index must find those rows and sort them again. Mutation:
    the packed sort alone (what it would return without the repair) is out of order here."""
    rng = np.random.default_rng(2)
    n = 1000
    U = 1.0 + rng.permuted(np.tile(np.arange(n), (3, 1)), axis=1) * np.spacing(1.0)
    U[2] = rng.standard_normal(n)  # a row the keys sort exactly: left as it is
    values, idx = sort_with_index(torch.from_numpy(U))
    expected = np.sort(U, axis=1)
    assert np.array_equal(values.numpy(), expected)
    assert np.array_equal(np.take_along_axis(U, idx.numpy(), axis=1), expected)
    unrepaired, _ = _sort_rows_packed(torch.from_numpy(U))
    assert not np.array_equal(unrepaired.numpy()[:2], expected[:2])


def test_packed_sort_with_subnormals_flushed():
    """While the CPU reads subnormals as zero (``torch.set_flush_denormal``), the float64 keys of
    zeros (subnormal once they carry an index) would lose it: the integer keys must be used.
    Mutation: forcing the float64 keys under that mode breaks the permutation."""
    U = torch.tensor([[5.0, 0.0, -1.0, 3.0, -0.0, 0.0, 2.0]])
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormals")
    try:
        values, idx = _sort_rows_packed(U)
        assert sorted(idx[0].tolist()) == list(range(7))
        assert torch.equal(U[0, idx[0]], torch.sort(U[0]).values)
        assert torch.equal(values[0], torch.sort(U[0]).values)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_kernels, "_subnormals_read_as_zero", lambda: False)
            _, bad = _sort_rows_packed(U)
        assert sorted(bad[0].tolist()) != list(range(7))
    finally:
        torch.set_flush_denormal(False)

