"""max_memory (chunked directions, recomputed in backward) and group (slices sharded over
torch.distributed ranks), for every REGISTRY entry."""

import datetime
import inspect
import re
import time

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from discrepancies import REGISTRY, _execution, _slices
from discrepancies._execution import Execution, chunk_size, executing, shard_bounds
from validation.sharding import CASE_KEYWORDS, evaluate, registry_cases


def _close(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> bool:
    """Equal to 1e-12 relative (float64) or 2e-5 (float32) of the largest entry of ``b``: the
    projections of a chunk of columns are a different matrix product than those of all of
    them, whose BLAS kernel may sum the d terms in another order (last-bit differences)."""
    rtol = 1e-12 if dtype == torch.float64 else 2e-5
    scale = b.abs().max().clamp_min(torch.finfo(dtype).tiny)
    return bool(((a - b).abs().max() <= rtol * scale).item())


def test_every_entry_takes_the_keywords():
    for name, spec in REGISTRY.items():
        params = inspect.signature(spec).parameters
        assert params["max_memory"].default is None, name
        assert params["group"].default is None, name
        assert params["max_memory"].kind is inspect.Parameter.KEYWORD_ONLY
        assert "max_memory" not in spec.defaults and "group" not in spec.defaults


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("bad, error", [(0, ValueError), (-5, ValueError), (1.5, TypeError),
                                        (True, TypeError), ("1GB", TypeError)])
def test_bad_max_memory_is_refused(name, bad, error):
    X = np.random.default_rng(0).normal(size=(8, 3))
    with pytest.raises(error, match="max_memory"):
        REGISTRY[name](X, X + 1, max_memory=bad, n_projections=5)


@pytest.mark.parametrize("bad", ["world", 0, object()])
def test_bad_group_is_refused(bad):
    X = np.zeros((4, 2))
    with pytest.raises(TypeError, match="group"):
        REGISTRY["sw"](X, X, group=bad)


def test_chunk_size_and_shards():
    # (C, n + m) block of 8-byte numbers within the budget, at least one direction
    assert chunk_size(100, 10, 8, 8 * 10 * 7) == 7
    assert chunk_size(100, 10, 8, 8 * 10 * 7 + 79) == 7
    assert chunk_size(100, 10, 8, 1) == 1
    assert chunk_size(5, 10, 8, 10**9) == 5
    assert chunk_size(5, 10, 8, None) == 5
    bounds = shard_bounds(10, 3)
    assert bounds == [(0, 3), (3, 6), (6, 10)]
    assert shard_bounds(2, 2) == [(0, 1), (1, 2)]


def test_chunks_are_recomputed_in_backward():
    """A chunked call keeps none of a chunk's work for backward: the cost runs once per chunk
    forward and once more per chunk in backward; unchunked, once."""
    calls = []

    def cost(X, Y, P):
        calls.append(P.shape[1])
        return ((P.T @ X.T) ** 2).mean(1) - ((P.T @ Y.T) ** 2).mean(1)

    level = _execution.per_slice_level(cost)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    Y = torch.randn(4, 3, generator=g, dtype=torch.float64)
    P = torch.randn(3, 7, generator=g, dtype=torch.float64)
    with executing(Execution(max_memory=3 * 10 * 8)):
        chunked = level(X, Y, P)
    assert calls == [3, 3, 1]
    (grad,) = torch.autograd.grad(chunked.sum(), X)
    assert sorted(calls) == [1, 1, 3, 3, 3, 3]
    calls.clear()
    whole = level(X, Y, P)
    (expected,) = torch.autograd.grad(whole.sum(), X)
    assert calls == [7]
    assert _close(chunked, whole, torch.float64)
    assert _close(grad, expected, torch.float64)


@pytest.mark.parametrize("case", [c for c in registry_cases() if c[2] is not None],
                         ids=lambda c: f"{c[0]}-{str(c[1])[6:]}")
def test_chunked_equals_unchunked(case):
    """Every entry: value, log and gradients to 1e-12 (float64), chunks of two directions
    against one block."""
    name, dtype, budget = case
    chunked = evaluate(name, dtype, budget, None)
    whole = evaluate(name, dtype, 10**12, None)
    assert _close(chunked["value"], whole["value"], dtype)
    for key in whole["log"]:
        assert _close(chunked["log"][key], whole["log"][key], dtype), key
    for key in ("grad_X", "grad_Y"):
        assert _close(chunked[key], whole[key], dtype), key


def test_a_budget_below_one_block_chunks_the_real_call():
    """Mutation partner of the test above: with the level's chunking disabled the cost would
    see all the columns at once; here it sees at most the budget's worth."""
    seen = []
    original = _execution.chunk_size

    def spy(L, points, itemsize, max_memory):
        size = original(L, points, itemsize, max_memory)
        seen.append((L, size))
        return size

    _execution.chunk_size = spy
    try:
        evaluate("sfg", torch.float64, 2 * 48 * 8, None)
    finally:
        _execution.chunk_size = original
    assert seen and all(size == min(L, 2) for L, size in seen)


@pytest.mark.parametrize("name", ["ssfg", "mssfg", "pssfg"])
def test_spherical_ascent_places_its_draws_in_chunks(name, monkeypatch):
    """The spherical family's ascent makes its (L, 2n + 1) block of placed draws chunk by
    chunk under max_memory: each evaluation sees at most the budget's directions (mutation
    partner: an ascent holding all L placed draws fails the bound), and the location it reaches
    is the unchunked one's (the chunked test above compares the value and gradients)."""
    from discrepancies import spherical

    seen = []
    original = spherical._placed_fg

    def spy(locs, draws, *args, **kwargs):
        seen.append(draws.v.shape[0])
        return original(locs, draws, *args, **kwargs)

    monkeypatch.setattr(spherical, "_placed_fg", spy)
    # case data: n = 24 points a cloud, so one direction of the ascent's block is 49 numbers
    chunked = evaluate(name, torch.float64, 3 * 49 * 8, None)
    assert seen and max(seen) == 3
    seen.clear()
    whole = evaluate(name, torch.float64, None, None)
    assert seen and min(seen) > 3
    assert _close(chunked["log"]["locations"], whole["log"]["locations"], torch.float64)


@pytest.mark.parametrize("name", ["sw", "sfg"])
def test_control_variates_are_chunked(name):
    """slicing="control-variate" projects the centred clouds on every direction, an (n, L)
    block: under max_memory it is made in chunks, with value and gradients to 1e-12."""
    g = torch.Generator().manual_seed(4)
    out = []
    for budget in (None, 8 * 40 * 3):
        X = torch.randn(40, 4, generator=g.manual_seed(4), dtype=torch.float64,
                        requires_grad=True)
        Y = (1.5 * torch.randn(40, 4, generator=g, dtype=torch.float64) + 0.3).requires_grad_()
        kwargs = {"beta": 0.0} if name == "sfg" else {}
        value = REGISTRY[name](X, Y, seed=1, n_projections=20, slicing="control-variate",
                               max_memory=budget, **kwargs)
        out.append((value, *torch.autograd.grad(value, (X, Y))))
    for a, b in zip(*out, strict=True):
        assert _close(a, b, torch.float64)


class _PointGradients(TorchDispatchMode):
    """Counts the out-of-place matrix products whose result has the (n, d) = (24, 3) shape of
    the case clouds: an (n, d) gradient made for one chunk."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in (torch.ops.aten.mm.default, torch.ops.aten.addmm.default) and (
                tuple(out.shape) == (24, 3)):
            self.count += 1
        return out


# max_sw / max_sfg evaluate their one final direction as one block, not in chunks
_CHUNKED = sorted(set(REGISTRY) - {"max_sw", "max_sfg"})


@pytest.mark.parametrize("name", _CHUNKED)
def test_chunks_add_their_gradients_in_place(name):
    """In the backward pass of a chunked call no chunk makes an (n, d) gradient of its own:
    each adds its share into the call's buffers in place, so the peak is the inputs, their
    gradients and one chunk (with autograd's sum of per-chunk gradients it would hold one
    more (n, d) tensor per cloud)."""
    with _PointGradients() as mode:
        evaluate(name, torch.float64, 2 * 48 * 8, None)
    assert mode.count == 0


def test_chunk_gradients_in_place_can_fail(monkeypatch):
    """Mutation partner of the test above: without the buffers every chunk's projection
    returns its (n, d) gradients, and the count sees them."""
    monkeypatch.setattr(_slices, "gradient_sink", lambda X: None)
    with _PointGradients() as mode:
        evaluate("sw", torch.float64, 2 * 48 * 8, None)
    assert mode.count == 10  # 5 chunks of 2 directions, X and Y


# --- two gloo ranks --------------------------------------------------------------------


def _one_rank_stays_out(rank: int, world: int) -> None:
    if rank == 1:  # alive, but never joins the collective (as after a failure of its own)
        time.sleep(6)
        return
    torch.distributed.all_reduce(torch.ones(1))


@pytest.mark.ranks
def test_a_rank_left_waiting_gives_up():
    """A rank waiting in a collective for a rank that does not come raises after the ranks'
    timeout (gloo's default is 30 minutes: a failing rank, or a mutant of the code, would hang
    the test run), and the failure is reported with its traceback."""
    from validation.sharding import spawn_ranks
    with pytest.raises(RuntimeError, match="rank 0 failed") as failure:
        spawn_ranks(_one_rank_stays_out, world=2, timeout=datetime.timedelta(seconds=1))
    assert re.search("timed out|timeout", str(failure.value), re.IGNORECASE)


@pytest.fixture(scope="module")
def ranks():
    from validation.sharding import registry_on_ranks, spawn_ranks
    return spawn_ranks(registry_on_ranks, world=2)


@pytest.mark.ranks
@pytest.mark.parametrize("case", registry_cases(), ids=lambda c: f"{c[0]}-{str(c[1])[6:]}-"
                         f"{'chunked' if c[2] else 'whole'}")
def test_two_ranks_equal_one_process(ranks, case):
    """Every entry, both dtypes, with and without chunks: the ranks return the same value and
    log bit for bit, equal to the single-process call's (1e-12 in float64), and each rank's
    gradients are the full ones."""
    name, dtype, budget = case
    single = evaluate(name, dtype, budget, None)
    first = ranks[0]["cases"][case]
    for rank in ranks:
        got = rank["cases"][case]
        assert torch.equal(got["value"], first["value"])
        assert _close(got["value"], single["value"], dtype), (got["value"], single["value"])
        assert set(got["log"]) == set(single["log"])
        for key in single["log"]:
            assert torch.equal(got["log"][key], first["log"][key]), key
            assert _close(got["log"][key], single["log"][key], dtype), key
        for key in ("grad_X", "grad_Y"):
            assert _close(got[key], single[key], dtype), (key, got[key], single[key])


@pytest.mark.ranks
def test_two_ranks_refuse_different_inputs(ranks):
    for rank in ranks:
        assert rank["mismatch"] is not None
        assert "X must be the same on every rank" in rank["mismatch"]


@pytest.mark.ranks
def test_two_ranks_without_the_allreduce_miss_half_the_gradient(ranks):
    """Mutation check of the gradient test: without the all-reduce on the inputs each rank's
    gradient is its own slices' share only, which the comparison above would reject."""
    single = evaluate("sw", torch.float64, None, None)
    for rank in ranks:
        partial = rank["no_allreduce"]
        assert _close(partial["value"], single["value"], torch.float64)
        assert not _close(partial["grad_X"], single["grad_X"], torch.float64)
    total = ranks[0]["no_allreduce"]["grad_X"] + ranks[1]["no_allreduce"]["grad_X"]
    assert _close(total, single["grad_X"], torch.float64)


def test_case_keywords_draw_directions():
    assert CASE_KEYWORDS["n_projections"] >= 2 * 5  # mssfg: 5 components, 2 ranks


@pytest.mark.ranks
def test_two_ranks_share_the_seed_drawn_for_seed_none(ranks):
    """The ranks' global generators differ (seeded 100 + rank), yet seed=None draws the same
    directions on both: the first rank's seed is sent to all."""
    first, second = (rank["seedless"] for rank in ranks)
    assert torch.equal(first["projections"], second["projections"])
    assert torch.equal(first["per_slice"], second["per_slice"])


def test_chunked_ascent_weighs_unequal_strata_as_the_whole_one():
    """MSSFG with 11 draws over 3 components (strata of 4, 4 and 3 draws, weights 1/12 and
    1/9): the chunked ascent's location gradient carries each chunk's own weights, so it
    reaches the whole ascent's locations (the ascent normalises the gradient over all rows, so
    weights off by a per-row factor would turn it elsewhere)."""
    spec = REGISTRY["mssfg"]
    g = torch.Generator().manual_seed(0)
    X = torch.randn(24, 4, generator=g, dtype=torch.float64)
    Y = torch.randn(24, 4, generator=g, dtype=torch.float64) + 0.3
    kw = {"n_projections": 11, "n_iter": 6, "seed": 0, "log": True, **spec.with_components(3)}
    whole, whole_log = spec(X, Y, **kw)
    chunked, chunked_log = spec(X, Y, max_memory=3 * 49 * 8, **kw)
    assert _close(chunked, whole, torch.float64)
    assert _close(chunked_log["locations"], whole_log["locations"], torch.float64)



def test_chunks_with_weights_that_need_a_gradient_equal_one_block():
    """The public entries refuse weights that need a gradient, but the per-slice level takes
    any: there the chunks are checkpointed (the in-place sink serves X and Y only), with the
    value and the gradients to X and to the weights of one block."""
    from discrepancies._execution import Execution, executing
    from discrepancies._slices import wp_per_slice

    g = torch.Generator().manual_seed(1)
    X = torch.randn(30, 4, generator=g, dtype=torch.float64)
    Y = torch.randn(25, 4, generator=g, dtype=torch.float64) + 0.5
    P = torch.nn.functional.normalize(torch.randn(4, 40, generator=g, dtype=torch.float64), dim=0)
    w = torch.rand(30, generator=g, dtype=torch.float64) + 0.1

    def run(max_memory):
        Xg, a = X.clone().requires_grad_(), (w / w.sum()).requires_grad_()
        with executing(Execution(max_memory=max_memory)):
            value = wp_per_slice(Xg, Y, P, 2.0, a, None).sum()
        return (value.detach(), *torch.autograd.grad(value, (Xg, a)))

    for got, want in zip(run(8 * 55 * 8), run(None), strict=True):
        assert _close(got, want, torch.float64)
