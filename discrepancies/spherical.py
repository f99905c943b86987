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

1. **Start**: the best of ``n_projections`` uniform directions (the ``k`` best for MSSFG),
   as max-SFG does, scored with FG_beta (value only), or the ``loc`` given by the caller (a
   warm start, e.g. the previous optimum in a training loop). The uniform directions come from
   the ``slicing`` scheme (:mod:`discrepancies.slicing`; ``"mc"`` by default): only the start,
   never the vMF / power spherical draws.
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

An ascent step evaluates the fused cost with the kernel of every FG discrepancy
(:func:`discrepancies._slices.fg_sorted` and its closed-form gradient) on the projections of
the placed draws, and takes the gradient to the location by the chain rule through the
placement (:func:`_placed_fg`). The placement is linear in the projections of the location,
of e1 and of the tangent directions; the last do not depend on the location and are computed
once per call (one matrix product), so a step costs O(nL + nd + dL) besides its two row sorts,
without an n d L product. With ``n_iter = T`` a call costs the start's scoring (a value-only
SFG), one matrix product for the base draws, ``T + 1`` evaluations (``T`` of them with a
gradient, which needs the sorting permutations) and the final value.
``scripts/bench_spherical.py`` measures the cost against SFG on the same L, with and without
gradients, and ``--stages`` each part.

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

from . import _kernels as K
from ._ascent import sphere_ascent, state_of, warm_start
from ._execution import current_chunk_size, distributable, share
from ._inputs import (
    Result,
    as_point_clouds,
    check_beta,
    check_bool,
    check_equal_size,
    check_fits,
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
from ._slices import Pullback, fg_per_slice, fg_pullback
from .slicing import slicing_scheme

__all__ = ["DEFAULTS", "mssfg", "pssfg", "ssfg"]

DEFAULTS = {"n_projections": 100, "kappa": 10.0, "n_iter": 10, "lr": 0.5, "n_components": 5}
"""Default keywords of the three functions, defended by ``sliced-bench validate``'s
``spherical`` checks (see :mod:`validation.spherical_checks`)."""


@dataclass(frozen=True)
class _Centred:
    """Detached point clouds centred at their means, laid out so that one product
    ``theta @ right`` projects both clouds and the gap between their means, in the layout of
    :func:`discrepancies._slices.fg_pullback`."""

    n: int
    stacked: torch.Tensor  # (2n, d): X - mean(X), then Y - mean(Y)
    mean_gap: torch.Tensor  # (d,): mean(X) - mean(Y)
    right: torch.Tensor  # (d, 2n + 1): stacked^T | mean_gap
    # the (L, n)-sized buffers of every evaluation of one call's ascent
    workspace: K.Workspace = field(default_factory=K.Workspace, compare=False, repr=False)

    def fg(self, projected: torch.Tensor, beta: float, p: float, need_grad: bool,
           transport_weight: float | None = None) -> tuple[torch.Tensor, Pullback | None]:
        """:func:`discrepancies._slices.fg_pullback` on the rows of ``projected`` (L, 2n + 1),
        in the workspace."""
        n = self.n
        return fg_pullback(projected[:, :n], projected[:, n:2 * n], projected[:, 2 * n], beta,
                           p, need_grad, self.workspace, transport_weight)

    @classmethod
    def of(cls, X: torch.Tensor, Y: torch.Tensor) -> _Centred:
        X, Y = X.detach(), Y.detach()
        x_mean, y_mean = X.mean(dim=0), Y.mean(dim=0)
        stacked = torch.cat((X - x_mean, Y - y_mean))
        gap = x_mean - y_mean
        return cls(X.shape[0], stacked, gap, torch.cat((stacked.T, gap.unsqueeze(1)), dim=1))


@dataclass(frozen=True)
class _BaseDraws:
    """The base draws of one call's ascent (common random numbers) and the data projected on
    their tangent directions, computed once: row l is placed at the location of component
    ``l mod k`` (:func:`samplers.sphere.householder_place`)."""

    t: torch.Tensor  # (L,): cosine to the location
    s: torch.Tensor  # (L,): sqrt(1 - t^2)
    v: torch.Tensor  # (L, d): unit tangent directions at e1 (v[:, 0] = 0)
    # (L, 2n + 1): v @ data.right; None when the ascent runs in chunks (under max_memory),
    # which recompute it at each evaluation rather than hold it for all L draws
    v_right: torch.Tensor | None
    component: torch.Tensor  # (L,): l mod k
    # (k, L): 1 where draw l belongs to component c, so that sums over each component's draws
    # are one matrix product (no loop over the components)
    membership: torch.Tensor

    @classmethod
    def of(cls, t: torch.Tensor, s: torch.Tensor, z: torch.Tensor, data: _Centred,
           k: int, first: int = 0, keep: bool = True) -> _BaseDraws:
        """The draws ``(t, s, z)`` numbered from ``first`` (a rank's share of a call's, or a
        chunk of it); ``keep=False`` leaves ``v_right`` to each evaluation."""
        v = z / torch.linalg.vector_norm(z, dim=1, keepdim=True)
        component = torch.arange(first, first + v.shape[0], device=v.device) % k
        membership = (component == torch.arange(k, device=v.device).unsqueeze(1)).to(v.dtype)
        return cls(t.detach(), s.detach(), v, v @ data.right if keep else None, component,
                   membership)


def _placed_fg(locs: torch.Tensor, draws: _BaseDraws, data: _Centred, beta: float, p: float,
               need_grad: bool, transport_weight: float | None = None,
               ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor] | None]:
    r"""FG_beta on the base draws placed at the locations (rows of ``locs`` (k, d)), and with
    ``need_grad`` the vector-Jacobian product ``c -> d(c^T values)/d locs`` (the data held
    fixed), without an autograd graph: the ascent calls it directly (``lazy_grad`` of
    :func:`discrepancies._ascent.sphere_ascent`), before the next evaluation, as the buffers
    of ``data.workspace`` require. ``transport_weight`` as in
    :func:`discrepancies._slices.fg_sorted` (``1 - beta`` when None).

    **Placement.** :func:`samplers.sphere.householder_place` puts a base draw at the location
    :math:`\epsilon` (Householder sign :math:`\sigma`, locally constant) as

    .. math:: \theta_l = a_l\,\epsilon + k_l\,e_1 + \sigma s_l v_l, \qquad
              k_l = \frac{s_l\, \epsilon^\top v_l}{1 - \sigma \epsilon_1}, \quad
              a_l = t_l - \sigma k_l,

    so, the projection :math:`P(\theta) = \theta^\top R` (R = ``data.right``) being linear,
    :math:`P(\theta_l) = a_l P(\epsilon) + k_l P(e_1) + \sigma s_l P(v_l)`: the last term is
    computed once per call, and a step costs O(nL + nd + dL) besides its sorts, with no
    product of size n d L.

    **Gradient.** :func:`discrepancies._slices.fg_pullback` gives :math:`\bar P_l`, the
    gradient of :math:`\sum_l c_l FG_l` with respect to :math:`P(\theta_l)`. Through the
    placement (chain rule, :math:`\partial a_l = -\sigma\,\partial k_l`):

    .. math::
        \nabla_\epsilon = R \sum_l a_l \bar P_l + \sum_l q_l \nabla_\epsilon k_l, \quad
        q_l = \bar P_l^\top (P(e_1) - \sigma P(\epsilon)), \quad
        \nabla_\epsilon k_l = \frac{s_l}{1 - \sigma\epsilon_1}\Big(v_l
        + \frac{\sigma\,\epsilon^\top v_l}{1 - \sigma\epsilon_1} e_1\Big),

    the sums running over the draws of each location: two products of the (L, 2n) gradient
    with (2n, k + 1) and (k, 2n) matrices, and O(dL).
    """
    locs = locs.detach()
    n = data.n
    component, membership = draws.component, draws.membership
    sigma = householder_sign(locs[:, 0])
    denom = 1 - sigma * locs[:, 0]
    sigma_l, denom_l, locs_l = sigma[component], denom[component], locs[component]
    along = torch.linalg.vecdot(draws.v, locs_l)  # epsilon^T v_l
    k_l = draws.s * along / denom_l
    a_l = draws.t - sigma_l * k_l
    locs_right = locs @ data.right  # (k, 2n + 1): P(epsilon)
    e1_right = data.right[0]  # P(e1)
    v_right = draws.v @ data.right if draws.v_right is None else draws.v_right
    projected = torch.mul(v_right, (sigma_l * draws.s).unsqueeze(1),
                          out=data.workspace.take("projected", v_right))
    projected.addmm_((membership * a_l).T, locs_right)  # row l: + a_l P(its location)
    projected.addr_(k_l, e1_right)
    values, pullback = data.fg(projected, beta, p, need_grad, transport_weight)
    if pullback is None:
        return values, None

    def vjp(weights: torch.Tensor) -> torch.Tensor:
        # P-bar: G for the points' columns (into the projections' buffer, read by now),
        # g_delta for the gap's
        G, g_delta = pullback(weights, data.workspace.take("projected", projected)[:, :2 * n])
        weighted = membership * a_l  # (k, L)
        grad = (weighted @ G) @ data.stacked
        grad += torch.outer(weighted @ g_delta, data.mean_gap)
        # P-bar_l against P(e1) and P(its location), in one product
        basis = G @ torch.cat((locs_right[:, :2 * n], e1_right[None, :2 * n])).T
        basis += torch.outer(g_delta, torch.cat((locs_right[:, 2 * n], e1_right[2 * n:])))
        q = basis[:, -1] - sigma_l * basis.gather(1, component.unsqueeze(1)).squeeze(1)
        tangent = q * draws.s / denom_l
        grad += (membership * tangent) @ draws.v
        grad[:, 0] += membership @ (tangent * sigma_l * along / denom_l)
        return grad

    return values, vjp


@dataclass(frozen=True)
class _Variant:
    """A deliberately altered estimator, for the mutation checks of ``sliced-bench validate``
    (:func:`validation.spherical_checks.mutation`), passed as the private keyword ``_variant``
    of :func:`ssfg`, :func:`mssfg` and :func:`pssfg`; the default leaves them exact.

    kappa : draw with this concentration whatever the caller's (0: uniform draws, 1e12: every
        draw at its location), in the ascent and for the value.
    value_sign : the ascent maximises ``value_sign`` times the objective (-1: it minimises).
    gradient_sign : and steps along ``gradient_sign`` times the gradient of what it maximises
        (-1: it descends).
    """

    kappa: float | None = None
    value_sign: float = 1.0
    gradient_sign: float = 1.0


_EXACT = _Variant()


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


def _loc_or_state(state: object, loc: object, k: int | None) -> object:
    """The ``loc`` the driver starts from: the caller's, or the locations of ``state``
    (:func:`discrepancies._ascent.warm_start`): ``k`` rows, or one row as a (d,) vector for
    ``k`` None (SSFG and PSSFG)."""
    start = warm_start(state, loc, "loc", rows=k or 1)
    return start[0] if state is not None and k is None else start


def _spherical(X: object, Y: object, *, make_draw: Callable[[float, int], _Sampler], k: int,
               n_projections: object, beta: object, p: object, kappa: object, n_iter: object,
               lr: object, loc: object, seed: object, log: bool, location_key: str,
               slicing: object, name: str, variant: _Variant | None) -> Result:
    """The common driver of :func:`ssfg`, :func:`mssfg` and :func:`pssfg` (see the module
    docstring for the three stages)."""
    X, Y, numpy_out = as_point_clouds(X, Y)
    check_equal_size(X, Y)
    beta, p, kappa = check_beta(beta), check_p(p), check_kappa(kappa, X.dtype)
    L = check_n_projections(n_projections)
    check_fits(L, 2 * X.shape[0] + 1, X)
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
    if loc is not None:
        # checked in the caller's dtype, the one the location was normalised for
        given = check_locations(loc, d, X).detach()
        expected = (k, d) if location_key == "locations" else (d,)
        if tuple(given.shape) != expected:
            raise ValueError(f"loc must have shape {expected}, got {tuple(given.shape)}")
    generator = make_generator(seed, X.device)
    # huge or tiny data, or a large p: FG_beta is c times the cost with the weights
    # (transport_weight, beta) on rescaled data (the same maximising location), see
    # discrepancies._inputs.fused_rescaling
    rescaled = fused_rescaling(X, Y, beta, p, 2 * X.shape[0] + L)
    transport_weight = None  # 1 - beta
    if rescaled is not None:
        X, Y = rescaled.X, rescaled.Y
        beta, transport_weight = rescaled.beta, rescaled.transport_weight
    variant = _EXACT if variant is None else variant
    data = _Centred.of(X, Y)
    if loc is None:
        candidates = scheme.draw(d, L, generator, X.dtype, X.device)
        # through the per-slice level: in chunks under max_memory, sharded under a group
        with torch.no_grad():
            scores = fg_per_slice(X.detach(), Y.detach(), candidates, beta, p, transport_weight)
        start = candidates[:, torch.topk(scores, k).indices].T
    else:
        start = given.to(X.dtype).reshape(k, d)

    draw = make_draw(kappa if variant.kappa is None else variant.kappa, L)
    weights = _stratum_weights(L, k, X)
    history: list[float] = []
    best = start
    if n_iter > 0:
        # common random numbers: every step places these base draws at its location(s);
        # under a group each rank places its share of them, the values are gathered and the
        # location gradient summed over the ranks, so that all follow the same path
        mine = share(L)
        lo, hi = (0, L) if mine is None else (mine.lo, mine.hi)
        t, s, z = (b[lo:hi] for b in draw.base_draws(start, generator))
        # under max_memory the (L, 2n + 1) block of placed draws is made chunk by chunk;
        # the chunks share the workspace, so each one's gradient is taken at once
        size = current_chunk_size(hi - lo, 2 * X.shape[0] + 1, X)
        bounds = [(a, min(a + size, hi - lo)) for a in range(0, hi - lo, size)]
        chunks = [_BaseDraws.of(t[a:b], s[a:b], z[a:b], data, k, first=lo + a,
                                keep=len(bounds) == 1) for a, b in bounds]
        sign = variant.value_sign

        def objective(locs: torch.Tensor, need_grad: bool,
                      ) -> tuple[torch.Tensor, Callable[[], torch.Tensor] | None]:
            parts, vjps = [], []
            for chunk, (a, b) in zip(chunks, bounds, strict=True):
                values, vjp = _placed_fg(locs, chunk, data, beta, p, need_grad,
                                         transport_weight)
                if len(chunks) == 1:
                    parts, vjps = [values], [vjp]
                else:
                    parts.append(values.clone())
                    if vjp is not None:
                        vjps.append(vjp(sign * weights[lo + a:lo + b]))
            values = torch.cat(parts) if len(parts) > 1 else parts[0]
            if mine is not None:
                values = mine.gather(values)
            value = sign * (values @ weights)
            if not need_grad:
                return value, None

            def grad() -> torch.Tensor:
                g = vjps[0](sign * weights[lo:hi]) if len(chunks) == 1 else sum(vjps)
                g = variant.gradient_sign * g
                return g if mine is None else mine.all_reduce(g)

            return value, grad

        result = sphere_ascent(objective, start, n_iter, lr, backtrack=True, lazy_grad=True)
        best, history = result.point, result.history

    projections = draw(best, generator).detach().T  # fresh draws: the generator moved on
    per_slice = fg_per_slice(X, Y, projections, beta, p, transport_weight)
    value = per_slice.mean() if k == 1 else per_slice @ weights
    history = torch.tensor(history, dtype=torch.float64)
    if rescaled is not None:
        value, per_slice = rescaled.restore(value, name), rescaled.restore(per_slice)
        history = rescaled.restore(history, dtype=torch.float64)
        projections, best = projections.to(rescaled.dtype), best.to(rescaled.dtype)
    # every optimised discrepancy logs its locations (k, d); the one-location ones also
    # their "direction" (d,)
    located = {"locations": best} if location_key == "locations" else {
        "locations": best, "direction": best[0]}
    return finish(value, numpy_out, log, {
        "projections": projections, "per_slice": per_slice, **located, "history": history,
        "state": state_of(best)})


@distributable
def ssfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
         n_projections: int = DEFAULTS["n_projections"], beta: float = 0.1, p: float = 2,
         kappa: float = DEFAULTS["kappa"], n_iter: int = DEFAULTS["n_iter"],
         lr: float = DEFAULTS["lr"], loc: torch.Tensor | np.ndarray | None = None,
         seed: int | torch.Generator | None = None, log: bool = False,
         slicing: str = "mc", state: dict | None = None,
         _variant: _Variant | None = None) -> Result:
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
    state : dict, optional
        The warm state ``{"locations": (1, d)}`` of an earlier call (its ``log["state"]``):
        the same as ``loc=state["locations"][0]`` (not with ``loc``); see
        :mod:`discrepancies._ascent`.
    seed : None, int or torch.Generator
        The same int gives the same value.
    log : bool
        Also return a dict: ``"projections"`` (d, L) the final draws, ``"per_slice"`` (L,)
        FG_beta on them, ``"direction"`` (d,) the location (also as ``"locations"`` (1, d)),
        ``"history"`` the Monte Carlo objective (common random numbers) at each point the
        ascent evaluated, ``"state"`` the warm state for the next call.
    slicing : str, default "mc"
        The scheme that draws the uniform starting candidates (``"mc"``, ``"orthogonal"``,
        ``"rqmc"``; :mod:`discrepancies.slicing`). The vMF draws are the method itself and do
        not change; ``"control-variate"`` (a uniform-mean estimator) raises a ValueError.
    max_memory, group
        As in :func:`discrepancies.sw`: bytes for one block of projections (chunks recomputed
        in backward), and a ``torch.distributed`` group to shard the slices over.
        The start's scoring, the ascent's (L, 2n + 1) block of placed draws and the final
        value are all chunked (the ascent then recomputes its projections at each step and
        takes each chunk's location gradient as it goes); under a group each rank places only
        its share of the draws, and the location gradient is summed over the ranks at each
        step.
    _variant : private
        For the mutation checks of ``sliced-bench validate`` only: a deliberately wrong
        estimator (:class:`_Variant`).

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
                      p=p, kappa=kappa, n_iter=n_iter, lr=lr,
                      loc=_loc_or_state(state, loc, None), seed=seed, log=log,
                      location_key="direction", slicing=slicing, name="ssfg", variant=_variant)


@distributable
def pssfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
          n_projections: int = DEFAULTS["n_projections"], beta: float = 0.1, p: float = 2,
          kappa: float = DEFAULTS["kappa"], n_iter: int = DEFAULTS["n_iter"],
          lr: float = DEFAULTS["lr"], loc: torch.Tensor | np.ndarray | None = None,
          seed: int | torch.Generator | None = None, log: bool = False,
          slicing: str = "mc", state: dict | None = None,
          _variant: _Variant | None = None) -> Result:
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
                      beta=beta, p=p, kappa=kappa, n_iter=n_iter, lr=lr,
                      loc=_loc_or_state(state, loc, None), seed=seed,
                      log=log, location_key="direction", slicing=slicing, name="pssfg",
                      variant=_variant)


@distributable
def mssfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
          n_projections: int = DEFAULTS["n_projections"], beta: float = 0.1, p: float = 2,
          kappa: float = DEFAULTS["kappa"], n_iter: int = DEFAULTS["n_iter"],
          lr: float = DEFAULTS["lr"], n_components: int = DEFAULTS["n_components"],
          loc: torch.Tensor | np.ndarray | None = None,
          seed: int | torch.Generator | None = None, log: bool = False,
          slicing: str = "mc", state: dict | None = None,
          _variant: _Variant | None = None) -> Result:
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
    state : dict, optional
        ``{"locations": (k, d)}``, as in :func:`ssfg`.
    others
        As in :func:`ssfg` (``_variant`` included); ``log`` holds ``"locations"`` (k, d)
        and no ``"direction"``.

    References
    ----------
    K. Nguyen et al., ICLR 2021 (see :func:`ssfg`).
    """
    k = check_positive_int(n_components, "n_components", 1)
    return _spherical(X, Y, make_draw=_draw_vmf, k=k, n_projections=n_projections, beta=beta,
                      p=p, kappa=kappa, n_iter=n_iter, lr=lr,
                      loc=_loc_or_state(state, loc, k), seed=seed, log=log,
                      location_key="locations", slicing=slicing, name="mssfg",
                      variant=_variant)
