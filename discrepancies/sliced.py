"""Sliced Wasserstein (SW) and max-sliced Wasserstein (max-SW) distances."""

from __future__ import annotations

import numpy as np
import torch

from ._ascent import maximise_direction, state_of, warm_start
from ._directions import resolve_projections
from ._execution import distributable
from ._inputs import (
    Rescaled,
    Result,
    as_point_clouds,
    check_bool,
    check_lr,
    check_n_iter,
    check_p,
    check_weights,
    finish,
    pth_root,
    range_rescaling,
)
from ._slices import wp_per_slice, wp_roots_per_slice
from .slicing import SCHEMES, SlicingScheme, slicing_scheme

__all__ = ["max_sw", "sw", "sw_on"]


@distributable
def sw(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *, n_projections: int = 100,
       p: float = 2, projections: torch.Tensor | np.ndarray | None = None,
       seed: int | torch.Generator | None = None, log: bool = False,
       a: torch.Tensor | np.ndarray | None = None,
       b: torch.Tensor | np.ndarray | None = None, slicing: str = "mc") -> Result:
    r"""Sliced Wasserstein distance, estimated over L directions (Monte Carlo by default).

    .. math::
        SW_p(\mu, \nu) = \Big(\mathbb{E}_{\theta \sim \mathcal{U}(S^{d-1})}
        W_p^p(\theta_\# \mu, \theta_\# \nu)\Big)^{1/p}
        \approx \Big(\frac1L \sum_{l=1}^L W_p^p(\theta_{l\#} \mu, \theta_{l\#} \nu)\Big)^{1/p}

    with :math:`\mu = \sum_i a_i \delta_{x_i}`, :math:`\nu = \sum_j b_j \delta_{y_j}`.
    Same convention as POT's ``ot.sliced_wasserstein_distance`` (p-th root, mean over samples
    and directions); on the same ``projections`` the two agree to rounding.

    Parameters
    ----------
    X : torch.Tensor or numpy.ndarray, shape (n, d)
        d = 1 is allowed: the directions are then +1 and -1 and SW_p is W_p itself.
    Y : torch.Tensor or numpy.ndarray, shape (m, d)
    n_projections : int, default 100
        Number L of random directions (ignored when ``projections`` is given). The Monte Carlo
        standard error decreases as L^(-1/2); 100 keeps it to a few percent on typical data
        (checked in ``sliced-bench validate``).
    p : float >= 1, default 2
    projections : (d, L) tensor or array, optional
        Unit directions as columns; when given, nothing is drawn.
    seed : None, int or torch.Generator
        The same int gives the same directions.
    log : bool
        Also return ``{"projections": (d, L), "per_slice": (L,) W_p^p per direction}``.
    a, b : shapes (n,) and (m,), optional
        Non-negative weights summing to one (within 1e-6 in float64, about 1e-4 in float32);
        uniform when None. Not differentiated: weights that require grad are refused.
    slicing : str, default "mc"
        How the expectation over directions is estimated (:mod:`discrepancies.slicing`):
        ``"mc"`` i.i.d. uniform directions, ``"orthogonal"`` blocks of orthonormal directions,
        ``"rqmc"`` randomised quasi-Monte Carlo, ``"control-variate"`` (p = 2 only) i.i.d.
        directions with leave-one-out control variates. All are unbiased for SW_p^p; the
        value returned is the p-th root of the estimate. With ``projections`` given, only the
        control variates change the estimate (``log["per_slice"]`` keeps the raw W_p^p, whose
        plain mean is then not the value).

    max_memory : int, optional
        Bytes allowed for one block of projections: the directions are processed in chunks of
        C columns with C (n + m) times the dtype's size at most ``max_memory`` (at least one
        direction per chunk), each chunk's projections recomputed in the backward pass instead
        of kept (:mod:`discrepancies._execution`). Default: 1/16 of the device's free memory
        at the call (available physical memory on the CPU, ``torch.cuda.mem_get_info`` on
        CUDA). Value and gradient equal the unchunked call's up to rounding.
    group : torch.distributed.ProcessGroup, optional
        Shard the slices over the ranks of ``group``: every rank must pass the same X, Y and
        arguments (checked: a ``ValueError`` otherwise; ``seed=None`` takes the first rank's
        draw), evaluates its share of the directions, and returns the same value, log and full
        gradient as the others, equal to the single-process call's up to rounding; every rank
        must run the backward pass (its all-reduce is a collective). None: this process
        alone.
    Returns
    -------
    0-d tensor (same dtype and device as X, differentiable in X and Y), or a NumPy float64
    scalar for NumPy inputs; ``(value, log)`` when ``log=True``.

    Notes
    -----
    Where the p-th powers could overflow or underflow in the data's dtype (huge or tiny data,
    large p), the value is computed on the data rescaled by a power of two, in float64, with
    each slice's gaps divided by their largest before the p-th power, and scaled back
    (:math:`SW_p(sX, sY) = s\, SW_p(X, Y)`): it is finite whenever it is representable, and a
    ``ValueError`` says so when it is not. ``log["per_slice"]`` then holds the p-th powers in
    the data's dtype, which may be inf. Elsewhere nothing is rescaled.

    References
    ----------
    N. Bonneel, J. Rabin, G. Peyre, H. Pfister. "Sliced and Radon Wasserstein barycenters of
    measures", Journal of Mathematical Imaging and Vision, 2015.
    """
    X, Y, numpy_out = as_point_clouds(X, Y)
    p, log = check_p(p), check_bool(log, "log")
    scheme = slicing_scheme(slicing, "sw", p=p)
    a, b = check_weights(a, X.shape[0], "a", X), check_weights(b, Y.shape[0], "b", Y)
    P = resolve_projections(projections, n_projections, seed, X, scheme.draw)
    value, per_slice = sw_on(X, Y, P, p, a, b, scheme)
    return finish(value, numpy_out, log, {"projections": P, "per_slice": per_slice})


def sw_on(X: torch.Tensor, Y: torch.Tensor, P: torch.Tensor, p: float,
          a: torch.Tensor | None = None, b: torch.Tensor | None = None,
          scheme: SlicingScheme = SCHEMES["mc"], name: str = "sw",
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """SW_p's estimate on the checked directions ``P`` (d, L) and W_p^p on each, as
    :func:`sw` computes them (rescaled where the p-th powers could leave the dtype's range; a
    ``ValueError`` naming ``name`` where the value cannot be represented). Differentiable in
    X, Y and P: :mod:`discrepancies.distributional` ascends through it."""
    rescaled = range_rescaling(X, Y, p, X.shape[0] + Y.shape[0] + P.shape[1])
    if rescaled is None:
        per_slice = wp_per_slice(X, Y, P, p, a, b)
        return pth_root(scheme.mean(per_slice, P, X, Y, a, b), p), per_slice
    Pw, aw, bw = rescaled.cast(P), rescaled.cast(a), rescaled.cast(b)
    roots = wp_roots_per_slice(rescaled.X, rescaled.Y, Pw, p, aw, bw)
    estimate = scheme.root_mean(roots, p, Pw, rescaled.X, rescaled.Y, aw, bw)
    return rescaled.restore(estimate, name), rescaled.restore(roots, power=p)


@distributable
def max_sw(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
           n_projections: int = 100, p: float = 2,
           projections: torch.Tensor | np.ndarray | None = None,
           seed: int | torch.Generator | None = None, log: bool = False,
           a: torch.Tensor | np.ndarray | None = None, b: torch.Tensor | np.ndarray | None = None,
           n_iter: int = 100, lr: float = 0.5, slicing: str = "mc",
           state: dict | None = None) -> Result:
    r"""Max-sliced Wasserstein distance: the largest 1-D Wasserstein distance over directions.

    .. math:: \max\text{-}SW_p(\mu, \nu) = \max_{\theta \in S^{d-1}}
              W_p(\theta_\# \mu, \theta_\# \nu)

    Starts from the best of ``n_projections`` random directions (or of the columns of
    ``projections``), then runs ``n_iter`` steps of projected gradient ascent on the sphere
    with backtracking (see :mod:`discrepancies._ascent`) on detached data, and keeps the best
    direction. The value is recomputed there with gradients to X and Y (envelope theorem). It
    is never below POT's ``ot.max_sliced_wasserstein_distance`` on the same directions (which
    only maximises over them) and never above the exact W_p between mu and nu.

    Parameters
    ----------
    X, Y, p, projections, seed, a, b
        As in :func:`sw`. In d = 1 both directions give W_p and no ascent step is taken.
    n_projections : int, default 100
        Random starting candidates.
    n_iter : int >= 0, default 100
        Ascent steps (each one forward and one backward pass on a single direction).
    lr : float > 0, default 0.5
        First step in the tangent space (a turn of ``atan(lr)`` radians); it grows by 1.5 after
        an improving step and halves after a failed one. The defaults reach the best of 10^4
        random directions in low dimension (checked in ``sliced-bench validate``).
    slicing : str, default "mc"
        The scheme that draws the starting candidates: ``"mc"``, ``"orthogonal"`` or
        ``"rqmc"`` (:mod:`discrepancies.slicing`; control variates estimate a mean and are
        refused with a ValueError).
    state : dict, optional
        A warm start: ``{"locations": (1, d)}``, an earlier call's ``log["state"]``; the ascent
        starts from that direction (instead of the best of random ones; not with
        ``projections``). ``max_sw(X, Y, state=s)`` is ``max_sw(X, Y,
        projections=s["locations"].T)`` (:mod:`discrepancies._ascent`).
    log : bool
        Also return ``{"projections": (d, 1), "per_slice": (1,) W_p^p, "direction": (d,),
        "locations": (1, d) the same direction, "history": list of W_p^p along the ascent,
        "state": the warm state for the next call}``.
        Where :func:`sw` rescales (see its notes), so does this, and the ascent maximises W_p
        itself (the same direction).

    max_memory, group
        As in :func:`discrepancies.sw`: bytes for one block of projections (chunks recomputed
        in backward), and a ``torch.distributed`` group to shard the slices over.
    Returns
    -------
    As in :func:`sw`.

    References
    ----------
    I. Deshpande, Y.-T. Hu, R. Sun, A. Pyrros, N. Siddiqui, S. Koyejo, Z. Zhao, D. Forsyth,
    A. Schwing. "Max-Sliced Wasserstein Distance and its use for GANs", CVPR 2019.
    """
    X, Y, numpy_out = as_point_clouds(X, Y)
    p, log = check_p(p), check_bool(log, "log")
    n_iter, lr = check_n_iter(n_iter), check_lr(lr)
    scheme = slicing_scheme(slicing, "max_sw", p=p, expectation=False)
    a, b = check_weights(a, X.shape[0], "a", X), check_weights(b, Y.shape[0], "b", Y)
    warm = warm_start(state, projections, "projections", rows=1)
    projections = warm if state is None else warm.T
    candidates = resolve_projections(projections, n_projections, seed, X, scheme.draw)
    rescaled = range_rescaling(X, Y, p, X.shape[0] + Y.shape[0] + candidates.shape[1])
    if rescaled is not None:
        return _max_sw_rescaled(rescaled, candidates, p, a, b, n_iter, lr, numpy_out, log)
    Xd, Yd = X.detach(), Y.detach()
    result = maximise_direction(lambda P: wp_per_slice(Xd, Yd, P, p, a, b), candidates,
                                n_iter, lr)
    direction = result.point.to(X.dtype)
    per_slice = wp_per_slice(X, Y, direction[:, None], p, a, b)
    value = pth_root(per_slice[0], p)
    return finish(value, numpy_out, log, {
        "projections": direction[:, None], "per_slice": per_slice, "direction": direction,
        "locations": direction[None], "state": state_of(direction),
        "history": torch.tensor(result.history)})


def _max_sw_rescaled(rescaled: Rescaled, candidates: torch.Tensor, p: float,
                     a: torch.Tensor | None, b: torch.Tensor | None, n_iter: int, lr: float,
                     numpy_out: bool, log: bool) -> Result:
    """:func:`max_sw` on rescaled data: the ascent maximises W_p per slice
    (:func:`wp_roots_per_slice`, no p-th power formed), a monotone function of W_p^p."""
    a, b = rescaled.cast(a), rescaled.cast(b)
    Xd, Yd = rescaled.X.detach(), rescaled.Y.detach()
    result = maximise_direction(lambda P: wp_roots_per_slice(Xd, Yd, P, p, a, b),
                                rescaled.cast(candidates), n_iter, lr)
    root = wp_roots_per_slice(rescaled.X, rescaled.Y, result.point[:, None], p, a, b)
    direction = result.point.to(rescaled.dtype)
    history = torch.tensor(result.history)
    return finish(rescaled.restore(root[0], "max_sw"), numpy_out, log, {
        "projections": direction[:, None], "per_slice": rescaled.restore(root, power=p),
        "direction": direction,
        "locations": direction[None], "state": state_of(direction),
        "history": rescaled.restore(history.double(), power=p, dtype=history.dtype)})
