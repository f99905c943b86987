r"""Per-slice costs: the 1-D problems every sliced discrepancy averages or maximises.

For directions :math:`\theta_1, \dots, \theta_L` (the columns of ``projections``, shape (d, L))
the point clouds are projected once, :math:`U = \Theta^\top X^\top` of shape (L, n), and each
row is sorted once. Both functions are differentiable with respect to ``X``, ``Y`` *and*
``projections`` (the spherical family differentiates through the directions), and never build
an (n, n) or (n, n, L) tensor: time O(L n log n), memory O(L (n + m)).

On CPU, float32/float64 rows are sorted with NumPy (AVX-512 x86-simd-sort in NumPy >= 2, an
order of magnitude faster than ``torch.sort`` for float64). When a gradient is needed the
sorting permutation is kept and the gradient scattered back through it (:class:`_SortRows`).
Values and permutation come from one sort of 64-bit keys that carry the column index
(:func:`_sort_rows_packed`, about twice as fast as NumPy's ``argsort`` and a gather here).
Without a gradient the projection itself also runs in NumPy (its BLAS is faster here) and the
buffers are reused in place. (L, n) work buffers come from NumPy's allocator
(:func:`_empty_rows`): page faults on fresh torch buffers cost more than the arithmetic.
"""

from __future__ import annotations

import numpy as np
import torch

from ._inputs import pth_root

__all__ = ["fg_per_slice", "power_mean", "project", "sort_rows", "wp_per_slice",
           "wp_roots_per_slice"]

_NUMPY_SORTED = (torch.float32, torch.float64)
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64}
_BLOCK_ELEMENTS = 1 << 17  # rows of a block that stays in cache (512 KiB of float32)
_PACKED_MAX_N = 1 << 28  # float32 rows: the index must fit the 28 low bits of a float64 key


def project(X: torch.Tensor, projections: torch.Tensor) -> torch.Tensor:
    """Projections :math:`u_{l i} = \\theta_l^\\top x_i`, shape (L, n), rows contiguous."""
    return projections.T @ X.T


def _sort_with_index(U: torch.Tensor, key: np.ndarray | None = None,
                     values: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of ``U`` (L, n) sorted, and the sorting permutation (int64), without autograd.
    On CPU by :func:`_sort_rows_packed` (one sort for both, about twice as fast as NumPy's
    argsort and a gather; float64 rows that its keys leave out of order are sorted again by
    argsort, so the result is exact; ``key`` and ``values`` are its buffers), elsewhere by
    ``torch.sort``."""
    U = U.detach()
    if not _numpy_sortable(U):
        values, index = torch.sort(U, dim=1)
        return values, index
    if U.shape[1] > _PACKED_MAX_N:
        index = torch.from_numpy(np.argsort(U.numpy(), axis=1))
        return torch.gather(U, 1, index), index
    values, index = _sort_rows_packed(U, key, values)
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
    NumPy sort of 64-bit keys that carry the column index in their lowest bits (vectorised,
    about twice as fast as NumPy's argsort, which would then need a gather for the values).

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
    relative may come out in index order (:func:`_sort_with_index` checks and repairs the
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


def sort_rows(U: torch.Tensor) -> torch.Tensor:
    """Each row of ``U`` (L, n) in increasing order; differentiable (the gradient is put back
    in the points' order through the sorting permutation)."""
    if _needs_grad(U):
        return _SortRows.apply(U)
    if _numpy_sortable(U):
        return torch.from_numpy(np.sort(U.detach().numpy(), axis=1))
    return torch.sort(U, dim=1).values


class _SortRows(torch.autograd.Function):
    """:func:`sort_rows` with a gradient: the forward pass keeps only the permutation (no
    gather of the values, which the sort already gives), the backward pass is one scatter into
    a fresh buffer (no zero fill and accumulation, as the gather's backward would do)."""

    @staticmethod
    def forward(ctx, U: torch.Tensor) -> torch.Tensor:
        values, index = _sort_with_index(U)
        ctx.save_for_backward(index)
        return values

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (index,) = ctx.saved_tensors
        return _empty_rows(grad).scatter_(1, index, grad)


def _needs_grad(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _numpy_sortable(U: torch.Tensor) -> bool:
    return U.device.type == "cpu" and U.dtype in _NUMPY_SORTED


def _sorted_projections_numpy(X: torch.Tensor, projections: torch.Tensor) -> np.ndarray:
    """Sorted rows of the projections (L, n), without autograd, entirely in NumPy: its BLAS
    computes this product about twice as fast as torch's on the reference CPU, and the sort
    runs in place on the fresh product."""
    U = projections.detach().numpy().T @ X.detach().numpy().T
    U.sort(axis=1)
    return U


def _sorted_wp_numpy(X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor,
                     p: float) -> torch.Tensor:
    """Equal-size W_p^p per row without autograd, in place on the two (L, n) buffers:
    allocating more of them costs more than the arithmetic at this size."""
    u = _sorted_projections_numpy(X, projections)
    v = _sorted_projections_numpy(Y, projections)
    np.subtract(u, v, out=u)
    if p == 2:
        difference = torch.from_numpy(u)
        return _row_mean_product(difference, difference)
    np.abs(u, out=u)
    if p != 1:
        np.power(u, p, out=u)
    return torch.from_numpy(u.mean(axis=1, dtype=u.dtype))


def _abs_pow(x: torch.Tensor, p: float) -> torch.Tensor:
    """:math:`|x|^p`, with the exact square and absolute value for p = 2 and p = 1."""
    if p == 2:
        return x * x
    if p == 1:
        return x.abs()
    return x.abs().pow(p)


def _quantile_gaps(U: torch.Tensor, V: torch.Tensor, a: torch.Tensor | None,
                   b: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The quantile functions of weighted 1-D measures on the merged intervals, per row.

    Returns ``(gaps, lengths)``, both (L, n + m): :math:`F_u^{-1}(q) - F_v^{-1}(q)` on each
    interval between consecutive values of the merged cumulative weights, where both are
    constant, and the interval's length. Same construction as POT's ``ot.wasserstein_1d``
    (left-continuous inverse via ``searchsorted``).
    """
    n = U.shape[1]
    m = V.shape[1]
    if a is None:
        a = torch.full((n,), 1.0 / n, dtype=U.dtype, device=U.device)
    if b is None:
        b = torch.full((m,), 1.0 / m, dtype=V.dtype, device=V.device)
    (_, iu), (_, iv) = _sort_with_index(U), _sort_with_index(V)
    us, vs = U.gather(1, iu), V.gather(1, iv)
    cu, cv = torch.cumsum(a[iu], dim=1), torch.cumsum(b[iv], dim=1)
    qs = torch.sort(torch.cat((cu, cv), dim=1), dim=1).values
    uq = us.gather(1, torch.searchsorted(cu, qs).clamp_(0, n - 1))
    vq = vs.gather(1, torch.searchsorted(cv, qs).clamp_(0, m - 1))
    return uq - vq, torch.diff(qs, dim=1, prepend=torch.zeros_like(qs[:, :1]))


def _quantile_wp(U: torch.Tensor, V: torch.Tensor, a: torch.Tensor | None,
                 b: torch.Tensor | None, p: float) -> torch.Tensor:
    """W_p^p per row between weighted 1-D measures, through their quantile functions:
    :math:`\\int_0^1 |F_u^{-1}(q) - F_v^{-1}(q)|^p dq`, exact for discrete measures (the
    integrand is constant on each interval of :func:`_quantile_gaps`)."""
    gaps, lengths = _quantile_gaps(U, V, a, b)
    return (lengths * _abs_pow(gaps, p)).sum(dim=1)


def _quantile_wp_numpy(X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor,
                       a: torch.Tensor | None, b: torch.Tensor | None, p: float) -> torch.Tensor:
    """:func:`_quantile_wp` without autograd, in NumPy, and without a search: faster than it
    and than POT's ``wasserstein_1d`` on CPU (ratios in the README's POT section).

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
    (us, iu), (vs, iv) = _sort_with_index(U), _sort_with_index(V)
    cumulative = np.concatenate((np.cumsum(a[iu.numpy()], axis=1),
                                 np.cumsum(b[iv.numpy()], axis=1)), axis=1)
    qs, order = (t.numpy() for t in _sort_with_index(torch.from_numpy(cumulative)))
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


def wp_per_slice(X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor, p: float,
                 a: torch.Tensor | None = None, b: torch.Tensor | None = None) -> torch.Tensor:
    r"""The p-th power of the 1-D Wasserstein distance on each slice.

    .. math::
        W_p^p(\theta_l) = \int_0^1 |F^{-1}_{\theta_l \# \mu}(q) - F^{-1}_{\theta_l \# \nu}(q)|^p
        \, dq, \qquad \text{for } n = m \text{ uniform: }
        \frac1n \sum_i |u_{(i)} - v_{(i)}|^p .

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    Y : torch.Tensor, shape (m, d)
    projections : torch.Tensor, shape (d, L)
        Unit directions as columns (POT's layout); not re-checked here.
    p : float
        Order, >= 1.
    a, b : torch.Tensor, shapes (n,) and (m,), optional
        Weights (non-negative, summing to one); uniform when None.

    Returns
    -------
    torch.Tensor, shape (L,)
        :math:`W_p^p` per direction, differentiable in ``X``, ``Y`` and ``projections``.
        Inputs are assumed checked (see :mod:`discrepancies._inputs`).
    """
    if a is None and b is None and X.shape[0] == Y.shape[0]:
        if not _needs_grad(X, Y, projections) and _numpy_sortable(X):
            return _sorted_wp_numpy(X, Y, projections, p)
        U, V = project(X, projections), project(Y, projections)
        return _abs_pow(sort_rows(U) - sort_rows(V), p).mean(dim=1)
    weights = [w for w in (a, b) if w is not None]
    if not _needs_grad(X, Y, projections, *weights) and _numpy_sortable(X):
        return _quantile_wp_numpy(X, Y, projections, a, b, p)
    return _quantile_wp(project(X, projections), project(Y, projections), a, b, p)


def wp_roots_per_slice(X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor, p: float,
                       a: torch.Tensor | None = None, b: torch.Tensor | None = None,
                       ) -> torch.Tensor:
    r"""The 1-D Wasserstein distance :math:`W_p(\theta_l)` on each slice (the p-th root of
    :func:`wp_per_slice`), for any p without overflow or underflow of the p-th powers.

    Each slice's gaps are divided by the largest of them before the p-th power (those on
    intervals of zero length left out):

    .. math:: W_p(\theta) = M \Big(\int_0^1 \big(|F_u^{-1} - F_v^{-1}|/M\big)^p\Big)^{1/p},
              \qquad M = \max |F_u^{-1} - F_v^{-1}| ,

    so every power is at most 1 and the largest is 1. M is held fixed for autograd (the value
    does not depend on it). Used for data that :func:`discrepancies._inputs.range_rescaling`
    has rescaled: slower than :func:`wp_per_slice` (no NumPy fast path).

    Returns
    -------
    torch.Tensor, shape (L,)
        Differentiable in ``X``, ``Y`` and ``projections``.
    """
    U, V = project(X, projections), project(Y, projections)
    if a is None and b is None and X.shape[0] == Y.shape[0]:
        gaps, lengths = (sort_rows(U) - sort_rows(V)).abs(), None
    else:
        gaps, lengths = _quantile_gaps(U, V, a, b)
        gaps = torch.where(lengths > 0, gaps.abs(), torch.zeros_like(gaps))
    top = gaps.detach().amax(dim=1)
    powers = _abs_pow(gaps / torch.where(top > 0, top, 1.0).unsqueeze(1), p)
    inner = powers.mean(dim=1) if lengths is None else (lengths * powers).sum(dim=1)
    return top * pth_root(inner, p)


def power_mean(values: torch.Tensor, p: float) -> torch.Tensor:
    r""":math:`(\frac1L \sum_l v_l^p)^{1/p}` of non-negative values (SW from the per-slice
    W_p), the values divided by their largest before the p-th power, so that none
    overflows."""
    top = values.detach().max()
    return top * pth_root(_abs_pow(values / torch.where(top > 0, top, 1.0), p).mean(), p)


def _row_mean_product(a: torch.Tensor, b: torch.Tensor, reverse_b: bool = False,
                      ) -> torch.Tensor:
    """Row means of ``a * b`` (``b`` with each row reversed if ``reverse_b``) for two (L, n)
    tensors, without an (L, n) temporary and without autograd. On CPU a NumPy stack of
    row-by-row products (a BLAS dot each): two to three times faster than torch's ``vecdot``
    here, with the same accuracy (1.5e-7 relative in float32 at n = 5000, against 7e-7 for
    NumPy's ``einsum``)."""
    if not _numpy_sortable(a):
        return torch.linalg.vecdot(a, b.flip(1) if reverse_b else b, dim=1) / a.shape[1]
    A, B = a.detach().numpy(), b.detach().numpy()
    if not reverse_b:
        return torch.from_numpy(np.matmul(A[:, None, :], B[:, :, None]).reshape(-1) / A.shape[1])
    # NumPy hands reversed rows to a plain loop, not to BLAS: slower, and its float32 error
    # grows with n (2e-4 relative at n = 10^6). Reversed copies of a cache-sized block of
    # rows at a time go to BLAS instead.
    L, n = A.shape
    rows = max(1, min(L, _BLOCK_ELEMENTS // n))
    block = np.empty((rows, n), dtype=B.dtype)
    means = np.empty(L, dtype=A.dtype)
    for start in range(0, L, rows):
        stop = min(start + rows, L)
        reversed_rows = block[:stop - start]
        np.copyto(reversed_rows, B[start:stop, ::-1])
        means[start:stop] = np.matmul(A[start:stop, None, :],
                                      reversed_rows[:, :, None]).reshape(-1)
    return torch.from_numpy(means / n)


def _empty_rows(like: torch.Tensor, shape: tuple[int, ...] | None = None,
                dtype: torch.dtype | None = None) -> torch.Tensor:
    """An uninitialised work buffer on ``like``'s device, of ``like``'s shape and dtype unless
    given. On CPU it comes from NumPy, whose allocator asks for transparent huge pages: a fresh
    (L, n) buffer then costs a few page faults instead of one per 4 KiB page (at L n = 2.5 10^6
    in float32 about 3 ms, seven times the arithmetic of a pass over it)."""
    shape = tuple(like.shape) if shape is None else tuple(shape)
    dtype = like.dtype if dtype is None else dtype
    if like.device.type == "cpu" and dtype in _NUMPY_DTYPES:
        return torch.from_numpy(np.empty(shape, dtype=_NUMPY_DTYPES[dtype]))
    return torch.empty(shape, dtype=dtype, device=like.device)


def _flip_rows(vs: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Each row of ``vs`` reversed, written into ``out``."""
    if _numpy_sortable(vs):
        np.copyto(out.numpy(), vs.detach().numpy()[:, ::-1])
        return out
    return out.copy_(vs.flip(1))


def _fg_candidate(us: torch.Tensor, ws: torch.Tensor, beta: float, p: float,
                  s: torch.Tensor | None = None, t: torch.Tensor | None = None) -> torch.Tensor:
    r"""FG cost per row of the coupling u_i <-> w_i (w already permuted by sigma).

    The structure term uses
    :math:`(u_i-u_j)^2 - (w_i-w_j)^2 = (s_i - s_j)(t_i - t_j)` with :math:`s = u - w`,
    :math:`t = u + w`; for centred s, t (bars are row means),
    :math:`\frac1{n^2}\sum_{ij} (s_i-s_j)^2 (t_i-t_j)^2
    = 2\,\overline{s^2 t^2} + 2\,\overline{s^2}\,\overline{t^2} + 4\,\overline{s t}^2`:
    a sum of non-negative terms, so no cancellation and never an (n, n) tensor. s and t are
    computed in the (L, n) work buffers ``s`` and ``t`` when given (``ws`` may be ``t``
    itself), fresh ones otherwise; row means by :func:`_row_mean_product`.
    """
    s = torch.sub(us, ws, out=s)
    value = torch.zeros(us.shape[0], dtype=us.dtype, device=us.device)
    if beta < 1:
        transport = _row_mean_product(s, s) if p == 2 else _abs_pow(s, p).mean(dim=1)
        value = (1.0 - beta) * transport
    if beta > 0:
        t = torch.add(us, ws, out=t)
        s -= s.mean(dim=1, keepdim=True)
        t -= t.mean(dim=1, keepdim=True)
        s2, t2, st = _row_mean_product(s, s), _row_mean_product(t, t), _row_mean_product(s, t)
        s *= t
        structure = 2.0 * _row_mean_product(s, s) + 2.0 * s2 * t2 + 4.0 * st.square()
        value = value + beta * structure
    return value


def fg_per_slice(X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor, beta: float,
                 p: float) -> torch.Tensor:
    r"""The fused Gromov-Wasserstein cost FG_beta on each slice (n = m, uniform weights).

    With :math:`u = \theta^\top x`, :math:`v = \theta^\top y` both sorted and
    :math:`\sigma \in \{\mathrm{id}, \mathrm{anti\text{-}id}\}`:

    .. math::
        FG_\beta(\theta) = \min_\sigma\; (1-\beta)\frac1n\sum_i |u_i - v_{\sigma(i)}|^p
        + \beta \frac1{n^2}\sum_{i,j}\big((u_i-u_j)^2 - (v_{\sigma(i)}-v_{\sigma(j)})^2\big)^2 .

    One coupling serves both terms (as in the original RAE code); ``beta = 0`` gives
    :math:`W_p^p(\theta)`. The minimum over the two monotone couplings is an upper bound of
    the exact 1-D fused Gromov-Wasserstein problem (Beinert, Heiss & Steidl, 2022).

    Parameters
    ----------
    X, Y : torch.Tensor, shape (n, d)
    projections : torch.Tensor, shape (d, L)
    beta : float in [0, 1]
    p : float >= 1

    Returns
    -------
    torch.Tensor, shape (L,)
        Differentiable in ``X``, ``Y`` and ``projections``; time O(L n log n), memory O(L n).
    """
    if not _needs_grad(X, Y, projections) and _numpy_sortable(X):
        us = torch.from_numpy(_sorted_projections_numpy(X, projections))
        vs = torch.from_numpy(_sorted_projections_numpy(Y, projections))
    else:
        us = sort_rows(project(X, projections))
        vs = sort_rows(project(Y, projections))
    return _SortedFG.apply(us, vs, beta, p)


def _fg_identity_and_anti(us: torch.Tensor, vs: torch.Tensor, beta: float,
                          p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """FG per row for both monotone couplings, in two (L, n) work buffers."""
    s, t = _empty_rows(us), _empty_rows(us)
    identity = _fg_candidate(us, vs, beta, p, s, t)
    return identity, _fg_candidate(us, _flip_rows(vs, out=t), beta, p, s, t)


class _SortedFG(torch.autograd.Function):
    r"""FG_beta per row of sorted projections, with a closed-form backward.

    Saves only the two sorted (L, n) inputs and the chosen coupling (instead of the dozen
    (L, n) intermediates autograd would keep) and recomputes s and t in the backward pass. For
    the chosen coupling w, with s, t the centred u - w and u + w and bars row means:

    .. math::
        \partial_{s_i} = \tfrac{4\beta}{n}\big(s_i (t_i^2 + \overline{t^2})
        + 2\,\overline{st}\, t_i\big), \quad
        \partial_{t_i} = \tfrac{4\beta}{n}\big(t_i (s_i^2 + \overline{s^2})
        + 2\,\overline{st}\, s_i\big),

    so :math:`\partial_u = P(\partial_s + \partial_t)`, :math:`\partial_w = P(\partial_t
    - \partial_s)` with P the centring, plus the transport term
    :math:`\pm\frac{1-\beta}{n} p |u_i - w_i|^{p-1}\,\mathrm{sign}(u_i - w_i)`. Ties between
    the couplings take the identity (a valid one-sided gradient of the minimum).
    """

    @staticmethod
    def forward(ctx, us: torch.Tensor, vs: torch.Tensor, beta: float,
                p: float) -> torch.Tensor:
        identity, anti = _fg_identity_and_anti(us, vs, beta, p)
        use_anti = anti < identity
        ctx.save_for_backward(us, vs, use_anti)
        ctx.beta, ctx.p = beta, p
        return torch.where(use_anti, anti, identity)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        us, vs, use_anti = ctx.saved_tensors
        beta, p = ctx.beta, ctx.p
        n = us.shape[1]
        anti = torch.nonzero(use_anti).view(-1)
        w = vs
        if anti.numel():
            w = _empty_rows(vs).copy_(vs)
            w[anti] = vs[anti].flip(1)
        s = torch.sub(us, w, out=_empty_rows(us))
        g_u = _empty_rows(us)
        if p == 2:
            torch.mul(s, 2.0 * (1.0 - beta) / n, out=g_u)
        elif p == 1:
            torch.sign(s, out=g_u).mul_((1.0 - beta) / n)
        else:
            torch.abs(s, out=g_u).pow_(p - 1).mul_(s.sign()).mul_((1.0 - beta) * p / n)
        if beta > 0:
            s -= s.mean(dim=1, keepdim=True)
            t = torch.add(us, w, out=w if anti.numel() else _empty_rows(us))
            t -= t.mean(dim=1, keepdim=True)
            s2, t2 = _row_mean_product(s, s).unsqueeze(1), _row_mean_product(t, t).unsqueeze(1)
            two_st = 2.0 * _row_mean_product(s, t).unsqueeze(1)
            d_s = torch.mul(t, t, out=_empty_rows(us)).add_(t2).mul_(s).addcmul_(t, two_st)
            d_t = torch.mul(s, s, out=_empty_rows(us)).add_(s2).mul_(t).addcmul_(s, two_st)
            d_w = torch.sub(d_t, d_s, out=s)
            d_u = d_t.add_(d_s)
            scale = 4.0 * beta / n
            # g_w = -(transport part of g_u) + the structure part, before g_u gets its own
            g_w = d_w.sub_(d_w.mean(dim=1, keepdim=True)).mul_(scale).sub_(g_u)
            g_u.add_(d_u.sub_(d_u.mean(dim=1, keepdim=True)), alpha=scale)
        else:
            g_w = torch.neg(g_u, out=s)
        if anti.numel():  # back to the order of the sorted v
            g_w[anti] = g_w[anti].flip(1)
        rows = grad_out.unsqueeze(1)
        return g_u.mul_(rows), g_w.mul_(rows), None, None
