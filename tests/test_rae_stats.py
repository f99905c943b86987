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
    holm_verdicts,
    mean_interval,
    paired_t_pvalue,
)
from validation.stats import holm_adjusted as holm


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


def test_holm_matches_a_hand_computation():
    """p = (0.01, 0.04, 0.03, 0.005), m = 4: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1
    = 0.02, 0.03, 0.06, 0.04, then the running maximum 0.02, 0.03, 0.06, 0.06. A NaN (no
    test) is not part of the family."""
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02],
                               rtol=1e-12)
    np.testing.assert_allclose(holm([0.01, np.nan, 0.04]), [0.02, np.nan, 0.04], rtol=1e-12)
    np.testing.assert_allclose(holm([0.6, 0.9]), [1.0, 1.0])
    with pytest.raises(ValueError, match="p_values must lie in"):
        holm([0.5, 1.5])


def _family():
    """Four comparisons with raw p-values about 0.024 (worse), 0.045 (better), 0.49 and 2e-6
    (worse): the first two are significant alone, not after Holm's correction (0.072, 0.09)."""
    base = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    shifts = [np.array([0.5, 0.1, 0.9, 0.3, 0.7]), np.array([-0.1, -0.9, -0.2, -0.6, -0.3]),
              np.array([0.3, -0.2, 0.5, 0.0, -0.1]), np.array([1.0, 1.1, 0.95, 1.05, 1.0])]
    return [compare(base + s, base) for s in shifts]


def check_corrected(verdicts) -> None:
    """The verdicts of :func:`_family` at alpha = 0.05 after Holm: only the 4th survives."""
    family = _family()
    raw = [c.p_value for c in family]
    assert raw[0] < 0.05 and raw[1] < 0.05 and raw[3] < 0.05 / 4  # significant uncorrected
    got = verdicts(family, [True] * 4)
    assert [c.verdict for c in got] == [SAME, SAME, SAME, WORSE]
    np.testing.assert_allclose([c.p_adjusted for c in got], holm(raw), rtol=1e-12)
    assert [c.p_value for c in got] == raw  # the raw p-values are kept beside


def test_verdicts_use_holm_adjusted_p_values():
    check_corrected(holm_verdicts)


def test_the_correction_check_fails_on_uncorrected_verdicts():
    """Mutation: verdicts left at their raw p-values must fail the check."""
    with pytest.raises(AssertionError):
        check_corrected(lambda family, lower: family)
