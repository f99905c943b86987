"""Statistical laws of the samplers: a fast subset of the `sliced-bench validate` checks.

Every statistical test runs at family-wise level ALPHA (Holm over its grid) with fixed seeds,
and each is paired with a mutation on which the same test must fail. The full grids run in
`sliced-bench validate` (group "samplers").
"""

import numpy as np
import pytest
import torch

from validation.sampler_checks import (
    GRADIENT_CASES,
    GRADIENT_TOL,
    anisotropic_tangent,
    draw_t,
    gradient_cells,
    mixture_cells,
    mutated_draw,
    power_spherical_two_sample,
    scipy_vmf_two_sample,
    t_law_grid,
    tangent_cells,
    verdict,
)

FAMILIES = ("vmf", "power_spherical")
DIMS = (2, 3, 10, 500)
KAPPAS = (0.0, 1.0, 100.0, 1e4)
N = 2500


def _real(family, d, kappa, n, g):
    return draw_t(family, d, kappa, n, g)


@pytest.fixture(scope="module")
def grid():
    return t_law_grid(_real, FAMILIES, DIMS, KAPPAS, N, seed=11)


@pytest.mark.parametrize("key", ["p_ks", "p_mean"])
def test_t_law_subset_passes(grid, key):
    ok, rejected = verdict(grid, key)
    assert ok, rejected


@pytest.mark.parametrize(
    ("mutation", "families"),
    [("kappa+10%", FAMILIES), ("d+1", FAMILIES), ("biased-envelope", ("vmf",))],
)
def test_t_law_subset_fails_on_mutation(mutation, families):
    cells = t_law_grid(mutated_draw(mutation), families, DIMS, KAPPAS, N, seed=12)
    ok, rejected = verdict(cells, "p_ks")
    assert not ok and len(rejected) >= 2


def test_t_law_float32_subset():
    cells = t_law_grid(lambda f, d, k, n, g: draw_t(f, d, k, n, g, torch.float32),
                       FAMILIES, (3, 100), (1.0, 100.0), N, seed=13)
    assert verdict(cells, "p_ks")[0]


def test_two_sample_against_scipy_and_package_and_their_mutations():
    sp = scipy_vmf_two_sample((3, 10), (0.0, 10.0, 1e3), 1500, seed=14)
    ps = power_spherical_two_sample((3, 100), (0.0, 10.0, 1e3), 1500, seed=15)
    assert verdict(sp, "p")[0] and verdict(ps, "p")[0]
    assert not verdict(scipy_vmf_two_sample((3, 10), (10.0, 1e3), 1500, 14, 1.1), "p")[0]
    assert not verdict(power_spherical_two_sample((3, 100), (10.0, 1e3), 1500, 15, 1.1), "p")[0]


def test_tangent_part_uniform_and_independent_including_near_e1():
    cells = tangent_cells((2, 3, 50), 10.0, 2000, seed=16)
    assert verdict(cells, "p")[0]
    assert max(c["norm"] for c in cells) < 1e-12
    mutated = tangent_cells((3, 5), 10.0, 2000, seed=16, sample=anisotropic_tangent)
    assert not verdict(mutated, "p")[0]


def test_mixture_frequencies_and_component_laws():
    assert verdict(mixture_cells(4000, seed=17), "p")[0]
    permuted = mixture_cells(4000, seed=17, weights=(0.5, 0.3, 0.2))
    assert not verdict(permuted, "p")[0]
    hotter = mixture_cells(4000, seed=17, kappas=(55.0, 110.0, 220.0))
    assert not verdict(hotter, "p")[0]


def test_rsample_gradient_matches_finite_differences():
    cells = gradient_cells(GRADIENT_CASES, 500, seed=18)
    assert all(c["finite"] for c in cells)
    assert max(c["rel"] for c in cells) < GRADIENT_TOL, cells
    wrong = gradient_cells(GRADIENT_CASES[:3], 500, seed=18, wrong=True)
    assert min(c["rel"] for c in wrong) > GRADIENT_TOL


def test_draws_are_reproducible_with_generator():
    a = draw_t("vmf", 10, 5.0, 200, torch.Generator().manual_seed(3))
    b = draw_t("vmf", 10, 5.0, 200, torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(a, b)


def test_uniform_sphere_law_and_its_mutation():
    cells = t_law_grid(draw_t, ("uniform",), (2, 3, 10, 1000), (0.0,), N, seed=19)
    assert verdict(cells, "p_ks")[0] and verdict(cells, "p_mean")[0]
    mutated = t_law_grid(mutated_draw("d+1"), ("uniform",), (2, 3, 10), (0.0,), N, seed=19)
    assert not verdict(mutated, "p_ks")[0]


@pytest.mark.slow
def test_sampler_property_fuzz_check_passes():
    from validation import sampler_checks
    from validation.checks import Context

    result = sampler_checks.property_fuzz(Context(seed=0, quick=True))
    assert result.passed, result.detail
