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

**Warm state.** Every optimised discrepancy (max-SW, max-SFG, the spherical family, DSW, DSFG)
takes ``state=`` (a dict, or None for a cold start) and, with ``log=True``, returns the state
to pass to its next call as ``log["state"]``, so that a training loop that calls it on slowly
changing data continues its ascent instead of restarting it. The state of the ascents on the
sphere is ``{"locations": (k, d) unit rows}`` (:func:`warm_start`, :func:`state_of`);
DSW's also holds its push-forward and its Adam moments (:mod:`discrepancies.distributional`).
:func:`read_state` checks any of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import torch

from samplers.constraints import check_unit_norm

from ._inputs import check_finite, describe, to_tensor

__all__ = ["AscentResult", "maximise_direction", "normalize_rows", "read_state",
           "sphere_ascent", "state_of", "warm_start"]


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


def read_state(state: object, shapes: Mapping[str, tuple[int, ...] | None],
               like: torch.Tensor | None, required: tuple[str, ...]
               ) -> dict[str, torch.Tensor] | None:
    """The warm state ``state`` (a dict of arrays, e.g. an earlier call's ``log["state"]``)
    checked against ``shapes`` (key -> shape, None for any) and moved to ``like``'s dtype and
    device (kept as given without ``like``); None for None (a cold start).

    Raises
    ------
    TypeError
        ``state`` is not a dict, or one of its values is not a real array.
    ValueError
        A key outside ``shapes`` or a ``required`` one missing, a value of the wrong shape, a
        non-finite value.
    """
    if state is None:
        return None
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be None or a dict (an earlier call's log['state']), "
                        f"got {describe(state)}")
    unknown = sorted(map(str, set(state) - set(shapes)))
    missing = [key for key in required if key not in state]
    if unknown or missing:
        optional = sorted(set(shapes) - set(required))
        raise ValueError(f"state must have the keys {sorted(required)}"
                         + (f" (and optionally {optional})" if optional else "")
                         + f", got {sorted(map(str, state))}")
    out = {}
    for key, value in state.items():
        name = f"state[{key!r}]"
        t = to_tensor(value, name)[0]
        if like is not None:
            t = t.to(dtype=like.dtype, device=like.device)
        if shapes[key] is not None and tuple(t.shape) != tuple(shapes[key]):
            raise ValueError(f"{name} must have shape {tuple(shapes[key])}, got {describe(t)}")
        check_finite(t, name)
        out[key] = t.detach()
    return out


def warm_start(state: object, given: object, given_name: str, rows: int | None = None,
               ) -> object:
    """Where an ascent on the sphere starts: the locations (k, d) of ``state``
    (``{"locations": (k, d)}``, unit rows; ``rows`` = k when the caller fixes it), or, without
    a state, ``given`` (the caller's own start keyword, named ``given_name``) as it is.

    Raises
    ------
    ValueError
        Both ``state`` and ``given``; locations of the wrong shape or not of unit norm; as
        :func:`read_state`.
    """
    if state is None:
        return given
    if given is not None:
        raise ValueError(f"state and {given_name} must not both be given: state['locations'] "
                         f"is where the ascent starts")
    locations = read_state(state, {"locations": None}, None, ("locations",))["locations"]
    if locations.ndim != 2 or locations.shape[0] == 0 or (
            rows is not None and locations.shape[0] != rows):
        raise ValueError(f"state['locations'] must have shape ({rows or 'k'}, d), "
                         f"got {describe(locations)}")
    check_unit_norm(locations, "state['locations']")
    return locations


def state_of(locations: torch.Tensor) -> dict[str, torch.Tensor]:
    """The warm state an ascent on the sphere returns: ``{"locations": (k, d)}``."""
    return {"locations": locations.detach().reshape(-1, locations.shape[-1])}
