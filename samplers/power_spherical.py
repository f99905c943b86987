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
from samplers.sphere import beta_pair


def beta_parameters(kappa: torch.Tensor, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(alpha, beta) = ((d-1)/2 + kappa, (d-1)/2)``: ``(1 + t) / 2 ~ Beta(alpha, beta)``."""
    half = (d - 1) / 2
    return kappa + half, torch.full_like(kappa, half)


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
        """``-log N_d(kappa)``, so that ``log p(x) = that + kappa log(1 + mu^T x)``."""
        alpha, beta = beta_parameters(self.concentration, self.dim)
        return -(
            (alpha + beta) * math.log(2)
            + beta * math.log(math.pi)
            + torch.lgamma(alpha)
            - torch.lgamma(alpha + beta)
        )

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        t = (self.loc * value).sum(-1)
        # kappa * log(1 + t) with 0 * log 0 = 0 (kappa = 0 is uniform even at t = -1)
        term = torch.where(
            self.concentration > 0, self.concentration * torch.log1p(t), torch.zeros_like(t)
        )
        return self.log_normalizer() + term

    @property
    def mean(self) -> torch.Tensor:
        kappa = self.concentration
        return (kappa / (self.dim - 1 + kappa)).unsqueeze(-1) * self.loc

    @property
    def mode(self) -> torch.Tensor:
        return self.loc

    def entropy(self) -> torch.Tensor:
        """``log N_d - kappa E[log(1 + t)]``, ``E[log(1 + t)] = log 2 + psi(a) - psi(a + b)``."""
        alpha, beta = beta_parameters(self.concentration, self.dim)
        e_log = math.log(2) + torch.digamma(alpha) - torch.digamma(alpha + beta)
        return -self.log_normalizer() - self.concentration * e_log
