"""Random directions for the sliced discrepancies: the one place that draws them.

Every discrepancy that needs uniform directions on S^{d-1} calls :func:`random_projections`,
so switching the draw to :func:`samplers.uniform_sphere` happens here and only here.
"""

from __future__ import annotations

import torch

__all__ = ["random_projections"]


def random_projections(d: int, n_projections: int, generator: torch.Generator,
                       dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``n_projections`` directions i.i.d. uniform on S^{d-1}, as the columns of a (d, L) tensor.

    Normalised standard Gaussian vectors (the rotation-invariant construction of the uniform
    law); the same generator state gives the same directions.
    """
    g = torch.randn(n_projections, d, generator=generator, dtype=dtype, device=device)
    return (g / g.norm(dim=1, keepdim=True)).T
