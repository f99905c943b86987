r"""The power spherical distribution on S^{d-1} (De Cao & Aziz 2020), fully reparameterised.

Density with respect to the surface measure of S^{d-1}:

.. math:: p(x) = N_d(\kappa)^{-1} (1 + \mu^T x)^\kappa,\qquad
          N_d(\kappa) = 2^{\alpha+\beta} \pi^\beta \frac{\Gamma(\alpha)}{\Gamma(\alpha+\beta)},
          \quad \alpha = \frac{d-1}{2} + \kappa,\ \beta = \frac{d-1}{2},

and ``(1 + mu^T x) / 2 ~ Beta(alpha, beta)``, so ``E[mu^T x] = kappa / (d - 1 + kappa)``.

Reference: N. De Cao and W. Aziz, "The Power Spherical distribution", ICML INNF+ workshop, 2020
(arXiv:2006.04437).
"""

from __future__ import annotations

import math

import torch

from samplers.base import LocConcentration
from samplers.sphere import beta_pair, one_minus_cosine


def beta_parameters(kappa: torch.Tensor, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(alpha, beta) = ((d-1)/2 + kappa, (d-1)/2)``: ``(1 + t) / 2 ~ Beta(alpha, beta)``."""
    half = (d - 1) / 2
    return kappa + half, torch.full_like(kappa, half)


_STIRLING_FROM = 20.0
"""Above this ``a``, :func:`_lgamma_ratio` and :func:`_digamma_difference` use the Stirling
series (its truncation error is below 1e-14 of the result there); below it, ``lgamma`` and
``digamma`` themselves, whose values are then small enough that their difference loses at
most two digits."""


def _lgamma_ratio(a: torch.Tensor, b: float) -> torch.Tensor:
    r"""``lgamma(a) - lgamma(a + b)`` for float64 ``a >= b > 0``, accurate for ``a`` up to 1e308.

    Each ``lgamma`` is of size ``a log a`` (4e9 at a = 1e8, 7e310 at a = 1e308) while their
    difference is ``-b log a + O(1)``; for large ``a`` it comes from Stirling's series,

    .. math:: -(a - \tfrac12) \log\!\big(1 + \tfrac ba\big) - b \log(a + b) + b
              + s(a) - s(a + b),\qquad s(x) = \tfrac{1}{12x} - \tfrac{1}{360x^3}
              + \tfrac{1}{1260x^5} - \tfrac{1}{1680x^7},

    where every term is of the size of the result.
    """
    def s(x):
        x2 = x * x
        return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * x2)) / x2) / x2) / x

    big = a >= _STIRLING_FROM
    ab = torch.where(big, a, _STIRLING_FROM)
    stirling = (-(ab - 0.5) * torch.log1p(b / ab) - b * torch.log(ab + b) + b
                + s(ab) - s(ab + b))
    return torch.where(big, stirling, torch.lgamma(a) - torch.lgamma(a + b))


def _digamma_difference(a: torch.Tensor, b: float) -> torch.Tensor:
    r"""``digamma(a + b) - digamma(a)`` for float64 ``a >= b > 0``, with full relative accuracy.

    The difference is about ``b / a``: from ``a`` ~ 1e16 the two digammas are the same float.
    For large ``a`` it is ``log1p(b / a) + r(a + b) - r(a)`` with
    ``r(x) = -1/(2x) - 1/(12x^2) + 1/(120x^4) - 1/(252x^6) + 1/(240x^8)`` (the asymptotic
    series of ``digamma(x) - log x``), whose differences are accurate to ``eps / a``.
    """
    def r(x):
        x2 = 1 / (x * x)
        return -0.5 / x - x2 * (1 / 12 - x2 * (1 / 120 - x2 * (1 / 252 - x2 / 240)))

    big = a >= _STIRLING_FROM
    ab = torch.where(big, a, _STIRLING_FROM)
    asymptotic = torch.log1p(b / ab) + r(ab + b) - r(ab)
    return torch.where(big, asymptotic, torch.digamma(a + b) - torch.digamma(a))


def _log_density_at_mode64(kappa: torch.Tensor, d: int) -> torch.Tensor:
    """``-log N_d(kappa) + kappa log 2`` in float64 (see :func:`log_density_at_mode`)."""
    alpha, _ = beta_parameters(kappa.to(torch.float64), d)
    half = (d - 1) / 2
    return -((d - 1) * math.log(2) + half * math.log(math.pi) + _lgamma_ratio(alpha, half))


def log_density_at_mode(kappa: torch.Tensor, d: int,
                        dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""``log p(mu) = -log N_d(kappa) + kappa log 2``, without forming either term:

    .. math:: \log p(\mu) = -\Big((d-1)\log 2 + \beta\log\pi + \log\Gamma(\alpha)
              - \log\Gamma(\alpha+\beta)\Big),

    with the log-Gamma difference from :func:`_lgamma_ratio`, in float64, cast to ``dtype``
    (default: ``kappa``'s; a wider one keeps the float64 value's accuracy). It grows like
    ``(d-1)/2 log kappa``; ``log N_d`` alone is of size ``kappa log 2``.
    """
    return _log_density_at_mode64(kappa, d).to(kappa.dtype if dtype is None else dtype)


def sample_power_spherical_t(
    kappa: torch.Tensor, d: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``t = mu^T x`` under PowerSpherical(mu, kappa); return ``(1 - t, 1 + t)``.

    ``1 + t = 2 B`` and ``1 - t = 2 (1 - B)`` with both Beta parts formed from Gamma draws, so
    ``sqrt(1 - t^2)`` has full relative accuracy even when ``1 - t`` is 1e-30 (no floor on the
    angle). Differentiable in ``kappa``.
    """
    alpha, beta = beta_parameters(kappa, d)
    b, one_m_b = beta_pair(alpha, beta, generator)
    return 2 * one_m_b, 2 * b


class PowerSpherical(LocConcentration):
    r"""Power spherical distribution on the unit sphere S^{d-1} of R^d.

    Parameters
    ----------
    loc : torch.Tensor, shape batch_shape + (d,)
        Mean directions, unit norm along the last axis, ``d >= 2``.
    concentration : float or torch.Tensor broadcastable to batch_shape
        kappa >= 0; ``kappa = 0`` is the uniform distribution.
    validate_args : bool, optional
        As in torch.distributions (default on).

    Notes
    -----
    ``rsample`` is reparameterised in ``loc`` (Householder map) and in ``concentration`` (implicit
    Gamma gradients), and needs no rejection step.
    """

    sample_t = staticmethod(sample_power_spherical_t)

    def log_normalizer(self) -> torch.Tensor:
        """``-log N_d(kappa)``, so that ``log p(x) = that + kappa log(1 + mu^T x)``. Of size
        ``kappa``: :meth:`log_prob` uses :func:`log_density_at_mode` instead."""
        kappa = self.concentration
        k64 = kappa.to(torch.float64)
        return (_log_density_at_mode64(kappa, self.dim) - k64 * math.log(2)).to(kappa.dtype)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """``log p(mu) + kappa log((1 + mu^T x) / 2)``, with ``1 - mu^T x = ||x - mu||^2 / 2``
        and ``1 + mu^T x = ||x + mu||^2 / 2`` (equal on the sphere): no cancellation between
        ``-log N_d`` and ``kappa log(1 + mu^T x)``, both of size ``kappa log 2``, and the
        logarithm keeps the relative accuracy of the dtype near the mode (``log1p`` of
        ``-(1 - t) / 2``) and near the antipode (``log`` of ``(1 + t) / 2``). In the dtype of
        ``concentration`` and ``value`` promoted."""
        if self._validate_args:
            self._validate_sample(value)
        kappa = self.concentration
        dtype = torch.promote_types(kappa.dtype, value.dtype)
        value, loc = value.to(dtype), self.loc.to(dtype)
        one_m_t = one_minus_cosine(value, loc)
        log_half = torch.where(one_m_t <= 1, torch.log1p(-one_m_t / 2),
                               torch.log(one_minus_cosine(value, -loc) / 2))
        # kappa * log((1 + t) / 2) with 0 * log 0 = 0 (kappa = 0 is uniform even at t = -1)
        term = torch.where(kappa > 0, kappa * log_half, torch.zeros_like(log_half))
        return log_density_at_mode(kappa, self.dim, dtype) + term

    @property
    def mean(self) -> torch.Tensor:
        kappa = self.concentration
        return (kappa / (self.dim - 1 + kappa)).to(self.loc.dtype).unsqueeze(-1) * self.loc

    @property
    def mode(self) -> torch.Tensor:
        return self.loc

    def entropy(self) -> torch.Tensor:
        """``log N_d - kappa E[log(1 + t)]`` with ``E[log(1 + t)] = log 2 + psi(a) - psi(a + b)``,
        evaluated as ``-log p(mu) + kappa (psi(a + b) - psi(a))`` in float64 (two terms of size
        ``kappa log 2`` cancel in the first form)."""
        kappa = self.concentration
        k64 = kappa.to(torch.float64)
        alpha, _ = beta_parameters(k64, self.dim)
        value = (-_log_density_at_mode64(kappa, self.dim)
                 + k64 * _digamma_difference(alpha, (self.dim - 1) / 2))
        return value.to(kappa.dtype)
