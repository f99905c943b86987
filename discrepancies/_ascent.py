"""Projected (Riemannian) gradient ascent on the unit sphere, or on a product of spheres.

Used by max-SW and max-SFG (one direction, shape (d,)) and reusable for the spherical family's
locations (shape (k, d): one unit vector per row). Each step:

1. the Euclidean gradient ``g`` of the objective at the current point ``x``;
2. its tangent part, ``g - <g, x> x`` row by row (the Riemannian gradient);
3. a step of length ``step`` along the normalised tangent direction (so ``lr`` is an angle-like
   quantity, independent of the scale of the data), followed by the retraction
   ``x <- x / ||x||`` row by row.

The best point evaluated is kept, so the value returned is never below the value at the start.
With ``backtrack=True`` (for deterministic objectives) each step starts from the best point; an
improving step grows the step by 1.5, a failing one halves it, so ``lr`` only sets the first
step and no tuning to the scale of the problem is needed. With ``backtrack=False`` (for
stochastic objectives) the iterate moves every step with the constant ``lr``, as in plain
projected gradient ascent, and the best evaluated point is still reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch

__all__ = ["AscentResult", "maximise_direction", "normalize_rows", "sphere_ascent"]


@dataclass
class AscentResult:
    """Outcome of :func:`sphere_ascent` (all tensors detached).

    point : the best point evaluated, same shape as the start, unit rows.
    value : the objective there (0-d tensor), >= ``start_value``.
    start_value : the objective at the start.
    history : the objective at every evaluated point, in order (length ``n_iter + 1``).
    """

    point: torch.Tensor
    value: torch.Tensor
    start_value: torch.Tensor
    history: list[float] = field(default_factory=list)


def normalize_rows(x: torch.Tensor) -> torch.Tensor:
    """The retraction onto the sphere: each row (or the vector) divided by its norm."""
    return x / x.norm(dim=-1, keepdim=True)


def _value_and_grad(objective: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                    need_grad: bool = True) -> tuple[torch.Tensor, Callable[[], torch.Tensor]]:
    """The objective at ``x`` and a function returning its gradient there, so that the
    backward pass is only run for points whose gradient is used (not for rejected backtracking
    steps nor for the last point). With ``need_grad=False`` (the last point) ``x`` does not
    require grad, so the objective may take a value-only path (no argsort kept for a backward
    pass), and the function must not be called."""
    x = x.detach().requires_grad_(need_grad)
    with torch.set_grad_enabled(need_grad):
        value = objective(x)
        if value.ndim != 0:
            raise ValueError(f"the objective must return a 0-d tensor, got shape "
                             f"{tuple(value.shape)}")

    def grad() -> torch.Tensor:
        (g,) = torch.autograd.grad(value, x)
        return g

    return value.detach(), grad


def _tangent_direction(x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The Riemannian gradient at ``x``, scaled to unit (Frobenius) norm; zero if it vanishes."""
    tangent = grad - (grad * x).sum(dim=-1, keepdim=True) * x
    norm = tangent.norm()
    tiny = torch.finfo(x.dtype).tiny
    return tangent / norm if norm > tiny else torch.zeros_like(tangent)


def sphere_ascent(objective: Callable, start: torch.Tensor, n_iter: int, lr: float, *,
                  backtrack: bool = True, lazy_grad: bool = False) -> AscentResult:
    """Maximise ``objective`` over unit vectors by projected gradient ascent.

    Parameters
    ----------
    objective : callable
        ``objective(x) -> 0-d tensor`` differentiable in ``x`` (shape of ``start``). It should
        use detached data: only the gradient with respect to ``x`` is taken. With
        ``lazy_grad=True``, ``objective(x, need_grad) -> (value, grad)`` instead, ``grad()``
        returning the Euclidean gradient at ``x`` (called at most once, before the next
        evaluation, and never when ``need_grad`` is False): no autograd graph is built.
    start : torch.Tensor, shape (d,) or (k, d)
        Starting point; rows are normalised.
    n_iter : int >= 0
        Number of steps (each costs one forward pass of ``objective``, and one backward pass
        when its gradient is used: not for a rejected backtracking step nor the last point;
        the start costs one more).
    lr : float > 0
        First step length (``backtrack=True``) or constant step length, in the tangent space
        before retraction: a step ``lr`` turns a direction by ``atan(lr)`` radians.
    backtrack : bool
        See the module docstring.
    lazy_grad : bool
        The calling convention of ``objective`` (above).

    Returns
    -------
    AscentResult
    """
    evaluate = objective if lazy_grad else partial(_value_and_grad, objective)
    x = normalize_rows(start.detach())
    value, grad_at = evaluate(x, True)
    best, best_value, start_value = x, value, value
    history = [value.item()]
    step = lr
    grad = grad_at() if n_iter > 0 else None
    for i in range(n_iter):
        base, base_grad = (best, grad) if backtrack else (x, grad)
        x = normalize_rows(base + step * _tangent_direction(base, base_grad))
        moves_on = i < n_iter - 1  # the last point's gradient is never used
        value, grad_at = evaluate(x, moves_on)
        history.append(value.item())
        improved = bool(value > best_value)
        if improved:
            best, best_value = x, value
        if backtrack:
            if improved:
                step = min(step * 1.5, math.pi)
                if moves_on:
                    grad = grad_at()
            else:
                step = step * 0.5
        elif moves_on:
            grad = grad_at()
    return AscentResult(best.detach(), best_value, start_value, history)


def maximise_direction(per_slice: Callable[[torch.Tensor], torch.Tensor],
                       candidates: torch.Tensor, n_iter: int, lr: float) -> AscentResult:
    """The direction maximising ``per_slice``: the best column of ``candidates`` (d, L), then
    :func:`sphere_ascent` (with backtracking) from it.

    ``per_slice(projections (d, L')) -> (L',)`` must use detached data. The result is never
    below the best candidate, so max-SW / max-SFG are never below POT's
    ``max_sliced_wasserstein_distance`` on the same directions.

    In d = 1 the sphere S^0 = {-1, +1} has no tangent space, and the costs maximised here
    (W_p^p and FG_beta) are even in the direction: the best candidate is returned as it is.
    """
    if candidates.shape[0] == 1:
        n_iter = 0
    with torch.no_grad():
        start = candidates[:, torch.argmax(per_slice(candidates.detach()))]
    return sphere_ascent(lambda theta: per_slice(theta[:, None])[0], start, n_iter, lr)
