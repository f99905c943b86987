r"""Per-slice costs: the 1-D problems every sliced discrepancy averages or maximises.

For directions :math:`\theta_1, \dots, \theta_L` (the columns of ``projections``, shape (d, L))
the point clouds are projected once, :math:`U = \Theta^\top X^\top` of shape (L, n), and each
row is sorted once. Both functions are differentiable with respect to ``X``, ``Y`` *and*
``projections`` (the ascents differentiate through the directions), and never build an (n, n)
or (n, n, L) tensor: time O(L n log n), memory O(L (n + m)).

The fused cost has one kernel, :func:`fg_sorted` (values on sorted projections) and
:func:`fg_sorted_grad` (its gradient, in closed form), reached through :func:`fg_pullback`
(sorting permutations and the vector-Jacobian product): :func:`fg_per_slice` wraps that in
one autograd node, and the spherical family's ascent calls it directly. Sorting, row means
of products and work buffers go through :mod:`discrepancies._kernels`, which chooses between
NumPy on the CPU and plain torch; matrix products are torch's (one thread pool per call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from . import _kernels as K
from ._execution import gradient_sink, per_slice_level
from ._inputs import pth_root

__all__ = ["SortedFG", "fg_per_slice", "fg_pullback", "fg_sorted", "fg_sorted_grad", "power_mean",
           "project", "sort_rows", "wp_per_slice", "wp_roots_per_slice"]


def project(X: torch.Tensor, projections: torch.Tensor) -> torch.Tensor:
    """Projections :math:`u_{l i} = \\theta_l^\\top x_i`, shape (L, n), rows contiguous.
    In the backward pass of a chunked call the gradient with respect to ``X`` is added into
    the call's buffer (:func:`discrepancies._execution.gradient_sink`) in place."""
    sink = gradient_sink(X)
    if sink is not None:
        return _ProjectInto.apply(X, projections, sink)
    return projections.T @ X.T


class _ProjectInto(torch.autograd.Function):
    """:func:`project` whose backward pass adds :math:`G^\\top \\Theta^\\top` into ``sink``
    (one ``addmm``) instead of returning an (n, d) gradient for ``X``."""

    @staticmethod
    def forward(ctx, X: torch.Tensor, projections: torch.Tensor, sink: torch.Tensor,
                ) -> torch.Tensor:
        ctx.save_for_backward(X, projections)
        ctx.sink = sink
        return projections.T @ X.T

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        X, projections = ctx.saved_tensors
        ctx.sink.addmm_(grad.T, projections.T)
        return None, (grad @ X).T if ctx.needs_input_grad[1] else None, None


def sort_rows(U: torch.Tensor) -> torch.Tensor:
    """Each row of ``U`` (L, n) in increasing order; differentiable (the gradient is put back
    in the points' order through the sorting permutation)."""
    if _needs_grad(U):
        return _SortRows.apply(U)
    return K.sort_values(U)


class _SortRows(torch.autograd.Function):
    """:func:`sort_rows` with a gradient: the forward pass keeps only the permutation, the
    backward pass is one scatter into a fresh buffer (no zero fill and accumulation, as the
    backward of a gather would do)."""

    @staticmethod
    def forward(ctx, U: torch.Tensor) -> torch.Tensor:
        values, index = K.sort_with_index(U)
        ctx.save_for_backward(index)
        return values

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (index,) = ctx.saved_tensors
        return K.scatter_rows(index, grad)


def _needs_grad(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


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
    (_, iu), (_, iv) = K.sort_with_index(U), K.sort_with_index(V)
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


@per_slice_level
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
        if not _needs_grad(X, Y, projections):
            difference = K.sorted_product(projections.T, X.T)
            difference -= K.sorted_product(projections.T, Y.T)
            if p == 2:
                return K.row_mean_product(difference, difference)
            difference.abs_()
            return (difference if p == 1 else difference.pow_(p)).mean(dim=1)
        U, V = project(X, projections), project(Y, projections)
        return _abs_pow(sort_rows(U) - sort_rows(V), p).mean(dim=1)
    weights = [w for w in (a, b) if w is not None]
    if not _needs_grad(X, Y, projections, *weights) and K.numpy_backend(X):
        return K.quantile_wp(X, Y, projections, a, b, p)
    return _quantile_wp(project(X, projections), project(Y, projections), a, b, p)


@per_slice_level
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


class SortedFG(NamedTuple):
    """What :func:`fg_sorted` returns: the values, and what :func:`fg_sorted_grad` reuses."""

    values: torch.Tensor  # (L,)
    use_anti: torch.Tensor  # (L,) bool: the rows where the anti-identity coupling is kept
    moments: torch.Tensor  # (3, L): mean(a^2), mean(b^2), mean(s^2) of the kept coupling
    # s = a - w of both couplings, (2, L, n) (index 0 the identity w = b, 1 the anti-identity),
    # and s t = s (a + w) of each, (L, n) (None when beta = 0; the anti-identity's only where
    # it is used), for the gradient to reuse (it overwrites them); None where not kept
    couplings: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None] | None = None


def fg_sorted(a: torch.Tensor, b: torch.Tensor, delta: torch.Tensor, beta: float,
              p: float, workspace: K.Workspace | None = None,
              transport_weight: float | None = None) -> SortedFG:
    r"""FG_beta on each row of sorted, centred projections: the fused cost's one kernel.

    Row l holds :math:`a = \mathrm{sort}(\theta^\top(x_i - \bar x))` and
    :math:`b = \mathrm{sort}(\theta^\top(y_j - \bar y))`, each summing to zero, and
    :math:`\delta = \theta^\top(\bar x - \bar y)`, so that the projections themselves are
    :math:`a + \theta^\top\bar x` and :math:`b + \theta^\top\bar y`. For the coupling
    :math:`w = b` (identity) or :math:`w_i = b_{n-1-i}` (anti-identity), with
    :math:`s = a - w`, :math:`t = a + w` (both centred) and bars row means,

    .. math::
        FG = w_T\,\overline{|s + \delta|^p}
        + \beta\big(2\,\overline{s^2 t^2} + 2\,\overline{s^2}\,\overline{t^2}
        + 4\,\overline{s t}^2\big),

    with the transport weight :math:`w_T = 1 - \beta` unless ``transport_weight`` gives it
    (rescaled data, :func:`discrepancies._inputs.fused_rescaling`, where the two weights are
    not a convex pair and :math:`1 - \beta` would round one of them away),

    the second term being :math:`\frac1{n^2}\sum_{ij}(s_i - s_j)^2(t_i - t_j)^2
    = \frac1{n^2}\sum_{ij}((u_i - u_j)^2 - (w_i - w_j)^2)^2` expanded into moments: a sum of
    non-negative terms, O(n) per row, never an (n, n) tensor. It uses
    :math:`\overline{st} = \overline{a^2} - \overline{b^2}` and
    :math:`\overline{s^2} + \overline{t^2} = 2(\overline{a^2} + \overline{b^2})`, which do not
    depend on the coupling, and for p = 2 :math:`\overline{(s + \delta)^2} = \overline{s^2}
    + \delta^2`. The smaller coupling is kept (ties: the identity); the anti-identity's
    structure part is only computed when its transport part alone, a lower bound of its
    value, is below the identity's value on some row (elsewhere it cannot win).

    Parameters
    ----------
    a, b : torch.Tensor, shape (L, n)
        Rows sorted in increasing order, centred.
    delta : torch.Tensor, shape (L,)
    beta : float in [0, 1]
        The structure term's weight.
    p : float >= 1
    workspace : discrepancies._kernels.Workspace, optional
        Where the (2, L, n) work buffers come from (fresh ones without it).
    transport_weight : float >= 0, optional
        The transport term's weight :math:`w_T`; ``1 - beta`` when None.

    Returns
    -------
    SortedFG
        ``values`` (L,), ``use_anti`` (L,) the rows where the anti-identity coupling is the
        smaller one, and the row moments and couplings :func:`fg_sorted_grad` reuses.
    """
    L, n = a.shape
    ma2, mb2 = K.row_mean_product(a, a), K.row_mean_product(b, b)
    b_reversed = K.flip_rows(b, out=K.scratch(workspace, "b_reversed", b))
    s = K.scratch(workspace, "s", a, (2, L, n))
    torch.sub(a, b, out=s[0])
    torch.sub(a, b_reversed, out=s[1])
    es2 = K.row_mean_product(s, s)  # (2, L)
    w_t = 1 - beta if transport_weight is None else transport_weight
    if w_t > 0:
        transport = es2 + delta * delta if p == 2 else _abs_pow(s + delta.unsqueeze(1), p).mean(-1)
        values = w_t * transport
    else:
        values = torch.zeros_like(es2)
    st = st_anti = None
    if beta > 0:
        two_m2, est = 2 * (ma2 + mb2), ma2 - mb2
        est_term = 4 * est * est
        st = K.scratch(workspace, "st", a)
        values[0] += beta * _structure(a, b, s[0], es2[0], two_m2, est_term, st)
        # values[1], the anti-identity's transport part, is a lower bound of its value (the
        # structure part is non-negative, and adding it cannot round below): its structure
        # part is only needed on rows where that bound is below the identity's value
        if bool((values[1] < values[0]).any()):  # (s t written over b reversed, now unused)
            st_anti = b_reversed
            values[1] += beta * _structure(a, b_reversed, s[1], es2[1], two_m2, est_term,
                                           st_anti)
    use_anti = values[1] < values[0]
    return SortedFG(torch.where(use_anti, values[1], values[0]), use_anti,
                    torch.stack((ma2, mb2, torch.where(use_anti, es2[1], es2[0]))),
                    (s, st, st_anti))


def _structure(a: torch.Tensor, w: torch.Tensor, s: torch.Tensor, es2: torch.Tensor,
               two_m2: torch.Tensor, est_term: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The structure part of :func:`fg_sorted` per row for the coupling a <-> w (s = a - w),
    from the row means ``es2`` of s^2, ``two_m2`` of s^2 + t^2 and ``est_term`` = 4 (mean st)^2;
    s t is written into ``out`` (which may be ``w`` itself)."""
    st = torch.add(a, w, out=out).mul_(s)
    return 2 * (K.row_mean_product(st, st) + es2 * (two_m2 - es2)) + est_term


def fg_sorted_grad(a: torch.Tensor, b: torch.Tensor, delta: torch.Tensor, forward: SortedFG,
                   beta: float, p: float, weights: torch.Tensor,
                   transport_weight: float | None = None,
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The gradient of :math:`\sum_l c_l FG_l` (``weights`` c, shape (L,)) with respect to
    the inputs of :func:`fg_sorted`, in closed form, for the couplings it chose (``forward``,
    its result, whose ``couplings`` buffers this consumes when present).

    With the sorting permutations and the coupling fixed, :func:`fg_sorted`'s formula is a
    polynomial (p = 2) in a, w and delta; its derivative is, row by row,

    .. math::
        n\,\partial_a = 8\beta\, a\, s t + \alpha_a a + \gamma w + \omega, \qquad
        n\,\partial_w = -8\beta\, w\, s t + \alpha_w w + \gamma a - \omega, \qquad
        \partial_\delta = \bar\omega,

    with :math:`\alpha_{a,w} = 4\beta(\overline{s^2} + \overline{t^2} \pm 4\,\overline{st})`,
    :math:`\gamma = 4\beta(\overline{s^2} - \overline{t^2})` and
    :math:`\omega = w_T\,p\,|s+\delta|^{p-1}\mathrm{sign}(s+\delta)` (for p = 2,
    :math:`\omega = 2 w_T(a - w + \delta)`, folded into :math:`\alpha` and
    :math:`\gamma`), :math:`w_T` the transport weight of :func:`fg_sorted`
    (``transport_weight``, ``1 - beta`` when None). It differs from the gradient of the fused
    cost of the uncentred projections by a constant on each row, which the centring of the
    points removes.

    Returns
    -------
    g_a, g_b : torch.Tensor, shape (L, n)
        In the sorted orders of ``a`` and ``b`` (the anti-identity rows flipped back).
    g_delta : torch.Tensor, shape (L,)
    """
    n = a.shape[1]
    anti = torch.nonzero(forward.use_anti).view(-1)
    w = b
    if anti.numel():
        w = K.empty_rows(b).copy_(b)
        w[anti] = b[anti].flip(1)
    if forward.couplings is None or forward.couplings[1] is None:
        s = torch.sub(a, w, out=K.empty_rows(a))
        st = torch.add(a, w, out=K.empty_rows(a)).mul_(s)
    else:  # the kept coupling of each row, in the identity's buffers
        (s, s_anti), st, st_anti = forward.couplings
        if anti.numel():
            s[anti], st[anti] = s_anti[anti], st_anti[anti]
    ma2, mb2, es2 = forward.moments
    est, et2 = ma2 - mb2, 2 * (ma2 + mb2) - es2
    alpha_a = 4 * beta * (es2 + et2 + 4 * est)
    alpha_w = 4 * beta * (es2 + et2 - 4 * est)
    gamma = 4 * beta * (es2 - et2)
    scale = weights / n
    w_t = 1 - beta if transport_weight is None else transport_weight
    if p == 2:
        alpha_a = alpha_a + 2 * w_t
        alpha_w = alpha_w + 2 * w_t
        gamma = gamma - 2 * w_t
        g_delta = 2 * w_t * delta * weights
    else:
        r = s.add_(delta.unsqueeze(1))  # s is not needed any more
        omega = torch.abs(r, out=K.empty_rows(r)).pow_(p - 1).mul_(r.sign()).mul_(w_t * p)
        g_delta = omega.mean(dim=1) * weights
        omega *= scale.unsqueeze(1)
    eight_beta = (8 * beta) * scale.unsqueeze(1)
    gamma, alpha_a, alpha_w = ((c * scale).unsqueeze(1) for c in (gamma, alpha_a, alpha_w))
    # g_w = w (alpha_w - 8 beta s t) + gamma a, g_a = a (alpha_a + 8 beta s t) + gamma w
    g_w = torch.addcmul(alpha_w, st, -eight_beta, out=s)  # s is not needed any more
    g_w.mul_(w).addcmul_(a, gamma)
    g_a = torch.addcmul(alpha_a, st, eight_beta, out=st).mul_(a).addcmul_(w, gamma)
    if p != 2:
        g_a += omega
        g_w -= omega
    if anti.numel():  # back to the order of the sorted b
        g_w[anti] = g_w[anti].flip(1)
    return g_a, g_w, g_delta


class _FusedSlices(torch.autograd.Function):
    """:func:`fg_per_slice` as one autograd node: the forward pass sorts the projections of
    the centred clouds with their permutations and runs :func:`fg_sorted`, the backward pass
    :func:`_pullback` followed by the transposed projection and centring."""

    @staticmethod
    def forward(ctx, X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor, beta: float,
                p: float, transport_weight: float | None) -> torch.Tensor:
        x_mean, y_mean = X.mean(dim=0), Y.mean(dim=0)
        Xc, Yc, gap = X - x_mean, Y - y_mean, x_mean - y_mean
        Pt, delta = projections.T, gap @ projections
        # a cloud's sorting permutation is only needed for a gradient through its projections
        x_side, y_side, p_side = ctx.needs_input_grad[:3]
        a, iu, b, iv, forward = _sorted_fg(Pt @ Xc.T, Pt @ Yc.T, delta, beta, p,
                                           permutations=(x_side or p_side, y_side or p_side),
                                           transport_weight=transport_weight)
        ctx.save_for_backward(Xc, Yc, gap, projections, a, iu, b, iv, delta, forward.use_anti,
                              forward.moments)
        ctx.beta, ctx.p, ctx.transport_weight = beta, p, transport_weight
        ctx.sinks = gradient_sink(X), gradient_sink(Y)
        return forward.values

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        Xc, Yc, gap, projections, a, iu, b, iv, delta, use_anti, moments = ctx.saved_tensors
        n = Xc.shape[0]
        G, g_delta = _pullback(a, iu, b, iv, delta, SortedFG(None, use_anti, moments), ctx.beta,
                               ctx.p, grad_out, transport_weight=ctx.transport_weight)
        G_x, G_y = G[:, :n], G[:, n:]
        grads = []
        for G_z, sign, needed, sink in ((G_x, 1, ctx.needs_input_grad[0], ctx.sinks[0]),
                                        (G_y, -1, ctx.needs_input_grad[1], ctx.sinks[1])):
            if not needed:
                grads.append(None)
                continue
            # the centring's adjoint removes the mean over the points of G_z^T Theta^T
            shift = projections @ (sign * g_delta - G_z.sum(dim=1)) / n
            if sink is None:
                grads.append(torch.addmm(shift, G_z.T, projections.T))
            else:  # a chunk of a chunked call: added into the call's buffer
                sink.addmm_(G_z.T, projections.T).add_(shift)
                grads.append(None)
        g_p = None
        if ctx.needs_input_grad[2]:
            # (L, n) @ (n, d) products: G's halves are row-strided views, fit for BLAS as
            # they stand (not once transposed)
            g_p = (G_x @ Xc + G_y @ Yc).T + torch.outer(gap, g_delta)
        return (*grads, g_p, None, None, None)


@per_slice_level
def fg_per_slice(X: torch.Tensor, Y: torch.Tensor, projections: torch.Tensor, beta: float,
                 p: float, transport_weight: float | None = None) -> torch.Tensor:
    r"""The fused Gromov-Wasserstein cost FG_beta on each slice (n = m, uniform weights).

    With :math:`u = \theta^\top x`, :math:`v = \theta^\top y` both sorted and
    :math:`\sigma \in \{\mathrm{id}, \mathrm{anti\text{-}id}\}`:

    .. math::
        FG_\beta(\theta) = \min_\sigma\; (1-\beta)\frac1n\sum_i |u_i - v_{\sigma(i)}|^p
        + \beta \frac1{n^2}\sum_{i,j}\big((u_i-u_j)^2 - (v_{\sigma(i)}-v_{\sigma(j)})^2\big)^2 .

    One coupling serves both terms (as in the original RAE code); ``beta = 0`` gives
    :math:`W_p^p(\theta)`. The minimum over the two monotone couplings is an upper bound of
    the exact 1-D fused Gromov-Wasserstein problem (Beinert, Heiss & Steidl, 2022). The
    clouds are centred before they are projected and :func:`fg_sorted` evaluates the cost
    from row moments.

    With ``transport_weight`` :math:`w_T`, the factor :math:`1 - \beta` of the transport term
    is :math:`w_T` instead: the weights :math:`(w_T, \beta)` of data rescaled by
    :func:`discrepancies._inputs.fused_rescaling`, which need not sum to one.

    Parameters
    ----------
    X, Y : torch.Tensor, shape (n, d)
    projections : torch.Tensor, shape (d, L)
    beta : float in [0, 1]
    p : float >= 1
    transport_weight : float >= 0, optional
        ``1 - beta`` when None.

    Returns
    -------
    torch.Tensor, shape (L,)
        Differentiable in ``X``, ``Y`` and ``projections``; time O(L n log n), memory O(L n).
    """
    if not _needs_grad(X, Y, projections):
        x_mean, y_mean = X.mean(dim=0), Y.mean(dim=0)
        a = K.sorted_product(projections.T, (X - x_mean).T)
        b = K.sorted_product(projections.T, (Y - y_mean).T)
        return fg_sorted(a, b, (x_mean - y_mean) @ projections, beta, p,
                         transport_weight=transport_weight).values
    return _FusedSlices.apply(X, Y, projections, beta, p, transport_weight)


Pullback = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def _sorted_fg(U: torch.Tensor, V: torch.Tensor, delta: torch.Tensor, beta: float, p: float,
               workspace: K.Workspace | None = None,
               permutations: tuple[bool, bool] = (True, True),
               transport_weight: float | None = None):
    """Rows of ``U`` and ``V`` sorted, with their permutations where ``permutations`` asks
    (None elsewhere; the sorts with permutations in the workspace's buffers when given), and
    :func:`fg_sorted` on them: ``(a, iu, b, iv, forward)``."""

    def sort(Z: torch.Tensor, name: str, wanted: bool):
        if not wanted:
            return K.sort_values(Z), None
        if workspace is None:
            return K.sort_with_index(Z)
        return K.sort_with_index(Z, workspace.take(f"key_{name}", Z, dtype=torch.int64),
                                 workspace.take(f"sorted_{name}", Z))

    (a, iu), (b, iv) = sort(U, "u", permutations[0]), sort(V, "v", permutations[1])
    return a, iu, b, iv, fg_sorted(a, b, delta, beta, p, workspace, transport_weight)


def _pullback(a: torch.Tensor, iu: torch.Tensor | None, b: torch.Tensor,
              iv: torch.Tensor | None, delta: torch.Tensor, forward: SortedFG, beta: float,
              p: float, weights: torch.Tensor, workspace: K.Workspace | None = None,
              out: torch.Tensor | None = None, transport_weight: float | None = None,
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`fg_sorted_grad` put back in the points' order: ``(G (L, 2n), g_delta (L,))``,
    ``G`` in ``out`` when given; the half of a side sorted without its permutation (``iu``
    or ``iv`` None) is left unwritten."""
    g_a, g_b, g_delta = fg_sorted_grad(a, b, delta, forward, beta, p, weights, transport_weight)
    L, n = a.shape
    G = K.scratch(workspace, "G", a, (L, 2 * n)) if out is None else out
    for index, g, half in ((iu, g_a, G[:, :n]), (iv, g_b, G[:, n:])):
        if index is not None:
            K.scatter_rows(index, g, out=half)
    return G, g_delta


def fg_pullback(U: torch.Tensor, V: torch.Tensor, delta: torch.Tensor, beta: float, p: float,
                need_grad: bool = True, workspace: K.Workspace | None = None,
                transport_weight: float | None = None,
                ) -> tuple[torch.Tensor, Pullback | None]:
    """FG_beta on each row of the projections ``U``, ``V`` (L, n) of centred clouds (rows in
    the points' order) and ``delta`` (L,) as in :func:`fg_sorted`, without autograd, and with
    ``need_grad`` its vector-Jacobian product: a function ``(c, out=None) -> (G, g_delta)``
    with ``G`` (L, 2n, written into ``out`` when given) the gradient of
    :math:`\\sum_l c_l FG_l` with respect to ``[U | V]`` in the points' order and
    ``g_delta`` (L,) with respect to ``delta``, to be called once.

    Without ``workspace`` the function holds its own tensors and may be called at any time;
    with one, the sorted projections and the work buffers are the workspace's, and the
    function must be called before the next evaluation on it (it raises ``RuntimeError``
    otherwise), and ``G`` is valid until then. ``transport_weight`` as in
    :func:`fg_sorted`."""
    a, iu, b, iv, forward = _sorted_fg(U, V, delta, beta, p, workspace,
                                       permutations=(need_grad, need_grad),
                                       transport_weight=transport_weight)
    if not need_grad:
        return forward.values, None
    round_ = None if workspace is None else workspace.new_round()
    calls = []

    def pullback(weights: torch.Tensor, out: torch.Tensor | None = None,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        if calls:
            raise RuntimeError("this gradient was already taken: it consumes its buffers")
        if workspace is not None and workspace.round != round_:
            raise RuntimeError("the workspace was used by a later evaluation: this one's "
                               "gradient is no longer available")
        calls.append(weights)
        return _pullback(a, iu, b, iv, delta, forward, beta, p, weights, workspace, out,
                         transport_weight)

    return forward.values, pullback
