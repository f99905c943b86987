"""Uniform points on S^{d-1}, Beta draws with a generator, and the Householder map e1 -> loc.

Every sampler on the sphere here writes a point as ``x = t loc + sqrt(1 - t^2) v`` with
``t = loc^T x`` drawn from its exact marginal law and ``v`` uniform on the unit sphere of the
hyperplane orthogonal to ``loc``; ``v`` is drawn orthogonal to e1 and carried to ``loc`` by a
Householder reflection, which costs O(d) per point and never forms a d x d matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from samplers.constraints import (
    check_dimension,
    check_float_dtype,
    check_generator,
    check_numel,
    check_positive_int,
)

_SWITCH = -0.9  # loc_1 where the Householder vector switches from e1 + loc to e1 - loc


def uniform_sphere(
    n: int,
    d: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""Draw ``n`` points uniformly on the unit sphere :math:`S^{d-1} \subset \mathbb{R}^d`.

    A standard Gaussian vector divided by its norm is uniform on the sphere (Muller 1959).

    Parameters
    ----------
    n : int
        Number of points, ``n >= 1``.
    d : int
        Ambient dimension, ``d >= 2``.
    generator : torch.Generator, optional
        Source of randomness; its device is used when ``device`` is None.
    dtype, device : optional
        Of the result (default: torch's default dtype, the generator's device or CPU); a real
        floating dtype.

    Returns
    -------
    torch.Tensor, shape (n, d)
        Rows of unit norm.
    """
    n, d = check_positive_int(n, "n"), check_dimension(d)
    check_numel((n, d), "n", n)
    check_float_dtype(dtype)
    if device is None and isinstance(generator, torch.Generator):
        device = generator.device
    check_generator(generator, device)
    z = torch.randn(n, d, generator=generator, dtype=dtype, device=device)
    return z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)


def beta_pair(
    a: torch.Tensor, b: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``B ~ Beta(a, b)`` elementwise and return ``(B, 1 - B)``, both without cancellation.

    ``B = G_a / (G_a + G_b)`` with independent standard Gamma draws; the complement is
    ``G_b / (G_a + G_b)``, so both stay accurate when one of them is tiny (very large kappa).
    Reparameterised in ``a`` and ``b`` through torch's implicit Gamma gradient.
    """
    ga = torch._standard_gamma(a, generator=generator)
    gb = torch._standard_gamma(b, generator=generator)
    total = ga + gb
    return ga / total, gb / total


def cosine_draws(
    sample_t: Callable[..., tuple[torch.Tensor, torch.Tensor]],
    concentration: torch.Tensor,
    shape: torch.Size,
    d: int,
    generator: torch.Generator | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(t, s = sqrt(1 - t^2))`` of shape ``shape`` and dtype ``dtype`` (the locations') from a
    marginal sampler ``sample_t(kappa, d, generator) -> (1 - t, 1 + t)``, with
    ``concentration`` broadcast to ``shape``.

    float16 and bfloat16 draw in float32 and round the result: torch has no Gamma sampler for
    them on CPU, and a rejection loop or a Beta ratio in 8 to 11 bits of mantissa would distort
    the law itself, not only round its draws. The cast is differentiable, so a reparameterised
    ``t`` keeps its gradient in kappa.
    """
    working = torch.promote_types(concentration.dtype, torch.float32)
    omt, opt = sample_t(concentration.to(working).expand(shape), d, generator)
    return (1 - omt).to(dtype), torch.sqrt(omt * opt).to(dtype)


def one_minus_cosine(x: torch.Tensor, loc: torch.Tensor) -> torch.Tensor:
    """``1 - loc^T x`` for points ``x`` and ``loc`` of the sphere (last axis, broadcast), as
    ``||x - loc||^2 / 2``.

    Equal on the sphere, and accurate to the relative precision of the dtype when ``x`` is
    close to ``loc``, where ``1 - loc^T x`` is all rounding error: a density
    ``exp(-kappa (1 - loc^T x))`` at kappa = 1e8 in float32 needs it. It is also insensitive to
    the norms of ``x`` and ``loc`` being off by a rounding error, as they are in float32.
    """
    return (x - loc).square().sum(-1) / 2


def tangent_gaussian(
    shape: torch.Size, d: int, generator: torch.Generator | None, like: torch.Tensor
) -> torch.Tensor:
    """``shape + (d,)`` standard Gaussian vectors with their e1 coordinate set to 0.

    Their directions are uniform on the unit sphere orthogonal to e1; they are left unnormalised
    because :func:`householder_place` folds the norm into a per-point scale (one pass fewer).
    """
    z = torch.randn((*shape, d), generator=generator, dtype=like.dtype, device=like.device)
    z[..., 0] = 0
    return z


def householder_sign(loc_1: torch.Tensor) -> torch.Tensor:
    """The sign ``sigma`` of :func:`householder_place`'s reflection for locations whose first
    coordinates are ``loc_1``: -1 where ``loc_1 > -0.9``, +1 elsewhere (dtype of ``loc_1``)."""
    return torch.where(loc_1 > _SWITCH, -1.0, 1.0).to(loc_1.dtype)


def householder_place(
    t: torch.Tensor, s: torch.Tensor, z: torch.Tensor, loc: torch.Tensor
) -> torch.Tensor:
    r"""Return ``Q (t e1 + s z / ||z||)`` for an orthogonal ``Q`` with ``Q e1 = loc``.

    ``Q = sigma (I - 2 u u^T)`` with ``u`` proportional to ``e1 - sigma loc``, and
    ``sigma = -1`` when ``loc_1 > -0.9``, ``+1`` otherwise. Then
    ``||e1 - sigma loc||^2 = 2 (1 - sigma loc_1) >= 0.2``, so the reflection is well conditioned
    at and near ``loc = +e1`` and ``loc = -e1`` (where ``u = e1 - loc``, resp. ``e1 + loc``,
    alone is 0/0), and the map is smooth in ``loc`` except across the small circle
    ``loc_1 = -0.9``: a common-random-number objective (the SSFG ascent) jumps only there, not
    across the whole equator ``loc_1 = 0`` as with the usual ``sigma = -sign(loc_1)``. With
    ``v = z / ||z||`` (``v_1 = 0``), expanded:

    .. math:: Q (t e_1 + s v) = (t - \sigma k)\, loc + k\, e_1 + \sigma s v,
              \qquad k = \frac{s\, loc^T v}{1 - \sigma\, loc_1},

    O(d) per point, no d x d matrix, differentiable in ``loc`` (the reparameterisation).

    Parameters
    ----------
    t, s : torch.Tensor, shape S
        Component along ``loc`` and the tangent scale ``sqrt(1 - t^2)`` (given separately so
        that it is accurate when ``t`` is close to +-1).
    z : torch.Tensor, shape S + (d,)
        Tangent directions, orthogonal to e1 (first coordinate 0), any non-zero norm. Consumed:
        overwritten in place when autograd does not need it (pass a fresh draw).
    loc : torch.Tensor, shape broadcastable to S + (d,)
        Unit vectors.
    """
    l1 = loc[..., 0]
    sigma = householder_sign(l1)
    scale = s / torch.linalg.vector_norm(z, dim=-1)
    # one matrix-vector product for the common single-location case, no S x d temporary
    lz = z @ loc if loc.dim() == 1 else torch.linalg.vecdot(z, loc)
    k = scale * lz / (1 - sigma * l1)
    coef = (sigma * scale).unsqueeze(-1)
    # z is a fresh draw: scale it in place unless autograd saved it (for z @ loc or z * coef)
    keep_z = torch.is_grad_enabled() and (loc.requires_grad or coef.requires_grad)
    out = z * coef if keep_z else z.mul_(coef)
    out.addcmul_((t - sigma * k).unsqueeze(-1), loc)
    out[..., 0] += k
    return out
