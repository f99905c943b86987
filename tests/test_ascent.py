"""The projected gradient ascent on spheres."""

import math

import pytest
import torch

from discrepancies._ascent import normalize_rows, sphere_ascent


def test_finds_the_maximiser_of_a_linear_function():
    a = torch.tensor([3.0, -1.0, 2.0, 0.5], dtype=torch.float64)
    start = torch.tensor([-1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    result = sphere_ascent(lambda x: x @ a, start, 60, 0.5)
    assert torch.allclose(result.point, a / a.norm(), atol=1e-6)
    assert result.value.item() == pytest.approx(a.norm().item(), rel=1e-10)
    assert len(result.history) == 61


def test_product_of_spheres_rows_stay_unit():
    A = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    start = normalize_rows(torch.ones(3, 5, dtype=torch.float64))
    result = sphere_ascent(lambda x: (x * A).sum(), start, 80, 0.3)
    assert torch.allclose(result.point.norm(dim=1), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(result.point, normalize_rows(A), atol=1e-5)


def test_never_below_start_even_with_a_huge_constant_step():
    a = torch.tensor([1.0, 0.0], dtype=torch.float64)
    start = torch.tensor([0.99, math.sqrt(1 - 0.99**2)], dtype=torch.float64)
    result = sphere_ascent(lambda x: x @ a, start, 10, 100.0, backtrack=False)
    assert result.value >= result.start_value
    assert max(result.history) == result.value.item()


def test_zero_gradient_and_zero_steps():
    start = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    flat = sphere_ascent(lambda x: (x * 0).sum(), start, 5, 0.5)
    assert torch.equal(flat.point, start) and torch.isfinite(flat.value)
    none = sphere_ascent(lambda x: x[0], start, 0, 0.5)
    assert torch.equal(none.point, start) and none.history == [0.0]


def test_objective_must_be_scalar():
    with pytest.raises(ValueError, match="0-d tensor"):
        sphere_ascent(lambda x: x, torch.tensor([1.0, 0.0]), 1, 0.1)
