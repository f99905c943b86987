"""Tests that kill the mutants of samplers/mixture.py that the rest of the suite let through
(scripts/mutation.sh samplers/mixture.py; docs/mutation.md lists the equivalent ones)."""

import re

import numpy as np
import pytest
import torch

from samplers import MixtureVonMisesFisher, VonMisesFisher

F32, F64 = torch.float32, torch.float64


def test_log_prob_is_the_weighted_logsumexp_of_its_components_in_the_promoted_dtype():
    """The mixture's density is sum_i w_i p_i(x): its log equals logsumexp_i(log w_i +
    log p_i(x)) with each p_i the single-component vMF, term by term in the promoted dtype
    (float32 parameters, float64 points: float64). Adding log w_i and log C_d(kappa_i) in
    float32 before the promotion, or taking log w_i in float32, moves the result by about
    1e-7."""
    k, d = 3, 5
    rng = np.random.default_rng(7)
    locs = rng.standard_normal((k, d))
    locs = torch.tensor(locs / np.linalg.norm(locs, axis=1, keepdims=True), dtype=F32)
    kappa = torch.tensor([0.7, 3.0, 25.0], dtype=F32)
    weights = torch.tensor([0.2, 0.3, 0.5], dtype=F32)
    x = rng.standard_normal((6, d))
    x = torch.tensor(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=F64)
    got = MixtureVonMisesFisher(locs, kappa, weights).log_prob(x)
    assert got.dtype == F64
    components = torch.stack([torch.log(weights[i].double())
                              + VonMisesFisher(locs[i], kappa[i]).log_prob(x)
                              for i in range(k)])
    torch.testing.assert_close(got, torch.logsumexp(components, 0), rtol=0, atol=1e-13)


def test_locs_errors_name_locs():
    for bad in ("abc", [[1 + 1j, 0]], torch.tensor([[1, 0]], dtype=torch.complex64)):
        with pytest.raises(TypeError, match=r"^locs must"):
            MixtureVonMisesFisher(bad, 1.0)


def test_validate_args_false_skips_the_checks_and_true_makes_them():
    """As in torch.distributions: validate_args=False accepts locations that are not unit
    (the caller vouches for them), True refuses them."""
    locs = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    dist = MixtureVonMisesFisher(locs, 1.0, validate_args=False)
    assert torch.equal(dist.locs, locs)
    with pytest.raises(ValueError, match="locs"):
        MixtureVonMisesFisher(locs, 1.0, validate_args=True)


E2 = torch.eye(3)[:2]


@pytest.mark.parametrize(("args", "message"), [
    ((torch.zeros(0, 3), 1.0),
     "locs.shape[0] must be >= 1 (one row per component), got locs.shape[0]=0"),
    ((torch.ones(3), 1.0), "locs must have shape (k, d), got shape (3,)"),
    ((torch.ones(2, 1), 1.0),
     "locs.shape[1] must be >= 2 (the sphere S^(d-1) in R^d), got locs.shape[1]=1"),
    ((E2, torch.ones(3)), "concentrations must be a scalar or have shape (2,), got (3,)"),
    ((E2, 1.0, torch.ones(3) / 3), "weights must have shape (2,), got (3,)"),
    ((E2, -1.0), "concentrations must be finite and >= 0, got concentrations=-1.0"),
    ((torch.tensor([[2.0, 0, 0], [0, 1.0, 0]]), 1.0),
     "locs must have unit norm along its last axis (tolerance 3.5e-04 of torch.float32), got "
     "max | ||locs|| - 1 | = 1.000e+00"),
    ((E2, 1.0, torch.tensor([0.7, 0.7])),
     "weights must sum to 1, got a sum of 1.399999976158142 (tolerance 1.2e-04 in "
     "torch.float32)"),
    ((E2, 1.0, torch.tensor([1.5, -0.5])), "weights must be non-negative, got a minimum of -0.5"),
    ((E2, 1e300), "concentrations=1e+300 is beyond the range of torch.float32 (largest finite "
     "value 3.403e+38), the dtype it is held in (that of loc, at least float32); give loc in "
     "float64, or a smaller concentrations"),
    ((E2, 1.0, torch.tensor([0.5, 0.5], dtype=torch.float64) * 1e300),
     "weights=5e+299 is beyond the range of torch.float32 (largest finite value 3.403e+38), the "
     "dtype it is held in (that of loc, at least float32); give loc in float64, or a smaller "
     "weights"),
])
def test_bad_parameters_are_refused_with_the_message_that_names_them(args, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        MixtureVonMisesFisher(*args)


@pytest.mark.parametrize("name", ["concentrations", "weights"])
def test_non_numeric_parameters_are_refused_naming_them(name):
    args = (E2, "x") if name == "concentrations" else (E2, 1.0, "x")
    message = f"{name} must be a torch tensor or a NumPy array (or a number), got 'x'"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        MixtureVonMisesFisher(*args)


def test_parameters_are_held_as_given_in_the_dtype_of_locs():
    """float64 locations keep float64 concentrations and weights (not the float32 default), and
    weights=None is uniform."""
    locs = torch.eye(3, dtype=F64)[:2]
    dist = MixtureVonMisesFisher(locs, torch.tensor([1.0, 2.0]), torch.tensor([0.25, 0.75]))
    assert dist.concentrations.dtype == F64 and dist.weights.dtype == F64
    assert dist.concentrations.tolist() == [1.0, 2.0] and dist.weights.tolist() == [0.25, 0.75]
    assert dist.n_components == 2 and dist.dim == 3
    uniform = MixtureVonMisesFisher(locs, 3.0)
    assert uniform.weights.tolist() == [0.5, 0.5] and uniform.concentrations.tolist() == [3, 3]


def test_float16_locs_hold_float32_weights_and_concentrations():
    """'Held in the dtype of locs promoted to at least float32' (the docstring)."""
    locs = torch.eye(3, dtype=torch.float16)[:2]
    dist = MixtureVonMisesFisher(locs, torch.tensor([1.0, 2.0], dtype=torch.float16),
                                 torch.tensor([0.25, 0.75], dtype=torch.float16))
    assert dist.weights.dtype == F32 and dist.concentrations.dtype == F32


def test_shapes_and_validate_args_reach_the_distribution():
    """batch shape (), event shape (d,); validate_args=False also skips the check of the points
    given to log_prob (torch.distributions' convention), True makes it."""
    locs = torch.eye(3, dtype=F64)[:2]
    dist = MixtureVonMisesFisher(locs, 1.0, validate_args=False)
    assert dist.batch_shape == () and dist.event_shape == (3,)
    off_sphere = torch.tensor([2.0, 0.0, 0.0], dtype=F64)
    assert torch.isfinite(dist.log_prob(off_sphere))
    with pytest.raises(ValueError):
        MixtureVonMisesFisher(locs, 1.0, validate_args=True).log_prob(off_sphere)


def test_default_weights_are_one_over_k_in_the_parameters_dtype():
    """Uniform weights by default, 1/k in the locations' dtype (float64: not 1/3 rounded to
    float32 first)."""
    locs = torch.eye(3, dtype=F64)
    assert torch.equal(MixtureVonMisesFisher(locs, 2.0).weights,
                       torch.full((3,), 1 / 3, dtype=F64))
