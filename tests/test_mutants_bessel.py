"""Tests that kill the mutants of samplers/bessel.py that the rest of the suite let through
(scripts/mutation.sh samplers/bessel.py; docs/mutation.md lists the equivalent ones)."""

import pytest
import torch

from samplers.bessel import (
    NU_DEBYE,
    _debye_log_ive,
    iv_ratio,
    iv_ratio_complement,
    log_iv,
    log_ive,
)

F32, F64 = torch.float32, torch.float64
FUNCTIONS = (log_iv, log_ive, iv_ratio, iv_ratio_complement)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize(("nu", "x", "dtype"), [
    (1.5, torch.tensor([0.5, 40.0], dtype=F32), F32),                   # x's dtype
    (torch.tensor([1.5, 60.0], dtype=F32), 3.0, F32),                   # nu's when x is a number
    (torch.tensor([1.5, 60.0], dtype=F64), torch.tensor([0.5, 40.0], dtype=F32), F32),  # x first
    (torch.tensor([1.5, 60.0], dtype=F32), torch.tensor([2, 40]), F64),  # integer x: float64
    (1.5, 40.0, F64),                                                   # numbers: float64
])
def test_result_dtype_follows_the_documented_rule(fn, nu, x, dtype):
    """In the floating dtype of ``x`` (or of ``nu`` when ``x`` is a number), float64 for Python
    numbers and integer tensors; the value is the float64 one rounded."""
    got = fn(nu, x)
    assert got.dtype == dtype
    exact = fn(torch.as_tensor(nu, dtype=F64), torch.as_tensor(x, dtype=F64))
    torch.testing.assert_close(got, exact.to(dtype), rtol=0, atol=0)


def test_log_iv_adds_the_argument_in_float64():
    """``log I_nu(x) = log_ive + x`` with ``x`` a Python float kept in float64 (rounded to
    float32 first, 123456.789 would move the result by 3e-3)."""
    x = 123456.789
    assert log_iv(2.5, x).item() == pytest.approx(log_ive(2.5, x).item() + x, rel=1e-15)


def test_iv_ratio_and_its_complement_at_zero():
    """I_{nu+1}(0) / I_nu(0) = 0 for every nu >= 0, so its complement is exactly 1."""
    nu = torch.tensor([0.0, 0.5, 3.0, 100.0], dtype=F64)
    assert torch.equal(iv_ratio(nu, 0.0), torch.zeros(4, dtype=F64))
    assert torch.equal(iv_ratio_complement(nu, 0.0), torch.ones(4, dtype=F64))


def test_from_nu_debye_on_the_expansion_is_used_as_it_is():
    """For ``nu >= NU_DEBYE`` no recurrence step is taken: the value is the Debye expansion's
    own, bit for bit (a recurrence step from ``nu + 1`` would round it differently)."""
    nu = torch.tensor([NU_DEBYE, 47.5, 1e3], dtype=F64)
    x = torch.tensor([0.3, 80.0, 5e3], dtype=F64)
    assert torch.equal(log_ive(nu, x), _debye_log_ive(nu, x))
