r"""Array primitives of the per-slice costs: one CPU backend, one pure-torch fallback.

Every speed detour of the package lives here, behind plain functions whose meaning does not
depend on the backend; the maths (:mod:`discrepancies._slices`, :mod:`discrepancies.spherical`)
only calls them. On a CPU tensor of float32 or float64 the functions go through NumPy:

- rows sorted by NumPy (x86-simd-sort in NumPy >= 2), and a sort *with* the permutation done
  as one sort of 64-bit keys that carry the column index in their lowest bits
  (:func:`sort_with_index`), instead of an argsort and a gather;
- row means of products as a stack of BLAS dot products (:func:`row_mean_product`), accurate
  in float32 at large n;
- work buffers from NumPy's allocator (:func:`empty_rows`), which asks for transparent huge
  pages for large ones, so that a fresh (L, n) buffer costs a few page faults instead of one
  per 4 KiB page, and buffers reused across the evaluations of a loop (:class:`Workspace`).

Anywhere else (another device, another dtype), or inside :func:`_torch_only`, the same
functions run in plain torch (``torch.sort``, ``torch.linalg.vecdot``,
``torch.empty``). The choice is made in one place, :func:`numpy_backend`. The tests run both
paths on the CPU through :func:`_torch_only`, which is also how a GPU's path is exercised on a
machine without one.

None of these functions records an autograd graph: they take and return detached tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["Workspace", "empty_rows", "flip_rows", "numpy_backend",
           "row_mean_product", "scatter_rows", "scratch", "sort_values", "sort_with_index",
           "sorted_product"]

_NUMPY_FLOATS = (torch.float32, torch.float64)
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64}
_PACKED_MAX_N = 1 << 28  # float32 rows: the index must fit the 28 low bits of a float64 key
_use_numpy = True  # False inside _torch_only()


@contextmanager
def _torch_only() -> Iterator[None]:
    """Within this block every function of this module takes its pure-torch path, as on a GPU
    (for the tests, and for comparing the two backends). Not thread-safe: it sets a module
    flag for the whole process."""
    global _use_numpy
    saved, _use_numpy = _use_numpy, False
    try:
        yield
    finally:
        _use_numpy = saved


def numpy_backend(t: torch.Tensor) -> bool:
    """Whether the functions of this module run ``t`` through NumPy: a CPU float32 or float64
    tensor, outside :func:`_torch_only`."""
    return _use_numpy and t.device.type == "cpu" and t.dtype in _NUMPY_FLOATS


def empty_rows(like: torch.Tensor, shape: tuple[int, ...] | None = None,
               dtype: torch.dtype | None = None) -> torch.Tensor:
    """An uninitialised buffer on ``like``'s device, of ``like``'s shape and dtype unless
    given; from NumPy's allocator on the NumPy backend."""
    shape = tuple(like.shape) if shape is None else tuple(shape)
    dtype = like.dtype if dtype is None else dtype
    if numpy_backend(like) and dtype in _NUMPY_DTYPES:
        return torch.from_numpy(np.empty(shape, dtype=_NUMPY_DTYPES[dtype]))
    return torch.empty(shape, dtype=dtype, device=like.device)


class Workspace:
    """Named work buffers reused from call to call, for a loop that evaluates the same sizes
    again and again (the spherical family's ascent): a fresh (L, n) buffer costs a page fault
    per 4 KiB page when it is first written, more than a pass of arithmetic over it, and only
    buffers of 4 MiB or more get NumPy's huge pages.

    A buffer handed out by :meth:`take` holds its contents until the next :meth:`take` of the
    same name. :meth:`new_round` starts a round of use (an evaluation) and returns its number:
    a result that keeps pointing into the buffers (a pullback) records it and checks that
    :attr:`round` has not moved on before it reads them.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}
        self.round = 0

    def new_round(self) -> int:
        self.round += 1
        return self.round

    def take(self, name: str, like: torch.Tensor, shape: tuple[int, ...] | None = None,
             dtype: torch.dtype | None = None) -> torch.Tensor:
        """An uninitialised buffer as :func:`empty_rows` gives, the same one as the previous
        call of this name when shape, dtype and device agree."""
        shape = tuple(like.shape) if shape is None else tuple(shape)
        dtype = like.dtype if dtype is None else dtype
        buf = self._buffers.get(name)
        if (buf is None or tuple(buf.shape) != shape or buf.dtype != dtype
                or buf.device != like.device):
            buf = self._buffers[name] = empty_rows(like, shape, dtype)
        return buf


def scratch(workspace: Workspace | None, name: str, like: torch.Tensor,
            shape: tuple[int, ...] | None = None, dtype: torch.dtype | None = None,
            ) -> torch.Tensor:
    """``workspace.take(name, ...)``, or a fresh :func:`empty_rows` buffer without one."""
    if workspace is None:
        return empty_rows(like, shape, dtype)
    return workspace.take(name, like, shape, dtype)


def sort_values(U: torch.Tensor) -> torch.Tensor:
    """Each row of ``U`` (L, n) in increasing order (a new tensor, no permutation)."""
    if numpy_backend(U):
        return torch.from_numpy(np.sort(U.detach().numpy(), axis=1))
    return torch.sort(U.detach(), dim=1).values


def sorted_product(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """The rows of ``A @ B`` each in increasing order; on the NumPy backend the product and
    an in-place sort of it, without a copy."""
    if numpy_backend(A):
        U = A.detach().numpy() @ B.detach().numpy()
        U.sort(axis=1)
        return torch.from_numpy(U)
    return torch.sort(A.detach() @ B.detach(), dim=1).values


def sort_with_index(U: torch.Tensor, key: torch.Tensor | None = None,
                    values: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of ``U`` (L, n) sorted, and the sorting permutation (int64): ``values[l] =
    U[l, index[l]]``. Exact on both backends: on NumPy's, float64 rows whose packed keys
    (:func:`_sort_rows_packed`) leave near-ties out of order are sorted again by argsort.
    ``key`` (int64) and ``values`` (U's dtype), of U's shape, are used as buffers if given."""
    U = U.detach()
    if not numpy_backend(U):
        values, index = torch.sort(U, dim=1)
        return values, index
    if U.shape[1] > _PACKED_MAX_N:
        index = torch.from_numpy(np.argsort(U.numpy(), axis=1))
        return torch.gather(U, 1, index), index
    values, index = _sort_rows_packed(U, None if key is None else key.numpy(),
                                      None if values is None else values.numpy())
    if U.dtype == torch.float64:
        # the keys lose the lowest log2(n) bits: values that close may be out of order
        sorted_values = values.numpy()
        rows = np.flatnonzero((sorted_values[:, 1:] < sorted_values[:, :-1]).any(axis=1))
        if rows.size:  # in NumPy: torch's indexing would fan out to threads for a few rows
            unsorted = U.numpy()[rows]
            redo = np.argsort(unsorted, axis=1)
            index.numpy()[rows] = redo
            sorted_values[rows] = np.take_along_axis(unsorted, redo, axis=1)
    return values, index


def _subnormals_read_as_zero() -> bool:
    """Whether this thread's floating-point unit treats subnormal operands as zero (x86's DAZ
    flag, set by ``torch.set_flush_denormal(True)``)."""
    return bool(np.float64(5e-324) == 0)


def _sort_rows_packed(U: torch.Tensor, key: np.ndarray | None = None,
                      values: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of a CPU float tensor U (L, n) sorted, and the sorting permutation, by one
    NumPy sort of 64-bit keys that carry the column index in their lowest bits.

    float32: the key is the value cast to float64, which is exact and leaves the 29 lowest
    mantissa bits zero; the index (n <= 2^28) goes there. It stays below half a float32 ulp, so
    the sorted keys cast back to float32 are the sorted values themselves, and the order is the
    order of the values (equal values in some order of their indices). Infinite values (an
    index in an infinity's mantissa makes a NaN, which sorts last) fall back to the integer
    keys below, and so does every call while the CPU reads subnormal numbers as zero (after
    ``torch.set_flush_denormal(True)``): the keys of zeros are subnormal, and the sort would
    lose their index.

    float64, and float32 with infinities: each value becomes an order-preserving signed
    integer key (its bits, the magnitude bits flipped for negatives). In float64 its lowest
    ceil(log2 n) bits are given to the index, so values equal to within 2^-(52 - log2 n)
    relative may come out in index order (:func:`sort_with_index` checks and repairs the
    rows where that happened); the values are gathered.

    ``key`` (int64) and ``values`` (U's dtype), arrays of U's shape, are used if given.
    Returns ``(sorted values, permutation)``, both sharing memory with those buffers.
    """
    A = U.numpy()
    n = A.shape[1]
    if key is None:
        key = np.empty(A.shape, dtype=np.int64)
    if values is None:
        values = np.empty_like(A)
    if A.dtype == np.float32 and n <= _PACKED_MAX_N and not _subnormals_read_as_zero():
        wide = key.view(np.float64)
        wide[...] = A
        key |= np.arange(n, dtype=np.int64)
        wide.sort(axis=1)
        if not np.isnan(wide[:, -1]).any():
            values[...] = wide
            key &= _PACKED_MAX_N - 1
            return torch.from_numpy(values), torch.from_numpy(key)
    if A.dtype == np.float32:
        bits = A.view(np.int32)
        k32 = bits >> 31
        k32 &= 0x7FFFFFFF
        k32 ^= bits
        key[...] = k32
        key <<= 32
        index_bits = 0xFFFFFFFF
    else:
        bits = A.view(np.int64)
        np.right_shift(bits, 63, out=key)
        key &= 0x7FFFFFFFFFFFFFFF
        key ^= bits
        index_bits = (1 << max(1, (n - 1).bit_length())) - 1
        key &= ~index_bits
    key |= np.arange(n, dtype=np.int64)
    key.sort(axis=1)
    key &= index_bits
    index = torch.from_numpy(key)
    return torch.gather(U, 1, index, out=torch.from_numpy(values)), index


def scatter_rows(index: torch.Tensor, src: torch.Tensor,
                 out: torch.Tensor | None = None) -> torch.Tensor:
    """``out[l, index[l, i]] = src[l, i]``: rows of ``src`` put back in the order that
    ``index`` sorted them from (into a fresh buffer unless ``out`` is given)."""
    out = empty_rows(src) if out is None else out
    return out.scatter_(1, index, src)


def row_mean_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Means over the last axis of ``a * b`` for two tensors of the same shape (..., n), shape
    (...), without a temporary of the inputs' size. On the NumPy backend a stack of row-by-row
    BLAS dot products: in float32 at n = 2 10^5 they stay within 1e-6 relative of the float64
    value, where a plain float32 loop does not."""
    if not numpy_backend(a):
        return torch.linalg.vecdot(a, b, dim=-1) / a.shape[-1]
    A, B = a.detach().numpy(), b.detach().numpy()
    return torch.from_numpy(
        np.matmul(A[..., None, :], B[..., :, None]).reshape(A.shape[:-1]) / A.shape[-1])


def flip_rows(vs: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Each row of ``vs`` reversed, written into ``out`` (a fresh buffer unless given)."""
    out = empty_rows(vs) if out is None else out
    if numpy_backend(vs):
        np.copyto(out.numpy(), vs.detach().numpy()[:, ::-1])
        return out
    return out.copy_(vs.flip(1))


def quantile_wp(X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor,
                       a: torch.Tensor | None, b: torch.Tensor | None, p: float) -> torch.Tensor:
    """W_p^p per slice between weighted or unequal-size clouds, as
    :func:`discrepancies._slices._quantile_wp` computes it, without autograd, in NumPy, and
    without a search.

    After one sort of the merged cumulative weights, an interval of positive length ends at
    an entry q whose predecessors are all strictly below it, so the number of them that come
    from u (from v) is the index ``searchsorted(cu, q)`` (``searchsorted(cv, q)``) of the
    left-continuous inverse. Entries equal to their predecessor end intervals of length zero,
    whatever index they get. Same values as :func:`_quantile_wp`, ties and zero weights
    included.
    """
    P = projections.detach().numpy()
    U = torch.from_numpy(P.T @ X.detach().numpy().T)
    V = torch.from_numpy(P.T @ Y.detach().numpy().T)
    L, n, m = U.shape[0], U.shape[1], V.shape[1]
    dtype = U.numpy().dtype
    a = np.full(n, 1.0 / n, dtype) if a is None else a.detach().numpy()
    b = np.full(m, 1.0 / m, dtype) if b is None else b.detach().numpy()
    (us, iu), (vs, iv) = sort_with_index(U), sort_with_index(V)
    cumulative = np.concatenate((np.cumsum(a[iu.numpy()], axis=1),
                                 np.cumsum(b[iv.numpy()], axis=1)), axis=1)
    qs, order = (t.numpy() for t in sort_with_index(torch.from_numpy(cumulative)))
    from_u = order < n
    index_u = np.cumsum(from_u, axis=1)
    index_u -= from_u
    index_v = np.arange(n + m) - index_u
    np.minimum(index_u, n - 1, out=index_u)
    np.minimum(index_v, m - 1, out=index_v)
    gap = np.take_along_axis(us.numpy(), index_u, axis=1)
    gap -= np.take_along_axis(vs.numpy(), index_v, axis=1)
    np.abs(gap, out=gap)
    if p != 1:
        np.power(gap, p, out=gap)
    gap *= np.diff(qs, axis=1, prepend=np.zeros((L, 1), dtype))
    return torch.from_numpy(gap.sum(axis=1))
