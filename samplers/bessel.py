r"""Modified Bessel functions of the first kind in log space, stable for large order and argument.

``log_iv(nu, x)`` and ``iv_ratio(nu, x) = I_{nu+1}(x) / I_nu(x)`` for ``nu >= 0`` up to ~10^5 and
``x >= 0`` up to ~10^7 and beyond, in float64 whatever the input dtype (the result is cast back).

Method. For ``nu >= NU_DEBYE`` the uniform asymptotic (Debye) expansion, DLMF 10.41.3,

.. math:: I_\nu(\nu z) \sim \frac{e^{\nu\eta}}{(2\pi\nu)^{1/2}(1+z^2)^{1/4}}
          \sum_{k=0}^{6} \frac{U_k(p)}{\nu^k},\qquad p = (1+z^2)^{-1/2},\quad
          \eta = (1+z^2)^{1/2} + \log\frac{z}{1 + (1+z^2)^{1/2}},

is uniform in ``z`` in (0, inf): its relative error is below 1e-13 for ``nu >= 30``. For a smaller
order the expansion is evaluated at ``nu + K`` and ``nu + K + 1`` (``K`` the integer that brings
the order above ``NU_DEBYE``) and the ratios ``r_m = I_m / I_{m+1}`` are carried down with the
three-term recurrence ``r_{m-1} = 1 / r_m + 2m / x``, every term of which is positive, so the
backward recurrence (stable for the minimal solution ``I``) loses no digits. SciPy's ``ive``
underflows for large ``nu`` (``I_nu(x) e^{-x}`` below 1e-308), which is why it is not used here;
the tests compare with it where it is accurate and with the small- and large-argument
asymptotics elsewhere.

Reference: F. W. J. Olver, *Asymptotics and Special Functions* (1974), ch. 10; DLMF 10.41.
"""

from __future__ import annotations

import math

import torch

NU_DEBYE = 30.0

# Coefficients of the Debye polynomials U_k(p) (DLMF 10.41.10, Abramowitz & Stegun 9.3.9),
# lowest power first, starting at p^k, step p^2; each with its denominator.
_U = (
    ((3.0, -5.0), 24.0),
    ((81.0, -462.0, 385.0), 1152.0),
    ((30375.0, -369603.0, 765765.0, -425425.0), 414720.0),
    ((4465125.0, -94121676.0, 349922430.0, -446185740.0, 185910725.0), 39813120.0),
    ((1519035525.0, -49286948607.0, 284499769554.0, -614135872350.0, 566098157625.0,
      -188699385875.0), 6688604160.0),
    ((2757049477875.0, -127577298354750.0, 1050760774457901.0, -3369032068261860.0,
      5104696716244125.0, -3685299006138750.0, 1023694168371875.0), 4815794995200.0),
)


def _debye_parts(nu: torch.Tensor, x: torch.Tensor):
    """``S = sqrt(nu^2 + x^2)`` and ``log sum_k U_k(p) / nu^k`` (``p = nu / S``)."""
    big_s = torch.sqrt(nu * nu + x * x)
    p = nu / big_s
    p2 = p * p
    series = torch.ones_like(p)
    nu_pow = torch.ones_like(nu)
    p_pow = torch.ones_like(p)
    for coeffs, denom in _U:
        nu_pow = nu_pow * nu
        p_pow = p_pow * p
        poly = torch.zeros_like(p)
        for c in reversed(coeffs):
            poly = poly * p2 + c
        series = series + p_pow * poly / (denom * nu_pow)
    return big_s, torch.log(series)


def _debye_log_iv(nu: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log I_nu(x) by the uniform expansion; float64, ``nu >= NU_DEBYE``, ``x > 0``.

    ``nu eta = S + nu log(x / (nu + S))`` and ``(2 pi nu)^(1/2) (1 + z^2)^(1/4) = (2 pi S)^(1/2)``.
    """
    big_s, log_series = _debye_parts(nu, x)
    return (big_s + nu * torch.log(x / (nu + big_s)) - 0.5 * torch.log(2 * math.pi * big_s)
            + log_series)


def _debye_log_ratio(nu: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``log I_{nu+1}(x) - log I_nu(x)`` by the uniform expansion, without cancellation.

    The two large terms are differenced analytically: ``S_1 - S_0 = (2 nu + 1) / (S_0 + S_1)``
    and ``(nu+1) log(x / (nu+1+S_1)) - nu log(x / (nu+S_0))
    = log(x / (nu+1+S_1)) - nu log1p((1 + S_1 - S_0) / (nu + S_0))``.
    """
    s0, log_series0 = _debye_parts(nu, x)
    s1, log_series1 = _debye_parts(nu + 1, x)
    ds = (2 * nu + 1) / (s0 + s1)
    return (ds + torch.log(x / (nu + 1 + s1)) - nu * torch.log1p((1 + ds) / (nu + s0))
            - 0.5 * torch.log1p(ds / s0) + log_series1 - log_series0)


def _log_iv_and_ratio(nu, x) -> tuple[torch.Tensor, torch.Tensor, torch.dtype]:
    nu_t = nu if isinstance(nu, torch.Tensor) else None
    x_t = x if isinstance(x, torch.Tensor) else None
    ref = x_t if x_t is not None else nu_t
    out_dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float64
    device = ref.device if ref is not None else None
    nu64 = torch.as_tensor(nu, dtype=torch.float64, device=device)
    x64 = torch.as_tensor(x, dtype=torch.float64, device=device)
    nu64, x64 = torch.broadcast_tensors(nu64, x64)
    if (nu64 < 0).any() or not torch.isfinite(nu64).all():
        raise ValueError(f"nu must be finite and >= 0, got nu={nu}")
    if (x64 < 0).any() or torch.isnan(x64).any():
        raise ValueError(f"x must be >= 0, got x={x}")
    zero = x64 == 0
    xs = torch.where(zero, torch.ones_like(x64), x64)
    steps = torch.clamp(torch.ceil(NU_DEBYE - nu64), min=0)
    top = nu64 + steps
    log_top = _debye_log_iv(top, xs)
    # r = I_m / I_{m+1} at m = top, then carried down to m = nu
    r = torch.exp(-_debye_log_ratio(top, xs))
    log_iv = log_top
    for j in range(1, int(steps.max().item()) + 1 if steps.numel() else 1):
        active = steps >= j
        m = top - j  # the order whose ratio I_m / I_{m+1} is computed now
        r_new = 1 / r + 2 * (m + 1) / xs
        r = torch.where(active, r_new, r)
        log_iv = torch.where(active, log_iv + torch.log(r_new), log_iv)
    ratio = 1 / r
    log_iv = torch.where(zero, torch.where(nu64 == 0, 0.0, -math.inf).to(x64.dtype), log_iv)
    ratio = torch.where(zero, torch.zeros_like(ratio), ratio)
    return log_iv, ratio, out_dtype


def log_iv(nu, x) -> torch.Tensor:
    r"""Return :math:`\log I_\nu(x)`, elementwise with broadcasting.

    Parameters
    ----------
    nu : float or torch.Tensor
        Order, ``nu >= 0``.
    x : float or torch.Tensor
        Argument, ``x >= 0`` (``log I_nu(0) = -inf`` for ``nu > 0``, ``0`` for ``nu = 0``).

    Returns
    -------
    torch.Tensor
        In the floating dtype of ``x`` (or ``nu``), float64 for Python numbers.
    """
    value, _, dtype = _log_iv_and_ratio(nu, x)
    return value.to(dtype)


def iv_ratio(nu, x) -> torch.Tensor:
    r"""Return :math:`I_{\nu+1}(x) / I_\nu(x)` in [0, 1), elementwise with broadcasting.

    For the von Mises-Fisher law on S^{d-1}, ``A_d(kappa) = iv_ratio(d/2 - 1, kappa)`` is the
    mean resultant length ``E[loc^T x]``.
    """
    _, value, dtype = _log_iv_and_ratio(nu, x)
    return value.to(dtype)
