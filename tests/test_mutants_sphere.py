"""Tests that kill the mutants of samplers/sphere.py that the rest of the suite let through
(scripts/mutation.sh samplers/sphere.py; docs/mutation.md lists the equivalent ones)."""

import math

import numpy as np
import pytest
import torch

from samplers.sphere import (
    cosine_draws,
    householder_place,
    householder_sign,
    one_minus_cosine,
    tangent_gaussian,
    uniform_sphere,
)

F16, F32, F64 = torch.float16, torch.float32, torch.float64


def test_householder_sign_is_minus_one_above_minus_0_9_and_plus_one_elsewhere():
    first = torch.tensor([1.0, 0.3, 0.0, -0.5, -0.8999, -0.9, -0.95, -1.0], dtype=F32)
    sign = householder_sign(first)
    assert sign.dtype == F32
    assert sign.tolist() == [-1.0, -1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("first", [1.0, 0.4, -0.6, -0.95, -1.0])
def test_householder_place_is_the_documented_reflection(first):
    """Q (t e1 + s z/|z|) with the explicit matrix Q = sigma (I - 2 u u^T / |u|^2),
    u = e1 - sigma loc, built in NumPy: the map itself, not only some rotation taking e1 to loc
    (the SSFG ascent's common random numbers depend on which one it is)."""
    d, n = 5, 4
    rng = np.random.default_rng(3)
    rest = rng.standard_normal(d - 1)
    loc = np.concatenate([[first], math.sqrt(1 - first**2) * rest / np.linalg.norm(rest)])
    sigma = -1.0 if first > -0.9 else 1.0
    u = np.eye(d)[0] - sigma * loc
    q = sigma * (np.eye(d) - 2 * np.outer(u, u) / (u @ u))
    t = rng.uniform(-1, 1, n)
    z = rng.standard_normal((n, d))
    z[:, 0] = 0
    point = t[:, None] * np.eye(d)[0] + np.sqrt(1 - t**2)[:, None] * z / np.linalg.norm(
        z, axis=1, keepdims=True)
    expected = point @ q.T
    got = householder_place(torch.tensor(t), torch.tensor(np.sqrt(1 - t**2)), torch.tensor(z),
                            torch.tensor(loc))
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-14)


def test_householder_place_with_one_location_per_point():
    """Per-point locations (the mixture's case, ``loc`` of shape (n, d)) give, row by row, the
    single-location map."""
    rng = np.random.default_rng(5)
    n, d = 3, 4
    loc = rng.standard_normal((n, d))
    loc /= np.linalg.norm(loc, axis=1, keepdims=True)
    loc[2] = -np.eye(d)[0]
    t = torch.tensor(rng.uniform(-1, 1, n))
    s = torch.sqrt(1 - t**2)
    z = torch.tensor(rng.standard_normal((n, d)))
    z[:, 0] = 0
    got = householder_place(t, s, z.clone(), torch.tensor(loc))
    for i in range(n):
        one = householder_place(t[i], s[i], z[i].clone(), torch.tensor(loc[i]))
        torch.testing.assert_close(got[i], one, rtol=0, atol=1e-15)


def test_cosine_draws_maps_the_marginal_sampler_output_to_t_and_s():
    """With a stub marginal sampler returning (1 - t, 1 + t) = (0.25, 1.75): t = 0.75 and
    s = sqrt(0.25 * 1.75), in the requested dtype; float16 concentrations are drawn in float32
    (the stub records what it receives)."""
    seen = {}

    def stub(kappa, d, generator):
        seen["dtype"], seen["shape"], seen["d"] = kappa.dtype, kappa.shape, d
        return torch.full_like(kappa, 0.25), torch.full_like(kappa, 1.75)

    t, s = cosine_draws(stub, torch.tensor(2.0, dtype=F16), torch.Size((3, 2)), 7, None, F64)
    assert seen == {"dtype": F32, "shape": torch.Size((3, 2)), "d": 7}
    assert t.dtype == F64 and s.dtype == F64 and t.shape == (3, 2)
    assert torch.all(t == 0.75)
    torch.testing.assert_close(s, torch.full((3, 2), math.sqrt(0.25 * 1.75), dtype=F64),
                               rtol=1e-7, atol=0)
    cosine_draws(stub, torch.tensor(2.0, dtype=F64), torch.Size((2,)), 3, None, F32)
    assert seen["dtype"] == F64


def test_one_minus_cosine_against_the_dot_product_and_near_loc():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    loc = x[0]
    got = one_minus_cosine(torch.tensor(x), torch.tensor(loc))
    np.testing.assert_allclose(got.numpy(), 1 - x @ loc, rtol=0, atol=1e-15)
    # 1e-5 away from loc in float32: 1 - loc^T x = 5e-11, all rounding error as a dot product
    near = loc + 1e-5 * np.eye(6)[1]
    near /= np.linalg.norm(near)
    near32, loc32 = torch.tensor(near, dtype=F32), torch.tensor(loc, dtype=F32)
    exact = float(((near32.double() - loc32.double()) ** 2).sum() / 2)  # of the float32 inputs
    assert abs(float(one_minus_cosine(near32, loc32)) - exact) < 1e-5 * exact


def test_the_draws_are_made_on_the_device_asked_for():
    """The meta device (shapes and dtypes, no data) shows on a machine with only a CPU whether
    the device reaches the Gaussian draws: a draw made on the default device would be a CPU
    tensor."""
    assert uniform_sphere(5, 3, device="meta").device.type == "meta"
    like = torch.empty(0, dtype=F64, device="meta")
    z = tangent_gaussian(torch.Size((4,)), 3, None, like)
    assert (z.device.type, z.dtype, z.shape) == ("meta", F64, (4, 3))
