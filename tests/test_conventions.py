"""The convention adapters against literal implementations of each published convention, and
against values the original RAE code returned (tests/data/rae_code_values.json): the "rae"
adapter as it is, and SFG itself direction by direction (see
:func:`check_sfg_against_rae_code`)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from discrepancies import sfg, sw
from discrepancies.conventions import CONVENTIONS, sfg_in_convention, sw_in_convention

RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((15, 4)), RNG.standard_normal((15, 4)) * 1.3 + 0.5
GAUSS = RNG.standard_normal((4, 6))
UNIT = GAUSS / np.linalg.norm(GAUSS, axis=0)


def literal_swae(X, Y, theta, p):
    """SWAE-style code: project, sort, mean of |diff|^p over samples and directions."""
    Xt, Yt, Tt = (torch.from_numpy(a) for a in (X, Y, theta))
    u = torch.sort(Xt @ Tt, dim=0).values
    v = torch.sort(Yt @ Tt, dim=0).values
    return torch.mean(torch.abs(u - v) ** p).item()


@pytest.mark.parametrize("p", [1, 2, 3])
def test_sw_conventions_match_literal_code(p):
    assert sw_in_convention(X, Y, UNIT, p, convention="design") == pytest.approx(
        sw(X, Y, projections=UNIT, p=p), rel=1e-13)
    assert sw_in_convention(X, Y, UNIT, p, convention="swae") == pytest.approx(
        literal_swae(X, Y, UNIT, p), rel=1e-12)


RAE_CODE_VALUES = json.loads(
    (Path(__file__).parent / "data" / "rae_code_values.json").read_text())["cases"]


def literal_fg(X, Y, theta, beta, p):
    """FG_beta on the unit directions ``theta`` (d, L) as DESIGN writes it, by plain loops over
    slices, couplings and pairs: no sort kernel, no moment expansion, no code of the package."""
    n, total = X.shape[0], 0.0
    for col in theta.T:
        u, v = sorted(X @ col), sorted(Y @ col)
        costs = []
        for w in (v, v[::-1]):  # sigma: identity, anti-identity
            transport = sum(abs(u[i] - w[i]) ** p for i in range(n)) / n
            structure = sum(((u[i] - u[j]) ** 2 - (w[i] - w[j]) ** 2) ** 2
                            for i in range(n) for j in range(n)) / n**2
            costs.append((1 - beta) * transport + beta * structure)
        total += min(costs)
    return total / theta.shape[1]


def check_sfg_against_rae_code(sfg_fn, case):
    """``sfg_fn`` (sfg's signature) against the original RAE code's own value on ``case``.

    Per raw direction g = |g| theta, that code's term is min_sigma [(1-beta) n |g|^2 T_sigma +
    beta |g|^4 S_sigma] with T, S this suite's per-sample and per-pair means on theta: it is
    c FG_beta'(theta) with c = (1-beta) n |g|^2 + beta |g|^4 and beta' = beta |g|^4 / c, so
    the sum over directions of c sfg(theta, beta') is the code's value, to rounding."""
    Xc, Yc = np.array(case["X"]), np.array(case["Y"])
    G = np.array(case["directions_d_by_L"])
    total = 0.0
    for g in G.T:
        norm = np.linalg.norm(g)
        c = (1 - case["beta"]) * case["n"] * norm**2 + case["beta"] * norm**4
        total += c * float(sfg_fn(Xc, Yc, projections=(g / norm)[:, None],
                                  beta=case["beta"] * norm**4 / c, p=2))
    assert total == pytest.approx(case["sliced_fgw_distance"], rel=1e-10)


@pytest.mark.parametrize(("beta", "p"), [(0.0, 2), (0.1, 2), (0.6, 1), (1.0, 3)])
def test_sfg_conventions_match_a_literal_loop(beta, p):
    # the loop is independent of the code; an FG off by 1e-6 relative fails both
    expected = literal_fg(X, Y, UNIT, beta, p)
    for convention in ("design", "swae"):
        assert sfg_in_convention(X, Y, UNIT, beta, p, convention=convention) == pytest.approx(
            expected, rel=1e-12)
    assert sfg(X, Y, projections=UNIT, beta=beta, p=p) == pytest.approx(expected, rel=1e-12)


def test_literal_loop_against_the_rae_code():
    # the loop itself against values the original code returned (p = 2; the small cases, the
    # loop being quadratic in n)
    for case in (c for c in RAE_CODE_VALUES if c["n"] <= 20):
        check_sfg_against_rae_code(
            lambda A, B, projections, beta, p: literal_fg(A, B, projections, beta, p), case)


@pytest.mark.parametrize("case", RAE_CODE_VALUES,
                         ids=lambda c: f"n{c['n']}-L{c['L']}-beta{c['beta']}")
def test_sfg_reproduces_the_rae_code_direction_by_direction(case):
    check_sfg_against_rae_code(sfg, case)


def test_sfg_ten_percent_wrong_fails_the_rae_code_comparison():
    # mutation: FG 10% too large (the kind of error the earlier self-comparison let through)
    with pytest.raises(AssertionError):
        check_sfg_against_rae_code(lambda *args, **kw: 1.1 * sfg(*args, **kw),
                                   RAE_CODE_VALUES[0])
    with pytest.raises(AssertionError):
        expected = literal_fg(X, Y, UNIT, 0.1, 2)
        assert 1.1 * sfg(X, Y, projections=UNIT, beta=0.1, p=2) == pytest.approx(expected,
                                                                                  rel=1e-12)


@pytest.mark.parametrize("case", RAE_CODE_VALUES,
                         ids=lambda c: f"n{c['n']}-d{c['d']}-L{c['L']}-beta{c['beta']}")
def test_rae_convention_reproduces_the_original_code(case):
    # Methods/drae.py's own outputs (float64) on these inputs and directions: a sum over
    # directions and samples, a mean over pairs; a factor L or n off fails by far more.
    Xc, Yc = np.array(case["X"]), np.array(case["Y"])
    G = np.array(case["directions_d_by_L"])
    assert G.shape == (case["d"], case["L"])
    assert sw_in_convention(Xc, Yc, G, case["p"], convention="rae") == pytest.approx(
        case["sliced_wasserstein_distance"], rel=1e-10)
    assert sfg_in_convention(Xc, Yc, G, case["beta"], case["p"], convention="rae") == (
        pytest.approx(case["sliced_fgw_distance"], rel=1e-10))
    torch_value = sfg_in_convention(torch.from_numpy(Xc), torch.from_numpy(Yc),
                                    torch.from_numpy(G), case["beta"], convention="rae")
    assert torch_value.item() == pytest.approx(case["sliced_fgw_distance"], rel=1e-10)


def test_rae_convention_is_about_L_n_d_times_ours_in_expectation():
    # E ||g||^2 = d, and sums over L directions and n samples: E[rae SW_2] = L n d SW_2^2
    # exactly; with 4000 Gaussian directions the relative Monte Carlo error is
    # ~ sqrt(2/d)/sqrt(4000) ~ 1.1%.
    gauss = np.random.default_rng(1).standard_normal((4, 4000))
    ratio = sw_in_convention(X, Y, gauss, 2, convention="rae") / (
        4000 * 15 * 4 * sw(X, Y, n_projections=4000, seed=0) ** 2)
    assert ratio == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize("p", [1, 1.5, 3])
def test_rae_convention_is_defined_for_p_2_only(p):
    with pytest.raises(ValueError, match=rf"p must be 2 for convention 'rae'.*got p={p:g}$"):
        sw_in_convention(X, Y, GAUSS, p, convention="rae")
    with pytest.raises(ValueError, match=rf"p must be 2 for convention 'rae'.*got p={p:g}$"):
        sfg_in_convention(X, Y, GAUSS, 0.1, p, convention="rae")


def test_convention_errors():
    with pytest.raises(ValueError, match="convention must be one of"):
        sw_in_convention(X, Y, UNIT, convention="kolouri")
    with pytest.raises(ValueError, match="projections must have unit-norm columns"):
        sw_in_convention(X, Y, GAUSS, convention="design")
    with pytest.raises(ValueError, match=r"directions must have shape \(d, L\)"):
        sw_in_convention(X, Y, GAUSS[:3], convention="rae")
    with pytest.raises(ValueError, match="same number of points"):
        sw_in_convention(X, Y[:7], GAUSS, convention="rae")
    assert set(CONVENTIONS) == {"design", "swae", "rae", "ebsw"}
