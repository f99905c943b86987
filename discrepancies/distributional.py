r"""Distributional slicing: DSW and DSFG (Nguyen, Ho, Pham & Bui, ICLR 2021).

The directions are L fixed uniform draws :math:`\theta_l` pushed forward by
:math:`f_\phi(\theta) = (W\theta + c) / \|W\theta + c\|` (one ``Linear(d, d)`` with its rows of
output normalised to unit length, as in the authors' ``TransformNet``), and :math:`\phi = (W, c)`
maximises the discrepancy on the pushed directions minus a penalty on their mutual alignment:

.. math::
    J(\phi) = \frac{D\big(f_\phi(\theta_1), \dots, f_\phi(\theta_L)\big)}{D(\theta_1, \dots,
    \theta_L)} - \lambda\, \frac{1}{L(L-1)} \sum_{l \ne l'}
    |f_\phi(\theta_l)^\top f_\phi(\theta_{l'})|,

with :math:`D` the mean of :math:`W_p^p` under the p-th root (SW's convention) for ``dsw`` and
the mean of :math:`FG_\beta` (the FG convention) for ``dsfg``, over the L pushed directions.
``n_iter`` Adam steps on :math:`\phi` (betas (0.5, 0.999), eps 1e-8, the authors' optimiser), on
detached X and Y, then the value :math:`D(f_\phi(\theta_{1..L}))` is recomputed with gradients
to X and Y (the push-forward held fixed).

Our scaling, against the authors' (``VinAIResearch/DSW``, ``utils.py``,
``distributional_sliced_wasserstein_distance``): they maximise :math:`n^{1/p}` SW (each slice
summed over the n samples) minus lam times the mean of :math:`|\cos|` over all :math:`L^2`
pairs, the diagonal (always 1) included. Here the discrepancy is divided by its value on the
base draws, which is the same for every step of a call: Adam's step is invariant to a constant
factor on the objective (but for its eps), so this changes nothing but the unit of ``lam``,
which becomes a fraction of the discrepancy itself (the same ``lam`` means the same trade-off
at any scale of the data, and ``dsw(cX, cY) = |c| dsw(X, Y)``); and the cosine term averages
the :math:`L(L-1)` pairs of distinct directions (the diagonal adds a constant and scales the
rest by (L-1)/L). The authors' exact objective is
:func:`discrepancies.conventions.dsw_in_convention`.

The push-forward starts at the identity (:math:`W = I, c = 0`: the pushed directions are the
uniform draws, so ``n_iter=0`` gives SW, or SFG, on them), or from ``state``: every call returns
its push-forward and Adam's moments in ``log["state"]``, so that a training loop keeps them warm
across calls, as the authors do (their ``TransformNet`` and its optimiser live across the
training).

Reference: K. Nguyen, N. Ho, T. Pham, H. Bui. "Distributional Sliced-Wasserstein and
Applications to Generative Modeling", ICLR 2021.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from samplers.constraints import check_real

from ._ascent import read_state
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
    check_weights,
    finish,
)
from .fused import sfg_on
from .sliced import sw_on
from .slicing import SCHEMES, slicing_scheme

__all__ = ["ADAM_BETAS", "ADAM_EPS", "DEFAULTS", "Objective", "ascend", "check_lam", "dsfg", "dsw",
           "mean_abs_cosine", "push_forward"]

DEFAULTS = {"n_projections": 100, "n_iter": 10, "lr": 0.05, "lam": 1.0}
"""Default keywords of :func:`dsw` and :func:`dsfg`, defended by ``sliced-bench validate``
(:func:`validation.distributional_checks.distributional_defaults`)."""

ADAM_BETAS = (0.5, 0.999)
"""Adam's moment decays, the authors' (``optim.Adam(..., betas=(0.5, 0.999))``)."""
ADAM_EPS = 1e-8
"""Adam's eps (torch's default, the authors')."""


@dataclass(frozen=True)
class Objective:
    """What the Adam steps maximise, besides the discrepancy on the pushed directions.

    scale : ``"start"`` (ours) divides the discrepancy by its value on the base draws;
        ``"samples"`` (the authors') multiplies it by :math:`n^{1/p}` (each slice a sum over
        the n samples under the p-th root), which needs n == m.
    diagonal : the mean of :math:`|\\cos|` runs over all :math:`L^2` pairs, the diagonal
        included (the authors'), rather than the :math:`L(L-1)` distinct pairs (ours).
    """

    scale: str = "start"
    diagonal: bool = False


OURS = Objective()


def push_forward(weight: torch.Tensor, bias: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    r"""The pushed directions :math:`(W\theta_l + c) / \|W\theta_l + c\|` of the base draws
    ``base`` (d, L), as columns (d, L); differentiable in ``weight`` (d, d) and ``bias`` (d,).

    Raises ``ValueError`` when a base draw is mapped to 0 (no direction)."""
    Z = weight @ base + bias.unsqueeze(1)
    norms = torch.linalg.vector_norm(Z, dim=0, keepdim=True)
    if not bool((norms.detach() > 0).all()):
        raise ValueError("state['weight'] and state['bias'] map a base direction to 0, which "
                         "has no direction: give another push-forward")
    return Z / norms


def mean_abs_cosine(directions: torch.Tensor, diagonal: bool = False) -> torch.Tensor:
    """The mean of :math:`|\\theta_l^\\top \\theta_{l'}|` over the pairs of distinct unit
    columns of ``directions`` (d, L) (0 for L = 1), or over all :math:`L^2` pairs with
    ``diagonal``."""
    L = directions.shape[1]
    G = (directions.T @ directions).abs()
    if diagonal:
        return G.mean()
    if L == 1:
        return G.sum() * 0
    return (G.sum() - G.diagonal().sum()) / (L * (L - 1))


def _adam_step(theta: torch.Tensor, grad: torch.Tensor, moments: dict[str, torch.Tensor],
               lr: float) -> torch.Tensor:
    """One Adam step (Kingma & Ba, with torch's placement of eps) that *descends* ``grad``;
    updates ``moments`` (``exp_avg``, ``exp_avg_sq``, ``step``) in place."""
    beta1, beta2 = ADAM_BETAS
    moments["step"] = moments["step"] + 1
    step = float(moments["step"])
    moments["exp_avg"] = beta1 * moments["exp_avg"] + (1 - beta1) * grad
    moments["exp_avg_sq"] = beta2 * moments["exp_avg_sq"] + (1 - beta2) * grad * grad
    denom = (moments["exp_avg_sq"].sqrt() / (1 - beta2**step) ** 0.5) + ADAM_EPS
    return theta - (lr / (1 - beta1**step)) * moments["exp_avg"] / denom


def _start(state: object, d: int, like: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The push-forward ``[W | c]`` (d, d + 1) and Adam's moments a call starts from: the
    identity and zeros, or ``state`` (whose moments are optional: zeros and step 0 when absent,
    all three or none)."""
    shapes = {"weight": (d, d), "bias": (d,), "exp_avg": (d, d + 1), "exp_avg_sq": (d, d + 1),
              "step": ()}
    given = read_state(state, shapes, like, ("weight", "bias"))
    zeros = torch.zeros(d, d + 1, dtype=like.dtype, device=like.device)
    if given is None:
        theta = torch.cat((torch.eye(d, dtype=like.dtype, device=like.device),
                           zeros[:, :1]), dim=1)
        return theta, {"exp_avg": zeros, "exp_avg_sq": zeros, "step": 0}
    moment_keys = ("exp_avg", "exp_avg_sq", "step")
    present = [k for k in moment_keys if k in given]
    if present and len(present) != len(moment_keys):
        raise ValueError(f"state must hold all of {list(moment_keys)} (Adam's moments) or none "
                         f"of them, got {present}")
    theta = torch.cat((given["weight"], given["bias"].unsqueeze(1)), dim=1)
    if not present:
        return theta, {"exp_avg": zeros, "exp_avg_sq": zeros, "step": 0}
    step = float(given["step"])
    if step < 0 or step != int(step):
        raise ValueError(f"state['step'] must be a non-negative integer, got {step}")
    if bool((given["exp_avg_sq"] < 0).any()):
        raise ValueError("state['exp_avg_sq'] must be >= 0 (a mean of squares)")
    return theta, {"exp_avg": given["exp_avg"], "exp_avg_sq": given["exp_avg_sq"],
                   "step": int(step)}


Value = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def ascend(value: Value, p: float, X: torch.Tensor, Y: torch.Tensor, base: torch.Tensor,
           state: object, n_iter: int, lr: float, lam: float, objective: Objective = OURS,
           ) -> tuple[torch.Tensor, dict, list[float]]:
    """The ``n_iter`` Adam steps of the module docstring on the push-forward, from ``state``.

    ``value(X, Y, P)`` is the discrepancy on directions P (d, L) (0-d, differentiable in P;
    ``p`` its order), called on detached X and Y. Returns the final pushed directions (d, L,
    detached), the state to return and the objective J before each step."""
    d = X.shape[1]
    theta, moments = _start(state, d, X)
    Xd, Yd = X.detach(), Y.detach()
    if objective.scale == "start":
        with torch.no_grad():
            start = value(Xd, Yd, base)
        factor = 1 / start if bool(start > 0) else torch.ones_like(start)
    else:
        factor = torch.tensor(float(X.shape[0]) ** (1 / p), dtype=X.dtype,
                              device=X.device)
    history = []
    # the steps need autograd in the push-forward even when the caller runs under no_grad (a
    # training loop's scale estimate, an evaluation)
    with torch.enable_grad():
        for _ in range(n_iter):
            theta = theta.detach().requires_grad_(True)
            pushed = push_forward(theta[:, :d], theta[:, d], base)
            J = (factor * value(Xd, Yd, pushed)
                 - lam * mean_abs_cosine(pushed, objective.diagonal))
            (grad,) = torch.autograd.grad(J, theta)
            history.append(J.item())
            theta = _adam_step(theta.detach(), -grad, moments, lr)
    pushed = push_forward(theta[:, :d], theta[:, d], base).detach()
    state_out = {"weight": theta[:, :d].detach(), "bias": theta[:, d].detach(),
                 "exp_avg": moments["exp_avg"].detach(),
                 "exp_avg_sq": moments["exp_avg_sq"].detach(),
                 "step": torch.tensor(float(moments["step"]), dtype=X.dtype, device=X.device)}
    return pushed, state_out, history


def check_lam(lam: object) -> float:
    """The weight lam >= 0 of the cosine penalty."""
    return check_real(lam, "lam", 0)


def _run(X: torch.Tensor, Y: torch.Tensor, numpy_out: bool, per_slice_fn: Callable, p: float,
         n_projections: object, projections: object, seed: object, slicing: object,
         n_iter: object, lr: object, lam: object, state: object, log: bool, name: str,
         ) -> Result:
    """The common driver of :func:`dsw` and :func:`dsfg`: ``per_slice_fn(X, Y, P) ->
    (value, per_slice)`` on checked directions."""
    n_iter, lr, lam = check_n_iter(n_iter), check_lr(lr), check_lam(lam)
    # the pushed directions are not uniform: the scheme only draws the base directions
    scheme = slicing_scheme(slicing, name, p=p, expectation=False)
    base = resolve_projections(projections, n_projections, seed, X, scheme.draw)
    pushed, state_out, history = ascend(lambda Xw, Yw, P: per_slice_fn(Xw, Yw, P)[0], p, X, Y,
                                        base, state, n_iter, lr, lam)
    result, per_slice = per_slice_fn(X, Y, pushed)
    return finish(result, numpy_out, log, {
        "projections": pushed, "per_slice": per_slice, "base": base,
        "cosine": mean_abs_cosine(pushed), "history": torch.tensor(history, dtype=torch.float64),
        "state": state_out})


@distributable
def dsw(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
        n_projections: int = DEFAULTS["n_projections"], p: float = 2,
        projections: torch.Tensor | np.ndarray | None = None,
        seed: int | torch.Generator | None = None, log: bool = False,
        a: torch.Tensor | np.ndarray | None = None, b: torch.Tensor | np.ndarray | None = None,
        n_iter: int = DEFAULTS["n_iter"], lr: float = DEFAULTS["lr"],
        lam: float = DEFAULTS["lam"], state: dict | None = None, slicing: str = "mc") -> Result:
    r"""Distributional sliced Wasserstein distance (SW's root convention).

    .. math::
        DSW_p(\mu, \nu) = \Big(\frac1L \sum_{l=1}^L W_p^p\big(f_\phi(\theta_l)_\# \mu,
        f_\phi(\theta_l)_\# \nu\big)\Big)^{1/p}, \qquad
        f_\phi(\theta) = \frac{W\theta + c}{\|W\theta + c\|},

    with :math:`\theta_l` L uniform draws and :math:`\phi = (W, c)` after ``n_iter`` Adam
    steps on the objective of :mod:`discrepancies.distributional` (the discrepancy relative to
    its value on the draws, minus ``lam`` times the mean :math:`|\cos|` between distinct pushed
    directions), started at the identity or at ``state``.

    Parameters
    ----------
    X, Y : torch.Tensor or numpy.ndarray, shapes (n, d) and (m, d)
    n_projections : int, default 100
        Number L of base draws (ignored when ``projections`` is given).
    p : float >= 1, default 2
    projections : (d, L), optional
        The base draws (unit columns); when given, nothing is drawn. With ``n_iter=0`` and no
        state the value is ``sw(X, Y, projections=projections)``.
    seed : None, int or torch.Generator
    log : bool
        Also return ``{"projections": (d, L) the pushed directions, "per_slice": (L,) W_p^p on
        them, "base": (d, L) the base draws, "cosine": their mean |cos|, "history": the
        objective before each step, "state": the warm state for the next call}``.
    a, b : weights, as in :func:`discrepancies.sw`.
    n_iter : int >= 0, default 10
        Adam steps on the push-forward (each one forward and one backward pass of SW on L
        directions): the authors' default.
    lr : float > 0, default 0.05
        Adam's step. The authors' 5e-4 moves a push-forward that stays warm over a whole
        training; a cold call with 10 steps of it stays at SW. 0.05 takes a cold call most of
        the way from SW towards max-SW at ``lam`` 1 (checked in ``sliced-bench validate``).
    lam : float >= 0, default 1
        Weight of the cosine penalty, in units of the discrepancy (dimensionless): 0 lets the
        directions gather on the most discriminative one (towards max-SW); large values keep
        them spread (towards SW).
    state : dict, optional
        A warm start, an earlier call's ``log["state"]``: ``"weight"`` (d, d) and ``"bias"``
        (d,) of the push-forward, and optionally Adam's ``"exp_avg"``, ``"exp_avg_sq"``
        (d, d + 1) and ``"step"``. Calling with ``n_iter=k`` and then with ``n_iter=j`` and the
        first call's state, on the same data and base draws, is exactly one call with
        ``n_iter=k + j``.
    slicing : str, default "mc"
        The scheme of the base draws (``"mc"``, ``"orthogonal"``, ``"rqmc"``); control variates
        estimate a uniform mean and are refused.

    Returns
    -------
    0-d tensor (dtype and device of X, differentiable in X and Y) or NumPy float64 for NumPy
    inputs; ``(value, log)`` when ``log=True``. Never above the exact W_p between mu and nu
    (every slice's W_p is below it).

    Raises
    ------
    ValueError, TypeError
        As :func:`discrepancies.sw`; lam < 0, n_iter < 0, lr <= 0, a bad ``state`` (naming the
        key).

    References
    ----------
    K. Nguyen, N. Ho, T. Pham, H. Bui. "Distributional Sliced-Wasserstein and Applications to
    Generative Modeling", ICLR 2021.
    """
    X, Y, numpy_out = as_point_clouds(X, Y)
    p, log = check_p(p), check_bool(log, "log")
    a, b = check_weights(a, X.shape[0], "a", X), check_weights(b, Y.shape[0], "b", Y)

    def per_slice(Xw: torch.Tensor, Yw: torch.Tensor, P: torch.Tensor):
        return sw_on(Xw, Yw, P, p, a, b, SCHEMES["mc"], "dsw")

    return _run(X, Y, numpy_out, per_slice, p, n_projections, projections, seed, slicing,
                n_iter, lr, lam, state, log, "dsw")


@distributable
def dsfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
         n_projections: int = DEFAULTS["n_projections"], beta: float = 0.1, p: float = 2,
         projections: torch.Tensor | np.ndarray | None = None,
         seed: int | torch.Generator | None = None, log: bool = False,
         n_iter: int = DEFAULTS["n_iter"], lr: float = DEFAULTS["lr"],
         lam: float = DEFAULTS["lam"], state: dict | None = None, slicing: str = "mc") -> Result:
    r"""Distributional sliced fused Gromov-Wasserstein (the FG convention: no root).

    .. math::
        DSFG_\beta(\mu, \nu) = \frac1L \sum_{l=1}^L FG_\beta\big(f_\phi(\theta_l)\big),

    :func:`dsw`'s push-forward and ascent with :math:`FG_\beta` per slice (as in
    :func:`discrepancies.sfg`) in place of :math:`W_p^p`: ``dsfg(beta=0)`` ascends the mean of
    :math:`W_p^p`, whose Adam steps are not :func:`dsw`'s (the p-th root changes the relative
    weight of the cosine penalty along the way).

    Parameters
    ----------
    X, Y : shape (n, d), the same n.
    beta : float in [0, 1], default 0.1
    others
        As in :func:`dsw` (no weights); ``log["per_slice"]`` holds FG_beta per pushed
        direction. With ``n_iter=0`` and no state the value is ``sfg(X, Y, projections=...)``.

    Returns
    -------
    As in :func:`dsw`; never above max-SFG.

    References
    ----------
    K. Nguyen et al., ICLR 2021 (see :func:`dsw`); H. Xu et al., ICML 2020 (the fused cost).
    """
    X, Y, numpy_out = as_point_clouds(X, Y)
    check_equal_size(X, Y)
    beta, p, log = check_beta(beta), check_p(p), check_bool(log, "log")

    def per_slice(Xw: torch.Tensor, Yw: torch.Tensor, P: torch.Tensor):
        return sfg_on(Xw, Yw, P, beta, p, SCHEMES["mc"], "dsfg")

    return _run(X, Y, numpy_out, per_slice, p, n_projections, projections, seed, slicing,
                n_iter, lr, lam, state, log, "dsfg")
