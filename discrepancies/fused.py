"""Sliced fused Gromov-Wasserstein (SFG) and max-sliced fused Gromov-Wasserstein (max-SFG)."""

from __future__ import annotations

import numpy as np
import torch

from ._ascent import maximise_direction, state_of, warm_start
from ._directions import resolve_projections
from ._execution import distributable
from ._inputs import (
    Result,
    as_point_clouds,
    check_beta,
    check_bool,
    check_equal_size,
    check_lr,
    check_n_iter,
    check_p,
    finish,
    fused_rescaling,
)
from ._slices import fg_per_slice
from .slicing import SCHEMES, SlicingScheme, slicing_scheme

__all__ = ["max_sfg", "sfg", "sfg_on"]


@distributable
def sfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *, n_projections: int = 100,
        beta: float = 0.1, p: float = 2, projections: torch.Tensor | np.ndarray | None = None,
        seed: int | torch.Generator | None = None, log: bool = False,
        slicing: str = "mc") -> Result:
    r"""Sliced fused Gromov-Wasserstein discrepancy, estimated over L directions (Monte Carlo
    by default).

    .. math::
        SFG_\beta(\mu, \nu) = \mathbb{E}_{\theta \sim \mathcal{U}(S^{d-1})} FG_\beta(\theta),
        \quad FG_\beta(\theta) = \min_{\sigma \in \{id, anti\}}
        (1-\beta)\frac1n\sum_i |u_i - v_{\sigma(i)}|^p
        + \frac{\beta}{n^2}\sum_{i,j}\big((u_i-u_j)^2 - (v_{\sigma(i)}-v_{\sigma(j)})^2\big)^2

    with :math:`u = \theta^\top x`, :math:`v = \theta^\top y` sorted (n = m, uniform weights).
    No p-th root: ``sfg(beta=0) == sw ** p`` on the same directions. The structure term is
    computed in O(n) per direction after the sort (no n x n tensor).

    Parameters
    ----------
    X, Y : torch.Tensor or numpy.ndarray, shape (n, d)
        Same number of points. In d = 1 the directions are +1 and -1, which give the same
        FG_beta (it is even in theta): SFG = max-SFG = FG_beta(1).
    n_projections : int, default 100
        Number L of random directions (ignored when ``projections`` is given).
    beta : float in [0, 1], default 0.1
        Weight of the structure (Gromov) term; 0.1 is the RAE papers' usual order of magnitude.
    p : float >= 1, default 2
        Exponent of the Wasserstein term.
    projections : (d, L), optional
        Unit directions as columns; when given, nothing is drawn.
    seed : None, int or torch.Generator
    log : bool
        Also return ``{"projections": (d, L), "per_slice": (L,) FG_beta per direction}``.
    slicing : str, default "mc"
        As in :func:`discrepancies.sw`: ``"mc"``, ``"orthogonal"``, ``"rqmc"``, and
        ``"control-variate"`` for beta = 0 and p = 2 only (where FG_0 = W_2^2).

    max_memory, group
        As in :func:`discrepancies.sw`: bytes for one block of projections (chunks recomputed
        in backward), and a ``torch.distributed`` group to shard the slices over.
    Returns
    -------
    0-d tensor (differentiable in X and Y) or NumPy float64; ``(value, log)`` when ``log=True``.

    Notes
    -----
    Where the terms could overflow or underflow in the data's dtype (huge or tiny data, large
    p), they are computed on the data rescaled by a power of two :math:`s`, in float64: the
    transport term is p-homogeneous and the structure term 4-homogeneous, so FG_beta on the
    data is a power of two :math:`c` times the cost on the rescaled data with the weights
    :math:`(1-\beta)s^p / c` and :math:`\beta s^4 / c` in place of :math:`1-\beta` and
    :math:`\beta`, each computed from its own logarithm, so that neither term is rounded
    away however far apart their scales (:func:`discrepancies._inputs.fused_rescaling`). The value
    is finite whenever it is representable in the data's dtype, and a ``ValueError`` says so
    when it is not (for example FG of float32 data of size 1e20, about 1e80). Elsewhere
    nothing is rescaled.

    References
    ----------
    H. Xu, D. Luo, R. Henao, S. Shah, L. Carin. "Learning Autoencoders with Relational
    Regularization", ICML 2020. K. Nguyen et al., ICLR 2021 (see the package docstring).
    """
    X, Y, numpy_out = as_point_clouds(X, Y)
    check_equal_size(X, Y)
    beta, p, log = check_beta(beta), check_p(p), check_bool(log, "log")
    scheme = slicing_scheme(slicing, "sfg", p=p, beta=beta)
    P = resolve_projections(projections, n_projections, seed, X, scheme.draw)
    value, per_slice = sfg_on(X, Y, P, beta, p, scheme)
    return finish(value, numpy_out, log, {"projections": P, "per_slice": per_slice})


def sfg_on(X: torch.Tensor, Y: torch.Tensor, P: torch.Tensor, beta: float, p: float,
           scheme: SlicingScheme = SCHEMES["mc"], name: str = "sfg",
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """SFG's estimate on the checked directions ``P`` (d, L) and FG_beta on each, as
    :func:`sfg` computes them (rescaled where the terms could leave the dtype's range; a
    ``ValueError`` naming ``name`` where the value cannot be represented). Differentiable in
    X, Y and P: :mod:`discrepancies.distributional` ascends through it."""
    rescaled = fused_rescaling(X, Y, beta, p, 2 * X.shape[0] + P.shape[1])
    if rescaled is None:
        per_slice = fg_per_slice(X, Y, P, beta, p)
        return scheme.mean(per_slice, P, X, Y), per_slice
    Pw = rescaled.cast(P)
    per_slice = fg_per_slice(rescaled.X, rescaled.Y, Pw, rescaled.beta, p,
                             rescaled.transport_weight)
    value = rescaled.restore(scheme.mean(per_slice, Pw, rescaled.X, rescaled.Y), name)
    return value, rescaled.restore(per_slice)


@distributable
def max_sfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
            n_projections: int = 100, beta: float = 0.1, p: float = 2,
            projections: torch.Tensor | np.ndarray | None = None,
            seed: int | torch.Generator | None = None, log: bool = False,
            n_iter: int = 100, lr: float = 0.5, slicing: str = "mc",
            state: dict | None = None) -> Result:
    r"""Max-sliced fused Gromov-Wasserstein: :math:`\max_{\theta \in S^{d-1}} FG_\beta(\theta)`.

    Same ascent as :func:`discrepancies.max_sw` (best of ``n_projections`` random directions or
    of ``projections``, then ``n_iter`` projected gradient steps with backtracking on detached
    data, best direction kept, value recomputed with gradients to X and Y). Never below the
    largest FG_beta over the starting directions.

    Parameters
    ----------
    X, Y, beta, p, projections, seed
        As in :func:`sfg`.
    n_projections : int, default 100
    n_iter : int >= 0, default 100
    lr : float > 0, default 0.5
    slicing, state : as in :func:`discrepancies.max_sw`.
    log : bool
        Also return ``{"projections": (d, 1), "per_slice": (1,), "direction": (d,),
        "locations": (1, d) the same direction, "history": FG_beta along the ascent,
        "state": the warm state for the next call}``.

    max_memory, group
        As in :func:`discrepancies.sw`: bytes for one block of projections (chunks recomputed
        in backward), and a ``torch.distributed`` group to shard the slices over.
    Returns
    -------
    As in :func:`sfg` (which also says when the data are rescaled; the maximising direction
    is the same).
    """
    X, Y, numpy_out = as_point_clouds(X, Y)
    check_equal_size(X, Y)
    beta, p, log = check_beta(beta), check_p(p), check_bool(log, "log")
    n_iter, lr = check_n_iter(n_iter), check_lr(lr)
    scheme = slicing_scheme(slicing, "max_sfg", p=p, beta=beta, expectation=False)
    warm = warm_start(state, projections, "projections", rows=1)
    projections = warm if state is None else warm.T
    candidates = resolve_projections(projections, n_projections, seed, X, scheme.draw)
    rescaled = fused_rescaling(X, Y, beta, p, 2 * X.shape[0] + candidates.shape[1])
    work = ((X, Y, beta, None) if rescaled is None
            else (rescaled.X, rescaled.Y, rescaled.beta, rescaled.transport_weight))
    Xw, Yw, beta_w, transport_w = work
    Xd, Yd = Xw.detach(), Yw.detach()
    result = maximise_direction(lambda P: fg_per_slice(Xd, Yd, P, beta_w, p, transport_w),
                                candidates.to(Xw.dtype), n_iter, lr)
    per_slice = fg_per_slice(Xw, Yw, result.point[:, None], beta_w, p, transport_w)
    direction = result.point.to(X.dtype)
    history = torch.tensor(result.history)
    if rescaled is None:
        value = per_slice[0]
    else:
        value = rescaled.restore(per_slice[0], "max_sfg")
        per_slice = rescaled.restore(per_slice)
        history = rescaled.restore(history.double(), dtype=history.dtype)
    return finish(value, numpy_out, log, {
        "projections": direction[:, None], "per_slice": per_slice, "direction": direction,
        "locations": direction[None], "state": state_of(direction),
        "history": history})
