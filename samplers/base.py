"""Base classes shared by the distributions on the unit sphere S^{d-1}.

:class:`SphereDistribution` holds what every sampler here has in common (support, ``sample``
as ``rsample`` without gradients, passing the generator on); :class:`LocConcentration` adds the
``(loc, concentration)`` parameterisation of the von Mises-Fisher and power spherical laws
(construction, argument checks, ``expand``).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch.distributions import Distribution, constraints
from torch.types import _size

from samplers.constraints import loc_and_concentration, unit_vector


class SphereDistribution(Distribution):
    """A reparameterised distribution on S^{d-1}; subclasses define ``rsample``."""

    support = unit_vector
    has_rsample = True

    def sample(self, sample_shape: _size = (), generator: torch.Generator | None = None):
        """As :meth:`rsample`, without gradients."""
        with torch.no_grad():
            return self.rsample(sample_shape, generator)


class LocConcentration(SphereDistribution):
    """A distribution on S^{d-1} with mean direction ``loc`` and concentration ``kappa >= 0``.

    ``loc`` has shape ``batch_shape + (d,)``; ``concentration`` broadcasts to ``batch_shape``.
    """

    arg_constraints: ClassVar[dict] = {"loc": unit_vector, "concentration": constraints.nonnegative}

    def __init__(self, loc, concentration, validate_args: bool | None = None) -> None:
        validate = Distribution._validate_args if validate_args is None else validate_args
        self.loc, self.concentration, batch_shape = loc_and_concentration(
            loc, concentration, validate
        )
        self.dim = self.loc.shape[-1]
        super().__init__(batch_shape, torch.Size((self.dim,)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        # Checked against this class: a subclass that overrides __init__ must override expand too.
        new = self._get_checked_instance(LocConcentration, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand((*batch_shape, self.dim))
        new.concentration = self.concentration.expand(batch_shape)
        new.dim = self.dim
        super(LocConcentration, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new
