"""Statistical helpers shared by the validation checks and the tests.

Every test returns a p-value; a family of tests (a grid) is decided together with Holm's
step-down correction (or Bonferroni's), which controls the family-wise error rate at ``alpha``
without assuming independence. References: S. Holm, "A simple sequentially rejective multiple
test procedure", Scand. J. Statist. 6 (1979); SciPy's ``kstest``, ``ks_2samp``, ``chisquare``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.stats


def ks_exact(sample, cdf: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
    """One-sample Kolmogorov-Smirnov test of ``sample`` against the continuous ``cdf``.

    Returns ``(D, p_value)`` (exact p-value for small samples, asymptotic otherwise).
    """
    res = scipy.stats.kstest(np.asarray(sample, dtype=np.float64), cdf)
    return float(res.statistic), float(res.pvalue)


def ks_two_sample(a, b) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test; returns ``(D, p_value)``."""
    res = scipy.stats.ks_2samp(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return float(res.statistic), float(res.pvalue)


def chi_square_counts(counts, probs) -> tuple[float, float]:
    """Pearson chi-square goodness of fit of observed ``counts`` to category ``probs``.

    ``probs`` must be positive and sum to 1; expected counts should be >= 5 for the asymptotic
    law to hold. Returns ``(statistic, p_value)``.
    """
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    if counts.shape != probs.shape:
        raise ValueError(f"counts {counts.shape} and probs {probs.shape} must have one shape")
    if (probs <= 0).any() or abs(probs.sum() - 1) > 1e-9:
        raise ValueError(f"probs must be positive and sum to 1, got {probs}")
    res = scipy.stats.chisquare(counts, counts.sum() * probs)
    return float(res.statistic), float(res.pvalue)


def z_test_mean(sample, mean: float, sd: float | None = None) -> tuple[float, float]:
    """Two-sided z-test of ``E[sample] = mean``; ``sd`` the known standard deviation, else
    the sample's (fine for the sample sizes used here, n >= 1000). Returns ``(z, p_value)``."""
    x = np.asarray(sample, dtype=np.float64)
    scale = (np.std(x, ddof=1) if sd is None else sd) / math.sqrt(x.size)
    if scale == 0:
        z = 0.0 if np.mean(x) == mean else math.inf
    else:
        z = float((np.mean(x) - mean) / scale)
    return z, float(2 * scipy.stats.norm.sf(abs(z)))


def holm_adjusted(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values of ``p_values`` (m,), in their order: with
    p_(1) <= ... <= p_(m), the k-th is max_{j <= k} min(1, (m - j + 1) p_(j)); a hypothesis is
    rejected at family-wise level alpha exactly where its adjusted p-value is <= alpha. NaN
    entries (no test made) are left out of the family and stay NaN.

    Reference: S. Holm. "A Simple Sequentially Rejective Multiple Test Procedure", Scandinavian
    Journal of Statistics 6, 1979."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, got shape {p.shape}")
    tested = np.flatnonzero(~np.isnan(p))
    if ((p[tested] < 0) | (p[tested] > 1)).any():
        raise ValueError(f"p_values must lie in [0, 1], got {p.tolist()}")
    out = np.full_like(p, np.nan)
    m = tested.size
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def holm(pvalues, alpha: float) -> np.ndarray:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level ``alpha``
    (their adjusted p-values, :func:`holm_adjusted`, are <= ``alpha``)."""
    return holm_adjusted(pvalues) <= alpha


def bonferroni(pvalues, alpha: float) -> np.ndarray:
    """Bonferroni's correction: reject where ``p <= alpha / m``."""
    p = np.asarray(pvalues, dtype=np.float64)
    return p <= alpha / max(p.size, 1)
