r"""Adapters from this suite's convention to the scalings of published code.

The suite follows DESIGN.md (and POT): directions uniform on the unit sphere, averages over
samples and directions, a p-th root for SW. Published code often differs:

- ``"design"``: this suite and POT's ``ot.sliced_wasserstein_distance``.
- ``"swae"``: unit directions, the mean of :math:`|u_{(i)} - v_{(i)}|^p` over samples and
  directions, no root (the SWAE code of Kolouri et al.; ``sw ** p``).
- ``"rae"``: unnormalised standard Gaussian directions :math:`g \sim N(0, I_d)` and *sums* over
  samples: :math:`\frac1L\sum_l \sum_i |g_l^\top x_{(i)} - g_l^\top y_{(i)}|^p` for SW (no
  root), and :math:`(1-\beta)\sum_i |\cdot|^p + \beta\sum_{i,j}(\cdot)^2` per slice for SFG (as in
  the original relational-autoencoder code). Because :math:`E\|g\|^2 = d`, these numbers are
  about :math:`n d` (SW, p = 2) larger than ours.

The adapters evaluate a published convention *exactly* on the directions that code drew (pass
the raw Gaussian vectors for ``"rae"``), through this suite's per-slice primitives:
:math:`W_p^p` on the line is p-homogeneous in the direction, and the FG cost with sums is
:math:`c\,FG_{\beta'}` with :math:`c = (1-\beta) n + \beta n^2`, :math:`\beta' = \beta n^2 / c`
(a positive multiple of the same objective, so the same coupling is chosen). To compare a
published number with ours in expectation: ``"rae"`` SW (p = 2) ~ ``n * d * sw(X, Y) ** 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._inputs import (
    as_point_clouds,
    check_beta,
    check_equal_size,
    check_finite,
    check_p,
    check_projections,
    describe,
    pth_root,
    to_output,
    to_tensor,
)
from ._slices import fg_per_slice, wp_per_slice

__all__ = ["CONVENTIONS", "Convention", "sfg_in_convention", "sw_in_convention"]


@dataclass(frozen=True)
class Convention:
    """How an implementation scales a sliced discrepancy.

    directions : ``"unit"`` (uniform on the sphere) or ``"gaussian"`` (raw N(0, I_d) vectors).
    reduction : ``"mean"`` or ``"sum"`` over samples (and over pairs for the structure term).
    root : whether SW takes the p-th root of the mean over directions.
    """

    directions: str
    reduction: str
    root: bool


CONVENTIONS: dict[str, Convention] = {
    "design": Convention("unit", "mean", True),
    "swae": Convention("unit", "mean", False),
    "rae": Convention("gaussian", "sum", False),
}


def _convention(name: object) -> Convention:
    if name not in CONVENTIONS:
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}, got {name!r}")
    return CONVENTIONS[name]


def _directions(directions: object, conv: Convention, like: torch.Tensor) -> torch.Tensor:
    if conv.directions == "unit":
        return check_projections(directions, like.shape[1], like)
    t, _ = to_tensor(directions, "directions")
    t = t.to(dtype=like.dtype, device=like.device)
    if t.ndim != 2 or t.shape[0] != like.shape[1] or t.shape[1] == 0:
        raise ValueError(f"directions must have shape (d, L) = ({like.shape[1]}, L), "
                         f"got {describe(t)}")
    check_finite(t, "directions")
    return t


def sw_in_convention(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray,
                     directions: torch.Tensor | np.ndarray, p: float = 2, *,
                     convention: str = "design") -> torch.Tensor | np.float64:
    """SW as the implementation following ``convention`` computes it on ``directions`` (d, L).

    ``"design"`` equals :func:`discrepancies.sw` with ``projections=directions``. ``"sum"``
    conventions need n == m (uniform weights). Same input and output types as ``sw``.
    """
    conv = _convention(convention)
    X, Y, numpy_out = as_point_clouds(X, Y)
    p = check_p(p)
    if conv.reduction == "sum":
        check_equal_size(X, Y)
    per_slice = wp_per_slice(X, Y, _directions(directions, conv, X), p)
    value = per_slice.mean() * (X.shape[0] if conv.reduction == "sum" else 1)
    return to_output(pth_root(value, p) if conv.root else value, numpy_out)


def sfg_in_convention(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray,
                      directions: torch.Tensor | np.ndarray, beta: float = 0.1, p: float = 2, *,
                      convention: str = "design") -> torch.Tensor | np.float64:
    """SFG as the implementation following ``convention`` computes it on ``directions``.

    The mean over directions of the per-slice FG cost, with sums over samples (Wasserstein
    term) and over pairs (structure term) for ``"rae"``. ``"design"`` and ``"swae"`` equal
    :func:`discrepancies.sfg` with ``projections=directions``.
    """
    conv = _convention(convention)
    X, Y, numpy_out = as_point_clouds(X, Y)
    check_equal_size(X, Y)
    beta, p = check_beta(beta), check_p(p)
    P = _directions(directions, conv, X)
    scale = 1.0
    if conv.reduction == "sum":
        n = X.shape[0]
        scale = (1.0 - beta) * n + beta * n * n
        beta = beta * n * n / scale
    return to_output(scale * fg_per_slice(X, Y, P, beta, p).mean(), numpy_out)
