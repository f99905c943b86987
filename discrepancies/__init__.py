"""Sliced optimal-transport discrepancies: SW, max-SW, SFG, max-SFG, SSFG, MSSFG, PSSFG.

Torch implementations (batched over directions, autograd in X and Y, any device and float
dtype; NumPy in gives NumPy float64 out) and :mod:`discrepancies.reference`, a NumPy float64
oracle written from the definitions. :data:`REGISTRY` maps each name to its function.

Reference: K. Nguyen, S. Nguyen, N. Ho, T. Pham, H. Bui. "Improving Relational Regularized
Autoencoders with Spherical Sliced Fused Gromov Wasserstein", ICLR 2021.
"""

from collections.abc import Callable

from . import reference
from .fused import max_sfg, sfg
from .sliced import max_sw, sw
from .spherical import mssfg, pssfg, ssfg

REGISTRY: dict[str, Callable] = {
    "sw": sw, "max_sw": max_sw, "sfg": sfg, "max_sfg": max_sfg,
    "ssfg": ssfg, "mssfg": mssfg, "pssfg": pssfg,
}

__all__ = ["REGISTRY", "max_sfg", "max_sw", "mssfg", "pssfg", "reference", "sfg", "ssfg", "sw"]
