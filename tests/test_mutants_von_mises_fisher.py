"""Tests that kill the mutants of samplers/von_mises_fisher.py that the rest of the suite let
through (scripts/mutation.sh samplers/von_mises_fisher.py; docs/mutation.md lists the
equivalent ones). Wood's loop itself: tests/test_wood_acceptance.py."""

import pytest
import torch

from samplers import VonMisesFisher
from samplers import von_mises_fisher as vmf

F32, F64 = torch.float32, torch.float64
KAPPAS = [0.0, 0.5, 3.0, 10.0, 300.0, 3.3e4, 1e6]


@pytest.mark.parametrize("d", [3, 5, 10, 100])
def test_float32_quantities_are_the_float64_ones_rounded_once(d):
    """log p(mu), log C_d and the entropy are formed in float64 whatever kappa's dtype and
    rounded once: for float32 kappa (exact in float64) they equal the float64 values cast to
    float32, bit for bit (a product or a sum formed in float32 first is an ulp off at some
    kappa), and ``log_density_at_mode`` returns the float64 value when asked."""
    k32 = torch.tensor(KAPPAS, dtype=F32)
    k64 = k32.double()
    assert torch.equal(vmf.log_density_at_mode(k32, d), vmf.log_density_at_mode(k64, d).float())
    assert torch.equal(vmf.log_density_at_mode(k32, d, F64), vmf.log_density_at_mode(k64, d))
    assert torch.equal(vmf.log_normalizer(k32, d), vmf.log_normalizer(k64, d).float())
    loc = torch.eye(d, dtype=F64)[0]
    for k in k32[1:]:
        low = VonMisesFisher(loc.float(), k).entropy()
        assert low.dtype == F32
        assert torch.equal(low, VonMisesFisher(loc, k.double()).entropy().float()), float(k)


def test_d3_inverse_cdf_draws_in_kappas_dtype():
    """At d = 3 the uniform r of the inverse CDF is drawn in kappa's dtype: float64 draws of
    1 - t are not confined to float32's grid (at kappa = 0, 1 - t = 2 r exactly)."""
    kappa = torch.zeros(1000, dtype=F64)
    one_minus_t, one_plus_t = vmf.sample_vmf_t(kappa, 3, torch.Generator().manual_seed(0))
    assert one_minus_t.dtype == F64
    assert not torch.equal(one_minus_t.float().double(), one_minus_t)
    torch.testing.assert_close(one_minus_t + one_plus_t, torch.full_like(kappa, 2.0))
