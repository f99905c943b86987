"""DSW and DSFG (discrepancies.distributional) and the warm state of every optimised entry.

Independent values: the authors' own function (the fixture tests/data/family_code_values.json),
the NumPy oracle in reference.py, POT's exact W_2, finite differences (gradcheck). Each law is
paired with a mutation that breaks it (in the same test).
"""

from __future__ import annotations

import numpy as np
import ot
import pytest
import torch

from discrepancies import REGISTRY, dsfg, dsw, max_sfg, max_sw, mssfg, reference, sfg, ssfg, sw
from discrepancies.distributional import Objective
from validation.distributional_checks import (
    MUTATIONS,
    TOLERANCE,
    fixture_errors,
    large_lam_gap,
    scale_error,
)

OPTIMISED = sorted(name for name, spec in REGISTRY.items() if spec.optimised)


def _clouds(n: int = 12, d: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Y = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.tensor([2.0, 1.0, 0.5]) + 0.3
    return X, Y


def _directions(d: int = 3, L: int = 8, seed: int = 1) -> torch.Tensor:
    P = torch.as_tensor(np.random.default_rng(seed).standard_normal((d, L)))
    return P / P.norm(dim=0)


def test_the_authors_values_are_reproduced_and_the_diagonal_matters():
    """Value and final Linear weights after max_iter Adam steps, to 1e-8 relative (float64);
    leaving the diagonal out of the cosine term (ours) misses them."""
    assert max(max(e.values()) for e in fixture_errors()) <= TOLERANCE
    mutated = fixture_errors(MUTATIONS["diagonal_left_out"])
    assert max(max(e.values()) for e in mutated) > TOLERANCE
    # with lam = 0 (the fourth entry) the cosine term plays no part: it alone still matches
    assert max(mutated[3].values()) <= TOLERANCE


@pytest.mark.parametrize("name", ["dsw", "dsfg"])
def test_value_is_the_oracle_on_the_final_push_forward(name):
    X, Y = _clouds()
    kw = {"p": 3.0, "a": np.full(12, 1 / 12), "b": None} if name == "dsw" else {"beta": 0.3}
    value, log = REGISTRY[name](X, Y, projections=_directions(), n_iter=4, log=True, **kw)
    kw = {k: v for k, v in kw.items() if v is not None}
    state = {k: log["state"][k].numpy() for k in ("weight", "bias")}
    expected = REGISTRY[name].oracle(X.numpy(), Y.numpy(), log["base"].numpy(), **kw, **state)
    assert value.item() == pytest.approx(expected, rel=1e-12)
    # mutation: the push-forward without its bias (moved by the steps) is another value
    assert value.item() != pytest.approx(REGISTRY[name].oracle(
        X.numpy(), Y.numpy(), log["base"].numpy(), **kw, weight=state["weight"]), rel=1e-6)


def test_no_step_is_sw_and_sfg_on_the_base_draws_and_dsw_stays_below_w2():
    X, Y = _clouds()
    P = _directions()
    assert dsw(X, Y, projections=P, n_iter=0).item() == pytest.approx(
        sw(X, Y, projections=P).item(), rel=1e-14)
    assert dsfg(X, Y, projections=P, n_iter=0).item() == pytest.approx(
        sfg(X, Y, projections=P).item(), rel=1e-14)
    far = dsw(X, Y, lam=0.0, lr=0.2, n_iter=30, seed=0).item()
    assert far > sw(X, Y, seed=0).item()
    assert far <= ot.emd2([], [], ot.dist(X.numpy(), Y.numpy())) ** 0.5


@pytest.mark.parametrize("name", ["dsw", "dsfg"])
def test_a_warm_call_continues_the_cold_one_exactly(name):
    """n_iter = 3 then 2 from its state (same data, same base draws) is n_iter = 5."""
    X, Y = _clouds()
    fn = REGISTRY[name]
    P = _directions()
    whole, log = fn(X, Y, projections=P, n_iter=5, log=True)
    _, first = fn(X, Y, projections=P, n_iter=3, log=True)
    split, second = fn(X, Y, projections=P, n_iter=2, state=first["state"], log=True)
    assert split.item() == whole.item()
    for key, value in log["state"].items():
        assert torch.equal(second["state"][key], value), key
    # without the moments (a fresh Adam at the same push-forward) the path differs
    fresh = {k: first["state"][k] for k in ("weight", "bias")}
    assert fn(X, Y, projections=P, n_iter=2, state=fresh).item() != whole.item()


def test_scale_equivariance_and_the_unnormalised_mutation():
    """dsw(cX, cY) = c dsw(X, Y): the discrepancy is divided by its start value; the authors'
    scaling (the penalty's weight fixed against a discrepancy that grows with c) breaks it."""
    assert scale_error(dsw, c=1e3, n_projections=20) <= 1e-10
    assert scale_error(dsfg, c=1e-2, degree=2, beta=0.0, n_projections=20) <= 1e-10
    X, Y = _clouds()
    P = _directions()
    from discrepancies.distributional import ascend
    from discrepancies.sliced import sw_on

    def unnormalised(c: float) -> float:
        value = lambda A, B, Q: sw_on(A, B, Q, 2.0)[0]  # noqa: E731
        pushed, _, _ = ascend(value, 2.0, c * X, c * Y, P, None, 10, 0.05, 1.0,
                              Objective(scale="samples"))
        return value(c * X, c * Y, pushed).item()

    assert abs(unnormalised(1e3) - 1e3 * unnormalised(1.0)) > 1e-6 * 1e3 * unnormalised(1.0)


def test_large_lam_makes_the_path_independent_of_the_data():
    assert large_lam_gap(lam=1e12, n_projections=20) <= 1e-6
    assert large_lam_gap(lam=1.0, n_projections=20) > 1e-3  # mutation: a penalty ignoring lam


@pytest.mark.parametrize("name", ["dsw", "dsfg"])
def test_gradients_to_x_and_y_at_the_final_push_forward(name):
    """gradcheck of the value at the push-forward the steps reached (the envelope gradient:
    the push-forward held fixed, as the returned value's graph holds it); a value computed on
    detached data (the mutation) has no such gradient."""
    X, Y = _clouds(7)
    P = _directions(L=5)
    fn = REGISTRY[name]
    _, log = fn(X, Y, projections=P, n_iter=3, log=True)
    inputs = (X.clone().requires_grad_(), Y.clone().requires_grad_())

    def at_state(x, y):
        return fn(x, y, projections=P, n_iter=0, state=log["state"])

    assert torch.autograd.gradcheck(at_state, inputs)
    g = torch.autograd.grad(fn(*inputs, projections=P, n_iter=3), inputs)
    torch.testing.assert_close(g, torch.autograd.grad(at_state(*inputs), inputs), rtol=0, atol=0)
    with pytest.raises(RuntimeError):
        torch.autograd.gradcheck(lambda x, y: at_state(x.detach(), y.detach()), inputs)


@pytest.mark.parametrize("name", OPTIMISED)
def test_every_optimised_entry_takes_and_returns_its_state(name):
    """log["state"] passed back: the ascents on the sphere start where it says (the same
    call as with their own start keyword), DSW / DSFG continue; NumPy in, NumPy out."""
    spec = REGISTRY[name]
    X, Y = _clouds()
    kw = {"n_iter": 2, "n_projections": 10, "seed": 4}
    _, log = spec(X.numpy(), Y.numpy(), log=True, **kw)
    assert all(isinstance(v, np.ndarray) for v in log["state"].values())
    warm, warm_log = spec(X, Y, state=log["state"], log=True, **kw)
    assert torch.isfinite(warm)
    if spec.located:
        locations = torch.from_numpy(log["state"]["locations"])
        start = ({"projections": locations.T} if spec.slicing_law == "max"
                 else {"loc": spec.loc(locations)})
        assert warm.item() == spec(X, Y, **start, **kw).item()
        assert torch.equal(warm_log["state"]["locations"], warm_log["locations"])


def test_bad_state_and_lam_raise_naming_them():
    X, Y = _clouds()
    P = _directions()
    good = dsw(X, Y, projections=P, n_iter=1, log=True)[1]["state"]
    bad = [
        ([1, 2], TypeError, r"^state must be None or a dict .*, got \[1, 2\]$"),
        ({"weight": good["weight"]}, ValueError,
         r"^state must have the keys \['bias', 'weight'\] \(and optionally \['exp_avg', "
         r"'exp_avg_sq', 'step'\]\), got \['weight'\]$"),
        ({**good, "extra": 1.0}, ValueError, r"^state must have the keys"),
        ({**good, "weight": good["weight"][:2]}, ValueError, r"^state\['weight'\] must have shape"),
        ({**good, "bias": good["bias"] * np.nan}, ValueError, r"^state\['bias'\] must be finite"),
        ({"weight": good["weight"], "bias": good["bias"], "step": 1.0}, ValueError,
         r"^state must hold all of"),
        ({**good, "step": -1.0}, ValueError, r"^state\['step'\] must be a non-negative integer"),
        ({**good, "exp_avg_sq": -good["exp_avg_sq"] - 1}, ValueError,
         r"^state\['exp_avg_sq'\] must be >= 0"),
        ({"weight": torch.zeros(3, 3), "bias": torch.zeros(3)}, ValueError,
         r"^state\['weight'\] and state\['bias'\] map a base direction to 0"),
        ({"weight": "a", "bias": good["bias"]}, TypeError, r"^state\['weight'\]"),
    ]
    for state, error, message in bad:
        with pytest.raises(error, match=message):
            dsw(X, Y, projections=P, state=state)
    for lam, error in ((-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError)):
        with pytest.raises(error, match=r"^lam must"):
            dsfg(X, Y, lam=lam)
    direction = {"locations": np.eye(3)[:1]}
    with pytest.raises(ValueError, match=r"^state and projections must not both be given"):
        max_sw(X, Y, state=direction, projections=P)
    with pytest.raises(ValueError, match=r"^state and loc must not both be given"):
        ssfg(X, Y, state=direction, loc=np.eye(3)[0])
    with pytest.raises(ValueError, match=r"^state\['locations'\] must have shape \(3, d\)"):
        mssfg(X, Y, state=direction, n_components=3)
    with pytest.raises(ValueError, match=r"^state\['locations'\] must have unit norm"):
        max_sfg(X, Y, state={"locations": 2 * np.eye(3)[:1]})
    with pytest.raises(ValueError, match=r"^state must have the keys \['locations'\]"):
        ssfg(X, Y, state={"loc": np.eye(3)[:1]})
    assert reference.push_forward(P.numpy()).shape == (3, 8)
