r"""Slicing schemes: how the expectation over directions of a sliced discrepancy is estimated.

Every sliced discrepancy averages a per-direction cost :math:`f(\theta)` (W_p^p or FG_beta)
over :math:`\theta \sim \mathcal{U}(S^{d-1})`. The scheme chooses the L directions, and for
control variates the estimator too. :data:`SCHEMES` maps each name to a
:class:`SlicingScheme`; the discrepancies take ``slicing=NAME`` and read what they need from it.

- ``"mc"`` (default): L i.i.d. uniform directions, the mean of f. Error ~ L^(-1/2).
- ``"orthogonal"``: blocks of d mutually orthogonal directions, each block the columns of an
  independent Haar-random rotation (QR of a Gaussian matrix with the signs of R's diagonal
  moved into Q). When d does not divide L, the last L mod d directions are the first L mod d
  columns of one more rotation (drawn as the reduced QR of a (d, L mod d) Gaussian matrix,
  which has the same law). Each direction is marginally uniform, so the mean of f is
  unbiased; directions within a block are negatively dependent (they cannot be close), which
  lowers the variance when f is smooth.
- ``"rqmc"``: randomised quasi-Monte Carlo. d = 2: the L-gon of equally spaced angles under a
  uniform random rotation; d = 3: the Fibonacci spiral
  :math:`z_i = 1 - (2i + 1)/L,\ \phi_i = 2\pi i / \varphi^2` (:math:`\varphi` the golden
  ratio) under a Haar-random rotation; any other d: a scrambled Sobol' point set
  (``scipy.stats.qmc.Sobol(d, scramble=True)``, seeded from ``seed``) mapped through the
  Gaussian inverse CDF and normalised (each point first moved uniformly inside its
  2^-30 cell, so that no coordinate is 0). Every direction is marginally uniform (a fixed point
  under a Haar rotation is uniform; a scrambled Sobol' point is uniform on the cube, Phi^-1
  makes it Gaussian, and a normalised Gaussian is uniform), so the mean is unbiased. Sobol'
  nets are balanced only for L a power of 2: for other L the first L points of the scrambled
  sequence are used (still unbiased, a smaller variance gain; SciPy's balance warning is
  silenced here on purpose). Sobol' supports d <= 21201.
- ``"control-variate"`` (p = 2 only: SW_2, and SFG with beta = 0): i.i.d. uniform directions
  (the very directions of ``"mc"`` for the same seed) and the control variates
  :math:`Z(\theta) = ((\theta^\top \Delta)^2, \theta^\top \Sigma_x \theta,
  \theta^\top \Sigma_y \theta)` (:math:`\Delta` the difference of the means,
  :math:`\Sigma` the weighted covariances), whose means over the sphere are
  :math:`(\|\Delta\|^2, \mathrm{tr}\,\Sigma_x, \mathrm{tr}\,\Sigma_y) / d`. They are the
  pieces of the W_2^2 between the Gaussian approximations of the projected measures
  (Nguyen & Ho, 2024): W_2^2(theta) is :math:`(\theta^\top \Delta)^2` plus the W_2^2 of the
  centred projections, which is :math:`(\sigma_x - \sigma_y)^2 \le \sigma_x^2 + \sigma_y^2`
  for Gaussians (:math:`\sigma^2 = \theta^\top \Sigma \theta`). The three are fitted jointly
  (the paper's lower and upper control variates are two fixed combinations of them); for a
  translate (Y = X + m) the first is W_2^2 itself and the estimate is exact (L >= 4, to
  rounding). The estimate is
  :math:`\frac1L \sum_l \big(f_l - c_{-l}^\top (Z_l - \mathbb{E} Z)\big)` with
  :math:`c_{-l}` the least-squares coefficient of f on Z fitted on the *other* L - 1
  directions: it is independent of :math:`\theta_l`, so every term, hence the estimate, is
  exactly unbiased. A coefficient fitted on all L directions would carry an O(1/L) bias:
  measured on two anisotropic Gaussian clouds (n = 24, 4000 seeds), -4.7 % of SW_2^2 at
  d = 3, L = 10, -5.1 % at d = 10, L = 10 and -1.1 % at d = 10, L = 40, for an RMSE at most
  15 % below the leave-one-out one (which shows no bias: ``|z| <= 1.1``).
  Autograd differentiates the whole estimate, coefficients included; that derivative is an
  unbiased estimate of the gradient too: for every X, Y the term l is
  :math:`\nabla f_l - c_{-l}^\top \nabla z_l - (\nabla c_{-l})^\top z_l`, where
  :math:`\mathbb{E}_\theta z = 0` identically (so :math:`\mathbb{E}\nabla z_l = 0`) and
  :math:`c_{-l}` is independent of :math:`\theta_l`. The estimate of a very small
  SW_2^2 can be slightly negative (``sw`` then returns 0).

References
----------
M. Rowland, J. Hron, Y. Tang, K. Choromanski, T. Sarlos, A. Weller. "Orthogonal estimation of
Wasserstein distances", AISTATS 2019.
K. Nguyen, N. Bariletto, N. Ho. "Quasi-Monte Carlo for 3D Sliced Wasserstein", ICLR 2024.
K. Nguyen, N. Ho. "Sliced Wasserstein Estimation with Control Variates", ICLR 2024.
F. Mezzadri. "How to generate random matrices from the classical compact groups", Notices of
the AMS, 2007 (the sign correction of QR).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.special
import scipy.stats
import torch

from ._directions import random_projections
from ._execution import chunked, current_chunk_size
from ._inputs import describe, pth_root, widest_float
from ._slices import power_mean, project

__all__ = [
    "SCHEMES",
    "SlicingScheme",
    "control_variate_mean",
    "control_variates",
    "haar_columns",
    "leave_one_out_estimate",
    "numpy_seed",
    "orthogonal_projections",
    "rqmc_projections",
    "slicing_scheme",
]

Draw = Callable[[int, int, torch.Generator, torch.dtype, torch.device], torch.Tensor]

#: Sobol' points are drawn with this many bits; each is then moved uniformly inside its cell
#: (so no coordinate is exactly 0, where the inverse Gaussian CDF is infinite).
_SOBOL_BITS = 30
_SOBOL_MAX_D = 21201


def haar_columns(G: torch.Tensor) -> torch.Tensor:
    """The Q factor of the reduced QR of ``G`` (..., d, k), k <= d, with the signs of R's
    diagonal moved into Q: for G with i.i.d. standard Gaussian entries, the first k columns of
    a Haar-distributed rotation (without the correction LAPACK's sign convention makes Q's
    law depend on it; Mezzadri 2007)."""
    Q, R = torch.linalg.qr(G)
    signs = torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))
    return Q * torch.where(signs == 0, torch.ones_like(signs), signs).unsqueeze(-2)


def orthogonal_projections(d: int, n_projections: int, generator: torch.Generator,
                           dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``n_projections`` directions (d, L) in blocks of d orthonormal columns, each block an
    independent Haar rotation; the last L mod d directions are the first columns of one more
    (see the module docstring)."""
    draw_dtype = widest_float(device)
    full, rest = divmod(n_projections, d)
    blocks = []
    if full:
        G = torch.randn(full, d, d, generator=generator, dtype=draw_dtype, device=device)
        blocks.append(haar_columns(G).transpose(0, 1).reshape(d, full * d))
    if rest:
        G = torch.randn(d, rest, generator=generator, dtype=draw_dtype, device=device)
        blocks.append(haar_columns(G))
    return torch.cat(blocks, dim=1).to(dtype)


def numpy_seed(generator: torch.Generator) -> int:
    """A NumPy/SciPy seed drawn from ``generator`` (so ``seed`` fixes the point set too)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator,
                             device=generator.device).item())


def _circle_points(L: int, generator: torch.Generator) -> np.ndarray:
    """The L-gon of equally spaced angles, turned by a uniform random angle: (2, L)."""
    shift = np.random.default_rng(numpy_seed(generator)).uniform(0.0, 2 * math.pi)
    angles = shift + 2 * math.pi * np.arange(L) / L
    return np.stack([np.cos(angles), np.sin(angles)])


def _spiral_points(L: int, generator: torch.Generator) -> np.ndarray:
    """The Fibonacci spiral of L points on S^2 under a Haar-random rotation: (3, L)."""
    i = np.arange(L)
    z = 1.0 - (2 * i + 1) / L
    phi = 2 * math.pi * i * (2.0 / (3.0 + math.sqrt(5.0)))  # golden angle: 2 pi / varphi^2
    r = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    points = np.stack([r * np.cos(phi), r * np.sin(phi), z])
    G = torch.from_numpy(np.random.default_rng(numpy_seed(generator)).standard_normal((3, 3)))
    return haar_columns(G).numpy() @ points


def _sobol_points(d: int, L: int, generator: torch.Generator) -> np.ndarray:
    """L scrambled Sobol' points through Phi^-1, normalised: (d, L)."""
    if d > _SOBOL_MAX_D:
        raise ValueError(f"slicing='rqmc' uses Sobol' points, defined for d <= {_SOBOL_MAX_D}, "
                         f"got d={d}")
    rng = np.random.default_rng(numpy_seed(generator))
    sobol = scipy.stats.qmc.Sobol(d, scramble=True, bits=_SOBOL_BITS, seed=rng)
    with warnings.catch_warnings():
        # L not a power of 2: the first L points (documented above), not an error
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol",
                                category=UserWarning)
        cube = sobol.random(L)
    cube = cube + rng.uniform(0.0, 2.0**-_SOBOL_BITS, cube.shape)
    gauss = scipy.special.ndtri(np.clip(cube, 2.0**-60, 1.0 - 2.0**-53))
    return (gauss / np.linalg.norm(gauss, axis=1, keepdims=True)).T


def rqmc_projections(d: int, n_projections: int, generator: torch.Generator,
                     dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``n_projections`` randomised quasi-Monte Carlo directions (d, L): the rotated L-gon
    (d = 2), the rotated Fibonacci spiral (d = 3), scrambled Sobol' otherwise. Drawn on the CPU
    in float64 (the seed is taken from ``generator``), then moved."""
    if d == 2:
        points = _circle_points(n_projections, generator)
    elif d == 3:
        points = _spiral_points(n_projections, generator)
    else:
        points = _sobol_points(d, n_projections, generator)
    return torch.from_numpy(np.ascontiguousarray(points)).to(dtype=dtype, device=device)


def _projected_variance(centred: torch.Tensor, w: torch.Tensor | None,
                        P: torch.Tensor) -> torch.Tensor:
    projected = project(centred, P).square()
    return projected.mean(dim=1) if w is None else projected @ w


def _projected_moments(Z: torch.Tensor, w: torch.Tensor | None, P: torch.Tensor,
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The weighted mean (d,) of the rows of Z, the weighted variance of their projections on
    each column of P (L,) = theta^T Sigma theta, and the trace of Sigma (no d x d matrix).
    The (n, L) block of projections is made in column chunks under the call's
    ``max_memory``, as the per-slice costs are (:mod:`discrepancies._execution`)."""
    mean = Z.mean(dim=0) if w is None else w @ Z
    centred = Z - mean
    trace = centred.square().sum(1)
    trace = trace.mean() if w is None else w @ trace
    size = current_chunk_size(P.shape[1], Z.shape[0], Z)
    return mean, chunked(_projected_variance, centred, w, P, (), {}, size), trace


def control_variates(projections: torch.Tensor, X: torch.Tensor, Y: torch.Tensor,
                     a: torch.Tensor | None = None, b: torch.Tensor | None = None,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The control variates on the columns of ``projections`` (d, L), shape (L, 3), and their
    means over the uniform sphere, shape (3,):

    .. math:: Z(\theta) = \big((\theta^\top \Delta)^2, \theta^\top \Sigma_x \theta,
              \theta^\top \Sigma_y \theta\big), \quad
              \mathbb{E} Z = (\|\Delta\|^2, \mathrm{tr}\,\Sigma_x, \mathrm{tr}\,\Sigma_y) / d

    (:math:`\mathbb{E}\,\theta\theta^\top = I / d`), from the weighted means and covariances
    of X and Y, computed through the projections (no d x d matrix)."""
    d = projections.shape[0]
    mx, var_x, trace_x = _projected_moments(X, a, projections)
    my, var_y, trace_y = _projected_moments(Y, b, projections)
    gap = mx - my
    Z = torch.stack([(gap @ projections) ** 2, var_x, var_y], dim=1)
    return Z, torch.stack([gap @ gap, trace_x, trace_y]) / d


def leave_one_out_estimate(per_slice: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""The leave-one-out control-variate estimate of the mean of ``per_slice`` (L,) with the
    centred control variates ``z`` (L, k) (mean zero under the sampling law):

    .. math::
        \hat m = \frac1L \sum_l \big(f_l - c_{-l}^\top z_l\big), \quad
        c_{-l} = \Big(\sum_{j \ne l} (z_j - \bar z_{-l})(z_j - \bar z_{-l})^\top\Big)^{-1}
        \sum_{j \ne l} (z_j - \bar z_{-l}) f_j

    (least squares with intercept on the other directions; bars: their means). A ridge of
    10 eps times :math:`\sum_j \|z_j\|^2` keeps the solve defined for collinear z; with
    L <= 2 there is nothing to fit and the estimate is the plain mean. Differentiable in both
    arguments (the coefficients included)."""
    L = per_slice.shape[0]
    if L < 3:
        return per_slice.mean()
    f = per_slice
    # the sums over all L, then the l-th term removed: (L, k, k) and (L, k)
    z_others = (z.sum(0) - z) / (L - 1)
    f_others = (f.sum() - f) / (L - 1)
    A = (z.T @ z - z.unsqueeze(2) * z.unsqueeze(1)
         - (L - 1) * z_others.unsqueeze(2) * z_others.unsqueeze(1))
    zf = z * f.unsqueeze(1)
    B = zf.sum(0) - zf - (L - 1) * z_others * f_others.unsqueeze(1)
    info = torch.finfo(A.dtype)
    ridge = (10 * info.eps * z.square().sum()).clamp_min(info.tiny)
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    coef = torch.linalg.solve(A + ridge * eye, B.unsqueeze(2)).squeeze(2)
    return (f - (coef * z).sum(1)).mean()


def control_variate_mean(per_slice: torch.Tensor, projections: torch.Tensor, X: torch.Tensor,
                         Y: torch.Tensor, a: torch.Tensor | None = None,
                         b: torch.Tensor | None = None) -> torch.Tensor:
    r"""The control-variate estimate of :math:`\mathbb{E}_\theta W_2^2(\theta)` from
    ``per_slice`` (L,) on the columns of ``projections`` (d, L), i.i.d. uniform: the
    :func:`leave_one_out_estimate` with the :func:`control_variates` centred at their means."""
    Z, expected = control_variates(projections, X, Y, a, b)
    return leave_one_out_estimate(per_slice, Z - expected)


@dataclass(frozen=True)
class SlicingScheme:
    """One entry of :data:`SCHEMES`.

    name : the ``slicing=`` value.
    draw : ``draw(d, L, generator, dtype, device) -> (d, L)`` unit directions.
    control_variate : the mean over directions is :func:`control_variate_mean` (needs i.i.d.
        uniform directions and p = 2 W_2^2 per slice), not the plain mean.
    """

    name: str
    draw: Draw
    control_variate: bool = False

    def mean(self, per_slice: torch.Tensor, projections: torch.Tensor, X: torch.Tensor,
             Y: torch.Tensor, a: torch.Tensor | None = None,
             b: torch.Tensor | None = None) -> torch.Tensor:
        """The estimate of E_theta f(theta) from f on ``projections`` (d, L)."""
        if self.control_variate:
            return control_variate_mean(per_slice, projections, X, Y, a, b)
        return per_slice.mean()

    def root_mean(self, roots: torch.Tensor, p: float, projections: torch.Tensor,
                  X: torch.Tensor, Y: torch.Tensor, a: torch.Tensor | None = None,
                  b: torch.Tensor | None = None) -> torch.Tensor:
        r"""The estimate of :math:`(\mathbb{E}_\theta W_p^p(\theta))^{1/p}` from the per-slice
        roots :math:`W_p(\theta_l)` (L,) on ``projections`` (d, L), for data rescaled to a
        safe range: the plain mean by :func:`power_mean` (the roots divided by their largest
        before the p-th power, so that no p overflows); the control variates (p = 2) by
        :meth:`mean` of the squares, which stay in range on rescaled data."""
        if self.control_variate:
            return pth_root(self.mean(roots.square(), projections, X, Y, a, b), p)
        return power_mean(roots, p)


SCHEMES: dict[str, SlicingScheme] = {s.name: s for s in (
    SlicingScheme("mc", random_projections),
    SlicingScheme("orthogonal", orthogonal_projections),
    SlicingScheme("rqmc", rqmc_projections),
    SlicingScheme("control-variate", random_projections, control_variate=True),
)}


def slicing_scheme(slicing: object, discrepancy: str, *, p: float = 2.0,
                   beta: float | None = None, expectation: bool = True) -> SlicingScheme:
    """The :class:`SlicingScheme` named ``slicing``, checked against its use.

    Parameters
    ----------
    slicing : str
        A key of :data:`SCHEMES`.
    discrepancy : str
        The caller's name, for error messages.
    p, beta : the caller's exponent and fused weight (beta None: no structure term).
    expectation : whether the caller estimates an expectation over uniform directions (False
        for the maximised ones, which only take their starting directions from the scheme).

    Raises
    ------
    TypeError
        ``slicing`` is not a string.
    ValueError
        An unknown name; ``"control-variate"`` where the value is not an expectation of
        W_2^2 over uniform directions (p != 2, beta != 0, a maximum).
    """
    if not isinstance(slicing, str):
        raise TypeError(f"slicing must be a string, one of {sorted(SCHEMES)}, "
                        f"got {describe(slicing)}")
    scheme = SCHEMES.get(slicing)
    if scheme is None:
        raise ValueError(f"slicing must be one of {sorted(SCHEMES)}, got {slicing!r}")
    if scheme.control_variate:
        if not expectation:
            raise ValueError(f"slicing={slicing!r} changes how a mean over directions is "
                             f"estimated; {discrepancy} maximises instead, use 'mc', "
                             f"'orthogonal' or 'rqmc'")
        if p != 2 or (beta is not None and beta != 0):
            raise ValueError(f"slicing={slicing!r} needs p = 2 (and beta = 0 for the fused "
                             f"discrepancies): its control variates are moments of W_2^2, "
                             f"got {discrepancy} with p={p}"
                             + ("" if beta is None else f", beta={beta}"))
    return scheme
