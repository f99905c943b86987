"""Running the discrepancies on several ``torch.distributed`` ranks of this machine.

:func:`spawn_ranks` starts W processes joined by a ``file://`` rendezvous (no port), runs a
function on each and returns what each returned. :func:`registry_on_ranks` is the function the
tests run there: every :data:`~discrepancies.REGISTRY` entry, sharded over the ranks, with its
value, gradient and log, so that they can be compared with the single-process call
(:func:`registry_cases` builds the same problems in one process).
"""

from __future__ import annotations

import datetime
import os
import tempfile
import traceback
from collections.abc import Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from discrepancies import REGISTRY, _execution

__all__ = ["ASCENT_STEPS", "CASE_KEYWORDS", "case_data", "evaluate", "registry_cases",
           "registry_on_ranks", "spawn_ranks"]

# small problems: n = 24 points in d = 3, L = 10 directions (mssfg's 5 components get 2 each)
CASE_KEYWORDS = {"n_projections": 10, "seed": 3}
ASCENT_STEPS = 4  # enough steps for the ranks to follow a path of several decisions
BUDGETS = (None, 2 * 48 * 8)  # unbounded, and chunks of 2 float64 (4 float32) directions
RANK_TIMEOUT = datetime.timedelta(seconds=60)  # far above a test's collective waits


def case_data(dtype: torch.dtype, shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The clouds of every case (the same on every rank unless ``shift`` differs)."""
    g = torch.Generator().manual_seed(11)
    X = torch.randn(24, 3, generator=g, dtype=torch.float64)
    Y = 0.5 * torch.randn(24, 3, generator=g, dtype=torch.float64) + 0.3
    return (X + shift).to(dtype), Y.to(dtype)


def evaluate(name: str, dtype: torch.dtype, max_memory: int | None,
             group: dist.ProcessGroup | None) -> dict:
    """One entry's value, gradients in X and Y, and log, on the case data."""
    X, Y = case_data(dtype)
    X.requires_grad_(True)
    Y.requires_grad_(True)
    spec = REGISTRY[name]
    steps = {"n_iter": ASCENT_STEPS} if "n_iter" in spec.defaults else {}
    value, log = spec(X, Y, log=True, max_memory=max_memory, group=group, **CASE_KEYWORDS,
                      **steps)
    value.backward()
    return {"value": value.detach(), "grad_X": X.grad, "grad_Y": Y.grad,
            "log": {k: v for k, v in log.items() if isinstance(v, torch.Tensor)}}


def registry_cases() -> list[tuple[str, torch.dtype, int | None]]:
    """(name, dtype, max_memory) for every entry, both dtypes and both budgets."""
    return [(name, dtype, budget) for name in REGISTRY for dtype in (torch.float32,
                                                                      torch.float64)
            for budget in BUDGETS]


def registry_on_ranks(rank: int, world: int) -> dict:
    """On one rank of the default group: every case of :func:`registry_cases`; the error a
    rank holding a different X raises; a ``seed=None`` call's log; and, as a mutation check,
    SW's gradient with the inputs' all-reduce left out (each rank then holds only its own
    slices' part)."""
    group = dist.group.WORLD
    out = {"cases": {case: evaluate(*case, group) for case in registry_cases()}}
    X, Y = case_data(torch.float64, shift=float(rank))
    try:
        REGISTRY["sw"](X, Y, group=group, **CASE_KEYWORDS)
        out["mismatch"] = None
    except ValueError as error:
        out["mismatch"] = str(error)
    # seed=None: each rank's global generator differs, the first rank's draw is used by all
    torch.manual_seed(100 + rank)
    X, Y = case_data(torch.float64)
    out["seedless"] = REGISTRY["sw"](X, Y, group=group, n_projections=10, log=True)[1]
    copy = _execution._CopyToGroup.apply
    _execution._CopyToGroup.apply = lambda group, *tensors: tensors
    try:
        out["no_allreduce"] = evaluate("sw", torch.float64, None, group)
    finally:
        _execution._CopyToGroup.apply = copy
    return out


def _rank_main(rank: int, world: int, init_file: str, out_dir: str, fn: Callable,
               threads: int, timeout: datetime.timedelta) -> None:
    torch.set_num_threads(threads)
    # a rank that fails leaves the others waiting in their next collective: they give up
    # after `timeout` instead of gloo's 30 minutes, and the test fails instead of hanging
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world, timeout=timeout)
    try:
        try:
            result = {"ok": fn(rank, world)}
        except Exception:  # reported to the parent, which raises it
            result = {"error": traceback.format_exc()}
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def spawn_ranks(fn: Callable[[int, int], object], world: int = 2, threads: int = 1,
                timeout: datetime.timedelta = RANK_TIMEOUT) -> list:
    """``fn(rank, world)`` on ``world`` new processes (gloo, ``file://`` rendezvous in a
    temporary folder, ``threads`` torch threads each); their return values in rank order.
    ``fn`` must be importable (a module-level function). A rank's exception is raised here as
    a ``RuntimeError`` carrying its traceback; a rank left waiting in a collective by a failed
    one raises after ``timeout``."""
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_rank_main, args=(world, os.path.join(tmp, "rendezvous"), tmp, fn, threads,
                                   timeout),
                 nprocs=world, join=True)
        results = [torch.load(os.path.join(tmp, f"rank{r}.pt"), weights_only=False)
                   for r in range(world)]
    for r, result in enumerate(results):
        if "error" in result:
            raise RuntimeError(f"rank {r} failed:\n{result['error']}")
    return [result["ok"] for result in results]
