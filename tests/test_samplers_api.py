"""API of the samplers: shapes, dtypes, reproducibility, gradients to the location."""

import pytest
import torch

from samplers import MixtureVonMisesFisher, PowerSpherical, VonMisesFisher, uniform_sphere

DISTRIBUTIONS = (VonMisesFisher, PowerSpherical)


def _unit(*shape, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=dtype)
    return x / x.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_uniform_sphere_shape_dtype_norm_and_seed(dtype):
    g = torch.Generator().manual_seed(1)
    x = uniform_sphere(50, 7, generator=g, dtype=dtype)
    assert x.shape == (50, 7) and x.dtype == dtype
    torch.testing.assert_close(x.norm(dim=-1), torch.ones(50, dtype=dtype))
    y = uniform_sphere(50, 7, generator=torch.Generator().manual_seed(1), dtype=dtype)
    assert torch.equal(x, y)


@pytest.mark.parametrize("cls", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_shapes_dtype_and_unit_norm(cls, dtype):
    loc = _unit(3, 4, dtype=dtype)
    kappa = torch.tensor([0.0, 1.0, 1e4], dtype=dtype)[:, None].expand(3, 4)
    dist = cls(loc.unsqueeze(1).expand(3, 4, 4), kappa)
    assert dist.batch_shape == (3, 4) and dist.event_shape == (4,)
    x = dist.sample((5, 2), generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, 2, 3, 4, 4) and x.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert (x.norm(dim=-1) - 1).abs().max() < tol
    assert dist.log_prob(x).shape == (5, 2, 3, 4)
    assert dist.mean.shape == (3, 4, 4) and dist.entropy().shape == (3, 4)


@pytest.mark.parametrize("cls", DISTRIBUTIONS)
def test_generator_makes_draws_reproducible(cls):
    dist = cls(_unit(6), 3.0)
    a = dist.sample((100,), generator=torch.Generator().manual_seed(5))
    b = dist.sample((100,), generator=torch.Generator().manual_seed(5))
    c = dist.sample((100,), generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("cls", DISTRIBUTIONS)
def test_rsample_tracks_gradients_and_sample_does_not(cls):
    loc = _unit(5).requires_grad_()
    dist = cls(loc, 4.0)
    x = dist.rsample((10,), generator=torch.Generator().manual_seed(0))
    assert x.requires_grad
    x[:, 0].sum().backward()
    assert loc.grad is not None and torch.isfinite(loc.grad).all() and loc.grad.abs().sum() > 0
    assert not dist.sample((10,)).requires_grad


def test_mixture_rsample_tracks_gradients_to_locs():
    locs = _unit(3, 5).requires_grad_()
    mix = MixtureVonMisesFisher(locs, torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64))
    x = mix.rsample((200,), generator=torch.Generator().manual_seed(0))
    assert x.shape == (200, 5)
    x[:, 1].sum().backward()
    assert torch.isfinite(locs.grad).all() and (locs.grad.abs().sum(-1) > 0).all()
    assert mix.log_prob(x.detach()).shape == (200,)


@pytest.mark.parametrize("cls", DISTRIBUTIONS)
def test_expand_and_repr_follow_torch_distributions(cls):
    dist = cls(_unit(4), 2.0)
    wide = dist.expand((3,))
    assert wide.batch_shape == (3,) and wide.sample((2,)).shape == (2, 3, 4)
    torch.testing.assert_close(wide.mean, dist.mean.expand(3, 4))
    assert "concentration" in repr(dist) and "loc" in repr(dist)


def test_float32_and_float64_agree_in_law_of_the_mean():
    loc = _unit(20)
    for cls in DISTRIBUTIONS:
        m32 = cls(loc.float(), 30.0).sample((4000,), generator=torch.Generator().manual_seed(0))
        m64 = cls(loc, 30.0).mean
        # mean of 4000 draws: standard error of t is below 0.01 here
        assert (m32.double().mean(0) @ loc - m64 @ loc).abs() < 0.01


@pytest.mark.parametrize("cls", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_draws_are_float32_draws_rounded(cls, dtype):
    # torch has no CPU Gamma for these dtypes: the cosines are drawn in float32 (whose law the
    # float32 t-law checks test) and rounded, bit for bit; the Householder map then runs in the
    # dtype, a handful of rounded operations per coordinate: unit norm to 4 eps.
    loc, kappa = _unit(6), torch.tensor(30.0)
    low = cls(loc.to(dtype), kappa.to(dtype)).base_draws((500,), torch.Generator().manual_seed(2))
    ref = cls(loc.float(), kappa).base_draws((500,), torch.Generator().manual_seed(2))
    for got, expected in zip(low[:2], ref[:2], strict=True):
        assert got.dtype == dtype and torch.equal(got, expected.to(dtype))
    x = cls(loc.to(dtype), kappa.to(dtype)).rsample((500,))
    assert x.dtype == dtype
    assert (x.double().norm(dim=-1) - 1).abs().max() <= 4 * torch.finfo(dtype).eps
    mix = MixtureVonMisesFisher(torch.stack([loc, -loc]).to(dtype), torch.tensor([5.0, 50.0]))
    assert mix.sample((100,)).dtype == dtype


def test_zero_draws_give_empty_samples():
    loc = _unit(3)
    for dist in (VonMisesFisher(loc, 3.0), PowerSpherical(loc, 3.0),
                 MixtureVonMisesFisher(torch.stack([loc, -loc]), 2.0)):
        assert dist.sample((0,)).shape == (0, 3)


def test_power_spherical_rsample_is_reparameterised_in_kappa():
    # d E[t]/d kappa = (d - 1) / (d - 1 + kappa)^2; common random numbers, 20000 draws
    kappa = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    loc = _unit(4)
    x = PowerSpherical(loc, kappa).rsample((20000,), generator=torch.Generator().manual_seed(0))
    (x @ loc).mean().backward()
    assert float(kappa.grad) == pytest.approx(3 / 8**2, rel=0.05)


@pytest.mark.parametrize("cls", DISTRIBUTIONS)
def test_float32_parameters_with_float64_points_give_a_float64_log_density(cls):
    """``log_prob`` is in the dtype of the parameters and the points promoted, and as accurate as
    that dtype: float32 parameters (exact in float64) at float64 points give the float64
    parameters' value to 1e-14, not one with its normaliser rounded to float32 (1e-7 off)."""
    loc = _unit(3, 5, seed=4)
    kappa = torch.tensor([0.7, 20.0, 3e4], dtype=torch.float64)
    low = cls(loc.float(), kappa.float())
    # float32 unit vectors are not unit to float64's tolerance: the reference skips the check
    exact = cls(loc.float().double(), kappa.float().double(), validate_args=False)
    points = _unit(6, 1, 5, seed=5)
    got = low.log_prob(points)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, exact.log_prob(points), rtol=1e-14, atol=1e-14)


def test_float32_mixture_with_float64_points_gives_a_float64_log_density():
    locs = _unit(3, 5, seed=4).float()
    kappa = torch.tensor([0.7, 20.0, 3e4], dtype=torch.float32)
    points = _unit(6, 5, seed=5)
    low = MixtureVonMisesFisher(locs, kappa)  # uniform weights, 1/3 rounded to float32
    got = low.log_prob(points)
    exact = MixtureVonMisesFisher(locs.double(), kappa.double(), low.weights.double(),
                                  validate_args=False).log_prob(points)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, exact, rtol=1e-14, atol=1e-14)
