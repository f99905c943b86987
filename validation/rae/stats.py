"""Statistics of the RAE comparison: t confidence intervals and paired comparisons over seeds.

Every seed fixes the initialisation and the batch order of every method, so two methods'
results on the same seed form a pair. For a pair of methods (A, B) and a metric, with the
per-seed differences ``d_s = A_s - B_s`` (s = 1..n):

- mean difference ``dbar``, its standard error ``se = sd(d) / sqrt(n)`` (sd with ddof 1);
- 95% confidence interval ``dbar +- t_{0.975, n-1} se`` (Student's t);
- two-sided paired t-test of ``E[d] = 0``: ``T = dbar / se``, ``p = 2 P(t_{n-1} > |T|)``
  (``scipy.stats.ttest_rel``);
- Holm's step-down correction over a family of ``m`` comparisons
  (:func:`validation.stats.holm_adjusted`): with the
  raw p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted p-values are
  ``p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``; rejecting where ``p~ < alpha`` keeps
  the probability of any false "better" / "worse" in the family at most ``alpha``;
- verdict at level ``alpha``: ``better`` / ``worse`` when the (adjusted, once
  :func:`holm_verdicts` has run) p-value is below ``alpha`` and the difference points the
  metric's good / bad way, else ``no detectable difference``; with ``n <`` :data:`MIN_N` no
  test is made and the verdict says so.

References: Student, "The probable error of a mean", Biometrika 6 (1908); S. Holm, "A simple
sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.stats

from validation.stats import holm_adjusted

ALPHA = 0.05
LEVEL = 0.95
# fewer seeds than this: no test (with n = 2 the t law has one degree of freedom and its 97.5%
# quantile is 12.7: an interval that says nothing)
MIN_N = 3
BETTER, WORSE, SAME = "better", "worse", "no detectable difference"
TOO_FEW = f"too few seeds for a test (n < {MIN_N})"


@dataclass
class Interval:
    """Mean of ``n`` values and its two-sided t confidence interval ``[low, high]`` (NaN bounds
    for n < 2)."""

    mean: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Paired:
    """Paired comparison A - B over ``n`` seeds: the mean difference with its confidence
    interval, the paired t-test's raw p-value (NaN when no test is made), the Holm-adjusted
    p-value over its family (NaN until :func:`holm_verdicts` sets it) and the verdict (on the
    adjusted p-value once set, else on the raw one)."""

    difference: Interval
    p_value: float
    verdict: str
    p_adjusted: float = math.nan

    def as_dict(self) -> dict:
        return {"difference": self.difference.as_dict(), "p_value": self.p_value,
                "p_adjusted": self.p_adjusted, "verdict": self.verdict}


def _values(values: Sequence[float], name: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got {x.tolist()}")
    return x


def mean_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """Mean and two-sided Student-t confidence interval at ``level`` of ``values`` (n,)."""
    x = _values(values, "values")
    n = x.size
    if n < 2:
        return Interval(float(x.mean()), math.nan, math.nan, n)
    half = scipy.stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return Interval(float(x.mean()), float(x.mean() - half), float(x.mean() + half), n)


def paired_t_pvalue(differences: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test of zero mean difference (n >= 2).

    Equal to ``scipy.stats.ttest_rel(a, b).pvalue`` for ``differences = a - b``, except that
    differences all equal are decided exactly: p = 1 when they are all zero, p = 0 otherwise
    (an infinite t statistic), where SciPy returns NaN.
    """
    d = _values(differences, "differences")
    if d.size < 2:
        raise ValueError(f"a paired t-test needs at least 2 pairs, got {d.size}")
    sd = d.std(ddof=1)
    if sd == 0:
        return 1.0 if d[0] == 0 else 0.0
    t = d.mean() / (sd / math.sqrt(d.size))
    return float(2 * scipy.stats.t.sf(abs(t), d.size - 1))


def compare(a: Sequence[float], b: Sequence[float], *, lower_is_better: bool = True,
            alpha: float = ALPHA, level: float = LEVEL) -> Paired:
    """Paired comparison of ``a`` against ``b`` (values per seed, same seed order): the
    difference ``a - b``, its confidence interval at ``level``, the paired t-test and the
    verdict for ``a`` at ``alpha`` (see the module docstring)."""
    a, b = _values(a, "a"), _values(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must pair up seed by seed, got {a.size} and {b.size} values")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    d = a - b
    interval = mean_interval(d, level)
    if d.size < MIN_N:
        return Paired(interval, math.nan, TOO_FEW)
    p = paired_t_pvalue(d)
    return Paired(interval, p, _verdict(d.mean(), p, lower_is_better, alpha))


def _verdict(mean: float, p: float, lower_is_better: bool, alpha: float) -> str:
    if p >= alpha:
        return SAME
    return BETTER if (mean < 0) == lower_is_better else WORSE


def holm_verdicts(family: Sequence[Paired], lower_is_better: Sequence[bool],
                  alpha: float = ALPHA) -> list[Paired]:
    """The comparisons of ``family`` with their Holm-adjusted p-values and verdicts decided on
    them (``lower_is_better[i]`` orients comparison i); untested ones are returned as they are."""
    adjusted = holm_adjusted([c.p_value for c in family])
    out = []
    for c, p, lower in zip(family, adjusted, lower_is_better, strict=True):
        if math.isnan(p):
            out.append(c)
        else:
            out.append(Paired(c.difference, c.p_value,
                              _verdict(c.difference.mean, float(p), lower, alpha), float(p)))
    return out
