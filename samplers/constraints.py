"""Constraints and argument checks shared by the distributions on the sphere.

The unit-norm tolerance is ``sqrt(eps)`` of the dtype (about 1.5e-8 in float64, 3.5e-4 in
float32): loose enough for a vector normalised in that dtype in any dimension up to 10^5, tight
enough to reject a location that was never normalised.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.distributions import constraints


def unit_norm_tolerance(dtype: torch.dtype) -> float:
    """Largest accepted ``| ||x|| - 1 |`` for a point of the sphere stored in ``dtype``."""
    return math.sqrt(torch.finfo(dtype).eps)


class _UnitVector(constraints.Constraint):
    """Finite vectors of unit Euclidean norm along the last axis (the sphere S^{d-1})."""

    event_dim = 1

    def check(self, value: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(value, dim=-1)
        finite = torch.isfinite(value).all(-1)
        return finite & ((norm - 1).abs() <= unit_norm_tolerance(value.dtype))

    def __repr__(self) -> str:
        return "UnitVector()"


unit_vector = _UnitVector()


def as_float_tensor(value, name: str, like: torch.Tensor | None = None) -> torch.Tensor:
    """``value`` as a floating tensor (on ``like``'s device and dtype when given).

    Raises ``TypeError`` for a tensor of non-floating dtype.
    """
    if isinstance(value, torch.Tensor):
        if not (value.is_floating_point()):
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
        if like is not None:
            value = value.to(device=like.device, dtype=like.dtype)
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number or a floating tensor, got {value!r}")
    if like is not None:
        return torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return torch.as_tensor(value, dtype=torch.get_default_dtype())


def check_loc(loc: torch.Tensor, name: str = "loc") -> None:
    """Raise ``ValueError`` unless ``loc`` is finite with unit norm along its last axis."""
    if not torch.isfinite(loc).all():
        raise ValueError(f"{name} must be finite, got non-finite values in {name}={loc}")
    norm = torch.linalg.vector_norm(loc, dim=-1)
    err = (norm - 1).abs().max().item() if norm.numel() else 0.0
    tol = unit_norm_tolerance(loc.dtype)
    if err > tol:
        raise ValueError(
            f"{name} must have unit norm along its last axis (tolerance {tol:.1e} in "
            f"{loc.dtype}), got max | ||{name}|| - 1 | = {err:.3e}; norms {norm}"
        )


def check_concentration(kappa: torch.Tensor, name: str = "concentration") -> None:
    """Raise ``ValueError`` unless ``kappa`` is finite and non-negative."""
    bad = ~torch.isfinite(kappa) | (kappa < 0)
    if bad.any():
        raise ValueError(f"{name} must be finite and >= 0, got {name}={kappa}")


def check_dimension(d: int, name: str = "d") -> None:
    """Raise ``ValueError`` unless the ambient dimension is an integer >= 2."""
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"{name} must be an int, got {d!r}")
    if d < 2:
        raise ValueError(f"{name} must be >= 2 (the sphere S^(d-1) in R^d), got {name}={d}")


def loc_and_concentration(
    loc, concentration, validate: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
    """Convert, check and broadcast ``(loc, concentration)``; return them with the batch shape.

    Shape checks always run; value checks (unit norm, finite, kappa >= 0) when ``validate``.
    """
    loc = as_float_tensor(loc, "loc")
    if loc.ndim < 1:
        raise ValueError(f"loc must have at least one axis (the last is d), got shape {()}")
    check_dimension(loc.shape[-1], "loc.shape[-1] (the dimension d)")
    kappa = as_float_tensor(concentration, "concentration", like=loc)
    try:
        # NumPy's rule is torch's; torch.broadcast_shapes imports sympy on its first call
        # (0.3 s, paid by the first draw of every process)
        batch_shape = torch.Size(np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(kappa.shape)))
    except ValueError as err:
        raise ValueError(
            f"concentration of shape {tuple(kappa.shape)} does not broadcast with the batch "
            f"shape loc.shape[:-1] = {tuple(loc.shape[:-1])}"
        ) from err
    if validate:
        check_loc(loc)
        check_concentration(kappa)
    d = loc.shape[-1]
    return loc.expand((*batch_shape, d)), kappa.expand(batch_shape), batch_shape
