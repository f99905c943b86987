"""Distributions on the unit sphere S^{d-1} and the exact laws of their marginals.

Public API::

    from samplers import uniform_sphere, VonMisesFisher, MixtureVonMisesFisher, PowerSpherical

All follow torch.distributions: ``rsample(sample_shape, generator=None)`` (reparameterised in
the location), ``sample``, ``log_prob``, ``mean``, ``entropy``; ``concentration`` is kappa; batch
shape is ``loc.shape[:-1]``; any device, float32 or float64 (float16 and bfloat16 draw their
cosines to the location in float32 and round them; ``log_prob``, ``mean`` and ``entropy`` are
evaluated in the dtype given, as in torch.distributions).
"""

from samplers.bessel import iv_ratio, log_iv
from samplers.mixture import MixtureVonMisesFisher
from samplers.power_spherical import PowerSpherical
from samplers.sphere import uniform_sphere
from samplers.von_mises_fisher import VonMisesFisher

__all__ = [
    "MixtureVonMisesFisher",
    "PowerSpherical",
    "VonMisesFisher",
    "iv_ratio",
    "log_iv",
    "uniform_sphere",
]
