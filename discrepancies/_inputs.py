"""Input validation and conversion shared by every discrepancy.

Every public discrepancy calls these helpers first, so that bad input fails the same way
everywhere: a ``ValueError`` (wrong value) or ``TypeError`` (wrong kind of object) whose message
names the argument and the offending value. Nothing downstream has to guard against NaN, empty
sets or non-unit directions. The checks the samplers make too (the converter to tensors, finite
values, unit norms and their tolerance, integers, real numbers, weights and the tolerance of
their sum, generators, the dtype kappa is held in) are theirs, from :mod:`samplers.constraints`,
so that both packages accept the same arguments and refuse them with the same messages.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import torch

from samplers.constraints import (
    as_real_tensor,
    check_finite,
    check_generator,
    check_positive_int,
    check_real,
    check_unit_norm,
    describe,
    parameter_dtype,
)
from samplers.constraints import check_weights as check_weight_vector

from ._execution import current_chunk_size

__all__ = [
    "Rescaled",
    "Result",
    "as_point_clouds",
    "check_beta",
    "check_bool",
    "check_equal_size",
    "check_finite",
    "check_kappa",
    "check_locations",
    "check_lr",
    "check_n_iter",
    "check_n_projections",
    "check_p",
    "check_positive_int",
    "check_projections",
    "check_seed",
    "check_weights",
    "describe",
    "finish",
    "fused_rescaling",
    "make_generator",
    "pth_root",
    "range_rescaling",
    "to_output",
    "to_tensor",
]


Result = torch.Tensor | np.float64 | tuple[torch.Tensor | np.float64, dict]
"""What a public discrepancy returns (see :func:`finish`)."""


def to_tensor(value: object, name: str) -> tuple[torch.Tensor, bool]:
    """``value`` as a floating tensor (:func:`samplers.constraints.as_real_tensor`), and
    whether it came in as NumPy (or another array-like)."""
    return as_real_tensor(value, name), not isinstance(value, torch.Tensor)


def _given_dtype(value: object) -> torch.dtype | None:
    """The floating dtype ``value`` came in (a tensor's or a NumPy array's), None for others
    (lists, integer arrays: exact numbers)."""
    if isinstance(value, torch.Tensor):
        return value.dtype
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return torch.from_numpy(np.empty(0, value.dtype)).dtype
    return None


def as_point_clouds(X: object, Y: object) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Check and convert the two point clouds.

    Parameters
    ----------
    X, Y : torch.Tensor or numpy.ndarray, shapes (n, d) and (m, d)
        Floating tensors are used as they are (device, dtype and autograd kept); NumPy arrays
        (or other array-likes) become float64 CPU tensors. When one is a tensor and the other is
        not, the other is converted to the tensor's dtype and device.

    Returns
    -------
    X, Y : torch.Tensor
        Same dtype and device.
    numpy_out : bool
        True when neither input was a tensor: the caller returns a NumPy float64 scalar
        (see :func:`to_output`).

    Raises
    ------
    TypeError
        Not an array, not real, or two tensors of different dtypes or devices.
    ValueError
        Not 2-D, empty, different dimensions d, or non-finite values.
    """
    Xt, x_np = to_tensor(X, "X")
    Yt, y_np = to_tensor(Y, "Y")
    if x_np and not y_np:
        Xt = Xt.to(dtype=Yt.dtype, device=Yt.device)
    elif y_np and not x_np:
        Yt = Yt.to(dtype=Xt.dtype, device=Xt.device)
    elif Xt.dtype != Yt.dtype or Xt.device != Yt.device:
        raise TypeError(f"X and Y must share dtype and device, got X: {Xt.dtype} on {Xt.device}, "
                        f"Y: {Yt.dtype} on {Yt.device}")
    for t, name in ((Xt, "X"), (Yt, "Y")):
        if t.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, d), got {describe(t)}")
        if t.shape[0] == 0 or t.shape[1] == 0:
            raise ValueError(f"{name} must be non-empty, got {describe(t)}")
    if Xt.shape[1] != Yt.shape[1]:
        raise ValueError(f"X and Y must have the same dimension d, got X: {tuple(Xt.shape)}, "
                         f"Y: {tuple(Yt.shape)}")
    check_finite(Xt, "X")
    check_finite(Yt, "Y")
    return Xt, Yt, x_np and y_np


def to_output(value: torch.Tensor, numpy_out: bool) -> torch.Tensor | np.float64:
    """The 0-d result as it is (tensor inputs) or as a NumPy float64 scalar (NumPy inputs)."""
    return np.float64(value.detach().cpu().item()) if numpy_out else value


def check_equal_size(X: torch.Tensor, Y: torch.Tensor) -> None:
    """The FG family couples points one to one: it needs n == m (uniform weights)."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must have the same number of points for the fused term, "
                         f"got n={X.shape[0]} and m={Y.shape[0]}")


def check_bool(value: object, name: str) -> bool:
    """A flag: ``True`` or ``False`` (Python or NumPy bool), nothing that merely converts to one
    (``log="no"`` would otherwise be read as true)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def check_p(p: object) -> float:
    """The order p of W_p: a finite real number >= 1."""
    return check_real(p, "p", 1)


def check_beta(beta: object) -> float:
    """The fused weight beta in [0, 1] (0: Wasserstein only, 1: structure only)."""
    return check_real(beta, "beta", 0, 1)


def check_kappa(kappa: object, dtype: torch.dtype | None = None) -> float:
    """A concentration kappa >= 0 (0: uniform directions); with ``dtype`` (the data's), also
    within the range of the dtype the samplers hold it in (``dtype``, at least float32)."""
    kappa = check_real(kappa, "kappa", 0)
    if dtype is not None:
        held = parameter_dtype(dtype)
        if kappa > torch.finfo(held).max:
            raise ValueError(f"kappa must be <= {torch.finfo(held).max:.4g} (the largest "
                             f"{held}) for {dtype} inputs, got kappa={kappa}; use float64 inputs")
    return kappa


def check_lr(lr: object) -> float:
    """An ascent step size > 0."""
    return check_real(lr, "lr", 0, strict=True)


def check_n_projections(n_projections: object) -> int:
    """The number of directions L >= 1."""
    return check_positive_int(n_projections, "n_projections", 1)


def _device_memory(device: torch.device) -> int | None:
    """The memory of ``device`` in bytes: physical memory for the CPU, the card's for CUDA,
    None where unknown."""
    if device.type == "cpu" and hasattr(os, "sysconf"):
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            return None
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return None


def check_fits(n_projections: int, points: int, like: torch.Tensor) -> None:
    """A ``ValueError`` naming ``n_projections`` when what a call holds at least, the (d, L)
    directions and one chunk of (C, ``points``) projections (C as ``max_memory`` sets it,
    :func:`discrepancies._execution.current_chunk_size`), in the dtype of ``like`` (n, d),
    exceeds the memory of its device, where torch would fail with an allocation error (or
    the machine swap)."""
    chunk = current_chunk_size(n_projections, points, like)
    need = like.element_size() * (n_projections * like.shape[1] + chunk * points)
    total = _device_memory(like.device)
    if total is not None and need > total:
        raise ValueError(f"n_projections={n_projections} needs at least {need / 2**30:.4g} GiB "
                         f"for its directions and projections, more than the "
                         f"{total / 2**30:.4g} GiB of this {like.device.type} device")


def check_n_iter(n_iter: object) -> int:
    """The number of ascent steps, >= 0 (0: keep the starting point)."""
    return check_positive_int(n_iter, "n_iter", 0)


def check_weights(w: object, n: int, name: str, like: torch.Tensor) -> torch.Tensor | None:
    """Weights of a discrete measure: None (uniform) or shape (n,), finite, >= 0, summing to 1.

    Returned as a tensor with the dtype and device of ``like``, checked by
    :func:`samplers.constraints.check_weights`: the sum must be 1 within
    :func:`samplers.constraints.weight_sum_tolerance` of that dtype (1e-6 in float64, about
    1.2e-4 in float32); weights are not renormalised silently.

    Weights that require a gradient are refused (``ValueError``): the discrepancies are
    differentiated in the points only. (As a function of the weights, W_p is not differentiable
    wherever a cumulative weight of one measure equals one of the other, uniform weights with
    n = m included, so a plain autograd gradient there would be one arbitrary one-sided slope.)
    """
    if w is None:
        return None
    if isinstance(w, torch.Tensor) and w.requires_grad:
        raise ValueError(f"{name} must not require grad: the discrepancies are differentiable "
                         f"in X and Y, not in the weights; pass {name}.detach()")
    t, _ = to_tensor(w, name)
    t = t.to(dtype=like.dtype, device=like.device)
    check_weight_vector(t, n, name)
    return t


def check_projections(projections: object, d: int, like: torch.Tensor) -> torch.Tensor:
    """Explicit directions: shape (d, L) (POT's layout), L >= 1, finite, unit columns.

    Returned with the dtype and device of ``like``. Gradients through a tensor of directions are
    kept (the spherical family differentiates through them).
    """
    t, _ = to_tensor(projections, "projections")
    t = t.to(dtype=like.dtype, device=like.device)
    if t.ndim != 2 or t.shape[0] != d or t.shape[1] == 0:
        raise ValueError(f"projections must have shape (d, L) = ({d}, L) with L >= 1, "
                         f"got {describe(t)}")
    check_finite(t, "projections")
    check_unit_norm(t, "projections", dim=0, what="unit-norm columns",
                    given=_given_dtype(projections))
    return t


def check_locations(loc: object, d: int, like: torch.Tensor, name: str = "loc") -> torch.Tensor:
    """Locations on the sphere: shape (d,) or (k, d), finite, unit rows."""
    t, _ = to_tensor(loc, name)
    t = t.to(dtype=like.dtype, device=like.device)
    if t.ndim not in (1, 2) or t.shape[-1] != d or t.numel() == 0:
        raise ValueError(f"{name} must have shape ({d},) or (k, {d}), got {describe(t)}")
    check_finite(t, name)
    check_unit_norm(t, name, given=_given_dtype(loc))
    return t


def check_seed(seed: object, device: torch.device | str) -> int | torch.Generator | None:
    """``seed`` checked as :func:`make_generator` takes it, without drawing anything: None, an
    int (Python or NumPy, not bool) in [0, 2**64), or a ``torch.Generator`` on ``device``'s
    type. Floats, even integral ones, are refused (``TypeError``), and so are negative ints
    (``ValueError``; torch would silently wrap them modulo 2**64). A call given explicit
    directions checks its seed too, so that a seed is refused or accepted whatever else the
    call is given."""
    if isinstance(seed, torch.Generator):
        check_generator(seed, torch.device(device), "seed")
        return seed
    if seed is None:
        return None
    seed = check_positive_int(seed, "seed", 0, kind="None, an int or a torch.Generator")
    if seed >= 2**64:
        raise ValueError(f"seed must be < 2**64 (seeds are 64-bit), got seed={seed}")
    return seed


def make_generator(seed: object, device: torch.device | str) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` from ``seed`` (checked by :func:`check_seed`).

    ``None`` draws a fresh seed from torch's global generator (so ``torch.manual_seed`` makes
    the call reproducible); an int seeds a new generator (same int, same draws); a generator is
    used as it is.
    """
    device = torch.device(device)
    seed = check_seed(seed, device)
    if isinstance(seed, torch.Generator):
        return seed
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    return torch.Generator(device=device).manual_seed(seed)


def finish(value: torch.Tensor, numpy_out: bool, log: bool,
           entries: dict[str, torch.Tensor]) -> Result:
    """The public return convention: the value (tensor or NumPy float64), and with ``log=True``
    a pair ``(value, log)`` whose tensors are detached (NumPy arrays for NumPy inputs), in
    nested dicts too (the warm ``"state"``)."""
    out = to_output(value, numpy_out)
    if not log:
        return out

    def record(entries: dict) -> dict:
        return {k: (record(v) if isinstance(v, dict)
                    else v.detach().cpu().numpy() if numpy_out else v.detach())
                for k, v in entries.items()}

    return out, record(entries)


def pth_root(value: torch.Tensor, p: float) -> torch.Tensor:
    """``value ** (1/p)`` with a zero (sub)gradient at 0 instead of NaN (p > 1 has an infinite
    derivative there, and D(X, X) = 0 is a normal input)."""
    if p == 1:
        return value
    positive = value > 0
    safe = torch.where(positive, value, torch.ones_like(value))
    return torch.where(positive, safe ** (1.0 / p), torch.zeros_like(value))


def widest_float(device: torch.device | str) -> torch.dtype:
    """float64, or float32 on MPS, which has no float64: the dtype of direction draws (so that a
    seed gives the same directions whatever the data's dtype) and of rescaled computations."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


def times_pow2(t: torch.Tensor, k: int) -> torch.Tensor:
    """``t * 2**k``, exact unless the result overflows or is subnormal. In factors of at most
    2**120, which float32 and float64 scalars hold; the factors share k's sign, so an
    intermediate never leaves the range when the result does not."""
    while k:
        step = max(-120, min(120, k))
        t = t * 2.0**step
        k -= step
    return t


def _log2_max_abs(*tensors: torch.Tensor) -> float:
    """log2 of the largest |entry| of the tensors (-inf when all are zero), without an |t|
    temporary and with one device-to-host read."""
    ends = torch.stack([end for t in tensors for end in torch.aminmax(t.detach())])
    top = ends.abs().max().item()
    return math.log2(top) if top > 0 else -math.inf


@dataclass(frozen=True)
class Rescaled:
    """Point clouds moved to a safe range, and the way back.

    ``X``, ``Y`` are the caller's clouds times a power of two (exact), in float64 (float32 on
    MPS); for the FG family, ``beta`` and ``transport_weight`` the weights of the structure
    and the transport terms to use on them (see :func:`fused_rescaling`; not ``1 - beta``
    for the latter). A value ``v`` computed on them is the caller's ``2**log2_factor * v``
    (:meth:`restore`).
    """

    X: torch.Tensor
    Y: torch.Tensor
    log2_factor: float
    dtype: torch.dtype
    beta: float | None = None
    transport_weight: float | None = None

    def cast(self, t: torch.Tensor | None) -> torch.Tensor | None:
        """Directions or weights in the working dtype (None stays None)."""
        return None if t is None else t.to(self.X.dtype)

    def restore(self, value: torch.Tensor, name: str | None = None, power: float = 1,
                dtype: torch.dtype | None = None) -> torch.Tensor:
        """``(2**log2_factor * value) ** power`` in ``dtype`` (the caller's by default).

        With ``name`` (a returned value), a result outside the dtype's range raises a
        ``ValueError`` that says so; without (a logged quantity, such as the p-th powers per
        slice), it becomes inf there.
        """
        k = math.floor(self.log2_factor)
        out = times_pow2(value * 2.0 ** (self.log2_factor - k), k)
        if power != 1:
            out = out.pow(power)
        dtype = self.dtype if dtype is None else dtype
        out = out.to(dtype)
        if name is not None and not bool(torch.isfinite(out.detach()).all()):
            finfo = torch.finfo(dtype)
            work = value.detach()
            if bool(torch.isfinite(work).all()) and bool((work > 0).all()):
                log10 = (math.log2(work.max().item()) + self.log2_factor) * power * math.log10(2)
                size = f"about 10^{log10:.1f}"
            else:
                size = f"beyond the range of {value.dtype} even after rescaling"
            raise ValueError(f"{name} of these X and Y is {size}, not representable in {dtype} "
                             f"(largest finite value {finfo.max:.4g}): scale X and Y down, or "
                             f"use a wider dtype or a smaller p")
        return out


def _range_exponent(X: torch.Tensor, Y: torch.Tensor, degree: float, count: int) -> int | None:
    """None when a computation homogeneous of degree ``degree`` in the data, with sums of at
    most ``count`` terms, can run on X and Y as they are: with m the largest |entry|, every
    projected value or gap (centred ones included) is at most 4 sqrt(d) m, so no intermediate
    reaches the dtype's largest value if ``count (4 sqrt(d) m)^degree`` does not, with 8 bits
    to spare (the structure term's constant 8, and the spherical ascent's placed draws, whose
    parts can exceed a unit vector's projections), and none of the size of the data
    underflows if ``m^degree >= tiny / eps``. Otherwise the exponent e for which
    ``4 sqrt(d) m / 2^e`` is in [1, 2).

    Costs one pass over the data (``aminmax``); the common case then runs unchanged, bit for
    bit.
    """
    log2_top = _log2_max_abs(X, Y)
    if log2_top == -math.inf:
        return None  # every projection is zero: nothing can overflow
    finfo = torch.finfo(X.dtype)
    log2_bound = log2_top + 2 + 0.5 * math.log2(X.shape[1])
    overflow_free = math.log2(count) + degree * log2_bound + 8 < math.log2(finfo.max)
    underflow_free = degree * log2_top >= math.log2(finfo.tiny) - math.log2(finfo.eps)
    if overflow_free and underflow_free:
        return None
    return math.floor(log2_bound)


def _rescaled(X: torch.Tensor, Y: torch.Tensor, exponent: int, log2_factor: float,
              beta: float | None = None, transport_weight: float | None = None) -> Rescaled:
    work = widest_float(X.device)
    return Rescaled(times_pow2(X.to(work), -exponent), times_pow2(Y.to(work), -exponent),
                    log2_factor, X.dtype, beta, transport_weight)


def range_rescaling(X: torch.Tensor, Y: torch.Tensor, p: float, count: int) -> Rescaled | None:
    """For SW and max-SW (W_p is 1-homogeneous: W_p(sX, sY) = s W_p(X, Y)): None when the
    p-th powers of the gaps between X and Y, summed ``count`` at a time, stay in range in their
    dtype; else X, Y rescaled by a power of two (:class:`Rescaled`), on which the caller
    computes W_p per slice with the gaps divided by their largest before the p-th power, so
    that no p (100, 10^6) overflows either."""
    exponent = _range_exponent(X, Y, p, count)
    return None if exponent is None else _rescaled(X, Y, exponent, float(exponent))


_FUSED_MAX_P = 100


def fused_rescaling(X: torch.Tensor, Y: torch.Tensor, beta: float, p: float,
                    count: int) -> Rescaled | None:
    r"""For the FG family: None when FG_beta on X, Y stays in range in their dtype, else X, Y
    rescaled by :math:`s = 2^e` (:class:`Rescaled`) and the two terms' weights to use on them.

    The transport term is p-homogeneous and the structure term 4-homogeneous, so for each
    coupling

    .. math::
        (1-\beta)\, s^p\, T + \beta\, s^4 S = c\,(w_T\, T + w_S\, S), \qquad
        w_T = (1-\beta)\, s^p / c, \quad w_S = \beta\, s^4 / c,

    with :math:`c = 2^{\max(\log_2((1-\beta) s^p),\, \log_2(\beta s^4))}`: FG_beta on the
    caller's data is c times the cost with weights :math:`(w_T, w_S)` on the rescaled data,
    slice by slice, with the same coupling and the same maximising direction or location
    (``transport_weight`` and ``beta`` of the result; ``log2_factor`` is :math:`\log_2 c`).
    Each weight is computed from its own logarithm (the larger is 1 up to rounding): a convex
    pair :math:`(1 - \beta', \beta')` would round :math:`\beta'` to 1 or 0 once the two
    terms' scale factors differ by more than :math:`2^{53}`, and drop the other term. A weight
    is 0 only below float64's smallest number (:math:`2^{-1074}`); its term on the rescaled
    data (entries below 2) is then below :math:`2^{\max(p, 4) + 4 - 1074}`, under the last bit
    of the other term unless that one is itself within :math:`2^{60}` of float64's underflow.

    The p-th powers of the rescaled gaps (at most 2) must also stay above float64's smallest
    number, which holds for gaps down to 2^-9 of the largest when p <= 100; beyond that the
    transport term could silently underflow to 0, so a larger p raises a ``ValueError``
    (only here: where no rescaling is needed, any p is computed).
    """
    exponent = _range_exponent(X, Y, max(p, 4.0), count)
    if exponent is None:
        return None
    if p > _FUSED_MAX_P:
        raise ValueError(f"p must be <= {_FUSED_MAX_P} for the FG family on these X and Y, got "
                         f"p={p}: FG_beta has no p-th root, and the p-th powers of their gaps "
                         f"leave the range of {X.dtype}, and of float64 after rescaling")
    structure = math.log2(beta) + 4 * exponent if beta > 0 else -math.inf
    transport = math.log2(1 - beta) + p * exponent if beta < 1 else -math.inf
    log2_factor = max(structure, transport)
    return _rescaled(X, Y, exponent, log2_factor,
                     _term_weight(beta, 4 * exponent - log2_factor),
                     _term_weight(1 - beta, p * exponent - log2_factor))


def _term_weight(coefficient: float, log2_scale: float) -> float:
    """``coefficient * 2**log2_scale`` (0 for a zero coefficient), the power of two applied
    exactly by ``ldexp`` and only its fractional part rounded: no intermediate leaves the
    range, and the result is 0 only where it is below float64's smallest number."""
    if coefficient == 0:
        return 0.0
    whole = math.floor(log2_scale)
    return math.ldexp(coefficient * 2.0 ** (log2_scale - whole), whole)
