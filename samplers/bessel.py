r"""Modified Bessel functions of the first kind in log space, stable for large order and argument.

``log_iv(nu, x)``, ``log_ive(nu, x) = log I_nu(x) - x``, ``iv_ratio(nu, x) = I_{nu+1}(x) /
I_nu(x)`` and its complement ``1 - iv_ratio`` for ``nu >= 0`` up to ~10^5 and every finite
``x >= 0`` (up to 1.8e308), in float64 whatever the input dtype (the result is cast back).

Method. For ``nu >= NU_DEBYE`` the uniform asymptotic (Debye) expansion, DLMF 10.41.3,

.. math:: I_\nu(\nu z) \sim \frac{e^{\nu\eta}}{(2\pi\nu)^{1/2}(1+z^2)^{1/4}}
          \sum_{k=0}^{6} \frac{U_k(p)}{\nu^k},\qquad p = (1+z^2)^{-1/2},\quad
          \eta = (1+z^2)^{1/2} + \log\frac{z}{1 + (1+z^2)^{1/2}},

is uniform in ``z`` in (0, inf): its relative error is below 1e-13 for ``nu >= 30``. For a smaller
order the expansion is evaluated at ``nu + K`` and ``nu + K + 1`` (``K`` the integer that brings
the order above ``NU_DEBYE``) and the ratios ``r_m = I_m / I_{m+1}`` are carried down with the
three-term recurrence ``r_{m-1} = 1 / r_m + 2m / x``, every term of which is positive, so the
backward recurrence (stable for the minimal solution ``I``) loses no digits; it carries
``r_m - 1`` so that ``1 - I_{nu+1} / I_nu`` stays accurate when it is ``(nu + 1/2) / x`` and
``x`` is huge. No term of size ``x`` (nor ``x^2``) is ever formed: ``log_ive`` is accurate in
absolute terms at ``x = 1e300``, where ``log_iv - x`` would have no digit left. SciPy's ``ive``
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
    """``S = sqrt(nu^2 + x^2)`` (by ``hypot``: ``x^2`` overflows from x = 1e154) and
    ``log sum_k U_k(p) / nu^k`` (``p = nu / S``)."""
    big_s = torch.hypot(nu, x)
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


def _log_x_over(nu: torch.Tensor, x: torch.Tensor, big_s: torch.Tensor) -> torch.Tensor:
    """``log(x / (nu + S))`` with ``S = sqrt(nu^2 + x^2)``, accurate for every ``x > 0``.

    For ``x >> nu`` the quotient is ``1 - nu / x + ...`` and its logarithm, of size ``nu / x``,
    is taken as ``-log1p((nu + S - x) / x)`` with ``S - x = nu^2 / (S + x)``; for ``x <= nu``
    as a difference of logarithms (``x / (nu + S)`` underflows for subnormal ``x``).
    """
    large = -torch.log1p((nu + nu * nu / (big_s + x)) / x)
    return torch.where(x > nu, large, torch.log(x) - torch.log(nu + big_s))


def _debye_log_ive(nu: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``log I_nu(x) - x`` by the uniform expansion; float64, ``nu >= NU_DEBYE``, ``x > 0``.

    ``nu eta - x = (S - x) + nu log(x / (nu + S))`` with ``S - x = nu^2 / (S + x)``, and
    ``(2 pi nu)^(1/2) (1 + z^2)^(1/4) = (2 pi S)^(1/2)``: no term of size ``x`` is formed, so
    the result keeps its absolute accuracy up to x = 1.8e308.
    """
    big_s, log_series = _debye_parts(nu, x)
    return (nu * nu / (big_s + x) + nu * _log_x_over(nu, x, big_s)
            - 0.5 * (math.log(2 * math.pi) + torch.log(big_s)) + log_series)


def _debye_log_ratio(nu: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``log I_{nu+1}(x) - log I_nu(x)`` by the uniform expansion, without cancellation.

    The two large terms are differenced analytically: ``S_1 - S_0 = (2 nu + 1) / (S_0 + S_1)``
    and ``(nu+1) log(x / (nu+1+S_1)) - nu log(x / (nu+S_0))
    = log(x / (nu+1+S_1)) - nu log1p((1 + S_1 - S_0) / (nu + S_0))``. Each of these terms
    keeps its relative accuracy (the two series differ by O(1 / x^2) only), so the result does
    too when it is as small as ``-(nu + 1/2) / x`` (``x`` up to 1.8e308), which
    :func:`iv_ratio_complement` needs.
    """
    s0, log_series0 = _debye_parts(nu, x)
    s1, log_series1 = _debye_parts(nu + 1, x)
    ds = (nu + 0.5) / (0.5 * s0 + 0.5 * s1)  # halves: s0 + s1 overflows near 1.8e308
    return (ds + _log_x_over(nu + 1, x, s1) - nu * torch.log1p((1 + ds) / (nu + s0))
            - 0.5 * torch.log1p(ds / s0) + log_series1 - log_series0)


def _log_ive_and_excess(nu, x) -> tuple[torch.Tensor, torch.Tensor, torch.dtype]:
    """``(log I_nu(x) - x, q = I_nu(x) / I_{nu+1}(x) - 1, output dtype)``, float64.

    ``q`` is carried instead of the ratio itself so that ``1 - I_{nu+1} / I_nu = q / (1 + q)``
    keeps its relative accuracy when it is 1e-300: the recurrence
    ``r_{m-1} = 1 / r_m + 2m / x`` for ``r = 1 + q`` reads
    ``q_{m-1} = 2m / x - q_m / (1 + q_m)``, whose two terms differ by at most a factor of
    about 2 (at most a few digits lost over the whole recurrence).
    """
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
    if (x64 < 0).any() or not torch.isfinite(x64).all():
        raise ValueError(f"x must be finite and >= 0, got x={x}")
    zero = x64 == 0
    xs = torch.where(zero, torch.ones_like(x64), x64)
    steps = torch.clamp(torch.ceil(NU_DEBYE - nu64), min=0)
    top = nu64 + steps
    log_ive = _debye_log_ive(top, xs)
    # q_m = I_m / I_{m+1} - 1 at m = top, then carried down to m = nu
    q = torch.expm1(-_debye_log_ratio(top, xs))
    n_steps = int(steps.max().item()) if steps.numel() else 0
    # at most ceil(NU_DEBYE) by construction; a count beyond it means the arithmetic above is
    # broken, and a loop of that length could run for as long as nu is large
    if n_steps > math.ceil(NU_DEBYE):
        raise RuntimeError(f"Bessel recurrence: {n_steps} steps, more than ceil(NU_DEBYE) = "
                           f"{math.ceil(NU_DEBYE)}")
    for j in range(1, n_steps + 1):
        active = steps >= j
        m = top - j  # the order whose excess I_m / I_{m+1} - 1 is computed now
        q_new = 2 * (m + 1) / xs - q / (1 + q)
        q = torch.where(active, q_new, q)
        log_ive = torch.where(active, log_ive + torch.log1p(q_new), log_ive)
    log_ive = torch.where(zero, torch.where(nu64 == 0, 0.0, -math.inf).to(x64.dtype), log_ive)
    q = torch.where(zero, math.inf, q)
    return log_ive, q, out_dtype


def log_iv(nu, x) -> torch.Tensor:
    r"""Return :math:`\log I_\nu(x)`, elementwise with broadcasting.

    Parameters
    ----------
    nu : float or torch.Tensor
        Order, ``nu >= 0``.
    x : float or torch.Tensor
        Argument, finite, ``x >= 0`` (``log I_nu(0) = -inf`` for ``nu > 0``, ``0`` for
        ``nu = 0``).

    Returns
    -------
    torch.Tensor
        In the floating dtype of ``x`` (or ``nu``), float64 for Python numbers.
    """
    value, _, dtype = _log_ive_and_excess(nu, x)
    return (value + torch.as_tensor(x, dtype=torch.float64, device=value.device)).to(dtype)


def log_ive(nu, x) -> torch.Tensor:
    r"""Return :math:`\log(I_\nu(x) e^{-x})`, the logarithm of SciPy's ``ive``.

    Accurate in absolute terms for every finite ``x >= 0`` (no term of size ``x`` is formed):
    the von Mises-Fisher log density at its mode, ``log C_d(kappa) + kappa``, is
    ``nu log kappa - (d/2) log(2 pi) - log_ive(nu, kappa)`` with ``nu = d/2 - 1``.
    Arguments and result as in :func:`log_iv`.
    """
    value, _, dtype = _log_ive_and_excess(nu, x)
    return value.to(dtype)


def iv_ratio(nu, x) -> torch.Tensor:
    r"""Return :math:`I_{\nu+1}(x) / I_\nu(x)` in [0, 1], elementwise with broadcasting.

    For the von Mises-Fisher law on S^{d-1}, ``A_d(kappa) = iv_ratio(d/2 - 1, kappa)`` is the
    mean resultant length ``E[loc^T x]``; it rounds to 1 once ``1 - A`` is below half an ulp
    (see :func:`iv_ratio_complement`).
    """
    _, q, dtype = _log_ive_and_excess(nu, x)
    return (1 / (1 + q)).to(dtype)


def iv_ratio_complement(nu, x) -> torch.Tensor:
    r"""Return :math:`1 - I_{\nu+1}(x) / I_\nu(x)` with full relative accuracy.

    Tends to ``(nu + 1/2) / x`` as ``x -> infinity`` (``(d-1) / (2 kappa)`` for the vMF mean
    resultant length), where ``1 - iv_ratio`` would cancel to 0; 1 at ``x = 0``.
    """
    _, q, dtype = _log_ive_and_excess(nu, x)
    return torch.where(torch.isinf(q), 1.0, q / (1 + q)).to(dtype)
