"""The RAE comparison's statistics against SciPy, and the verdicts on known paired inputs."""

import math

import numpy as np
import pytest
import scipy.stats

from validation.rae.stats import (
    BETTER,
    SAME,
    TOO_FEW,
    WORSE,
    compare,
    mean_interval,
    paired_t_pvalue,
)


@pytest.mark.parametrize("n", [3, 5, 12])
def test_paired_comparison_matches_scipy(n):
    rng = np.random.default_rng(n)
    b = rng.normal(10, 2, size=n)
    a = b + rng.normal(0.4, 1.0, size=n)
    ref = scipy.stats.ttest_rel(a, b)
    ci = ref.confidence_interval(0.95)
    result = compare(a, b)
    np.testing.assert_allclose(result.p_value, ref.pvalue, rtol=1e-12)
    np.testing.assert_allclose(result.difference.mean, np.mean(a - b), rtol=1e-12)
    np.testing.assert_allclose([result.difference.low, result.difference.high],
                               [ci.low, ci.high], rtol=1e-12)
    assert result.difference.n == n


def test_mean_interval_matches_t_interval():
    x = np.array([3.1, 2.7, 3.9, 3.3, 2.2, 3.0])
    low, high = scipy.stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=scipy.stats.sem(x))
    got = mean_interval(x)
    np.testing.assert_allclose([got.mean, got.low, got.high], [x.mean(), low, high], rtol=1e-12)
    # the half-width by hand: t_{0.975, 5} s / sqrt(6)
    half = scipy.stats.t.ppf(0.975, 5) * x.std(ddof=1) / math.sqrt(6)
    np.testing.assert_allclose(got.high - got.mean, half, rtol=1e-12)
    one = mean_interval([4.0])
    assert one.mean == 4.0 and math.isnan(one.low) and math.isnan(one.high)


def test_verdicts_follow_the_sign_and_the_orientation():
    rng = np.random.default_rng(0)
    base = rng.normal(50, 5, size=6)
    noise = rng.normal(0, 0.2, size=6)
    # consistently higher: worse when lower is better, better when higher is better
    assert compare(base + 2 + noise, base).verdict == WORSE
    assert compare(base - 2 + noise, base).verdict == BETTER
    assert compare(base + 2 + noise, base, lower_is_better=False).verdict == BETTER
    # pure noise around the baseline (p = 0.91 for this seed): no detectable difference
    result = compare(base + noise, base)
    assert result.verdict == SAME and result.p_value > 0.05


def test_too_few_seeds_make_no_test():
    result = compare([1.0, 2.0], [3.0, 4.5])
    assert result.verdict == TOO_FEW and math.isnan(result.p_value)
    assert result.difference.mean == -2.25


def test_constant_differences_are_decided_exactly():
    assert paired_t_pvalue([0.5, 0.5, 0.5]) == 0.0
    assert paired_t_pvalue([0.0, 0.0, 0.0]) == 1.0
    assert compare([2.0, 3.0, 4.0], [1.5, 2.5, 3.5]).verdict == WORSE
    assert compare([2.0, 3.0, 4.0], [2.0, 3.0, 4.0]).verdict == SAME


@pytest.mark.parametrize(("a", "b", "message"), [
    ([1.0, 2.0, 3.0], [1.0, 2.0], "pair up seed by seed, got 3 and 2"),
    ([1.0, math.nan, 3.0], [1.0, 2.0, 3.0], "a must be finite"),
    ([], [], "a must be a non-empty"),
])
def test_bad_input(a, b, message):
    with pytest.raises(ValueError, match=message):
        compare(a, b)
