"""discrepancies.pot against POT itself: signatures, seeds, values, logs, scaler, errors, d = 1;
and d = 1 in the discrepancies' own API against closed forms."""

import inspect
import itertools

import numpy as np
import ot
import pytest
import scipy.stats
import torch
from ot.sliced import get_random_projections

from discrepancies import REGISTRY, max_sfg, max_sw, pot, reference, sfg, sw
from discrepancies.pot import max_sliced_wasserstein_distance, sliced_wasserstein_distance

PAIRS = {"sw": (sliced_wasserstein_distance, ot.sliced_wasserstein_distance),
         "max": (max_sliced_wasserstein_distance, ot.max_sliced_wasserstein_distance)}
BACKENDS = {"numpy": ot.backend.NumpyBackend(), "torch": ot.backend.TorchBackend()}


def _problem(seed, n, m, d, weighted):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((m, d)) * 1.3 + 0.5
    a = rng.dirichlet(np.ones(n)) if weighted else None
    b = rng.dirichlet(np.ones(m)) if weighted else None
    return X, Y, a, b


def _to(backend, *arrays):
    if backend == "numpy":
        return arrays
    return tuple(None if x is None else torch.from_numpy(x) for x in arrays)


def _fresh_seed(kind, value):
    return np.random.RandomState(value) if kind == "RandomState" else value


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.mark.parametrize("name", PAIRS)
def test_signature_is_pots(name):
    ours, theirs = PAIRS[name]
    got, expected = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
    assert [(p.name, p.kind, p.default) for p in got.values()] == [
        (p.name, p.kind, p.default) for p in expected.values()]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", PAIRS)
def test_values_logs_and_gradients_match_pot(name, backend):
    # d, p, weights, seed kind and seed over a grid; the directions must be POT's bit for bit,
    # the values and the per-slice costs equal to rounding (1e-12 relative), the log's types
    # POT's, and (torch) the gradients in X_s and X_t equal to POT's.
    ours, theirs = PAIRS[name]
    kinds = ("int", "RandomState") if backend == "numpy" else ("int",)
    grid = itertools.product((1, 2, 5), (1, 2, 3.5), (False, True), kinds, (0, 2**32 - 1))
    for i, (d, p, weighted, kind, seed) in enumerate(grid):
        case = (d, p, weighted, kind, seed)
        X, Y, a, b = _to(backend, *_problem(i, 23, 31, d, weighted))
        if backend == "torch":
            X.requires_grad_(True)
            Y.requires_grad_(True)
        v1, log1 = ours(X, Y, a, b, 17, p, None, _fresh_seed(kind, seed), True)
        v2, log2 = theirs(X, Y, a, b, 17, p, None, _fresh_seed(kind, seed), True)
        assert type(v1) is type(v2) and type(log1["projections"]) is type(log2["projections"])
        assert sorted(log1) == sorted(log2) == ["projected_emds", "projections"], case
        assert np.array_equal(_np(log1["projections"]), _np(log2["projections"])), case
        np.testing.assert_allclose(_np(log1["projected_emds"]), _np(log2["projected_emds"]),
                                   rtol=1e-12, atol=0, err_msg=str(case))
        assert float(_np(v1)) == pytest.approx(float(_np(v2)), rel=1e-12), case
        if backend == "torch":
            assert v1.dtype == v2.dtype == torch.float64 and v1.ndim == 0
            g1 = torch.autograd.grad(v1, (X, Y))
            g2 = torch.autograd.grad(v2, (X, Y))
            for mine, pots in zip(g1, g2, strict=True):
                torch.testing.assert_close(mine, pots, rtol=1e-10, atol=1e-14, msg=str(case))


def test_random_state_advances_as_in_pot():
    X, Y, _, _ = _problem(0, 20, 20, 3, False)
    rs1, rs2 = np.random.RandomState(5), np.random.RandomState(5)
    for _ in range(3):  # consecutive calls draw consecutive directions, in both
        assert sliced_wasserstein_distance(X, Y, seed=rs1) == pytest.approx(
            ot.sliced_wasserstein_distance(X, Y, seed=rs2), rel=1e-12)
    assert np.array_equal(rs1.randn(4), rs2.randn(4))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("d", [1, 3, 40])
def test_draw_is_pots_get_random_projections(d, dtype):
    X = torch.zeros(2, d, dtype=dtype)
    for seed in (0, 9):
        expected = get_random_projections(d, 25, seed, backend=BACKENDS["torch"], type_as=X)
        got = pot._pot_projections(d, 25, seed, X)
        assert got.dtype == dtype and torch.equal(got, expected)
        g1, g2 = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        assert torch.equal(pot._pot_projections(d, 25, g1, X), get_random_projections(
            d, 25, g2, backend=BACKENDS["torch"], type_as=X))
        assert np.array_equal(pot._pot_projections(d, 25, seed, X.numpy()),
                              get_random_projections(d, 25, seed))
        assert np.array_equal(pot._pot_projections(d, 25, np.int64(seed), X.numpy()),
                              get_random_projections(d, 25, np.random.RandomState(seed)))


@pytest.mark.parametrize("name", PAIRS)
def test_float32_torch_and_numpy_dtypes(name):
    ours, theirs = PAIRS[name]
    X, Y, _, _ = _problem(3, 30, 30, 4, False)
    Xf, Yf = torch.from_numpy(X).float(), torch.from_numpy(Y).float()
    v1, log1 = ours(Xf, Yf, seed=4, log=True)
    v2, log2 = theirs(Xf, Yf, seed=4, log=True)
    assert v1.dtype == torch.float32 and torch.equal(log1["projections"], log2["projections"])
    assert v1.item() == pytest.approx(v2.item(), rel=1e-5)  # float32 rounding of n = 30 terms
    # NumPy: POT's result has the promoted dtype of the arrays (float64 when it draws)
    P32 = get_random_projections(4, 10, seed=1).astype(np.float32)
    for args, kw in (((X.astype(np.float32), Y.astype(np.float32)), {"seed": 1}),
                     ((X.astype(np.float32), Y.astype(np.float32)), {"projections": P32}),
                     ((X, Y), {"projections": P32})):
        got, expected = ours(*args, **kw), theirs(*args, **kw)
        assert type(got) is type(expected), (type(got), type(expected), kw)
        assert got == pytest.approx(expected, rel=1e-6)


def test_given_projections_lists_and_defaults_match_pot():
    X, Y, a, b = _problem(5, 12, 9, 3, True)
    P = get_random_projections(3, 8, seed=2)
    for name, (ours, theirs) in PAIRS.items():
        assert ours(X, Y, projections=P) == pytest.approx(theirs(X, Y, projections=P),
                                                          rel=1e-12), name
        assert ours(X.tolist(), Y.tolist(), a, b, projections=P) == pytest.approx(
            theirs(X.tolist(), Y.tolist(), a, b, projections=P), rel=1e-12), name
        assert ours(X, Y, seed=3) == pytest.approx(theirs(X, Y, seed=3), rel=1e-12), name
        _, log = ours(X, Y, projections=P, log=True)
        assert log["projections"] is P  # POT hands back the array it was given
        assert ours(X, X, a, a, 10, seed=0) == 0.0


def test_max_is_the_best_drawn_direction_and_max_sw_ascends_beyond():
    X, Y, _, _ = _problem(6, 60, 60, 6, False)
    value, log = max_sliced_wasserstein_distance(X, Y, n_projections=20, p=2, seed=1, log=True)
    assert value == pytest.approx(np.max(log["projected_emds"]) ** 0.5, rel=1e-14)
    assert value > sliced_wasserstein_distance(X, Y, n_projections=20, seed=1)
    assert max_sw(X, Y, projections=log["projections"]) > value * 1.01


def test_scaler_matches_pot_and_a_hand_standardisation():
    X, Y, _, _ = _problem(7, 40, 50, 3, False)
    X[:, 0] *= 1000.0
    scaler = ot.utils.DataScaler(norm="standard").fit([X, Y])
    both = np.concatenate([X, Y])
    mean, std = both.mean(axis=0), both.std(axis=0)
    for name, (ours, theirs) in PAIRS.items():
        got = ours(X, Y, seed=0, scaler=scaler)
        assert got == pytest.approx(theirs(X, Y, seed=0, scaler=scaler), rel=1e-12), name
        by_hand = ours((X - mean) / std, (Y - mean) / std, seed=0)
        assert got == pytest.approx(by_hand, rel=1e-12), name
        assert ours(X, Y, seed=0, scaler=lambda z: z / 10) == pytest.approx(
            ours(X / 10, Y / 10, seed=0), rel=1e-12), name


def test_scaler_prefers_transform_and_carries_gradients():
    class Both:  # POT calls .transform when there is one, even on a callable object
        def transform(self, z):
            return 2 * z

        def __call__(self, z):
            return 3 * z

    X, Y, _, _ = _problem(8, 20, 20, 2, False)
    for name, (ours, theirs) in PAIRS.items():
        assert ours(X, Y, seed=1, scaler=Both()) == pytest.approx(
            theirs(X, Y, seed=1, scaler=Both()), rel=1e-12), name
        assert ours(X, Y, seed=1, scaler=Both()) == pytest.approx(
            2 * ours(X, Y, seed=1), rel=1e-12), name
    Xt = torch.from_numpy(X).requires_grad_(True)
    linear = torch.nn.Linear(2, 2, dtype=torch.float64)
    value = sliced_wasserstein_distance(Xt, torch.from_numpy(Y), seed=2, scaler=linear)
    value.backward()
    assert linear.weight.grad is not None and torch.isfinite(Xt.grad).all()
    with pytest.raises(ValueError, match="scaler must be"):
        sliced_wasserstein_distance(X, Y, scaler=42)


@pytest.mark.parametrize("name", PAIRS)
def test_bad_shapes_raise_like_pot_with_clearer_messages(name):
    ours, theirs = PAIRS[name]
    X = np.zeros((5, 2))
    for Y in (np.zeros((5, 3)), torch.zeros(6, 3, dtype=torch.float64)):
        Xb = torch.from_numpy(X) if isinstance(Y, torch.Tensor) else X
        with pytest.raises(ValueError):
            theirs(Xb, Y)
        with pytest.raises(ValueError, match=r"X_s and X_t .*2 and 3"):
            ours(Xb, Y)
    with pytest.raises(ValueError, match=r"X_t must be 2-D.*\(5,\)"):
        ours(X, np.zeros(5))  # POT: an IndexError from X_t.shape[1]
    with pytest.raises(ValueError, match=r"projections must have shape"):
        ours(X, X, projections=np.ones((3, 4)) / np.sqrt(3))
    with pytest.raises(ValueError, match=r"a must have shape \(5,\)"):
        ours(X, X, a=np.ones(4) / 4)  # POT: an IndexError
    with pytest.raises(ValueError, match="n_projections must be >= 1"):
        ours(X, X, n_projections=0)  # POT: NaN
    with pytest.raises(ValueError, match="unit-norm"):
        ours(X, X, projections=np.ones((2, 3)))  # POT computes on
    with pytest.raises(TypeError, match="seed"):
        ours(X, X, seed=np.random.default_rng(0))
    with pytest.raises(TypeError, match="seed"):
        ours(X, X, seed=torch.Generator())
    with pytest.raises(ValueError, match="seed"):
        ours(X, X, seed=-1)
    with pytest.raises(TypeError, match="X_s must be"):
        ours("abc", X)


def test_d1_is_the_1d_wasserstein_distance():
    # d = 1: the directions are +-1 and every slice is the data itself: SW_p = W_p exactly,
    # against ot.emd2_1d (p = 2, weights, n != m) and SciPy (p = 1).
    X, Y, a, b = _problem(9, 37, 50, 1, True)
    x, y = X[:, 0], Y[:, 0]
    w2 = np.sqrt(ot.emd2_1d(x, y, a, b))
    w1 = scipy.stats.wasserstein_distance(x, y, a, b)
    for fn in (sliced_wasserstein_distance, max_sliced_wasserstein_distance):
        value, log = fn(X, Y, a, b, 10, 2, None, 42, True)
        assert set(np.unique(log["projections"])) == {-1.0, 1.0}
        assert value == pytest.approx(w2, rel=1e-12)
        assert fn(X, Y, a, b, p=1, seed=0) == pytest.approx(w1, rel=1e-12)
        t = fn(torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(a),
               torch.from_numpy(b), seed=3)
        assert t.item() == pytest.approx(w2, rel=1e-12)
    for fn in (sw, max_sw):  # the suite's own API and seeds
        assert fn(X, Y, a=a, b=b, seed=0) == pytest.approx(w2, rel=1e-12)
        assert fn(X, Y, a=a, b=b, p=1, seed=1) == pytest.approx(w1, rel=1e-12)
    P = np.array([[1.0, -1.0]])
    assert reference.sw(X, Y, P, 1, a, b) == pytest.approx(w1, rel=1e-12)
    assert reference.max_sw(X, Y, P, 2, a, b) == pytest.approx(w2, rel=1e-12)


def test_d1_own_api_directions_gradients_and_fused_family():
    X, Y, _, _ = _problem(10, 15, 15, 1, False)
    value, log = sw(X, Y, n_projections=64, seed=0, log=True)
    signs = log["projections"]
    assert signs.shape == (1, 64) and set(np.unique(signs)) == {-1.0, 1.0}
    assert 16 <= (signs > 0).sum() <= 48  # fair signs: Binomial(64, 1/2), two-sided p < 1e-4
    assert value == pytest.approx(np.sqrt(ot.emd2_1d(X[:, 0], Y[:, 0])), rel=1e-12)
    _, log = max_sw(X, Y, seed=0, log=True)
    assert len(log["history"]) == 1  # S^0 has no tangent space: no ascent steps
    Xt = torch.from_numpy(X).requires_grad_(True)
    sw(Xt, torch.from_numpy(Y), seed=0).backward()
    # the gradient of W_2 in x_(i) is (x_(i) - y_(i)) / (n W_2) for the sorted samples
    xs, ys = np.sort(X[:, 0]), np.sort(Y[:, 0])
    w2 = np.sqrt(np.mean((xs - ys) ** 2))
    expected = np.empty_like(X[:, 0])
    expected[np.argsort(X[:, 0])] = (xs - ys) / (len(xs) * w2)
    np.testing.assert_allclose(Xt.grad.numpy()[:, 0], expected, rtol=1e-12)
    fg = reference.fg_1d(X[:, 0], Y[:, 0], 0.3, 2)
    assert sfg(X, Y, beta=0.3, seed=0) == pytest.approx(fg, rel=1e-12)
    assert max_sfg(X, Y, beta=0.3, seed=0) == pytest.approx(fg, rel=1e-12)
    with pytest.raises(ValueError, match="d >= 2"):  # vMF / power spherical live on S^{d-1}, d >= 2
        REGISTRY["ssfg"](X, Y, seed=0)


def test_aliases_are_not_registered():
    assert not {sliced_wasserstein_distance, max_sliced_wasserstein_distance} & set(
        REGISTRY.values())
