r"""The L -> infinity limit of a sliced discrepancy for given point clouds, with its error.

:math:`\mathbb{E}_{\theta \sim \mathcal{U}(S^{d-1})} f(\theta)` for a per-direction cost f
(W_p^p, FG_beta), the value every slicing scheme estimates, computed as the mean of K
independent *randomised* dense rules, each an unbiased estimate, so that the error reported
(their standard error) is honest even where f has kinks:

- d = 2: :math:`f(\theta) = f(-\theta)`, so the mean over the circle is the mean over the
  half-turn :math:`\phi \in [0, \pi)`: the trapezoid rule on N equally spaced angles, shifted
  by a uniform fraction of a step. f is piecewise smooth with kinks (where two projected
  points swap), so each rule's error falls like N^-2.
- d = 3: the product rule, Gauss-Legendre nodes in :math:`z = \theta_3` (n of them) times
  2n equally spaced azimuths (every polynomial of degree < 2n in theta is integrated exactly),
  turned by a Haar-random rotation; for f with kinks the error falls like n^-2.
- d >= 4: plain Monte Carlo, K batches of i.i.d. uniform directions (NumPy's generator, apart
  from the schemes under test).

A rotated rule is unbiased because each of its points is then uniform on the sphere. Halving
the resolution of a fixed rule (the other usual error estimate) can understate the error of a
kinked f several times (measured on W_1 between two points in d = 2), hence the randomisation.

The three are checked against closed forms in ``sliced-bench validate`` (group ``slicing``):
for a translate Y = X + m, W_2^2(theta) = (theta^T m)^2 and the limit is ||m||^2 / d for the
empirical clouds (both rules are exact there); for single points x, y and p = 1,
W_1(theta) = |theta^T (x - y)| (a kink) and the limit is
:math:`\|x - y\|\,\Gamma(d/2) / (\sqrt\pi\,\Gamma((d+1)/2))`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from discrepancies.slicing import haar_columns

__all__ = ["ExactValue", "circle_rule", "mean_abs_projection", "sliced_limit", "sphere_rule"]

PerSlice = Callable[[torch.Tensor], torch.Tensor]
"""``f(projections (d, L)) -> (L,)``: the per-direction cost on each column."""

#: Directions evaluated at once (bounds memory at about BATCH x n values per cloud).
BATCH = 1 << 14


@dataclass(frozen=True)
class ExactValue:
    """A limit, its standard error, and the rule that computed it."""

    value: float
    error: float
    method: str


def circle_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n equally spaced directions on the half circle (angles pi k / n) and equal weights."""
    phi = math.pi * np.arange(n) / n
    return np.stack([np.cos(phi), np.sin(phi)]), np.full(n, 1.0 / n)


def sphere_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre in z (n nodes) times 2n azimuths on S^2: directions (3, 2 n^2), weights
    summing to 1."""
    z, wz = np.polynomial.legendre.leggauss(n)
    phi = math.pi * np.arange(2 * n) / n
    Zg, Pg = np.meshgrid(z, phi, indexing="ij")
    r = np.sqrt(1.0 - Zg**2)
    P = np.stack([r * np.cos(Pg), r * np.sin(Pg), Zg]).reshape(3, -1)
    w = np.repeat(wz / 2.0, 2 * n) / (2 * n)
    return P, w


def _evaluate(per_slice: PerSlice, P: np.ndarray, like: torch.Tensor) -> np.ndarray:
    """f on every column of P, in batches of :data:`BATCH`."""
    out = []
    for start in range(0, P.shape[1], BATCH):
        block = torch.as_tensor(P[:, start:start + BATCH], dtype=like.dtype, device=like.device)
        with torch.no_grad():
            out.append(per_slice(block).double().cpu().numpy())
    return np.concatenate(out)


def _randomised_rule(d: int, size: int, rng: np.random.Generator,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """One randomised rule of :func:`sliced_limit`: directions (d, N) and weights (N,)."""
    if d == 2:
        P, w = circle_rule(size)
        shift = rng.uniform(0.0, math.pi / size)
        c, s = math.cos(shift), math.sin(shift)
        return np.array([[c, -s], [s, c]]) @ P, w
    if d == 3:
        P, w = sphere_rule(size)
        G = torch.from_numpy(rng.standard_normal((3, 3)))
        return haar_columns(G).numpy() @ P, w
    g = rng.standard_normal((d, size))
    return g / np.linalg.norm(g, axis=0), np.full(size, 1.0 / size)


def sliced_limit(per_slice: PerSlice, d: int, *, size: int | None = None,
                 replicates: int = 8, seed: int = 0,
                 like: torch.Tensor | None = None) -> ExactValue:
    """:math:`\\mathbb{E}_\\theta f(\\theta)` over the uniform sphere S^{d-1}: the mean of
    ``replicates`` randomised rules and its standard error (see the module docstring).

    Parameters
    ----------
    per_slice : callable
        ``f(projections (d, L)) -> (L,)``.
    d : int >= 2
    size : int, optional
        Of each rule. d = 2: the number of angles (default 2^12); d = 3: the number n of
        nodes in z (default 96: 2 n^2 = 18432 directions); d >= 4: the number of directions
        (default 2^16).
    replicates : int >= 2
        Independent randomisations.
    seed : int
        Of the randomisations (NumPy's generator).
    like : torch.Tensor, optional
        The dtype and device of the directions handed to ``per_slice`` (float64 CPU default).
    """
    if d < 2:
        raise ValueError(f"d must be >= 2, got d={d}")
    if replicates < 2:
        raise ValueError(f"replicates must be >= 2 (for a standard error), got {replicates}")
    like = torch.empty(0, dtype=torch.float64) if like is None else like
    size = {2: 1 << 12, 3: 96}.get(d, 1 << 16) if size is None else size
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(replicates):
        P, w = _randomised_rule(d, size, rng)
        values.append(float(w @ _evaluate(per_slice, P, like)))
    name = {2: f"shifted trapezoid, {size} angles",
            3: f"rotated product rule, {2 * size * size} directions"}.get(
                d, f"Monte Carlo, {size} directions")
    return ExactValue(float(np.mean(values)), float(np.std(values, ddof=1)
                                                    / math.sqrt(replicates)),
                      f"{name}, mean of {replicates}")


def mean_abs_projection(v: np.ndarray) -> float:
    """:math:`\\mathbb{E}_\\theta |\\theta^\\top v|` over the uniform sphere S^{d-1}, d = len(v):
    :math:`\\|v\\| \\Gamma(d/2) / (\\sqrt\\pi \\Gamma((d+1)/2))` (W_1 between two points)."""
    d = len(v)
    return float(np.linalg.norm(v) * math.exp(math.lgamma(d / 2) - math.lgamma((d + 1) / 2))
                 / math.sqrt(math.pi))
