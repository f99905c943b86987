r"""How the per-slice costs of a call are executed: in bounded memory, and sharded over ranks.

Two keywords of every public discrepancy, ``max_memory`` and ``group``, act at one level: where
the per-slice costs are computed from ``(X, Y, projections)`` (:func:`per_slice_level`, applied
to :func:`discrepancies._slices.wp_per_slice`, :func:`~discrepancies._slices.wp_roots_per_slice`
and :func:`~discrepancies._slices.fg_per_slice`). The public entry validates them once
(:func:`distributable`, a decorator) and holds them in a context variable for the duration of
the call, so that no private signature carries them.

**Bounded memory.** The L directions are processed in chunks of C columns, C the largest for which
the (C, n + m) block of projections fits in ``max_memory`` bytes (at least one direction). A chunk's
per-slice costs are computed by the same kernels as without chunks (equal up to the last bits of the
matrix product, which BLAS may sum over d in another order for a block of fewer columns); with
autograd a chunk's projections, sorts and permutations are not kept until the backward pass but
recomputed there, one chunk at a time (:class:`_Chunks`), so the memory of a call is O((n + m) C + n
d), not O((n + m) L). In that backward pass the gradients with respect to X and Y are two (n, d)
buffers that every chunk's projection adds its vector-Jacobian product into in place
(:func:`gradient_sink`, a BLAS ``addmm``), so no chunk makes (n, d) gradients of its own: the peak
of a value and gradient of ``sw`` is the inputs, their gradients and one chunk's working set (the
fused costs also hold their centred clouds). The gradient is the sum of the chunks' gradients, equal
to the unchunked one up to the order of that sum (float64: about 1e-15 relative).

**Sharding.** With a ``torch.distributed`` process group of W ranks, rank r takes the
contiguous share ``[floor(r L / W), floor((r + 1) L / W))`` of the columns, computes those
costs (in chunks when needed), and an all-gather gives every rank the full (L,) vector in
column order (Megatron-LM's gather: all-gather forward, the rank's own split of the gradient
backward). ``X``, ``Y`` and the directions enter through Megatron-LM's copy (identity forward,
all-reduce of the gradient backward), so every rank's gradient is the full one. Everything
after the per-slice vector (the mean, the root, the argmax of the max- methods, the ascent's
decisions) runs on the same numbers on every rank, so all ranks return the same value, equal
to the single-process one up to the rounding of the shares' matrix products; with
fewer directions than ranks (an ascent's single direction) every rank computes them all and no
collective is made. Before any work, :func:`distributable` compares a fingerprint of the
arguments across the ranks (a ``ValueError`` when they differ) and, for ``seed=None``, gives
every rank the seed drawn on the group's first rank.

Reference: M. Shoeybi, M. Patwary, R. Puri, P. LeGresley, J. Casper, B. Catanzaro.
"Megatron-LM: Training Multi-Billion Parameter Language Models Using Model Parallelism", 2019
(the copy / gather pair of ``megatron/core/tensor_parallel/mappings.py``).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.checkpoint import checkpoint

from samplers.constraints import check_positive_int, describe

__all__ = [
    "DEFAULT_MEMORY_FRACTION",
    "Execution",
    "Share",
    "chunk_size",
    "chunked",
    "current",
    "current_chunk_size",
    "default_max_memory",
    "distributable",
    "executing",
    "gradient_sink",
    "per_slice_level",
    "shard_bounds",
    "share",
]

DEFAULT_MEMORY_FRACTION = 1 / 16
"""The default ``max_memory``: this fraction of the device's free memory at the call (the
CPU's available physical memory, or ``torch.cuda.mem_get_info``'s free bytes). A chunk's
working set is a few times its block of projections (sorted copies, sorting permutations,
gradient buffers), so the whole call stays well within the free memory."""


@dataclass(frozen=True)
class Execution:
    """The execution options of one public call, validated by :func:`distributable`.

    max_memory : bytes allowed for one block of projections; None: a fraction
        (:data:`DEFAULT_MEMORY_FRACTION`) of the device's free memory.
    group : the process group the slices are sharded over; None: this process alone.
    """

    max_memory: int | None = None
    group: dist.ProcessGroup | None = None


_CURRENT: ContextVar[Execution | None] = ContextVar("sliced_execution", default=None)
_DEFAULT = Execution()


def current() -> Execution:
    """The options of the public call in progress (the defaults outside one)."""
    options = _CURRENT.get()
    return _DEFAULT if options is None else options


@contextmanager
def executing(options: Execution) -> Iterator[None]:
    """Within this block, :func:`current` is ``options``."""
    token = _CURRENT.set(options)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check_max_memory(max_memory: object) -> int | None:
    """None or a positive number of bytes (an int)."""
    if max_memory is None:
        return None
    return check_positive_int(max_memory, "max_memory", 1, kind="None or an int (bytes)")


def check_group(group: object) -> dist.ProcessGroup | None:
    """None, or a ``torch.distributed`` process group that this process belongs to."""
    if group is None:
        return None
    if not dist.is_available() or not isinstance(group, dist.ProcessGroup):
        raise TypeError(f"group must be None or a torch.distributed ProcessGroup, got "
                        f"{describe(group)}")
    if not dist.is_initialized():
        raise ValueError("group was given but torch.distributed is not initialised: call "
                         "torch.distributed.init_process_group first")
    if dist.get_rank(group) < 0:
        raise ValueError("group must contain this process (torch.distributed.get_rank(group) "
                         "is -1 here)")
    return group


def default_max_memory(device: torch.device) -> int | None:
    """:data:`DEFAULT_MEMORY_FRACTION` of the free memory of ``device`` in bytes: available
    physical memory for the CPU (``os.sysconf``), ``torch.cuda.mem_get_info`` for CUDA; None
    (no chunking) where unknown."""
    free = None
    if device.type == "cpu" and hasattr(os, "sysconf"):
        try:
            free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError):
            free = None
    elif device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    return None if free is None else max(1, int(free * DEFAULT_MEMORY_FRACTION))


def chunk_size(n_projections: int, points: int, itemsize: int, max_memory: int | None) -> int:
    """The number C of directions per chunk: the largest for which a (C, ``points``) block of
    ``itemsize``-byte projections fits in ``max_memory`` bytes, at least 1, at most
    ``n_projections`` (all of them for ``max_memory=None``)."""
    if max_memory is None:
        return n_projections
    return max(1, min(n_projections, max_memory // max(1, points * itemsize)))


def current_chunk_size(n_projections: int, points: int, like: torch.Tensor) -> int:
    """:func:`chunk_size` under the ``max_memory`` of the call in progress (:func:`current`;
    its default for the device of ``like``), for ``points`` numbers per direction in the dtype
    of ``like``."""
    max_memory = current().max_memory
    if max_memory is None:
        max_memory = default_max_memory(like.device)
    return chunk_size(n_projections, points, like.element_size(), max_memory)


def shard_bounds(n_projections: int, world: int) -> list[tuple[int, int]]:
    """The contiguous column ranges of the W ranks, ``[floor(r L / W), floor((r + 1) L / W))``:
    sizes differ by at most one, and none is empty when L >= W."""
    cuts = [r * n_projections // world for r in range(world + 1)]
    return list(itertools.pairwise(cuts))


class _CopyToGroup(torch.autograd.Function):
    """Megatron-LM's copy to the ranks: the tensors as they are in forward, their gradients
    summed over the group in backward (one all-reduce of the gradients flattened together, so
    that every rank makes the same single collective whatever needs a gradient)."""

    @staticmethod
    def forward(ctx, group: dist.ProcessGroup, *tensors: torch.Tensor):
        ctx.group = group
        ctx.shapes = [t.shape for t in tensors]
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads: torch.Tensor | None):
        like = next(g for g in grads if g is not None)
        flat = torch.cat([(torch.zeros(shape, dtype=like.dtype, device=like.device)
                           if g is None else g).reshape(-1)
                          for g, shape in zip(grads, ctx.shapes, strict=True)])
        dist.all_reduce(flat, group=ctx.group)
        out, start = [], 0
        for shape, needed in zip(ctx.shapes, ctx.needs_input_grad[1:], strict=True):
            size = shape.numel()
            out.append(flat[start:start + size].view(shape) if needed else None)
            start += size
        return (None, *out)


class _GatherSlices(torch.autograd.Function):
    """Megatron-LM's gather along the slices: each rank's share (padded to the largest share,
    as a collective needs equal sizes) all-gathered into the full (L,) vector in column order;
    the backward pass keeps the rank's own split of the gradient."""

    @staticmethod
    def forward(ctx, local: torch.Tensor, group: dist.ProcessGroup,
                bounds: list[tuple[int, int]]) -> torch.Tensor:
        rank = dist.get_rank(group)
        width = max(hi - lo for lo, hi in bounds)
        padded = local.new_zeros(width)
        padded[:local.shape[0]] = local
        parts = [torch.empty_like(padded) for _ in bounds]
        dist.all_gather(parts, padded, group=group)
        ctx.own = bounds[rank]
        return torch.cat([part[:hi - lo] for part, (lo, hi) in zip(parts, bounds, strict=True)])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        lo, hi = ctx.own
        return grad[lo:hi].clone(), None, None


@dataclass(frozen=True)
class Share:
    """This rank's share of L slices under a group: columns (or rows) ``[lo, hi)`` of the
    ``bounds`` of every rank (:func:`shard_bounds`)."""

    group: dist.ProcessGroup
    bounds: list[tuple[int, int]]
    lo: int
    hi: int

    def gather(self, local: torch.Tensor) -> torch.Tensor:
        """The (L,) vector of every rank's (hi - lo,) values in order (autograd-aware: the
        gradient of the result reaches ``local`` as this rank's split)."""
        return _GatherSlices.apply(local, self.group, self.bounds)

    def all_reduce(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` summed over the ranks (in place, no autograd), on every rank."""
        dist.all_reduce(t, group=self.group)
        return t


def share(n_projections: int) -> Share | None:
    """This rank's share of ``n_projections`` slices under the call's group (:func:`current`),
    None without a group or with fewer slices than ranks (then every rank computes them
    all)."""
    group = current().group
    if group is None or n_projections < dist.get_world_size(group):
        return None
    bounds = shard_bounds(n_projections, dist.get_world_size(group))
    return Share(group, bounds, *bounds[dist.get_rank(group)])


_SINKS: ContextVar[tuple[list, ...]] = ContextVar("sliced_gradient_sinks", default=())


def gradient_sink(X: torch.Tensor) -> torch.Tensor | None:
    """The (n, d) buffer into which the backward pass of a chunked call accumulates the
    gradient with respect to ``X`` (zeros, made at the first request), None for any tensor
    outside that backward pass. A projection of ``X`` that finds one adds its vector-Jacobian
    product there in place and returns no gradient for ``X``; a route that ignores it still
    gives the right gradient (through autograd, with an (n, d) tensor of its own)."""
    for entry in _SINKS.get():
        if entry[0] is X:
            if entry[1] is None:
                entry[1] = torch.zeros_like(X)
            return entry[1]
    return None


def _each_chunk(cost: Callable[..., torch.Tensor], X: torch.Tensor, Y: torch.Tensor | None,
                projections: torch.Tensor, args: tuple, kwargs: dict, size: int) -> torch.Tensor:
    """``cost`` on each column chunk of ``size`` of ``projections``, concatenated (no
    autograd bookkeeping of its own)."""
    return torch.cat([cost(X, Y, projections[:, lo:lo + size], *args, **kwargs)
                      for lo in range(0, projections.shape[1], size)])


class _Chunks(torch.autograd.Function):
    """``cost`` on column chunks of the directions, concatenated: the forward pass keeps only
    its inputs, the backward pass recomputes one chunk at a time with autograd, the gradients
    with respect to X and Y accumulated in place (:func:`gradient_sink`)."""

    @staticmethod
    def forward(ctx, cost: Callable[..., torch.Tensor], size: int, args: tuple, kwargs: dict,
                X: torch.Tensor, Y: torch.Tensor | None, projections: torch.Tensor,
                ) -> torch.Tensor:
        ctx.cost, ctx.size, ctx.args, ctx.kwargs = cost, size, args, kwargs
        ctx.save_for_backward(X, Y, projections)
        return _each_chunk(cost, X, Y, projections, args, kwargs, size)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        saved = ctx.saved_tensors
        leaves = [None if t is None else t.detach().requires_grad_(needed)
                  for t, needed in zip(saved, ctx.needs_input_grad[4:], strict=True)]
        sinks = tuple([leaf, None] for leaf in leaves[:2]
                      if leaf is not None and leaf.requires_grad)
        token = _SINKS.set(sinks)
        try:
            for lo in range(0, leaves[2].shape[1], ctx.size):
                with torch.enable_grad():
                    values = ctx.cost(leaves[0], leaves[1], leaves[2][:, lo:lo + ctx.size],
                                      *ctx.args, **ctx.kwargs)
                if values.requires_grad:
                    values.backward(grad[lo:lo + ctx.size])
        finally:
            _SINKS.reset(token)
        grads = {id(leaf): sink for leaf, sink in sinks}
        out = []
        for leaf in leaves:
            if leaf is None or not leaf.requires_grad:
                out.append(None)
                continue
            total = grads.get(id(leaf))
            if leaf.grad is not None:  # a route outside the sink
                total = leaf.grad if total is None else total.add_(leaf.grad)
            out.append(total)
        return (None, None, None, None, *out)


def chunked(cost: Callable[..., torch.Tensor], X: torch.Tensor, Y: torch.Tensor | None,
            projections: torch.Tensor, args: tuple, kwargs: dict, size: int) -> torch.Tensor:
    """``cost`` on column chunks of ``size`` of ``projections``, concatenated; with autograd
    each chunk is recomputed in backward (:class:`_Chunks`; under
    :func:`torch.utils.checkpoint.checkpoint` when a tensor among ``args`` or ``kwargs``, such
    as a weight vector, needs a gradient too)."""
    if size >= projections.shape[1]:
        return cost(X, Y, projections, *args, **kwargs)
    inputs = [t for t in (X, Y, projections) if t is not None]
    others = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor)]
    if not torch.is_grad_enabled() or not any(t.requires_grad for t in inputs + others):
        return _each_chunk(cost, X, Y, projections, args, kwargs, size)
    if not any(t.requires_grad for t in others):
        return _Chunks.apply(cost, size, args, kwargs, X, Y, projections)

    def checkpointed(X, Y, chunk, *args, **kwargs):
        return checkpoint(cost, X, Y, chunk, *args, use_reentrant=False,
                          preserve_rng_state=False, **kwargs)

    return _each_chunk(checkpointed, X, Y, projections, args, kwargs, size)


def per_slice_level(cost: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """``cost(X, Y, projections, *args, **kwargs) -> (L,)`` (per-slice costs, column by
    column of the (d, L) directions, differentiable in X, Y and the directions) run under the
    options of the call in progress (:func:`current`): in chunks of columns that fit
    ``max_memory``, and with a ``group``, each rank on its share of the columns and the shares
    all-gathered. Values are those of ``cost`` on all the columns up to the matrix product's
    rounding (a block of columns may be summed over d in another order by BLAS: last-bit
    differences); the ranks' gathered vectors are identical."""

    @functools.wraps(cost)
    def run(X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor,
            *args: object, **kwargs: object) -> torch.Tensor:
        L = projections.shape[1]
        size = current_chunk_size(L, X.shape[0] + Y.shape[0], X)
        mine = share(L)
        if mine is None:  # no group, or fewer directions than ranks: all of them here
            return chunked(cost, X, Y, projections, args, kwargs, size)
        differentiable = [t for t in (X, Y, projections) if t.requires_grad]
        if differentiable and torch.is_grad_enabled():
            copied = iter(_CopyToGroup.apply(mine.group, *differentiable))
            X, Y, projections = (next(copied) if t.requires_grad else t
                                 for t in (X, Y, projections))
        local = chunked(cost, X, Y, projections[:, mine.lo:mine.hi], args, kwargs, size)
        return mine.gather(local)

    return run


# --- the public entry: validation, agreement across ranks -------------------------------


def _int_print(t: torch.Tensor) -> tuple[int, int]:
    """Two exact, order-free sums of the bits of ``t`` (as integers, wrapping modulo 2^64):
    their plain sum and their sum weighted by position. Equal tensors give equal sums on any
    machine; the sums of different ones collide only by accident. Computed in blocks, so no
    copy of ``t`` is made."""
    flat = t.detach().reshape(-1)
    if flat.dtype.is_complex:
        flat = torch.view_as_real(flat).reshape(-1)
    if flat.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    as_int = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[flat.element_size()]
    total = weighted = torch.zeros((), dtype=torch.int64, device=flat.device)
    block = 1 << 22
    for start in range(0, flat.numel(), block):
        ints = flat[start:start + block].view(as_int).to(torch.int64)
        total = total + ints.sum()
        position = torch.arange(start + 1, start + 1 + ints.numel(), device=flat.device)
        weighted = weighted + (ints * position).sum()
    return int(total), int(weighted)


def _argument_print(value: object) -> list[int]:
    """Four integers that identify an argument: for arrays their shape and bits
    (:func:`_int_print`), for a generator its state, for other values their ``repr``."""
    if isinstance(value, list | tuple):
        try:
            value = np.asarray(value)
        except ValueError:  # ragged: compared through its repr
            pass
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        value = torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, torch.Tensor):
        shape = zlib.crc32(repr(tuple(value.shape)).encode())
        return [1, shape, *_int_print(value)]
    if isinstance(value, torch.Generator):
        return [2, 0, *_int_print(value.get_state())]
    return [3, zlib.crc32(repr(value).encode()), 0, 0]


_MASK = (1 << 63) - 1


def _fold(prints: list[list[int]]) -> list[int]:
    """The argument prints combined into one of four integers (fitting an int64)."""
    out = [0, 0, 0, 0]
    for i, p in enumerate(prints):
        out = [(o * 1_000_003 + (i + 1) * v) & _MASK for o, v in zip(out, p, strict=True)]
    return out


def _collective_device(group: dist.ProcessGroup, like: object) -> torch.device:
    """Where the group's collectives take their tensors: ``like``'s device for a tensor on an
    accelerator (NCCL needs CUDA tensors), the CPU otherwise."""
    if isinstance(like, torch.Tensor) and like.device.type != "cpu":
        return like.device
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _agree(group: dist.ProcessGroup, X: object, Y: object, kwargs: dict) -> None:
    """Raise a ``ValueError`` on every rank unless ``X``, ``Y`` and the other arguments are the
    same on every rank of ``group`` (compared through their prints, one all-gather)."""
    others = [_argument_print(kwargs[name]) for name in sorted(kwargs)]
    mine = [value & _MASK for value in
            [*_argument_print(X), *_argument_print(Y), *_fold(others)]]
    device = _collective_device(group, X)
    local = torch.tensor(mine, dtype=torch.int64, device=device)
    everyone = [torch.empty_like(local) for _ in range(dist.get_world_size(group))]
    dist.all_gather(everyone, local, group=group)
    table = torch.stack(everyone).cpu()
    for label, cols in (("X", slice(0, 4)), ("Y", slice(4, 8)),
                        (f"the other arguments ({', '.join(sorted(kwargs))})", slice(8, 12))):
        differ = [r for r in range(table.shape[0]) if not torch.equal(table[r, cols],
                                                                       table[0, cols])]
        if differ:
            raise ValueError(f"{label} must be the same on every rank of group (each rank "
                             f"evaluates a share of the slices of the same problem), but "
                             f"rank(s) {differ} of the group hold different ones than rank 0")


def _shared_seed(group: dist.ProcessGroup, like: object) -> int:
    """A seed drawn from torch's global generator as ``seed=None`` draws it, the group's first
    rank's sent to every rank, so that all ranks draw the same directions."""
    seed = torch.randint(0, 2**62, (1,))
    seed = seed.to(_collective_device(group, like))
    dist.broadcast(seed, src=dist.get_global_rank(group, 0), group=group)
    return int(seed.item())


_KEYWORDS = (
    inspect.Parameter("max_memory", inspect.Parameter.KEYWORD_ONLY, default=None,
                      annotation="int | None"),
    inspect.Parameter("group", inspect.Parameter.KEYWORD_ONLY, default=None,
                      annotation="torch.distributed.ProcessGroup | None"),
)


def distributable(fn: Callable) -> Callable:
    """Give the discrepancy ``fn(X, Y, **kwargs)`` the keywords ``max_memory`` and ``group``.

    The wrapped function validates them (``ValueError`` / ``TypeError`` naming them), and with
    a group: draws ``seed=None``'s seed once for all ranks, checks that every rank holds the
    same X, Y and other arguments, then calls ``fn`` with the options in force
    (:func:`current`), which every per-slice cost computed through :func:`per_slice_level`
    honours. With both at None, ``fn`` runs as it is except for chunking where the full block
    of projections would exceed the default budget (:func:`default_max_memory`). The
    signature seen by ``inspect`` is ``fn``'s with the two keywords added (before any private
    one)."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    cut = next((i for i, p in enumerate(params) if p.name.startswith("_")), len(params))
    params[cut:cut] = _KEYWORDS

    @functools.wraps(fn)
    def wrapper(X: object, Y: object, *, max_memory: int | None = None,
                group: dist.ProcessGroup | None = None, **kwargs: object) -> object:
        options = Execution(check_max_memory(max_memory), check_group(group))
        if options.group is not None:
            if "seed" in signature.parameters and kwargs.get("seed") is None:
                kwargs["seed"] = _shared_seed(options.group, X)
            _agree(options.group, X, Y, kwargs)
        with executing(options):
            return fn(X, Y, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)
    return wrapper
