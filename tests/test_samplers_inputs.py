"""Bad input raises a clear ValueError/TypeError naming the argument; no loop can hang."""

import math

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
    [(0, 3, ValueError, "n must be >= 1"), (3, 1, ValueError, "d must be >= 2"),
     (2.5, 3, TypeError, "n must be an int"), (3, 3.0, TypeError, "d must be an int")],
)
def test_uniform_sphere_bad_input(n, d, error, match):
    with pytest.raises(error, match=match):
        uniform_sphere(n, d)


def test_log_bessel_and_laws_bad_input():
    with pytest.raises(ValueError, match="nu must be"):
        log_iv(-1.0, torch.tensor(1.0, dtype=F64))
    with pytest.raises(ValueError, match="x must be"):
        log_iv(1.0, torch.tensor(-1.0, dtype=F64))
    with pytest.raises(ValueError, match="kappa must be"):
        t_law("vmf", 3, -1.0)
    with pytest.raises(ValueError, match="family"):
        t_law("cauchy", 3, 1.0)


@pytest.mark.parametrize("per_draw", [False, True])
def test_rejection_loop_is_bounded_and_raises_instead_of_hanging(per_draw):
    kappa = torch.full((50,), 5.0, dtype=F64)
    kappa = kappa.clone() if per_draw else torch.tensor(5.0, dtype=F64).expand(50)
    with pytest.raises(RuntimeError, match="still rejected after 100 rounds"):
        sample_vmf_t(kappa, 7, torch.Generator().manual_seed(0),
                     envelope=torch.tensor(math.nan))
