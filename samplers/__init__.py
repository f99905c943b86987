"""Distributions on the unit sphere S^{d-1} and the exact laws of their marginals.

Public API::

    from samplers import uniform_sphere, VonMisesFisher, MixtureVonMisesFisher, PowerSpherical

All follow torch.distributions: ``rsample(sample_shape, generator=None)`` (reparameterised in
the location), ``sample``, ``log_prob``, ``mean``, ``entropy``; ``concentration`` is kappa; batch
shape is ``loc.shape[:-1]``; any device. Draws and ``mean`` are in the dtype of ``loc`` (float16
and bfloat16 draw their cosines to the location in float32 and round them). The concentration,
the mixture weights, ``log_prob`` and ``entropy`` are in that dtype promoted to at least float32
(float16 cannot hold kappa = 1e5, nor the log density at the mode in high dimension); their
scalar parts are computed in float64, without cancellation at any kappa up to the dtype's range.
Bad input raises ``ValueError`` or ``TypeError`` naming the argument (samplers.constraints).
"""

from samplers.bessel import iv_ratio, iv_ratio_complement, log_iv, log_ive
from samplers.mixture import MixtureVonMisesFisher
from samplers.power_spherical import PowerSpherical
from samplers.sphere import uniform_sphere
from samplers.von_mises_fisher import VonMisesFisher

__all__ = [
    "MixtureVonMisesFisher",
    "PowerSpherical",
    "VonMisesFisher",
    "iv_ratio",
    "iv_ratio_complement",
    "log_iv",
    "log_ive",
    "uniform_sphere",
]
