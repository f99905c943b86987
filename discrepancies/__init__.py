"""Sliced optimal-transport discrepancies: SW, max-SW, SFG, max-SFG, SSFG, MSSFG, PSSFG, the
energy-based EBSW (importance sampled, SIR, Metropolis-Hastings) and EBSFG, and the
distributional DSW and DSFG.

Torch implementations (batched over directions, autograd in X and Y, any device and float
dtype; NumPy in gives NumPy float64 out) and :mod:`discrepancies.reference`, a NumPy float64
oracle written from the definitions. :data:`REGISTRY` maps each name to its
:class:`~discrepancies.registry.Spec`: callable like the function, with its oracle, defaults,
slicing law and whether it is optimised.

Reference: K. Nguyen, S. Nguyen, N. Ho, T. Pham, H. Bui. "Improving Relational Regularized
Autoencoders with Spherical Sliced Fused Gromov Wasserstein", ICLR 2021.
"""

from . import reference
from .distributional import dsfg, dsw
from .energy import ebsfg, ebsw, mh_ebsw, sir_ebsw
from .fused import max_sfg, sfg
from .registry import REGISTRY, Spec
from .sliced import max_sw, sw
from .spherical import mssfg, pssfg, ssfg

__all__ = ["REGISTRY", "Spec", "dsfg", "dsw", "ebsfg", "ebsw", "max_sfg", "max_sw", "mh_ebsw",
           "mssfg", "pssfg", "reference", "sfg", "sir_ebsw", "ssfg", "sw"]
