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

try:  # the spherical family lands separately (discrepancies/spherical.py)
    from .spherical import mssfg, pssfg, ssfg
except ModuleNotFoundError as err:
    if err.name != f"{__name__}.spherical":
        raise
    ssfg = mssfg = pssfg = None

REGISTRY: dict[str, Callable] = {
    name: fn
    for name, fn in {"sw": sw, "max_sw": max_sw, "sfg": sfg, "max_sfg": max_sfg,
                     "ssfg": ssfg, "mssfg": mssfg, "pssfg": pssfg}.items()
    if fn is not None
}

__all__ = ["REGISTRY", "max_sfg", "max_sw", "mssfg", "pssfg", "reference", "sfg", "ssfg", "sw"]
