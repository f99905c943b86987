r"""Finite mixture of von Mises-Fisher distributions on S^{d-1}, reparameterised in the locations.

.. math:: p(x) = \sum_{i=1}^k w_i\, C_d(\kappa_i) \exp(\kappa_i \mu_i^T x).

A draw picks a component ``i ~ Categorical(w)`` and then ``x ~ vMF(mu_i, kappa_i)``; the second
step is reparameterised in ``mu_i``, so ``rsample`` carries gradients to ``locs`` (not to the
discrete choice nor to the weights). This is the slicing distribution of MSSFG (Nguyen et al.,
ICLR 2021) with uniform weights.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch.distributions import Distribution, constraints
from torch.types import _size

from samplers.base import SphereDistribution
from samplers.constraints import (
    as_float_tensor,
    check_concentration,
    check_dimension,
    check_loc,
    check_positive_int,
    check_weights,
    parameter_dtype,
    simplex,
    unit_vector,
)
from samplers.sphere import cosine_draws, householder_place, one_minus_cosine, tangent_gaussian
from samplers.von_mises_fisher import log_density_at_mode, mean_resultant_length, sample_vmf_t


class MixtureVonMisesFisher(SphereDistribution):
    r"""Mixture of ``k`` von Mises-Fisher components on S^{d-1} (batch shape ``()``).

    Parameters
    ----------
    locs : torch.Tensor, shape (k, d)
        Unit mean directions of the components.
    concentrations : float or torch.Tensor, shape () or (k,)
        kappa_i >= 0.
    weights : torch.Tensor, shape (k,), optional
        Non-negative, summing to 1 within :func:`samplers.constraints.weight_sum_tolerance`
        of their dtype (1e-6 in float64, about 1.2e-4 in float32); uniform when None.
        Held, like the concentrations, in the dtype of ``locs`` promoted to at least float32.
    validate_args : bool, optional
        As in torch.distributions (default on).
    """

    arg_constraints: ClassVar[dict] = {
        "locs": unit_vector,
        "concentrations": constraints.nonnegative,
        "weights": simplex,
    }

    def __init__(self, locs, concentrations, weights=None, validate_args: bool | None = None):
        validate = Distribution._validate_args if validate_args is None else validate_args
        locs = as_float_tensor(locs, "locs")
        if locs.ndim != 2:
            raise ValueError(f"locs must have shape (k, d), got shape {tuple(locs.shape)}")
        k = check_positive_int(locs.shape[0], "locs.shape[0]", 1, " (one row per component)")
        d = check_dimension(locs.shape[1], "locs.shape[1]")
        dtype = parameter_dtype(locs.dtype)
        kappa = as_float_tensor(concentrations, "concentrations", like=locs, dtype=dtype)
        if kappa.shape not in ((), (k,)):
            raise ValueError(
                f"concentrations must be a scalar or have shape ({k},), got {tuple(kappa.shape)}"
            )
        if weights is None:
            w = torch.full((k,), 1.0 / k, dtype=dtype, device=locs.device)
        else:
            w = as_float_tensor(weights, "weights", like=locs, dtype=dtype)
            if w.shape != (k,):
                raise ValueError(f"weights must have shape ({k},), got {tuple(w.shape)}")
        if validate:
            check_loc(locs, "locs")
            check_concentration(kappa, "concentrations")
            check_weights(w, k)
        self.locs = locs
        self.concentrations = kappa.expand(k)
        self.weights = w
        self.dim = d
        super().__init__(torch.Size(), torch.Size((d,)), validate_args=validate_args)

    @property
    def n_components(self) -> int:
        return self.locs.shape[0]

    def rsample_with_components(
        self, sample_shape: _size = (), generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw points and return ``(x, component)``; ``x`` differentiable in ``locs``."""
        shape = self._checked_draw(sample_shape, generator, self.locs.device)
        n = shape.numel()
        if n == 0:  # torch.multinomial refuses zero draws
            comp = torch.zeros(0, dtype=torch.long, device=self.locs.device)
        else:
            comp = torch.multinomial(self.weights.detach(), n, replacement=True,
                                     generator=generator)
        t, s = cosine_draws(sample_vmf_t, self.concentrations[comp], comp.shape, self.dim,
                            generator, self.locs.dtype)
        v = tangent_gaussian(torch.Size((n,)), self.dim, generator, self.locs)
        x = householder_place(t, s, v, self.locs[comp])
        return x.reshape((*shape, self.dim)), comp.reshape(shape)

    def rsample(self, sample_shape: _size = (), generator: torch.Generator | None = None):
        """Draw ``sample_shape + (d,)`` points, differentiable in ``locs``."""
        return self.rsample_with_components(sample_shape, generator)[0]

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """``logsumexp_i (log w_i + log C_d(kappa_i) + kappa_i mu_i^T x)``, each component as
        ``log w_i + log p_i(mu_i) - kappa_i (1 - mu_i^T x)`` (see
        :meth:`VonMisesFisher.log_prob`: no cancellation at large kappa). In the dtype of
        ``concentrations`` and ``value`` promoted."""
        if self._validate_args:
            self._validate_sample(value)
        kappa = self.concentrations
        dtype = torch.promote_types(kappa.dtype, value.dtype)
        comp = (
            torch.log(self.weights.to(dtype))
            + log_density_at_mode(kappa, self.dim, dtype)
            - kappa * one_minus_cosine(value.to(dtype).unsqueeze(-2), self.locs.to(dtype))
        )
        return torch.logsumexp(comp, dim=-1)

    @property
    def mean(self) -> torch.Tensor:
        a = mean_resultant_length(self.concentrations, self.dim)
        return ((self.weights * a).to(self.locs.dtype).unsqueeze(-1) * self.locs).sum(0)
