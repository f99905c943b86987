"""Every bad input of docs/design.md raises a ValueError/TypeError naming argument and value."""

import numpy as np
import pytest
import torch

from discrepancies import REGISTRY, max_sfg, max_sw, reference, sfg, sw
from discrepancies._inputs import (
    check_finite,
    check_fits,
    check_kappa,
    check_locations,
    make_generator,
)

FNS = {"sw": sw, "max_sw": max_sw, "sfg": sfg, "max_sfg": max_sfg}
RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((8, 3)), RNG.standard_normal((8, 3))


def _nan_at(a, i, j, value=np.nan):
    a = a.copy()
    a[i, j] = value
    return a


CLOUD_CASES = [
    (RNG.standard_normal(8), Y, ValueError, "X must be 2-D"),
    (X, RNG.standard_normal((2, 8, 3)), ValueError, "Y must be 2-D"),
    (X, RNG.standard_normal((8, 4)), ValueError, "same dimension d"),
    (np.zeros((0, 3)), Y, ValueError, "X must be non-empty"),
    (X, np.zeros((8, 0)), ValueError, "must be non-empty"),
    (_nan_at(X, 2, 1), Y, ValueError, "X must be finite, got the value nan"),
    (X, _nan_at(Y, 0, 0, np.inf), ValueError, "Y must be finite, got the value inf"),
    ("abc", Y, TypeError, "X must be a torch tensor or a NumPy array"),
    (X, np.array([["a"] * 3] * 8), TypeError, "Y must hold real numbers"),
    (torch.ones(8, 3, dtype=torch.int64), Y, TypeError, "X must be a floating-point tensor"),
    (torch.ones(8, 3), torch.ones(8, 3, dtype=torch.float64), TypeError, "share dtype"),
]


@pytest.mark.parametrize("name", FNS)
@pytest.mark.parametrize(("x", "y", "err", "message"), CLOUD_CASES)
def test_bad_point_clouds(name, x, y, err, message):
    with pytest.raises(err, match=message):
        FNS[name](x, y, n_projections=3)


@pytest.mark.parametrize("name", ["sfg", "max_sfg"])
def test_fg_needs_equal_sizes(name):
    with pytest.raises(ValueError, match="n=8 and m=5"):
        FNS[name](X, Y[:5])


@pytest.mark.parametrize("name", FNS)
@pytest.mark.parametrize(("kwargs", "err", "message"), [
    ({"p": 0.5}, ValueError, "p must be >= 1, got p=0.5"),
    ({"p": float("nan")}, ValueError, "p must be finite"),
    ({"p": "2"}, TypeError, "p must be a real number"),
    ({"n_projections": 0}, ValueError, "n_projections must be >= 1, got n_projections=0"),
    ({"n_projections": 2.5}, TypeError, "n_projections must be an integer"),
    ({"n_projections": True}, TypeError, "n_projections must be an integer"),
    ({"projections": np.ones((3, 4))}, ValueError, "projections must have unit-norm columns"),
    ({"projections": np.eye(4)[:, :2]}, ValueError, r"projections must have shape \(d, L\)"),
    ({"projections": np.zeros((3, 0))}, ValueError, "projections must have shape"),
    ({"projections": _nan_at(np.eye(3), 0, 0)}, ValueError, "projections must be finite"),
    ({"seed": -1}, ValueError, "seed must be >= 0, got seed=-1"),
    ({"seed": 1.5}, TypeError, "seed must be None, an int or a torch.Generator"),
])
def test_bad_common_keywords(name, kwargs, err, message):
    with pytest.raises(err, match=message):
        FNS[name](X, Y, **kwargs)


@pytest.mark.parametrize("name", ["sfg", "max_sfg"])
@pytest.mark.parametrize("beta", [-0.1, 1.5, float("inf")])
def test_bad_beta(name, beta):
    with pytest.raises(ValueError, match="beta must be"):
        FNS[name](X, Y, beta=beta)


@pytest.mark.parametrize("name", ["max_sw", "max_sfg"])
@pytest.mark.parametrize(("kwargs", "err", "message"), [
    ({"n_iter": -1}, ValueError, "n_iter must be >= 0, got n_iter=-1"),
    ({"lr": 0.0}, ValueError, "lr must be > 0, got lr=0.0"),
    ({"lr": -1}, ValueError, "lr must be > 0"),
])
def test_bad_ascent_keywords(name, kwargs, err, message):
    with pytest.raises(err, match=message):
        FNS[name](X, Y, **kwargs)


@pytest.mark.parametrize("name", ["sw", "max_sw"])
@pytest.mark.parametrize(("a", "message"), [
    (np.full(8, -1 / 8), "a must be non-negative"),
    (np.full(8, 0.2), "a must sum to 1, got a sum of 1.6"),
    (np.full(5, 0.2), r"a must have shape \(8,\)"),
    (_nan_at(np.full((1, 8), 1 / 8), 0, 3)[0], "a must be finite"),
])
def test_bad_weights(name, a, message):
    with pytest.raises(ValueError, match=message):
        FNS[name](X, Y, a=a)
    with pytest.raises(ValueError, match=message.replace("a must", "b must")):
        FNS[name](X, Y, b=a)


def test_generator_on_wrong_device_and_kappa_and_locations():
    with pytest.raises(ValueError, match="seed must be a generator on meta"):
        make_generator(torch.Generator(), "meta")
    with pytest.raises(ValueError, match=r"kappa must be >= 0, got kappa=-1\.0"):
        check_kappa(-1.0)
    like = torch.zeros(1, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="loc must have unit norm"):
        check_locations(torch.ones(3), 3, like)
    with pytest.raises(ValueError, match=r"loc must have shape \(3,\) or \(k, 3\)"):
        check_locations(torch.ones(2, 4) / 2, 3, like)
    assert check_locations(torch.eye(3)[:2], 3, like).shape == (2, 3)


def test_tensor_and_numpy_mix_uses_the_tensor_dtype():
    out = sw(torch.from_numpy(X).float(), Y, seed=0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32


def test_finite_check_survives_an_overflowing_sum():
    # The fast path sums the entries; a sum that overflows must fall back, not raise.
    big = torch.full((4, 2), 1e308, dtype=torch.float64)
    check_finite(big, "X")
    with pytest.raises(ValueError, match="X must be finite, got the value -inf"):
        check_finite(torch.tensor([[1e308, -np.inf, np.inf]], dtype=torch.float64), "X")


ALL = REGISTRY  # n_projections=5: mssfg's default 5 components need 5 draws


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("log", ["no", "", 1, 0, None, np.array(True)])
def test_log_must_be_a_bool(name, log):
    """Mutation caught: ``log`` used for its truth value (``log="no"`` returned a pair)."""
    with pytest.raises(TypeError, match="log must be True or False, got"):
        ALL[name](X, Y, n_projections=5, log=log)


@pytest.mark.parametrize("name", ALL)
def test_numpy_bools_are_bools(name):
    assert isinstance(ALL[name](X, Y, n_projections=5, seed=0, log=np.bool_(True)), tuple)
    assert isinstance(ALL[name](X, Y, n_projections=5, seed=0, log=np.bool_(False)), np.float64)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(("seed", "err", "message"), [
    (2**70, ValueError,
     r"seed must be < 2\*\*64 \(seeds are 64-bit\), got seed=1180591620717411303424"),
    (2**64, ValueError, r"seed must be < 2\*\*64"),
    (-1, ValueError, "seed must be >= 0, got seed=-1"),
    (True, TypeError, "seed must be None, an int or a torch.Generator, got seed=True"),
    (3.0, TypeError, "seed must be None, an int or a torch.Generator, got seed=3.0"),
    (np.float64(3), TypeError, "seed must be None, an int or a torch.Generator"),
])
def test_seed_outside_the_64_bit_range_or_not_an_int(name, seed, err, message):
    """Mutation caught: no upper bound (torch's "Overflow when unpacking long long", which does
    not name the argument)."""
    with pytest.raises(err, match=message):
        ALL[name](X, Y, n_projections=5, seed=seed)


@pytest.mark.parametrize("name", ALL)
def test_seeds_at_the_ends_of_the_range_and_numpy_ints(name):
    fn = ALL[name]
    assert fn(X, Y, n_projections=5, seed=np.int64(3)) == fn(X, Y, n_projections=5, seed=3)
    top = fn(X, Y, n_projections=5, seed=2**64 - 1)
    assert np.isfinite(top) and top == fn(X, Y, n_projections=5, seed=np.uint64(2**64 - 1))
    assert fn(X, Y, n_projections=5, seed=0) != top


@pytest.mark.parametrize("name", ["sw", "max_sw"])
def test_weights_that_require_grad_are_refused(name):
    """Gradients with respect to the weights are not provided (see ``check_weights``): such
    weights raise instead of returning a gradient that is zero or one-sided at uniform weights.
    Mutation caught: the check removed (the call then returns)."""
    w = torch.full((8,), 1 / 8, dtype=torch.float64, requires_grad=True)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    with pytest.raises(ValueError, match=r"a must not require grad.*pass a\.detach\(\)"):
        FNS[name](Xt, Yt, a=w)
    with pytest.raises(ValueError, match="b must not require grad"):
        FNS[name](Xt, Yt, b=w)
    assert torch.isfinite(FNS[name](Xt, Yt, a=w.detach(), b=w.detach()))


def test_weights_are_at_a_kink_when_uniform_and_n_equals_m():
    """Why weights are not differentiated: at uniform weights with n = m every cumulative weight
    of one measure equals one of the other, and W_p^p has different one-sided derivatives
    along a direction that keeps the sum (the reference's exact 1-D W_p, no autograd)."""
    rng = np.random.default_rng(5)
    u, v = rng.standard_normal(6), rng.standard_normal(6) + 0.3
    step = np.zeros(6)
    step[np.argmin(u)], step[np.argmax(u)] = 1.0, -1.0

    def w(t):
        return reference.wasserstein_1d(u, v, np.full(6, 1 / 6) + t * step, None, 2)

    h = 1e-4
    right, left = (w(h) - w(0)) / h, (w(0) - w(-h)) / h
    assert abs(right - left) > 0.1 * max(abs(right), abs(left))


@pytest.mark.parametrize("name", ["sw", "max_sw"])
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-6),
                                            (torch.float32, 1e3 * torch.finfo(torch.float32).eps)])
def test_weight_sum_tolerance_is_the_documented_one(name, dtype, tol):
    """Weights must sum to 1 within 1e-6 (float64) or 1e3 float32 eps (about 1.2e-4): half of
    it is accepted, twice it refused. Mutations caught: the tolerance ten times looser (twice it
    accepted) or ten times tighter (half of it refused)."""
    Xt, Yt = torch.from_numpy(X).to(dtype), torch.from_numpy(Y).to(dtype)
    uniform = torch.full((8,), 1 / 8, dtype=torch.float64)
    inside, outside = ((uniform * (1 + f * tol)).to(dtype) for f in (0.5, 2.0))
    assert torch.isfinite(FNS[name](Xt, Yt, a=inside, seed=0))
    with pytest.raises(ValueError, match=r"a must sum to 1, got a sum of 1\.000"):
        FNS[name](Xt, Yt, a=outside, seed=0)


@pytest.mark.parametrize("name", ["ssfg", "mssfg", "pssfg"])
def test_kappa_beyond_the_held_dtype_names_kappa(name):
    """The samplers hold kappa in the data's dtype (at least float32): a kappa beyond that
    range is the caller's kappa, named as such, while float64 data take it."""
    fn = REGISTRY[name]
    X, Y = torch.randn(12, 3, generator=torch.Generator().manual_seed(0)), torch.randn(12, 3)
    with pytest.raises(ValueError, match=r"kappa must be <= 3\.403e\+38 .*got kappa=1e\+39"):
        fn(X, Y, kappa=1e39, n_projections=8, n_iter=1, seed=0)
    assert torch.isfinite(fn(X.double(), Y.double(), kappa=1e39, n_projections=8, n_iter=1,
                             seed=0))


def test_chunks_let_a_call_exceed_one_block_of_device_memory():
    """n = 10^7 points a cloud and L = 200 (a 30 GiB float64 block unchunked) pass the
    up-front check: under max_memory only a chunk of projections lives at once (the check
    alone runs here, on a (1, d) stand-in for the clouds of that size)."""
    from discrepancies._execution import Execution, executing

    like = torch.zeros(1, 20, dtype=torch.float64)
    with executing(Execution(max_memory=2**27)):
        check_fits(200, 2 * 10**7, like)
    with pytest.raises(ValueError, match="n_projections=200"):
        with executing(Execution(max_memory=2**50)):
            check_fits(200, 2 * 10**7, like)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_n_projections_beyond_the_device_memory_is_named(name):
    """A number of directions whose (d, L) block alone exceeds the machine's memory is
    refused up front, naming n_projections (torch would raise an allocation error); chunks
    bound the projections, not the directions."""
    X, Y = torch.randn(6, 3), torch.randn(6, 3)
    with pytest.raises(ValueError, match=r"n_projections=1000000000000000 needs at least .* GiB"):
        REGISTRY[name](X, Y, n_projections=10**15, seed=0)
