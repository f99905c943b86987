"""Tests that kill the mutants of samplers/power_spherical.py that the rest of the suite let
through (scripts/mutation.sh samplers/power_spherical.py; docs/mutation.md lists the equivalent
ones)."""

import mpmath
import pytest
import torch

from samplers import PowerSpherical
from samplers.power_spherical import _digamma_difference, _lgamma_ratio, log_density_at_mode

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


@pytest.mark.parametrize("d", [3, 10, 100])
def test_log_normalizer_against_the_power_spherical_package(d):
    """``-log N_d(kappa)`` against the reference implementation of De Cao and Aziz (2020),
    the ``power_spherical`` package, to 1e-13 relative in float64, and in kappa's dtype."""
    import power_spherical as reference

    kappa = torch.tensor([0.5, 3.0, 10.0, 300.0, 1e5], dtype=F64)
    loc = torch.eye(d, dtype=F64)[0]
    for k in kappa:
        ours = PowerSpherical(loc, k).log_normalizer()
        theirs = reference.PowerSpherical(loc, k).log_normalizer()
        torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=0)
    # in float32: formed in float64 and rounded once (kappa log 2 rounded to float32 first is
    # one ulp off at kappa = 3.3e4)
    for k in [0.5, 300.0, 3.3e4, 1e5]:
        k32 = torch.tensor(k, dtype=torch.float32)
        ours32 = PowerSpherical(loc.float(), k32).log_normalizer()
        assert ours32.dtype == torch.float32
        assert torch.equal(ours32, PowerSpherical(loc, k32.double()).log_normalizer().float())


@pytest.mark.parametrize(("d", "kappa"), [(3, 10.0), (10, 10.0), (10, 3.0)])
def test_float32_entropy_is_the_float64_entropy_rounded(d, kappa):
    """The entropy is evaluated in float64 whatever kappa's dtype: in float32 it is the float64
    value to 2 float32 ulps (the digamma difference formed in float32 is 1e-6 off there)."""
    loc = torch.eye(d, dtype=F64)[0]
    exact = PowerSpherical(loc, torch.tensor(kappa, dtype=F64)).entropy()
    low = PowerSpherical(loc.float(), torch.tensor(kappa, dtype=torch.float32)).entropy()
    assert low.dtype == torch.float32
    torch.testing.assert_close(low.double(), exact, rtol=2.4e-7, atol=0)


def test_log_density_at_mode_in_kappas_dtype_or_the_one_asked_for():
    kappa = torch.tensor([0.5, 30.0], dtype=torch.float32)
    exact = log_density_at_mode(kappa.double(), 5)
    assert log_density_at_mode(kappa, 5).dtype == torch.float32
    assert torch.equal(log_density_at_mode(kappa, 5, F64), exact)
