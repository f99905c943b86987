"""Tests that kill the mutants of samplers/power_spherical.py that the rest of the suite let
through (scripts/mutation.sh samplers/power_spherical.py; docs/mutation.md lists the equivalent
ones)."""

import mpmath
import pytest
import torch

from samplers.power_spherical import _digamma_difference, _lgamma_ratio

F64 = torch.float64
# a just above and far above the switch to the asymptotic series (20), and below it
A = [3.0, 19.5, 20.0, 20.25, 37.0, 1e3, 1e8, 1e200]


@pytest.mark.parametrize("b", [0.5, 1.0, 2.0, 7.5])
def test_lgamma_ratio_and_digamma_difference_against_mpmath(b):
    """lgamma(a) - lgamma(a + b) and digamma(a + b) - digamma(a) (b = (d - 1)/2) against
    260-digit mpmath, to 2e-14 relative (measured: 6e-15 at worst, at a = 20): the Stirling
    series terms that a doubled coefficient or a wrong switch moves are 1e-11 or more of
    the result at a = 20."""
    a = torch.tensor(A, dtype=F64)
    mpmath.mp.dps = 260  # lgamma(1e200) ~ 4.6e202: its difference needs 200 digits more
    exact = [mpmath.mpf(x) for x in A]
    lg = [float(mpmath.loggamma(x) - mpmath.loggamma(x + b)) for x in exact]
    dg = [float(mpmath.digamma(x + b) - mpmath.digamma(x)) for x in exact]
    torch.testing.assert_close(_lgamma_ratio(a, b), torch.tensor(lg, dtype=F64),
                               rtol=2e-14, atol=0)
    torch.testing.assert_close(_digamma_difference(a, b), torch.tensor(dg, dtype=F64),
                               rtol=2e-14, atol=0)
