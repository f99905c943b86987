"""Directions for the sliced discrepancies: given ones checked, or drawn by a slicing scheme.

Every discrepancy that needs uniform directions on S^{d-1} calls :func:`resolve_projections`
with the sampler of its slicing scheme (:mod:`discrepancies.slicing`); the default,
:func:`random_projections`, delegates to :func:`samplers.uniform_sphere`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from samplers import uniform_sphere

from ._inputs import (
    check_fits,
    check_n_projections,
    check_projections,
    check_seed,
    make_generator,
    widest_float,
)

__all__ = ["random_projections", "resolve_projections"]


def random_projections(d: int, n_projections: int, generator: torch.Generator,
                       dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``n_projections`` directions i.i.d. uniform on S^{d-1}, as the columns of a (d, L) tensor
    (POT's layout); the same generator state gives the same directions.

    Drawn in float64 (float32 on MPS, which has no float64) and then cast, so that a seed gives
    the same directions whatever the dtype of the data. For d = 1 the sphere is S^0 = {-1, +1}
    and the directions are fair random signs.
    """
    if d == 1:  # the samplers start at S^1; every 1-D slice is then the data itself, up to sign
        signs = torch.randint(0, 2, (1, n_projections), generator=generator, device=device)
        return (2 * signs - 1).to(dtype)
    theta = uniform_sphere(n_projections, d, generator=generator, dtype=widest_float(device),
                           device=device)
    return theta.to(dtype).T


def resolve_projections(projections: object, n_projections: object, seed: object,
                        like: torch.Tensor, draw: Callable = random_projections) -> torch.Tensor:
    """The (d, L) directions of a call: ``projections`` checked when given (no draw), else
    ``n_projections`` directions from ``draw`` (a slicing scheme's sampler, i.i.d. uniform by
    default) and ``seed``, with the dtype and device of ``like``. ``seed`` is checked in both
    cases (a seed refused without ``projections`` is refused with them)."""
    L = check_n_projections(n_projections)
    d = like.shape[1]
    if projections is not None:
        check_seed(seed, like.device)
        return check_projections(projections, d, like)
    check_fits(L, 2 * like.shape[0], like)
    generator = make_generator(seed, like.device)
    return draw(d, L, generator, like.dtype, like.device)
