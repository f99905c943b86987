r"""The spherical family: SSFG, MSSFG and PSSFG (Nguyen et al., ICLR 2021).

Each replaces the uniform slicing distribution of SFG by a concentrated one whose location is
optimised:

.. math::
    SSFG  &= \max_{\epsilon \in S^{d-1}} \mathbb{E}_{\theta \sim vMF(\epsilon, \kappa)}
             FG_\beta(\theta), \\
    MSSFG &= \max_{\epsilon_1, \dots, \epsilon_k} \mathbb{E}_{\theta \sim \frac1k \sum_i
             vMF(\epsilon_i, \kappa)} FG_\beta(\theta), \\
    PSSFG &= \max_{\epsilon} \mathbb{E}_{\theta \sim PS(\epsilon, \kappa)} FG_\beta(\theta),

with :math:`FG_\beta` the per-direction fused cost of :func:`discrepancies.sfg`. kappa -> 0
gives SFG, kappa -> infinity gives max-SFG, and SFG <= SSFG <= max-SFG.

How a value is computed (the same for the three):

1. **Start**: the best of ``n_projections`` uniform directions (the ``k`` best for MSSFG), as
   max-SFG does, scored with the value-only closed form (about 0.8 of a value-only SFG call at
   n = 5000, d = 100, L = 500 in float32: both clouds projected, two value sorts),
   or the ``loc`` given by the caller (a warm start, e.g. the previous optimum in a training
   loop). The uniform directions come from the ``slicing`` scheme (:mod:`discrepancies.slicing`;
   ``"mc"`` by default): only the start, never the vMF / power spherical draws.
2. **Ascent** on the location(s) with :func:`discrepancies._ascent.sphere_ascent` (projected
   gradient with backtracking, best point kept), on detached X and Y. The expectation is
   estimated with ``n_projections`` draws that are reparameterised in the location and use
   *common random numbers*: the base draws of the sampler (``base_draws``: the cosine ``t``
   to the location, ``s = sqrt(1 - t^2)`` and a tangent direction ``v`` at e1) are drawn once
   per call and every step places the same ones at its location. The estimated objective is
   then a deterministic function of the location, so comparing iterates (keep-best,
   backtracking) compares the locations and not the Monte Carlo noise.
3. **Value**: a fresh set of ``n_projections`` draws at the best location, FG_beta recomputed
   with gradients to X and Y (envelope theorem: the location is held fixed). Fresh draws keep
   the reported value an unbiased estimate of the objective at the chosen location: reusing
   the draws the ascent maximised over would bias it upwards.

Each step costs no matrix product of size n d L (:func:`_placed_fg`). A draw placed at the
location :math:`\epsilon` by :func:`samplers.sphere.householder_place` is

.. math:: \theta_l = (t_l - \sigma k_l)\,\epsilon + k_l e_1 + \sigma s_l v_l, \qquad
          k_l = \frac{s_l\, \epsilon^\top v_l}{1 - \sigma \epsilon_1},

so the projections of the data on it combine the projections on :math:`\epsilon`, on
:math:`e_1` and on :math:`v_l`; the last ones do not depend on the location and are computed
once per call (one matrix product), a step then costs O(nL + nd + dL) besides its sorts. The
gradient with respect to :math:`\epsilon` goes through the chain rule from the closed-form
gradient with respect to the projected values (with the sorting permutations fixed FG_beta is a
polynomial in them, :func:`fg_value_and_grad`), again in O(nL + nd + dL), without an autograd
graph over the (L, n) projections. With ``n_iter = T`` a call costs the start's scoring
(a value-only SFG-sized product and sort), one matrix product for the base draws, ``T + 1``
evaluations dominated by their two row sorts (``T`` of them with a gradient), and the final
value. An evaluation with a gradient needs the sorting permutations: on CPU one sort of 64-bit
keys that carry the index per row (:func:`discrepancies._slices._sort_rows_packed`), about twice
the cost of the float32 value sort a value-only SFG does, plus a scatter back to the points'
order: at n = 5000, d = 100, L = 500 (float32, one thread) an evaluation with its gradient
costs 1.3 value-only SFG calls, one without 0.6. So in units of SFG the spherical family is
cheapest where SFG is also differentiated, as in training: there a call with ``n_iter = T``
stays below 1.3 (T + 1) SFG calls (each with its backward pass), while a value alone costs
about 1.5-1.75 (T + 1) value-only SFG calls at T = 5 at that size (up to 2.4 at n = 100,
d = 16, L = 50, where per-operation overhead dominates). ``scripts/bench_spherical.py``
measures both ratios, and ``--stages`` each part.

MSSFG draws are stratified over the components (draw ``l`` comes from component ``l mod k``,
and each component's draws are averaged with weight 1/k), which is exact for the equal-weight
mixture and removes the noise of drawing component labels. Because the mixture objective is the
mean of the components' SSFG objectives, each location ascends its own objective; MSSFG equals
SSFG at a global optimum, and in practice finds ``k`` local maxima from ``k`` starts.

Notes
-----
The samplers place draws with a Householder reflection whose sign switches across the small
circle where the first coordinate of the location is -0.9
(:func:`samplers.sphere.householder_sign`), so the common-random-number objective jumps there
(its expectation does not). Backtracking absorbs such a jump, and the reported value uses fresh
draws, so this only affects the path of the ascent.

Reference: K. Nguyen, S. Nguyen, N. Ho, T. Pham, H. Bui. "Improving Relational Regularized
Autoencoders with Spherical Sliced Fused Gromov Wasserstein", ICLR 2021.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from samplers import PowerSpherical, VonMisesFisher
from samplers.sphere import householder_sign

from ._ascent import sphere_ascent
from ._inputs import (
    as_point_clouds,
    check_beta,
    check_bool,
    check_equal_size,
    check_kappa,
    check_locations,
    check_lr,
    check_n_iter,
    check_n_projections,
    check_p,
    check_positive_int,
    finish,
    fused_rescaling,
    make_generator,
)
from ._slices import (
    _empty_rows,
    _numpy_sortable,
    _row_mean_product,
    _sort_with_index,
    fg_per_slice,
    sort_rows,
)
from .slicing import slicing_scheme

__all__ = ["DEFAULTS", "mssfg", "pssfg", "ssfg"]

Result = torch.Tensor | np.float64 | tuple[torch.Tensor | np.float64, dict]

DEFAULTS = {"n_projections": 100, "kappa": 10.0, "n_iter": 10, "lr": 0.5, "n_components": 5}
"""Default keywords of the three functions, defended by ``sliced-bench validate``'s
``spherical`` checks (see :mod:`validation.spherical_checks`)."""


@dataclass(frozen=True)
class _Centred:
    """Detached point clouds centred at their means, laid out so that an ascent step needs two
    matrix products: ``theta @ right`` gives the projections of both clouds, of the mean gap and
    of the scatter matrices at once, and ``H @ stacked`` takes the gradient back."""

    n: int
    d: int
    stacked: torch.Tensor  # (2n, d): X - mean(X), then Y - mean(Y)
    mean_gap: torch.Tensor  # (d,): mean(X) - mean(Y)
    right: torch.Tensor  # (d, 2n + 1 + 2d): stacked^T | mean_gap | Xc^T Xc | Yc^T Yc
    # (L, n)-sized buffers reused by every ascent step of a call: fresh ones cost more (page
    # faults) than the arithmetic done in them
    workspace: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def generation(self) -> int:
        """How many evaluations have used the workspace."""
        return self.workspace.get("generation", 0)

    def buffer(self, name: str, shape: tuple[int, ...], like: torch.Tensor,
               dtype: torch.dtype | None = None) -> torch.Tensor:
        dtype = like.dtype if dtype is None else dtype
        buf = self.workspace.get(name)
        if buf is None or tuple(buf.shape) != shape or buf.dtype != dtype:
            buf = self.workspace[name] = _empty_rows(like, shape, dtype)
        return buf

    def sort_buffers(self, name: str, U: torch.Tensor,
                     ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The key and value buffers :func:`discrepancies._slices._sort_with_index` fills for
        the rows of ``U`` (CPU only)."""
        if not _numpy_sortable(U):
            return None, None
        shape = tuple(U.shape)
        return (self.buffer(f"key_{name}", shape, U, torch.int64).numpy(),
                self.buffer(f"sorted_{name}", shape, U).numpy())

    def scatter_columns(self, projected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The columns of ``projected = theta @ right`` that hold ``theta^T C_x`` and
        ``theta^T C_y`` (views, (L, d) each)."""
        start = 2 * self.n + 1
        return projected[:, start:start + self.d], projected[:, start + self.d:]

    @classmethod
    def of(cls, X: torch.Tensor, Y: torch.Tensor) -> _Centred:
        X, Y = X.detach(), Y.detach()
        n, d = X.shape
        x_mean, y_mean = X.mean(dim=0), Y.mean(dim=0)
        stacked = torch.cat((X - x_mean, Y - y_mean))
        clouds = stacked.view(2, n, d)
        scatter = clouds.transpose(1, 2) @ clouds  # (2, d, d)
        right = torch.cat((stacked.T, (x_mean - y_mean).unsqueeze(1), scatter[0], scatter[1]),
                          dim=1)
        return cls(n, d, stacked, x_mean - y_mean, right)


def _matmul(A: torch.Tensor, B: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``A @ B`` for detached tensors (into ``out`` if given); on CPU through NumPy, whose BLAS
    is about twice as fast as torch's for these shapes on the reference machine (see
    :mod:`discrepancies._slices`)."""
    if _numpy_sortable(A):
        result = np.matmul(A.numpy(), B.numpy(), out=None if out is None else out.numpy())
        return out if out is not None else torch.from_numpy(result)
    return torch.matmul(A, B, out=out)


Adjoint = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _direction_gradient(adjoint: Adjoint, projected: torch.Tensor, data: _Centred,
                        ) -> torch.Tensor:
    """Row l: the gradient of FG_beta on direction l with respect to that direction, from the
    adjoint of :func:`_fg_projected` (see :func:`fg_value_and_grad`)."""
    h, alpha_a, alpha_w, omega_mean = adjoint
    theta_cx, theta_cy = data.scatter_columns(projected)
    grad = (_matmul(h, data.stacked) + alpha_a.unsqueeze(1) * theta_cx
            + alpha_w.unsqueeze(1) * theta_cy) / data.n
    return grad + omega_mean.unsqueeze(1) * data.mean_gap


def _fg_projected(projected: torch.Tensor, data: _Centred, beta: float, p: float,
                  need_grad: bool = True,
                  ) -> tuple[torch.Tensor, Callable[[], Adjoint] | None]:
    """FG_beta on each row of ``projected = theta @ data.right`` (L, 2n + 1 + 2d), and a function
    returning its adjoint ``(h, alpha_a, alpha_w, omega_mean)``: the gradient of row l with
    respect to its direction is ``(h_l @ stacked + alpha_a_l theta_l^T C_x + alpha_w_l
    theta_l^T C_y) / n + omega_mean_l (mean(X) - mean(Y))`` (:func:`fg_value_and_grad`).
    The adjoint overwrites ``projected[:, :2n]`` with ``h`` and must be asked for before the
    next evaluation on the same ``data``.

    This derives the gradient of FG_beta a second time, apart from
    :class:`discrepancies._slices._SortedFG`: here on projections of centred data, from row
    moments, in the split form above that the ascent contracts without an (L, d) product per
    point, with the anti-identity candidate pruned by a bound and lazily. The two are kept
    apart on purpose: each checks the other (``validation.spherical_checks`` and
    ``tests/test_spherical.py`` compare this gradient with autograd through
    :func:`discrepancies._slices.fg_per_slice`), and the latter is checked against finite
    differences."""
    n = data.n
    data.workspace["generation"] = generation = data.generation + 1
    U, V, delta = projected[:, :n], projected[:, n:2 * n], projected[:, 2 * n]
    if need_grad:
        a, iu = _sort_with_index(U, *data.sort_buffers("u", U))
        b, iv = _sort_with_index(V, *data.sort_buffers("v", U))
    else:
        a, b = sort_rows(U), sort_rows(V)
    ma2, mb2 = _row_mean_product(a, a), _row_mean_product(b, b)
    m2, est = ma2 + mb2, ma2 - mb2  # mean(a^2) + mean(w^2), and mean(s t) for either coupling
    # shared by both couplings: mean(s^2) + mean(t^2) = 2 m2, the 4 mean(s t)^2 term, delta^2
    two_m2, est_term, delta2 = 2 * m2, 4 * est * est, delta * delta

    def coupling(a: torch.Tensor, w: torch.Tensor, two_m2: torch.Tensor, est_term: torch.Tensor,
                 delta: torch.Tensor, delta2: torch.Tensor, reuse: bool = False,
                 ) -> tuple[torch.Tensor, ...]:
        shape = tuple(a.shape)
        s = torch.sub(a, w, out=data.buffer("s", shape, a)) if reuse else a - w
        st = torch.add(a, w, out=data.buffer("st", shape, a) if reuse else None).mul_(s)
        es2 = _row_mean_product(s, s)
        structure = 2 * (_row_mean_product(st, st) + es2 * (two_m2 - es2)) + est_term
        if p == 2:
            wasserstein = es2 + delta2  # mean((s + delta)^2), s centred
        else:
            wasserstein = (s + delta.unsqueeze(1)).abs().pow(p).mean(dim=1)
        return torch.add((1 - beta) * wasserstein, structure, alpha=beta), w, s, st, es2

    values, w, s, st, es2 = coupling(a, b, two_m2, est_term, delta, delta2, reuse=True)
    if p == 2 and beta < 1:
        # The anti-identity value is at least its Wasserstein part (the structure part is
        # non-negative), which costs one inner product: the full candidate is computed only on
        # the rows where that bound, less a rounding margin, is below the identity value.
        bound = (1 - beta) * (m2 - 2 * _row_mean_product(a, b, reverse_b=True) + delta2)
        margin = 100 * torch.finfo(a.dtype).eps * (m2 + delta2)
        rows = torch.nonzero(bound - margin < values).view(-1)
    else:
        rows = torch.arange(values.shape[0], device=values.device)
    anti = rows[:0]
    if rows.numel():
        value_anti, w_anti, s_anti, st_anti, es2_anti = coupling(
            a[rows], b[rows].flip(1), two_m2[rows], est_term[rows], delta[rows], delta2[rows])
        better = value_anti < values[rows]
        anti = rows[better]
        values[anti] = value_anti[better]
    if not need_grad:
        return values, None

    def adjoint() -> Adjoint:
        if data.generation != generation:
            raise RuntimeError("the ascent workspace was reused since this evaluation: "
                               "its gradient is no longer available")
        iw = iv
        if anti.numel():  # overwrite the rows where the anti-identity coupling wins
            w[anti], s[anti], st[anti] = w_anti[better], s_anti[better], st_anti[better]
            es2[anti], iw[anti] = es2_anti[better], iv[anti].flip(1)
        et2 = two_m2 - es2
        alpha_a = 4 * beta * (es2 + et2 + 4 * est)
        alpha_w = 4 * beta * (es2 + et2 - 4 * est)
        gamma = 4 * beta * (es2 - et2)
        if p == 2:
            # the Wasserstein gradient 2 (1 - beta) (a - w + delta) is linear in the projections
            alpha_a = alpha_a + 2 * (1 - beta)
            alpha_w = alpha_w + 2 * (1 - beta)
            gamma = gamma - 2 * (1 - beta)
            omega_mean = 2 * (1 - beta) * delta
        if p != 2:
            r = s + delta.unsqueeze(1)
            omega = r.abs().pow_(p - 1).mul_(r.sign()).mul_((1 - beta) * p)
            omega_mean = omega.mean(dim=1)
        # Fresh (L, n) buffers cost more than the arithmetic at these sizes, so h_w goes into s's
        # buffer, h_a into st's, and both back into the projections' (no longer needed)
        h_w = torch.mul(a, gamma.unsqueeze(1), out=s).addcmul_(w, st, value=-8 * beta)
        h_a = st.mul_(a).mul_(8 * beta).addcmul_(w, gamma.unsqueeze(1))
        if p != 2:
            h_a += omega
            h_w -= omega
        h = projected[:, :2 * n]
        h[:, :n].scatter_(1, iu, h_a)
        h[:, n:].scatter_(1, iw, h_w)
        return h, alpha_a, alpha_w, omega_mean

    return values, adjoint


def fg_value_and_grad(theta: torch.Tensor, data: _Centred, beta: float, p: float,
                      need_grad: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""FG_beta on each direction and its gradient with respect to the direction.

    With :math:`a` the sorted centred projections of X, :math:`w` those of Y permuted by the
    chosen coupling, :math:`s = a - w`, :math:`t = a + w` and
    :math:`\delta = \theta^\top(\bar x - \bar y)`:

    .. math::
        FG_\beta = (1-\beta)\,\overline{|s + \delta|^p}
        + \beta\,\big(2\,\overline{s^2 t^2} + 2\,\overline{s^2}\,\overline{t^2}
        + 4\,\overline{s t}^2\big),

    the value of :func:`discrepancies._slices.fg_per_slice` (a sum of non-negative terms, so
    no cancellation when X and Y are close), using :math:`\overline{st} = \overline{a^2} -
    \overline{w^2}` and :math:`\overline{s^2} + \overline{t^2} = 2(\overline{a^2} +
    \overline{w^2})`, which do not depend on the coupling. With the permutations fixed this is
    a polynomial (p = 2) in the projections, whose derivative gives

    .. math::
        \nabla_\theta FG = \tfrac1n \big(X_c^\top h_a + Y_c^\top h_w\big)
        + \tfrac1n\big(\alpha_a C_x + \alpha_w C_y\big)\theta + \bar\omega\,(\bar x - \bar y),

    where :math:`h_a = 8\beta\, a\, s t + \gamma w (+ \omega)` and
    :math:`h_w = -8\beta\, w\, s t + \gamma a (- \omega)` are put back in the original order
    of the points, :math:`\alpha_a = 4\beta(\overline{s^2} + \overline{t^2} + 4\overline{st})`,
    :math:`\alpha_w = 4\beta(\overline{s^2} + \overline{t^2} - 4\overline{st})`,
    :math:`\gamma = 4\beta(\overline{s^2} - \overline{t^2})`, the terms linear in the
    projections go through the scatter matrices :math:`C_x = X_c^\top X_c`,
    :math:`C_y = Y_c^\top Y_c` (no pass over the points), and
    :math:`\omega = (1-\beta)\,p\,|s+\delta|^{p-1}\mathrm{sign}(s+\delta)` (for p = 2 it is
    linear and folded into :math:`\alpha, \gamma`).

    Parameters
    ----------
    theta : torch.Tensor, shape (L, d)
        Unit directions as rows.
    data : _Centred
    beta, p : float
    need_grad : bool
        Skip the gradient (returned as None).

    Returns
    -------
    values : torch.Tensor, shape (L,)
    grad : torch.Tensor, shape (L, d), or None
        Row l is the gradient of ``values[l]`` with respect to ``theta[l]``.
    """
    L = theta.shape[0]
    projected = _matmul(theta, data.right,
                        data.buffer("projected", (L, data.right.shape[1]), theta))
    values, adjoint = _fg_projected(projected, data, beta, p, need_grad)
    if adjoint is None:
        return values, None
    return values, _direction_gradient(adjoint(), projected, data)


@dataclass(frozen=True)
class _BaseDraws:
    """The base draws of one call's ascent (common random numbers) and the data projected on
    their tangent directions, computed once: row l is placed at the location of component
    ``l mod k`` (:func:`samplers.sphere.householder_place`)."""

    t: torch.Tensor  # (L,): cosine to the location
    s: torch.Tensor  # (L,): sqrt(1 - t^2)
    v: torch.Tensor  # (L, d): unit tangent directions at e1 (v[:, 0] = 0)
    v_right: torch.Tensor  # (L, 2n + 1 + 2d): v @ data.right
    component: torch.Tensor  # (L,): l mod k
    # (k, L): 1 where draw l belongs to component c, so that sums over each component's draws
    # are one matrix product (no loop over the components)
    membership: torch.Tensor

    @classmethod
    def of(cls, t: torch.Tensor, s: torch.Tensor, z: torch.Tensor, data: _Centred,
           k: int) -> _BaseDraws:
        v = z / torch.linalg.vector_norm(z, dim=1, keepdim=True)
        component = torch.arange(v.shape[0], device=v.device) % k
        membership = (component == torch.arange(k, device=v.device).unsqueeze(1)).to(v.dtype)
        return cls(t.detach(), s.detach(), v, _matmul(v, data.right), component, membership)


def _placed_fg(locs: torch.Tensor, draws: _BaseDraws, data: _Centred, beta: float, p: float,
               need_grad: bool,
               ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor] | None]:
    r"""FG_beta on the base draws placed at the locations (rows of ``locs`` (k, d)), and with
    ``need_grad`` a function ``c -> d(c^T values)/d locs`` (the data held fixed), computed in
    closed form from this evaluation's buffers, so before the next evaluation on the same
    data. No autograd graph: the ascent calls it directly (see :func:`sphere_ascent`'s
    ``lazy_grad``), which saves a quarter of a step at RAE sizes.

    With :math:`\theta_l = a_l \epsilon + k_l e_1 + \sigma s_l v_l`,
    :math:`a_l = t_l - \sigma k_l`, :math:`k_l = s_l \epsilon^\top v_l / (1 - \sigma
    \epsilon_1)` (:math:`\epsilon` the location of row l, :math:`\sigma` its Householder
    sign, locally constant) and :math:`g_l` the gradient of FG_beta with respect to
    :math:`\theta_l` (:func:`fg_value_and_grad`):

    .. math::
        \frac{\partial \theta_l^\top g_l}{\partial \epsilon} = a_l g_l
        + g_l^\top(e_1 - \sigma \epsilon) \frac{s_l}{1 - \sigma \epsilon_1}
          \Big(v_l + \frac{\sigma\, \epsilon^\top v_l}{1 - \sigma \epsilon_1} e_1\Big),

    where :math:`\sum_l c_l a_l g_l` and :math:`g_l^\top u` only need row reductions of the
    adjoint and the projections of the data on :math:`u` (no product of size n d L).
    """
    locs = locs.detach()
    L, width = draws.v_right.shape
    component, membership = draws.component, draws.membership
    sigma = householder_sign(locs[:, 0])
    denom = 1 - sigma * locs[:, 0]
    sigma_l, denom_l, locs_l = sigma[component], denom[component], locs[component]
    along = torch.linalg.vecdot(draws.v, locs_l)  # epsilon^T v_l
    k_l = draws.s * along / denom_l
    a_l = draws.t - sigma_l * k_l
    locs_right = _matmul(locs, data.right)  # (k, width): the data projected on epsilon
    projected = torch.mul(draws.v_right, (sigma_l * draws.s).unsqueeze(1),
                          out=data.buffer("projected", (L, width), draws.v_right))
    projected.addmm_((membership * a_l).T, locs_right)  # row l: + a_l times its location's
    projected.addr_(k_l, data.right[0])
    values, adjoint = _fg_projected(projected, data, beta, p, need_grad)
    if adjoint is None:
        return values, None

    def vjp(grad_values: torch.Tensor) -> torch.Tensor:
        h, alpha_a, alpha_w, omega_mean = adjoint()
        n = data.n
        theta_cx, theta_cy = data.scatter_columns(projected)
        # h_l against the points projected on its location and on e1, in one product
        h_basis = _matmul(h, torch.cat((locs_right[:, :2 * n], data.right[:1, :2 * n])).T)
        h_eps = h_basis.gather(1, component.unsqueeze(1)).squeeze(1)
        # g_l^T e1 and g_l^T epsilon_l
        g_e1 = ((h_basis[:, -1] + alpha_a * theta_cx[:, 0] + alpha_w * theta_cy[:, 0]) / n
                + omega_mean * data.mean_gap[0])
        g_eps = ((h_eps + alpha_a * torch.linalg.vecdot(theta_cx, locs_l)
                  + alpha_w * torch.linalg.vecdot(theta_cy, locs_l)) / n
                 + omega_mean * torch.mv(locs_l, data.mean_gap))
        weight = membership * (grad_values * a_l)  # (k, L)
        tangent = grad_values * (g_e1 - sigma_l * g_eps) * draws.s / denom_l
        first = tangent * sigma_l * along / denom_l
        grad = (_matmul(_matmul(weight, h), data.stacked) + (weight * alpha_a) @ theta_cx
                + (weight * alpha_w) @ theta_cy) / n
        grad += torch.outer(weight @ omega_mean, data.mean_gap)
        grad += (membership * tangent) @ draws.v
        grad[:, 0] += membership @ first
        return grad

    return values, vjp


@dataclass(frozen=True)
class _Sampler:
    """``n_projections`` draws from ``family`` around the rows of ``locs`` (k, d), stratified
    (row l of the result from component ``l mod k``) or around ``locs[0]`` alone."""

    family: type
    kappa: float
    n_projections: int
    stratified: bool

    def _law(self, locs: torch.Tensor):
        if self.stratified:
            return (self.family(locs, self.kappa, validate_args=False),
                    (-(-self.n_projections // locs.shape[0]),))
        return self.family(locs[0], self.kappa, validate_args=False), (self.n_projections,)

    def __call__(self, locs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        law, shape = self._law(locs)
        return law.rsample(shape, generator).reshape(-1, locs.shape[1])[:self.n_projections]

    def base_draws(self, locs: torch.Tensor, generator: torch.Generator,
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(t, s, z)`` of :meth:`__call__`'s draws (the sampler's ``base_draws``), rows in the
        same order and on the same generator state."""
        law, shape = self._law(locs)
        t, s, z = law.base_draws(shape, generator)
        L = self.n_projections
        return t.reshape(-1)[:L], s.reshape(-1)[:L], z.reshape(-1, locs.shape[1])[:L]


def _draw_vmf(kappa: float, n_projections: int) -> _Sampler:
    """``n_projections`` vMF draws, stratified over the rows of ``locs`` (k, d): row l of the
    result comes from component ``l mod k``."""
    return _Sampler(VonMisesFisher, kappa, n_projections, stratified=True)


def _draw_power(kappa: float, n_projections: int) -> _Sampler:
    """``n_projections`` power spherical draws around the single row of ``locs`` (1, d)."""
    return _Sampler(PowerSpherical, kappa, n_projections, stratified=False)


def _stratum_weights(n_projections: int, k: int, like: torch.Tensor) -> torch.Tensor:
    """Weight 1 / (k L_c) of each draw, L_c the number of draws of its component: the
    stratified estimate of the equal-weight mixture expectation (1/L each when k divides L)."""
    component = torch.arange(n_projections, device=like.device) % k
    counts = torch.bincount(component, minlength=k).to(like.dtype)
    return 1.0 / (k * counts[component])


def _spherical(X: object, Y: object, *, make_draw: Callable[[float, int], _Sampler], k: int,
               n_projections: object, beta: object, p: object, kappa: object, n_iter: object,
               lr: object, loc: object, seed: object, log: bool,
               location_key: str, slicing: object, name: str) -> Result:
    """The common driver of :func:`ssfg`, :func:`mssfg` and :func:`pssfg` (see the module
    docstring for the three stages)."""
    X, Y, numpy_out = as_point_clouds(X, Y)
    check_equal_size(X, Y)
    beta, p, kappa = check_beta(beta), check_p(p), check_kappa(kappa, X.dtype)
    L = check_n_projections(n_projections)
    n_iter, lr, log = check_n_iter(n_iter), check_lr(lr), check_bool(log, "log")
    # the vMF / power spherical draws are the method itself: only the start follows the scheme
    scheme = slicing_scheme(slicing, name, p=p, beta=beta, expectation=False)
    if k > L:
        raise ValueError(f"n_components must be <= n_projections (each component needs a draw), "
                         f"got n_components={k} and n_projections={L}")
    d = X.shape[1]
    if d < 2:
        raise ValueError(f"X and Y must have dimension d >= 2 (directions live on S^(d-1)), "
                         f"got d={d}")
    generator = make_generator(seed, X.device)
    # huge or tiny data, or a large p: FG_beta is c times FG_beta' on rescaled data (the same
    # maximising location), see discrepancies._inputs.fused_rescaling
    rescaled = fused_rescaling(X, Y, beta, p, 2 * X.shape[0] + L)
    if rescaled is not None:
        X, Y, beta = rescaled.X, rescaled.Y, rescaled.beta
    data = _Centred.of(X, Y)

    if loc is None:
        candidates = scheme.draw(d, L, generator, X.dtype, X.device)
        scores, _ = fg_value_and_grad(candidates.T, data, beta, p, need_grad=False)
        start = candidates[:, torch.topk(scores, k).indices].T
    else:
        start = check_locations(loc, d, X).detach()
        expected = (k, d) if location_key == "locations" else (d,)
        if tuple(start.shape) != expected:
            raise ValueError(f"loc must have shape {expected}, got {tuple(start.shape)}")
        start = start.reshape(k, d)

    draw = make_draw(kappa, L)
    weights = _stratum_weights(L, k, X)
    history: list[float] = []
    best = start
    if n_iter > 0:
        # common random numbers: every step places these base draws at its location(s)
        base = _BaseDraws.of(*draw.base_draws(start, generator), data, k)

        def objective(locs: torch.Tensor, need_grad: bool,
                      ) -> tuple[torch.Tensor, Callable[[], torch.Tensor] | None]:
            values, vjp = _placed_fg(locs, base, data, beta, p, need_grad)
            return values @ weights, None if vjp is None else (lambda: vjp(weights))

        result = sphere_ascent(objective, start, n_iter, lr, backtrack=True, lazy_grad=True)
        best, history = result.point, result.history

    projections = draw(best, generator).detach().T  # fresh draws: the generator moved on
    per_slice = fg_per_slice(X, Y, projections, beta, p)
    value = per_slice.mean() if k == 1 else per_slice @ weights
    location = best if location_key == "locations" else best[0]
    history = torch.tensor(history, dtype=torch.float64)
    if rescaled is not None:
        value, per_slice = rescaled.restore(value, name), rescaled.restore(per_slice)
        history = rescaled.restore(history, dtype=torch.float64)
        projections, location = projections.to(rescaled.dtype), location.to(rescaled.dtype)
    return finish(value, numpy_out, log, {
        "projections": projections, "per_slice": per_slice, location_key: location,
        "history": history})


def ssfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
         n_projections: int = DEFAULTS["n_projections"], beta: float = 0.1, p: float = 2,
         kappa: float = DEFAULTS["kappa"], n_iter: int = DEFAULTS["n_iter"],
         lr: float = DEFAULTS["lr"], loc: torch.Tensor | np.ndarray | None = None,
         seed: int | torch.Generator | None = None, log: bool = False,
         slicing: str = "mc") -> Result:
    r"""Spherical sliced fused Gromov-Wasserstein (von Mises-Fisher slicing).

    .. math::
        SSFG_{\beta,\kappa}(\mu, \nu) = \max_{\epsilon \in S^{d-1}}
        \mathbb{E}_{\theta \sim vMF(\epsilon, \kappa)} FG_\beta(\theta)

    with :math:`FG_\beta` as in :func:`discrepancies.sfg` (no root). SFG <= SSFG <= max-SFG;
    kappa = 0 gives SFG and kappa -> infinity max-SFG. Start: the best of ``n_projections``
    uniform directions (or ``loc``); ascent on the location with reparameterised draws and
    common random numbers, on detached data; value: FG_beta averaged over fresh draws at the
    best location, with gradients to X and Y. See :mod:`discrepancies.spherical`.

    Parameters
    ----------
    X, Y : torch.Tensor or numpy.ndarray, shape (n, d)
        Same number of points (the fused term couples them one to one), d >= 2.
    n_projections : int, default 100
        Draws L per ascent step and for the final estimate (also the number of uniform
        directions scored for the start).
    beta : float in [0, 1], default 0.1
        Weight of the structure term, as in :func:`discrepancies.sfg`.
    p : float >= 1, default 2
        Exponent of the Wasserstein term.
    kappa : float >= 0, default 10
        Concentration. Its effect depends on d: the mean cosine to the location is about
        kappa / d for kappa << d, so kappa = 10 concentrates clearly for RAE latent sizes
        (d <= 64) and only mildly in d = 1000.
    n_iter : int >= 0, default 10
        Ascent steps on the location (0: keep the start). Each evaluates the objective and its
        gradient once, at about the cost of one SFG.
    lr : float > 0, default 0.5
        First step length of the backtracking ascent (:mod:`discrepancies._ascent`).
    loc : (d,), optional
        Starting location (unit norm), e.g. the previous optimum in a training loop; then no
        uniform directions are scored.
    seed : None, int or torch.Generator
        The same int gives the same value.
    log : bool
        Also return a dict: ``"projections"`` (d, L) the final draws, ``"per_slice"`` (L,)
        FG_beta on them, ``"direction"`` (d,) the location, ``"history"`` the Monte Carlo
        objective (common random numbers) at each point the ascent evaluated.
    slicing : str, default "mc"
        The scheme that draws the uniform starting candidates (``"mc"``, ``"orthogonal"``,
        ``"rqmc"``; :mod:`discrepancies.slicing`). The vMF draws are the method itself and do
        not change; ``"control-variate"`` (a uniform-mean estimator) raises a ValueError.

    Returns
    -------
    0-d tensor (dtype and device of X, differentiable in X and Y) or NumPy float64 for NumPy
    inputs; ``(value, log)`` when ``log=True``.

    Raises
    ------
    ValueError, TypeError
        Bad point clouds, n != m, d < 2, p < 1, beta outside [0, 1], kappa < 0,
        n_projections < 1, n_iter < 0, lr <= 0, a ``loc`` of the wrong shape or norm, a
        ``log`` that is not a bool, a value the dtype cannot hold (huge or tiny data and large
        p are otherwise rescaled, as in :func:`discrepancies.sfg`).

    References
    ----------
    K. Nguyen, S. Nguyen, N. Ho, T. Pham, H. Bui, "Improving Relational Regularized
    Autoencoders with Spherical Sliced Fused Gromov Wasserstein", ICLR 2021.
    """
    return _spherical(X, Y, make_draw=_draw_vmf, k=1, n_projections=n_projections, beta=beta,
                      p=p, kappa=kappa, n_iter=n_iter, lr=lr, loc=loc, seed=seed, log=log,
                      location_key="direction", slicing=slicing, name="ssfg")


def pssfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
          n_projections: int = DEFAULTS["n_projections"], beta: float = 0.1, p: float = 2,
          kappa: float = DEFAULTS["kappa"], n_iter: int = DEFAULTS["n_iter"],
          lr: float = DEFAULTS["lr"], loc: torch.Tensor | np.ndarray | None = None,
          seed: int | torch.Generator | None = None, log: bool = False,
          slicing: str = "mc") -> Result:
    r"""Power spherical sliced fused Gromov-Wasserstein.

    .. math::
        PSSFG_{\beta,\kappa}(\mu, \nu) = \max_{\epsilon \in S^{d-1}}
        \mathbb{E}_{\theta \sim PS(\epsilon, \kappa)} FG_\beta(\theta)

    As :func:`ssfg` (same parameters, log and return convention) with the power spherical
    distribution (De Cao & Aziz, 2020): reparameterised without rejection, mean cosine
    kappa / (d - 1 + kappa), close to vMF's for the same kappa.

    References
    ----------
    K. Nguyen et al., ICLR 2021 (see :func:`ssfg`); N. De Cao and W. Aziz, "The Power
    Spherical distribution", 2020 (arXiv:2006.04437).
    """
    return _spherical(X, Y, make_draw=_draw_power, k=1, n_projections=n_projections,
                      beta=beta, p=p, kappa=kappa, n_iter=n_iter, lr=lr, loc=loc, seed=seed,
                      log=log, location_key="direction", slicing=slicing, name="pssfg")


def mssfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
          n_projections: int = DEFAULTS["n_projections"], beta: float = 0.1, p: float = 2,
          kappa: float = DEFAULTS["kappa"], n_iter: int = DEFAULTS["n_iter"],
          lr: float = DEFAULTS["lr"], n_components: int = DEFAULTS["n_components"],
          loc: torch.Tensor | np.ndarray | None = None,
          seed: int | torch.Generator | None = None, log: bool = False,
          slicing: str = "mc") -> Result:
    r"""Mixture spherical sliced fused Gromov-Wasserstein.

    .. math::
        MSSFG_{\beta,\kappa}(\mu, \nu) = \max_{\epsilon_1, \dots, \epsilon_k}
        \mathbb{E}_{\theta \sim \frac1k \sum_{i} vMF(\epsilon_i, \kappa)} FG_\beta(\theta)

    As :func:`ssfg`, with ``k`` locations started at the ``k`` best of ``n_projections``
    uniform directions (or ``loc``). The draws are stratified over the components (draw l from
    component l mod k; each component's draws averaged with weight 1/k). The objective is the
    mean of the components' SSFG objectives, so SFG <= MSSFG <= SSFG <= max-SFG up to
    estimation error, with equality to SSFG when every location reaches the global maximum;
    with ``n_components=1`` it is :func:`ssfg` on the same draws.

    Parameters
    ----------
    n_components : int >= 1, default 5
        Number k of components (<= n_projections); 5 leaves 20 draws per component at the
        default L = 100.
    loc : (k, d), optional
        Starting locations (unit rows).
    others
        As in :func:`ssfg`; ``log`` holds ``"locations"`` (k, d) instead of ``"direction"``.

    References
    ----------
    K. Nguyen et al., ICLR 2021 (see :func:`ssfg`).
    """
    k = check_positive_int(n_components, "n_components", 1)
    return _spherical(X, Y, make_draw=_draw_vmf, k=k, n_projections=n_projections, beta=beta,
                      p=p, kappa=kappa, n_iter=n_iter, lr=lr, loc=loc, seed=seed, log=log,
                      location_key="locations", slicing=slicing, name="mssfg")
