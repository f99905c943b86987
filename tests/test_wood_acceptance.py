"""Wood's rejection loop of the von Mises-Fisher sampler: its acceptance rate against Wood's
exact acceptance probability, its tally, and its argument checks (the loop's law of t is
checked in tests/test_samplers_laws.py)."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
from wood_oracle import wood_acceptance_by_simulation, wood_acceptance_exact

from samplers import von_mises_fisher as samplers_vmf

# (d, kappa, per_draw): both loops (one kappa shared, one per draw), low and high acceptance
RATE_CASES = [(2, 10.0, False), (16, 100.0, False), (1024, 1e4, False), (2, 10.0, True),
              (16, 100.0, True), (5, 0.3, True)]
# two-sided, level 1e-3 for the family (Bonferroni)
Z_RATE = float(scipy.stats.norm.isf(1e-3 / (2 * len(RATE_CASES))))
N_RATE = 20_000


@pytest.mark.parametrize(("d", "kappa", "per_draw"), RATE_CASES)
def test_acceptance_rate_is_woods(d, kappa, per_draw):
    """``wood_acceptance_rate`` (accepted / proposed of the sampler's own loop) against Wood's
    acceptance probability by quadrature; the draws are at least N_RATE proposals, so the
    binomial standard error is at most sqrt(p (1 - p) / N_RATE)."""
    exact = wood_acceptance_exact(d, kappa)
    rate = samplers_vmf.wood_acceptance_rate(kappa, d, N_RATE, torch.Generator().manual_seed(3),
                                             per_draw=per_draw)
    assert abs(rate - exact) < Z_RATE * np.sqrt(exact * (1 - exact) / N_RATE), (rate, exact)


def test_acceptance_rate_check_sees_a_wrong_envelope(monkeypatch):
    """Mutation: Wood's b doubled in the sampler (acceptance 0.60 instead of 0.729 at d = 16,
    kappa = 100, per-draw loop) fails the same check."""
    exact = wood_acceptance_exact(16, 100.0)
    right = samplers_vmf.wood_envelope
    monkeypatch.setattr(samplers_vmf, "wood_envelope", lambda k, d: 2.0 * right(k, d))
    rate = samplers_vmf.wood_acceptance_rate(100.0, 16, N_RATE, torch.Generator().manual_seed(3),
                                             per_draw=True)
    assert abs(rate - exact) > Z_RATE * np.sqrt(exact * (1 - exact) / N_RATE)


def test_exact_acceptance_matches_a_simulation_of_wood():
    """The quadrature oracle against Wood's steps simulated with NumPy (5 standard errors)."""
    n = 200_000
    for d, kappa in [(2, 10.0), (16, 100.0)]:
        exact = wood_acceptance_exact(d, kappa)
        assert abs(wood_acceptance_by_simulation(d, kappa, n, seed=1) - exact) < 5 * np.sqrt(
            exact * (1 - exact) / n)


@pytest.mark.parametrize("per_draw", [False, True])
def test_counting_acceptances_leaves_the_draws_unchanged(per_draw):
    kappa = torch.full((3000,), 30.0, dtype=torch.float64)
    if not per_draw:
        kappa = kappa[:1].expand(3000)
    expected = samplers_vmf.sample_vmf_t(kappa, 7, torch.Generator().manual_seed(4))
    tally = samplers_vmf._Tally()
    flat = kappa.reshape(-1)[:1] if not per_draw else kappa
    got = samplers_vmf._wood(flat, 3000, 7, torch.Generator().manual_seed(4), None, tally)
    for a, b in zip(expected, got, strict=True):
        assert torch.equal(a, b)
    assert 3000 <= tally.accepted <= tally.proposed


@pytest.mark.parametrize(("args", "error", "match"), [
    ((-1.0, 5, 10), ValueError, "kappa=-1.0"), ((float("nan"), 5, 10), ValueError, "kappa=nan"),
    (("1", 5, 10), TypeError, "kappa='1'"), ((1.0, 1, 10), ValueError, "d=1"),
    ((1.0, 5, 0), ValueError, "n=0"), ((1.0, 5, 2.5), TypeError, "n=2.5"),
])
def test_acceptance_rate_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        samplers_vmf.wood_acceptance_rate(*args)
    with pytest.raises(TypeError, match=r"dtype=torch\.int64"):
        samplers_vmf.wood_acceptance_rate(1.0, 5, 10, dtype=torch.int64)


def test_acceptance_rate_runs_the_shared_loop_by_default_seeded_and_in_its_dtype():
    """The default is the shared-kappa loop; the generator seeds it; ``dtype`` is the draws'
    dtype (another dtype, other draws); with no generator it still runs."""
    def rate(**kw):
        return samplers_vmf.wood_acceptance_rate(30.0, 7, 2000, torch.Generator().manual_seed(7),
                                                 **kw)

    shared = rate()
    assert shared == rate(per_draw=False)
    assert shared != rate(per_draw=True)
    assert shared != rate(dtype=torch.float32)
    assert 0 < samplers_vmf.wood_acceptance_rate(30.0, 7, 100) <= 1


def _record_proposals(monkeypatch, keep_one_in=None):
    """Wrap the loop's proposal step: record the shape of every call; with ``keep_one_in = k``
    only the proposals of every k-th row can be accepted (a broken envelope or test: rate
    about p / k; k = 0 accepts nothing)."""
    calls = []
    right = samplers_vmf._wood_proposals

    def recorded(test, m, shape, generator, like):
        one_minus_w, one_plus_w, accept = right(test, m, shape, generator, like)
        calls.append(tuple(shape))
        if keep_one_in is not None:
            rows = torch.arange(accept.shape[0]).unsqueeze(1)
            accept = accept & (rows % keep_one_in == 0) if keep_one_in else accept & False
        return one_minus_w, one_plus_w, accept

    monkeypatch.setattr(samplers_vmf, "_wood_proposals", recorded)
    return calls


def test_per_draw_loop_follows_its_schedule(monkeypatch):
    """One proposal per draw, then R per pending draw and round, R the smallest with
    (1 - rate)^R <= 1e-3 for the first round's rate: at d = 16, kappa = 100 (Wood's p = 0.73)
    and 10^4 draws, R = 6 and the draws are done in at most 3 rounds (2.7 draws expected
    pending after the second). Mutations caught: a wrong R (1 or 64 proposals per round, more
    rounds or a 7-fold waste), two proposals in the first round."""
    calls = _record_proposals(monkeypatch)
    n = 10_000
    kappa = torch.full((n,), 100.0, dtype=torch.float64)
    first, _ = samplers_vmf._wood(kappa, n, 16, torch.Generator().manual_seed(5), None)
    assert first.shape == (n,)
    assert calls[0] == (n, 1)
    pending, rounds = calls[1][0], calls[1][1]
    rate = 1 - pending / n
    assert rounds == math.ceil(math.log(1e-3) / math.log1p(-rate)) == 6
    assert len(calls) <= 3


@pytest.mark.parametrize("per_draw", [False, True])
@pytest.mark.parametrize(("n", "keep_one_in"), [(1000, 0), (500, 0), (1000, 20)])
def test_a_broken_loop_stops_at_the_acceptance_floor(monkeypatch, per_draw, n, keep_one_in):
    """A broken envelope (nothing accepted, or 1 row in 20: a rate near 0.04) raises as soon as
    MIN_PROPOSALS proposals have shown a rate below MIN_ACCEPTANCE, after a few rounds, not
    MAX_ROUNDS of growing pools. Mutations caught: the floor or the count of proposals broken
    (the loop would run all its rounds)."""
    calls = _record_proposals(monkeypatch, keep_one_in)
    kappa = torch.full((n if per_draw else 1,), 5.0, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=rf"\d+ of {n} draws still rejected .* below 0\.1"):
        samplers_vmf._wood(kappa, n, 10, torch.Generator().manual_seed(6), None)
    proposed = [rows * cols for rows, cols in calls]
    assert sum(proposed[:-1]) < samplers_vmf.MIN_PROPOSALS <= sum(proposed)
    assert len(calls) <= 3


def test_shared_loop_gathers_the_draws_of_several_rounds(monkeypatch):
    """With a low acceptance rate (every other row only: about 0.36 at d = 7, kappa = 30) the
    shared-kappa loop needs a second round, sized from the first round's rate, and returns the
    n draws of both rounds (each a valid 1 - t in [0, 2]). Mutations caught: only one round's
    draws returned, a pool sized from a wrong rate (more rounds)."""
    calls = _record_proposals(monkeypatch, keep_one_in=2)
    n = 2000
    kappa = torch.tensor([30.0], dtype=torch.float64)
    tally = samplers_vmf._Tally()
    one_minus_t, one_plus_t = samplers_vmf._wood(kappa, n, 7, torch.Generator().manual_seed(8),
                                                 None, tally)
    assert one_minus_t.shape == one_plus_t.shape == (n,)
    assert tally.proposed == sum(rows * cols for rows, cols in calls)  # every round counted
    assert n <= tally.accepted < tally.proposed
    assert torch.all((one_minus_t >= 0) & (one_minus_t <= 2))
    torch.testing.assert_close(one_minus_t + one_plus_t, torch.full_like(one_minus_t, 2.0))
    assert 2 <= len(calls) <= 3
