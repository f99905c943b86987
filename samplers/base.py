"""Base classes shared by the distributions on the unit sphere S^{d-1}.

:class:`SphereDistribution` holds what every sampler here has in common (support, ``sample``
as ``rsample`` without gradients, passing the generator on); :class:`LocConcentration` adds the
``(loc, concentration)`` parameterisation of the von Mises-Fisher and power spherical laws
(construction, argument checks, ``expand``, and drawing: a cosine ``t`` to ``loc`` from the
law's marginal, placed at ``loc`` with a uniform tangent direction).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch.distributions import Distribution, constraints
from torch.types import _size

from samplers.constraints import (
    check_generator,
    check_sample_shape,
    loc_and_concentration,
    unit_vector,
)
from samplers.sphere import cosine_draws, householder_place, tangent_gaussian


class SphereDistribution(Distribution):
    """A reparameterised distribution on S^{d-1}; subclasses define ``rsample``."""

    support = unit_vector
    has_rsample = True

    def sample(self, sample_shape: _size = (), generator: torch.Generator | None = None):
        """As :meth:`rsample`, without gradients."""
        with torch.no_grad():
            return self.rsample(sample_shape, generator)

    def _validate_sample(self, value: torch.Tensor) -> None:
        # torch.distributions' check, after the one its norm computation needs
        if isinstance(value, torch.Tensor) and not value.is_floating_point():
            raise TypeError(
                f"value must be a floating-point tensor (points of the sphere), got dtype "
                f"{value.dtype}"
            )
        super()._validate_sample(value)

    def _checked_draw(self, sample_shape, generator, device: torch.device) -> torch.Size:
        """``sample_shape`` as a ``torch.Size`` after the checks every draw makes: a tuple of
        sizes >= 0 whose draws torch can index, and a generator on ``device`` (or None)."""
        per_draw = self.batch_shape.numel() * self.event_shape.numel()
        shape = check_sample_shape(sample_shape, per_draw)
        check_generator(generator, device)
        return shape


class LocConcentration(SphereDistribution):
    """A distribution on S^{d-1} with mean direction ``loc`` and concentration ``kappa >= 0``.

    ``loc`` has shape ``batch_shape + (d,)``; ``concentration`` broadcasts to ``batch_shape``.
    A subclass names the law of ``t = loc^T x`` in ``sample_t``.
    """

    arg_constraints: ClassVar[dict] = {"loc": unit_vector, "concentration": constraints.nonnegative}
    #: ``sample_t(kappa, d, generator) -> (1 - t, 1 + t)``, one draw per entry of ``kappa``
    sample_t: ClassVar[Callable[..., tuple[torch.Tensor, torch.Tensor]]]

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

    def rsample(self, sample_shape: _size = (), generator: torch.Generator | None = None):
        """Draw ``sample_shape + batch_shape + (d,)`` points, differentiable in ``loc`` (and in
        ``concentration`` where ``sample_t`` is reparameterised)."""
        return householder_place(*self.base_draws(sample_shape, generator), self.loc)

    def base_draws(
        self, sample_shape: _size = (), generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The draws :meth:`rsample` places at ``loc``: ``(t, s, z)`` with ``t = loc^T x``,
        ``s = sqrt(1 - t^2)`` (shape ``sample_shape + batch_shape``) and ``z`` Gaussian tangent
        vectors at e1 (that shape + ``(d,)``), so that ``rsample`` returns
        ``householder_place(t, s, z, loc)`` on the same generator state. None depends on
        ``loc``: common random numbers for any location."""
        sample_shape = self._checked_draw(sample_shape, generator, self.loc.device)
        shape = self._extended_shape(sample_shape)[:-1]
        t, s = cosine_draws(self.sample_t, self.concentration, shape, self.dim, generator,
                            self.loc.dtype)
        return t, s, tangent_gaussian(shape, self.dim, generator, self.loc)
