"""Bad input raises a clear ValueError/TypeError naming the argument; no loop can hang."""

import math

import numpy as np
import pytest
import torch

from samplers import MixtureVonMisesFisher, PowerSpherical, VonMisesFisher, log_iv, uniform_sphere
from samplers.marginals import t_law
from samplers.von_mises_fisher import sample_vmf_t

F64 = torch.float64
CLASSES = (VonMisesFisher, PowerSpherical)


def _e(d, dtype=F64):
    x = torch.zeros(d, dtype=dtype)
    x[0] = 1
    return x


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    ("loc", "kappa", "error", "match"),
    [
        (torch.tensor([1.0, 1.0], dtype=F64), 1.0, ValueError, "loc must have unit norm"),
        (torch.tensor([1.0, 0.0], dtype=F64) * 1.001, 1.0, ValueError, "loc must have unit"),
        (torch.tensor([math.nan, 0.0], dtype=F64), 1.0, ValueError, "loc must be finite"),
        (torch.tensor([1.0, 0.0], dtype=F64), -0.5, ValueError, "concentration must be"),
        (torch.tensor([1.0, 0.0], dtype=F64), math.nan, ValueError, "concentration must be"),
        (torch.tensor([1.0, 0.0], dtype=F64), math.inf, ValueError, "concentration must be"),
        (torch.tensor([1.0], dtype=F64), 1.0, ValueError, "d.* must be >= 2"),
        (torch.tensor(1.0, dtype=F64), 1.0, ValueError, "loc must have at least one axis"),
        (torch.tensor([1, 0]), 1.0, TypeError, "loc must be a floating-point tensor"),
        (torch.eye(3, dtype=F64)[:2], torch.ones(3, dtype=F64), ValueError,
         "does not broadcast"),
    ],
)
def test_bad_parameters_raise_with_the_argument_named(cls, loc, kappa, error, match):
    with pytest.raises(error, match=match):
        cls(loc, kappa)


@pytest.mark.parametrize("cls", CLASSES)
def test_validate_args_false_skips_value_checks_but_not_shape_checks(cls):
    cls(torch.tensor([2.0, 0.0], dtype=F64), 1.0, validate_args=False)
    with pytest.raises(ValueError, match="d"):
        cls(torch.tensor([1.0], dtype=F64), 1.0, validate_args=False)


@pytest.mark.parametrize("cls", CLASSES)
def test_log_prob_rejects_points_off_the_sphere_and_wrong_shape(cls):
    dist = cls(_e(3), 2.0)
    with pytest.raises(ValueError, match="support"):
        dist.log_prob(torch.tensor([1.0, 1.0, 0.0], dtype=F64))
    with pytest.raises(ValueError, match="event_shape"):
        dist.log_prob(torch.tensor([1.0, 0.0], dtype=F64))


def test_float32_location_tolerance_is_dtype_aware():
    loc = torch.tensor([0.6, 0.8], dtype=torch.float32) * (1 + 1e-5)
    VonMisesFisher(loc, 1.0)  # float32 normalisation error: accepted
    with pytest.raises(ValueError, match="unit norm"):
        VonMisesFisher(loc.double(), 1.0)  # the same vector is not unit in float64


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"locs": torch.ones(3, dtype=F64)}, ValueError, r"locs must have shape \(k, d\)"),
        ({"locs": torch.eye(3, dtype=F64) * 2}, ValueError, "locs must have unit norm"),
        ({"concentrations": torch.ones(2, dtype=F64)}, ValueError, "concentrations must be"),
        ({"concentrations": -1.0}, ValueError, "concentrations must be finite and >= 0"),
        ({"weights": torch.tensor([0.5, 0.5, 0.5], dtype=F64)}, ValueError, "sum to 1"),
        ({"weights": torch.tensor([1.2, -0.1, -0.1], dtype=F64)}, ValueError, "weights must"),
        ({"weights": torch.ones(2, dtype=F64) / 2}, ValueError, r"weights must have shape"),
    ],
)
def test_mixture_bad_input(kwargs, error, match):
    args = {"locs": torch.eye(3, dtype=F64), "concentrations": 1.0, "weights": None, **kwargs}
    with pytest.raises(error, match=match):
        MixtureVonMisesFisher(**args)


@pytest.mark.parametrize(
    ("n", "d", "error", "match"),
    [(0, 3, ValueError, "n must be >= 1, got n=0"), (3, 1, ValueError, "d must be >= 2"),
     (2.5, 3, TypeError, r"n must be an integer, got n=2\.5"),
     (3, 3.0, TypeError, r"d must be an integer, got d=3\.0")],
)
def test_uniform_sphere_bad_input(n, d, error, match):
    with pytest.raises(error, match=match):
        uniform_sphere(n, d)


def test_log_bessel_and_laws_bad_input():
    with pytest.raises(ValueError, match="nu must be"):
        log_iv(-1.0, torch.tensor(1.0, dtype=F64))
    for x in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="x must be finite and >= 0"):
            log_iv(1.0, torch.tensor(x, dtype=F64))
    with pytest.raises(ValueError, match="kappa must be"):
        t_law("vmf", 3, -1.0)
    with pytest.raises(ValueError, match="family"):
        t_law("cauchy", 3, 1.0)


@pytest.mark.parametrize("per_draw", [False, True])
def test_rejection_loop_is_bounded_and_raises_instead_of_hanging(per_draw):
    kappa = torch.full((50,), 5.0, dtype=F64)
    kappa = kappa.clone() if per_draw else torch.tensor(5.0, dtype=F64).expand(50)
    with pytest.raises(RuntimeError, match="still rejected after 100 rounds or at an acceptance"):
        sample_vmf_t(kappa, 7, torch.Generator().manual_seed(0),
                     envelope=torch.tensor(math.nan))


def _draw(kind, sample_shape, generator=None):
    loc = _e(3)
    if kind == "mixture":
        return MixtureVonMisesFisher(torch.stack([loc, -loc]), 2.0).sample(sample_shape,
                                                                          generator)
    dist = (VonMisesFisher if kind == "vmf" else PowerSpherical)(loc, 2.0)
    if kind.endswith("base_draws"):
        return dist.base_draws(sample_shape, generator)
    return dist.sample(sample_shape, generator)


DRAW_KINDS = ("vmf", "power_spherical", "mixture", "vmf base_draws")


@pytest.mark.parametrize("kind", DRAW_KINDS)
@pytest.mark.parametrize(
    ("sample_shape", "error", "match"),
    [((-1,), ValueError, r"sample_shape\[0\] must be >= 0, got sample_shape\[0\]=-1"),
     ((2, -3), ValueError, r"sample_shape\[1\] must be >= 0, got sample_shape\[1\]=-3"),
     ((2**62,), ValueError, "sample_shape=.* more than a tensor can hold"),
     ((2**31, 2**31), ValueError, "sample_shape=.* more than a tensor can hold"),
     (5, TypeError, "sample_shape must be a tuple of ints"),
     ((2.5,), TypeError, r"sample_shape\[0\] must be an integer, got sample_shape\[0\]=2\.5"),
     ((True,), TypeError, r"sample_shape\[0\] must be an integer, got sample_shape\[0\]=True"),
     (None, TypeError, "sample_shape must be a tuple of ints")],
)
def test_bad_sample_shape_raises_naming_it(kind, sample_shape, error, match):
    # (-1,) was torch's "integer multiplication overflow", (2**62,) a storage-size overflow
    with pytest.raises(error, match=match):
        _draw(kind, sample_shape)


@pytest.mark.parametrize("kind", DRAW_KINDS)
def test_sample_shape_accepts_sizes_lists_and_integer_scalars(kind):
    for shape in (torch.Size([2, 3]), [2, 3], (np.int64(2), 3), (2, 0)):
        out = _draw(kind, shape)
        out = out[0] if isinstance(out, tuple) else out
        assert out.shape[:2] == tuple(int(s) for s in shape)


@pytest.mark.parametrize("kind", DRAW_KINDS)
def test_generator_of_the_wrong_type_raises_naming_it(kind):
    for generator in ("abc", 0, np.random.default_rng(0)):
        with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
            _draw(kind, (2,), generator)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a second device")
def test_generator_on_another_device_raises_naming_it():
    with pytest.raises(ValueError, match="generator is on device cuda"):
        _draw("vmf", (2,), torch.Generator(device="cuda"))
    with pytest.raises(ValueError, match="generator is on device cuda"):
        uniform_sphere(3, 4, generator=torch.Generator(device="cuda"), device="cpu")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"dtype": torch.int64}, TypeError, "dtype must be a real floating torch dtype"),
     ({"dtype": torch.bool}, TypeError, "dtype must be a real floating"),
     ({"dtype": torch.complex64}, TypeError, "dtype must be a real floating"),
     ({"dtype": "float32"}, TypeError, "dtype must be a real floating"),
     ({"generator": "abc"}, TypeError, r"generator must be a torch\.Generator"),
     ({"n": 2**62}, ValueError, "n=4611686018427387904 asks for"),
     ({"n": 2**62, "d": 1}, ValueError, "d must be >= 2")],
)
def test_uniform_sphere_dtype_generator_and_size_are_checked(kwargs, error, match):
    # dtype=int64 was torch's "normal_kernel_cpu not implemented for 'Long'"; complex64 drew
    # points of the complex sphere
    args = {"n": 4, "d": 3, **kwargs}
    with pytest.raises(error, match=match):
        uniform_sphere(args.pop("n"), args.pop("d"), **args)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_loc_holds_concentration_in_float32(cls, dtype):
    # kappa = 1e5 or 1e8 cannot be stored in float16 (max 65504): it is held in float32, the
    # draws stay in the loc's dtype, log_prob and entropy are float32 (log p(mu) at d = 1000,
    # kappa = 1e8 is 8e3 nats; at d = 10^4 it exceeds 65504)
    d = 1000
    loc = _e(d, dtype)
    for kappa in (1e5, torch.tensor(1e8, dtype=F64)):
        dist = cls(loc, kappa)
        assert dist.concentration.dtype == torch.float32
        x = dist.sample((50,), generator=torch.Generator().manual_seed(0))
        assert x.dtype == dtype and torch.isfinite(x).all()
        assert ((x.double().norm(dim=-1) - 1).abs() <= 4 * torch.finfo(dtype).eps).all()
        assert dist.mean.dtype == dtype
        lp, entropy = dist.log_prob(loc), dist.entropy()
        assert lp.dtype == entropy.dtype == torch.float32
        ref = cls(_e(d), float(kappa))
        torch.testing.assert_close(lp.double(), ref.log_prob(_e(d)), rtol=2e-7, atol=0)
        torch.testing.assert_close(entropy.double(), ref.entropy(), rtol=2e-7, atol=0)


@pytest.mark.parametrize("cls", [*CLASSES, MixtureVonMisesFisher])
@pytest.mark.parametrize(
    ("dtype", "kappa"),
    [(torch.float32, 1e39), (torch.float16, 1e39), (torch.bfloat16, 1e300),
     (torch.float32, torch.tensor([1.0, 1e300], dtype=F64))],
)
def test_concentration_beyond_the_dtype_range_raises_naming_the_range(cls, dtype, kappa):
    # a finite kappa that the working dtype turns into inf was refused as "concentration=inf"
    # (blaming the user's finite value); it now names the dtype and its largest value
    locs = torch.eye(3, dtype=dtype)[:2]
    loc = locs if cls is MixtureVonMisesFisher or not isinstance(kappa, float) else locs[0]
    with pytest.raises(ValueError, match=r"concentrations?=1e\+(39|300) is beyond the range of "
                                         r"torch.float32 \(largest finite value 3.403e\+38\)"):
        cls(loc, kappa)
    cls(loc.double(), kappa)  # float64 holds it


@pytest.mark.parametrize("cls", [*CLASSES, MixtureVonMisesFisher])
def test_log_prob_value_of_a_non_floating_dtype_raises_naming_it(cls):
    loc = _e(3)
    dist = cls(torch.stack([loc, -loc]), 2.0) if cls is MixtureVonMisesFisher else cls(loc, 2.0)
    for value in (torch.tensor([1, 0, 0]), loc.to(torch.complex128), torch.tensor([True, False,
                                                                                   False])):
        with pytest.raises(TypeError, match="value must be a floating-point tensor"):
            dist.log_prob(value)
