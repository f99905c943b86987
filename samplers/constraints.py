"""Constraints and argument checks shared by the distributions on the sphere: the one place
where the samplers validate what they are given (parameters, sample shapes, generators, dtypes,
integer and real-number arguments, weights).

The checks here are also those of the discrepancies (``discrepancies._inputs`` imports them), so
that an argument is refused with one message (``"n must be >= 1, got n=0"``), weights sum to 1
under one tolerance (:func:`weight_sum_tolerance`), and a location or a direction is of unit
norm under one rule wherever it is given:
``| ||x|| - 1 | <= sqrt(eps)`` of the dtype ``x`` is used in, or of the dtype it was given in
when that one is coarser (about 1.5e-8 for float64, 3.5e-4 for float32, 3.1e-2 for float16,
8.8e-2 for bfloat16): loose enough for a vector normalised in
that dtype in any dimension up to 10^5, tight enough to reject a location that was never
normalised.

Dtypes. Points (``loc``, draws, ``mean``) keep the dtype of ``loc``. The concentration, the
mixture weights and the scalar results (``log_prob``, ``entropy``) are held in
:func:`parameter_dtype`: the dtype of ``loc``, but at least float32, because float16 stops at
65504 (kappa = 1e5 is an ordinary concentration in dimension 10^4, and ``log p`` at the mode
exceeds 65504 there too) and keeps only 11 bits. A finite concentration beyond the range of that
dtype (1e39 with a float32 ``loc``) is refused with the dtype named, never turned into inf.
"""

from __future__ import annotations

import math
import numbers

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


MAX_NUMEL = 2**63 - 1
"""Most elements a tensor can index (torch sizes are int64)."""


def parameter_dtype(loc_dtype: torch.dtype) -> torch.dtype:
    """The dtype of the concentration, weights, ``log_prob`` and ``entropy`` for locations in
    ``loc_dtype``: ``loc_dtype`` promoted to at least float32."""
    return torch.promote_types(loc_dtype, torch.float32)


def as_real_tensor(value, name: str) -> torch.Tensor:
    """The one converter of the samplers and the discrepancies: a floating tensor as it is
    (device, dtype and autograd kept); a number, a NumPy array or a nested sequence of real
    numbers as a float64 CPU tensor.

    Raises ``TypeError`` naming ``name`` and the value for a tensor of non-floating dtype
    (integer, bool, complex), a bool, a string, None, or anything NumPy does not read as an
    array of real numbers.
    """
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            raise TypeError(
                f"{name} must be a floating-point tensor (float16, bfloat16, float32 or "
                f"float64), got {describe(value)}")
        return value
    if isinstance(value, bool | np.bool_ | str | bytes) or value is None:
        raise TypeError(
            f"{name} must be a torch tensor or a NumPy array (or a number), got "
            f"{describe(value)}")
    try:
        array = np.asarray(value)
    except Exception as err:  # ragged lists and objects NumPy cannot read
        raise TypeError(
            f"{name} must be a torch tensor or a NumPy array (or a number), got "
            f"{describe(value)}") from err
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got {describe(array)}")
    array = np.asarray(array, dtype=np.float64)
    # not np.ascontiguousarray on its own: it turns a 0-d array (a number) into shape (1,)
    return torch.from_numpy(array if array.flags.c_contiguous else np.ascontiguousarray(array))


def as_float_tensor(value, name: str, like: torch.Tensor | None = None,
                    dtype: torch.dtype | None = None) -> torch.Tensor:
    """``value`` (:func:`as_real_tensor`) on ``like``'s device and in ``dtype`` (default:
    ``like``'s dtype) when ``like`` is given; without ``like``, a tensor stays as it is and
    anything else becomes torch's default dtype.

    Raises ``TypeError`` as :func:`as_real_tensor`, and ``ValueError`` for a finite value that
    the target dtype cannot hold (it would become inf), naming ``name``, the value and the
    dtype's range.
    """
    tensor = isinstance(value, torch.Tensor)
    value = as_real_tensor(value, name)
    if like is None:
        if tensor:
            return value
        target, device = torch.get_default_dtype(), None
    else:
        target, device = (like.dtype if dtype is None else dtype), like.device
    out = value.to(device=device, dtype=target)
    if torch.finfo(target).max < torch.finfo(value.dtype).max:
        _check_representable(value, out, name)
    return out


def _check_representable(value: torch.Tensor, converted: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` where a finite ``value`` became inf in ``converted``'s dtype."""
    lost = torch.isfinite(value.to(converted.device)) & ~torch.isfinite(converted)
    if lost.any():
        big = value.to(converted.device)[lost].flatten()[0].item()
        raise ValueError(
            f"{name}={big:g} is beyond the range of {converted.dtype} (largest finite value "
            f"{torch.finfo(converted.dtype).max:.4g}), the dtype it is held in (that of "
            f"loc, at least float32); give loc in float64, or a smaller {name}"
        )


def describe(value: object) -> str:
    """A short repr for error messages (arrays are summarised by shape and dtype)."""
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_finite(t: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` and the first bad value when ``t`` holds a NaN or an
    infinity. One reduction in the common case: the sum is finite when every entry is (an
    overflowing sum of finite entries falls back to the elementwise test, which then passes)."""
    if bool(torch.isfinite(t.detach().sum())):
        return
    if not bool(torch.isfinite(t).all()):
        bad = t[~torch.isfinite(t)].flatten()[0].item()
        raise ValueError(f"{name} must be finite, got the value {bad} in {describe(t)}")


def check_unit_norm(t: torch.Tensor, name: str, dim: int = -1,
                    what: str = "unit norm along its last axis",
                    given: torch.dtype | None = None) -> None:
    """Raise ``ValueError`` unless the vectors of ``t`` along ``dim`` are points of the sphere:
    ``| ||x|| - 1 | <= sqrt(eps)`` (:func:`unit_norm_tolerance`) of ``t``'s dtype, or of
    ``given``, the dtype the caller gave them in, when that one is coarser (a vector normalised
    in float32 and used in float64 carries float32's rounding). ``what`` names the vectors in
    the message (``"unit-norm columns"`` for directions laid out as columns)."""
    norm = torch.linalg.vector_norm(t.detach(), dim=dim)
    err = (norm - 1).abs().max().item() if norm.numel() else 0.0
    dtype = t.dtype
    if given is not None and torch.finfo(given).eps > torch.finfo(dtype).eps:
        dtype = given
    tol = unit_norm_tolerance(dtype)
    if err > tol:
        raise ValueError(
            f"{name} must have {what} (tolerance {tol:.1e} of {dtype}), got max "
            f"| ||{name}|| - 1 | = {err:.3e}"
        )


def check_loc(loc: torch.Tensor, name: str = "loc") -> None:
    """Raise ``ValueError`` unless ``loc`` is finite with unit norm along its last axis."""
    check_finite(loc, name)
    check_unit_norm(loc, name)


def check_concentration(kappa: torch.Tensor, name: str = "concentration") -> None:
    """Raise ``ValueError`` unless ``kappa`` is finite and non-negative."""
    bad = ~torch.isfinite(kappa) | (kappa < 0)
    if bad.any():
        raise ValueError(f"{name} must be finite and >= 0, got {name}={kappa}")


def check_positive_int(value: object, name: str, minimum: int = 1, why: str = "",
                       kind: str = "an integer") -> int:
    """``value`` as an int, when it is an integer (Python or NumPy, not bool) ``>= minimum``:
    the one integer check of the samplers and the discrepancies.

    Otherwise a ``TypeError`` (``"n must be an integer, got n=2.5"``) or a ``ValueError``
    (``"n must be >= 1, got n=0"``) that names the argument and the value. ``why`` follows
    the bound in the message (the reason for it); ``kind`` names what is accepted where the
    caller takes other kinds too (``"None, an int or a torch.Generator"``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {kind}, got {name}={describe(value)}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}{why}, got {name}={value}")
    return value


def check_real(value: object, name: str, minimum: float | None = None,
               maximum: float | None = None, strict: bool = False) -> float:
    """``value`` as a float, when it is a finite real number (Python or NumPy, not bool)
    ``>= minimum`` (``> minimum`` when ``strict``) and ``<= maximum``: the one check of the
    real-number arguments of the samplers and the discrepancies.

    Otherwise a ``TypeError`` (``"p must be a real number, got p='2'"``) or a ``ValueError``
    (``"p must be >= 1, got p=0.5"``, ``"beta must be in [0, 1], got beta=1.5"``,
    ``"kappa must be finite, got kappa=nan"``) that names the argument and the value.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {name}={describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {name}={value}")
    low = minimum is not None and (value <= minimum if strict else value < minimum)
    if low or (maximum is not None and value > maximum):
        if maximum is None:
            bound = f"{'>' if strict else '>='} {minimum:g}"
        elif minimum is None:
            bound = f"<= {maximum:g}"
        else:
            bound = f"in {'(' if strict else '['}{minimum:g}, {maximum:g}]"
        raise ValueError(f"{name} must be {bound}, got {name}={value}")
    return value


def check_dimension(d: object, name: str = "d") -> int:
    """The ambient dimension as an int, when it is an integer >= 2
    (:func:`check_positive_int`)."""
    return check_positive_int(d, name, 2, " (the sphere S^(d-1) in R^d)")


def weight_sum_tolerance(dtype: torch.dtype) -> float:
    """Largest accepted ``|sum(w) - 1|`` for weights held in ``dtype``: ``1e3 eps`` of the
    dtype, but at least ``1e-6`` and at most ``1e-2`` (1e-6 in float64, 1.2e-4 in float32,
    1e-2 in float16 and bfloat16); the one rule of a mixture's weights and of the weights of
    the discrete measures compared by the discrepancies.

    Why: weights normalised in ``dtype`` (``v / v.sum()``) and summed there to be checked miss
    1 by rounding alone: eps/2 in all from rounding each entry, plus the two sums, each within
    ``(n - 1) eps`` for a sequential sum of n terms and ``log2(n) eps`` for a pairwise one
    (Higham, *Accuracy and Stability of Numerical Algorithms*, 2002, section 4.2). ``1e3 eps``
    covers that for any n with pairwise sums and up to about a thousand terms with sequential
    ones, whatever the number of weights, so that the same vector is judged the same in a
    mixture and in a discrepancy. The floor is POT's: ``ot.emd`` asks the two measures to
    have the same mass to 6 decimals, and float64 weights written with 7 significant digits
    are meant to sum to 1. The cap: ``1e3 eps`` of float16 is about 1, and a sum off by 1%
    is the wrong vector in any dtype. Weights are never renormalised silently: a sum further
    from 1 usually means the wrong vector was passed.
    """
    return min(max(1e-6, 1e3 * torch.finfo(dtype).eps), 1e-2)


class _Simplex(constraints.Constraint):
    """Finite non-negative vectors along the last axis that sum to 1 within
    :func:`weight_sum_tolerance` of their dtype (torch's ``constraints.simplex`` asks 1e-6 in
    every dtype, a second rule)."""

    event_dim = 1

    def check(self, value: torch.Tensor) -> torch.Tensor:
        finite = torch.isfinite(value).all(-1)
        off = (value.sum(-1) - 1).abs()
        return finite & (value >= 0).all(-1) & (off <= weight_sum_tolerance(value.dtype))

    def __repr__(self) -> str:
        return "Simplex()"


simplex = _Simplex()


def check_weights(weights: torch.Tensor, k: int, name: str = "weights") -> None:
    """Raise ``ValueError`` naming ``name`` and the offending value unless ``weights`` has
    shape ``(k,)``, is finite, non-negative and sums to 1 within
    :func:`weight_sum_tolerance` of its dtype."""
    if weights.ndim != 1 or weights.shape[0] != k:
        raise ValueError(f"{name} must have shape ({k},), got {describe(weights)}")
    check_finite(weights, name)
    if bool((weights < 0).any()):
        raise ValueError(f"{name} must be non-negative, got a minimum of {weights.min().item()}")
    total = weights.sum().item()
    tol = weight_sum_tolerance(weights.dtype)
    if abs(total - 1.0) > tol:
        raise ValueError(f"{name} must sum to 1, got a sum of {total} (tolerance {tol:.1e} "
                         f"in {weights.dtype})")


def check_float_dtype(dtype, name: str = "dtype") -> None:
    """Raise ``TypeError`` unless ``dtype`` is None or a real floating torch dtype."""
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(
            f"{name} must be a real floating torch dtype (float16, bfloat16, float32, float64) "
            f"or None, got {name}={dtype!r}"
        )


def check_generator(generator, device: torch.device | str | None,
                    name: str = "generator") -> None:
    """Raise unless ``generator`` is None or a ``torch.Generator`` on the device of the draws
    (``TypeError``, resp. ``ValueError``, naming ``name``)."""
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name} must be a torch.Generator or None, got {type(generator).__name__} "
            f"{name}={generator!r}"
        )
    where = torch.device("cpu" if device is None else device)
    if generator.device.type != where.type:
        raise ValueError(
            f"{name} must be a generator on {where.type}: {name} is on device "
            f"{generator.device} but the draws are made on {where}; pass "
            f"torch.Generator(device={where.type!r})"
        )


def check_sample_shape(sample_shape, per_draw: int, name: str = "sample_shape") -> torch.Size:
    """``sample_shape`` as a ``torch.Size``, or ``TypeError`` / ``ValueError`` naming ``name``.

    It must be a tuple, list or ``torch.Size`` of integers ``>= 0`` (as in
    torch.distributions; each checked by :func:`check_positive_int`, named ``name[i]``), and
    the draws it asks for, ``prod(sample_shape) * per_draw`` elements (``per_draw``: the
    elements of one draw of the whole batch), must be indexable by torch.
    """
    if not isinstance(sample_shape, (tuple, list)):
        raise TypeError(
            f"{name} must be a tuple of ints (a torch.Size), got {name}={sample_shape!r}")
    sizes = tuple(check_positive_int(size, f"{name}[{i}]", 0)
                  for i, size in enumerate(sample_shape))
    check_numel((*sizes, per_draw), name, sizes)
    return torch.Size(sizes)


def check_numel(shape: tuple[int, ...], name: str, value) -> None:
    """Raise ``ValueError`` naming ``name`` when a tensor of ``shape`` would have more elements
    than torch can index (zero sizes aside, so that no intermediate product overflows)."""
    total = math.prod(size for size in shape if size)
    if total > MAX_NUMEL:
        raise ValueError(
            f"{name}={value!r} asks for {total:.3e} values, more than a tensor can hold "
            f"(2**63 - 1 elements)"
        )


def loc_and_concentration(
    loc, concentration, validate: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
    """Convert, check and broadcast ``(loc, concentration)``; return them with the batch shape.

    ``concentration`` is held in :func:`parameter_dtype` of ``loc``'s dtype. Shape checks and
    the range check of that conversion always run; value checks (unit norm, finite,
    kappa >= 0) when ``validate``.
    """
    loc = as_float_tensor(loc, "loc")
    if loc.ndim < 1:
        raise ValueError(f"loc must have at least one axis (the last is d), got shape {()}")
    check_dimension(loc.shape[-1], "loc.shape[-1] (the dimension d)")
    kappa = as_float_tensor(concentration, "concentration", like=loc,
                            dtype=parameter_dtype(loc.dtype))
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
