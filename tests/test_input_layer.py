"""The samplers and the discrepancies share one validation layer: a location or direction is of
unit norm under one rule, whichever side checks it.

The rule: ``| ||x|| - 1 | <= sqrt(eps)`` of the dtype ``x`` is used in, or of the dtype it
was given in when that one is coarser (about 1.5e-8 for float64, 3.5e-4 for float32). The
vectors below are ``(1 + e) e_1`` in their dtype, so the norm error is ``e`` up to one rounding
of the dtype.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from discrepancies import mssfg, pssfg, ssfg, sw
from discrepancies._inputs import make_generator
from samplers import MixtureVonMisesFisher, PowerSpherical, VonMisesFisher, uniform_sphere
from samplers.marginals import t_law
from samplers.von_mises_fisher import wood_acceptance_rate

D = 3


def _clouds(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(6, D, generator=g, dtype=torch.float64).to(dtype),
            torch.randn(6, D, generator=g, dtype=torch.float64).to(dtype))


def _checkers(dtype: torch.dtype) -> dict:
    """Every public entry point that takes a point of the sphere, as a function of it."""
    X, Y = _clouds(dtype)
    small = {"n_projections": 4, "n_iter": 0, "seed": 0}
    return {
        "VonMisesFisher": lambda x: VonMisesFisher(x, 1.0),
        "PowerSpherical": lambda x: PowerSpherical(x, 1.0),
        "MixtureVonMisesFisher": lambda x: MixtureVonMisesFisher(x.unsqueeze(0), 1.0),
        "ssfg": lambda x: ssfg(X, Y, loc=x, **small),
        "pssfg": lambda x: pssfg(X, Y, loc=x, **small),
        "mssfg": lambda x: mssfg(X, Y, loc=x.unsqueeze(0), n_components=1, **small),
        "sw projections": lambda x: sw(X, Y, projections=x.unsqueeze(1)),
    }


def _accepts(check, x: torch.Tensor) -> bool:
    try:
        check(x)
    except ValueError as err:
        assert "unit norm" in str(err) or "unit-norm" in str(err), err
        return False
    return True


def _off_by(error: float, dtype: torch.dtype) -> torch.Tensor:
    x = torch.zeros(D, dtype=torch.float64)
    x[0] = 1 + error
    return x.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_every_entry_point_applies_the_stated_unit_norm_rule(dtype, factor):
    """Half the tolerance is accepted everywhere, twice it refused everywhere. Mutations
    caught: any entry point with a tolerance ten times looser or tighter than sqrt(eps)."""
    tol = math.sqrt(torch.finfo(dtype).eps)
    x = _off_by(factor * tol, dtype)
    verdicts = {name: _accepts(check, x) for name, check in _checkers(dtype).items()}
    assert verdicts == dict.fromkeys(verdicts, factor < 1)


@pytest.mark.parametrize(("dtype", "error"), [
    (torch.float64, 1e-7), (torch.float64, 5e-7), (torch.float32, 2e-4), (torch.float32, 3e-4),
    (torch.float16, 2e-2), (torch.bfloat16, 5e-2)])
def test_samplers_and_discrepancies_agree_on_every_location(dtype, error):
    """Norm errors between the two tolerances the samplers and the discrepancies once had
    (sqrt(eps) against max(1e-6, 1e3 eps) capped at 1e-2): one verdict for all. Mutation
    caught: a second tolerance on either side (the discrepancies' old one accepted 1e-7 in
    float64 that VonMisesFisher refused, and refused 2e-4 in float32 that it accepted)."""
    x = _off_by(error, dtype)
    verdicts = {name: _accepts(check, x) for name, check in _checkers(dtype).items()}
    assert len(set(verdicts.values())) == 1, verdicts


def test_a_location_is_checked_in_the_coarser_of_its_dtype_and_the_data_dtype():
    """A float64 location used with float32 data is checked in float32, and a float32 one used
    with float64 data in float32 too (it carries float32's rounding); a float64 one with float64
    data in float64. Mutations caught: the tolerance of the data's dtype alone (the float32
    location refused with float64 data), or of the given dtype alone (the float64 location
    refused with float32 data)."""
    tol32 = math.sqrt(torch.finfo(torch.float32).eps)
    x32 = _off_by(0.5 * tol32, torch.float32)
    X, Y = _clouds(torch.float64)
    assert _accepts(lambda x: ssfg(X, Y, loc=x, n_projections=4, n_iter=0, seed=0), x32)
    assert _accepts(lambda x: sw(X, Y, projections=x.unsqueeze(1)), x32)
    assert _accepts(lambda x: sw(X.numpy(), Y.numpy(), projections=x), x32.numpy()[:, None])
    assert not _accepts(lambda x: sw(X, Y, projections=x.unsqueeze(1)), x32.double())
    X, Y = _clouds(torch.float32)
    loc = np.array([1 + 2e-4, 0.0, 0.0])
    assert _accepts(lambda x: ssfg(X, Y, loc=x, n_projections=4, n_iter=0, seed=0), loc)
    assert not _accepts(lambda x: ssfg(X.double(), Y.double(), loc=x, n_projections=4,
                                       n_iter=0, seed=0), loc)


@pytest.mark.parametrize("bad", [
    torch.tensor([1, 0, 0]), torch.tensor([1, 0, 0], dtype=torch.complex64), "abc", True,
    [[1.0, 0.0], [0.0]], np.array(["a", "b", "c"]), np.array([1 + 0j, 0, 0])])
def test_one_converter_one_verdict(bad):
    """A value that is not real numbers is refused with the same TypeError (naming loc) by the
    samplers and the discrepancies. Mutation caught: a second converter on either side (the
    samplers' former one said "must be a number or a floating tensor")."""
    X, Y = _clouds(torch.float64)
    messages = []
    for call in (lambda: VonMisesFisher(bad, 1.0),
                 lambda: ssfg(X, Y, loc=bad, n_projections=4, n_iter=0, seed=0)):
        with pytest.raises(TypeError, match=r"^loc must ") as info:
            call()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_one_generator_check():
    """A generator on another device than the draws is refused by the samplers and the
    discrepancies with one message, naming the argument of each (``generator``, ``seed``).
    Mutation caught: a second device check in the discrepancies (their former message said
    only "seed must be a generator on meta, got one on cpu")."""
    g = torch.Generator()
    messages = []
    for name, call in (("generator", lambda: uniform_sphere(2, 3, generator=g, device="meta")),
                       ("seed", lambda: make_generator(g, "meta"))):
        with pytest.raises(ValueError, match=rf"^{name} must be a generator on meta") as info:
            call()
        messages.append(re.sub(rf"\b{name}\b(?= must| is on)", "NAME", str(info.value)))
    assert messages[0] == messages[1], messages


def _message(call, error: type[Exception], name: str) -> str:
    """The message of the error ``call`` raises, with the argument's name replaced by NAME
    where the message names it (before "must" and before "=")."""
    with pytest.raises(error) as info:
        call()
    text = str(info.value)
    assert text.startswith(f"{name} must"), text
    return text.replace(f"{name} must", "NAME must").replace(f"{name}=", "NAME=")


@pytest.mark.parametrize(("bad", "error", "expected"), [
    (0, ValueError, "NAME must be >= 1, got NAME=0"),
    (-2, ValueError, "NAME must be >= 1, got NAME=-2"),
    (2.5, TypeError, "NAME must be an integer, got NAME=2.5"),
    (True, TypeError, "NAME must be an integer, got NAME=True"),
    ("3", TypeError, "NAME must be an integer, got NAME='3'")])
def test_one_integer_check(bad, error, expected):
    """An integer argument below its bound or not an integer is refused with one message, the
    argument and the value named, by the samplers (``n`` of ``uniform_sphere``, the entries of
    a ``sample_shape``, whose bound is 0) and the discrepancies (``n_projections``,
    ``n_components``). Mutation caught: a second integer check on
    either side (the samplers' former one said "n must be an int, got n=2.5", the
    discrepancies' "n_projections must be >= 1, got 0")."""
    X, Y = _clouds(torch.float64)
    calls = {"n": lambda: uniform_sphere(bad, D),
             "n_projections": lambda: sw(X, Y, n_projections=bad),
             "n_components": lambda: mssfg(X, Y, n_components=bad, n_iter=0, seed=0)}
    messages = {name: _message(call, error, name) for name, call in calls.items()}
    assert messages == dict.fromkeys(calls, expected)
    if bad != 0:
        dist = VonMisesFisher(torch.eye(D, dtype=torch.float64)[0], 1.0)
        shape_message = _message(lambda: dist.sample((2, bad)), error, "sample_shape[1]")
        assert shape_message == expected.replace(">= 1", ">= 0")


@pytest.mark.parametrize(("bad", "error", "expected"), [
    (-1.0, ValueError, "kappa must be >= 0, got kappa=-1.0"),
    (math.nan, ValueError, "kappa must be finite, got kappa=nan"),
    (math.inf, ValueError, "kappa must be finite, got kappa=inf"),
    ("1", TypeError, "kappa must be a real number, got kappa='1'")])
def test_one_real_number_check(bad, error, expected):
    """A real-number argument out of range, not finite or not a number is refused with one
    message by the samplers (the acceptance rate of the vMF sampler, the law of mu^T x) and the
    discrepancies (the spherical family's kappa). Mutation caught: a second real-number check
    on either side (the samplers' former one said "kappa must be finite and >= 0")."""
    X, Y = _clouds(torch.float64)
    calls = (lambda: wood_acceptance_rate(bad, D, 10),
             lambda: t_law("vmf", D, bad),
             lambda: ssfg(X, Y, kappa=bad, n_projections=4, n_iter=0, seed=0))
    for call in calls:
        with pytest.raises(error) as info:
            call()
        assert str(info.value) == expected


@pytest.mark.parametrize(("dtype", "tol"), [
    (torch.float64, 1e-6), (torch.float32, 1e3 * torch.finfo(torch.float32).eps)])
@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("factor", [0.99, 1.01])
def test_one_weight_sum_tolerance(dtype, tol, sign, factor):
    """Weights whose sum misses 1 by 0.99 of the stated tolerance (1e-6 in float64, 1e3 eps
    in float32) are accepted, by 1.01 of it refused, by a mixture (its ``weights``) and by sw
    (``a`` and ``b``) alike. Mutations caught: the mixture's former rule max(1e-6, k eps)
    (refuses 0.99 * 1.2e-4 in float32), or either side's tolerance 2% looser or tighter."""
    k = 4
    off = sign * factor * tol
    w = torch.full((k,), (1 + off) / k, dtype=torch.float64).to(dtype)
    # the construction: the sum, in w's dtype, misses 1 by off up to 1e-3 of tol
    assert abs(w.sum().item() - 1 - off) < 1e-3 * tol
    X, Y = (t[:k] for t in _clouds(dtype))
    calls = {"weights": lambda: MixtureVonMisesFisher(torch.eye(k, dtype=dtype), 1.0, w),
             "a": lambda: sw(X, Y, a=w, n_projections=4, seed=0),
             "b": lambda: sw(X, Y, b=w, n_projections=4, seed=0)}
    for name, call in calls.items():
        if factor < 1:
            call()
        else:
            with pytest.raises(ValueError, match=rf"^{name} must sum to 1, got a sum of "):
                call()
