"""The discrepancies of ``discrepancies.REGISTRY`` against n, d and L, with their peers.

Each entry is timed along one axis at a time around the base point n = 512, d = 32, L = 128
(not over the full product), at its documented defaults, drawing its own directions from
``seed=0``. The peers, timed on the same inputs and seed:

- ``pot_sw``: POT's ``ot.sliced_wasserstein_distance`` (torch backend), the peer of ``sw``;
- ``pot_max_sw``: POT's ``ot.max_sliced_wasserstein_distance``, the best of L random directions
  (no ascent: the suite's ``max_sw`` refines that start, so it is expected to cost more);
- ``naive_sfg``: SFG with the structure term computed from the n x n matrices of squared
  projected distances (O(n^2 L) time), the peer of the O(n log n) ``sfg``. It is capped at
  n <= ``NAIVE_MAX_N`` (larger n are skipped): at n = 4096 it already takes seconds per call.

``track_*`` benchmarks follow the estimator error against a closed form, as a function of L:
for Y = X + m (a translate), every projected coupling is the identity and

    W_2^2(theta) = (theta^T m)^2,   SW_2^2 = E_theta (theta^T m)^2 = ||m||^2 / d,
    max-SW_2 = ||m||,   SFG = (1 - beta) ||m||^2 / d,   max-SFG = (1 - beta) ||m||^2.
"""

# asv reads params/param_names as plain class-level lists.
# ruff: noqa: RUF012

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import ot
import scipy.integrate
import torch

from discrepancies import REGISTRY, Spec

from .common import (
    DEVICES,
    LONG_TIMEOUT,
    Seeded,
    numeric_grid,
    point_clouds,
    require_device,
    synchronize,
)

N_BASE, D_BASE, L_BASE = 512, 32, 128
N_GRID = numeric_grid([64, 256, 1024, 4096])
D_GRID = numeric_grid([2, 16, 128, 1024])
L_GRID = numeric_grid([16, 64, 256, 1024])

#: Largest n at which the O(n^2 L) naive SFG is timed.
NAIVE_MAX_N = 2048

#: Elements of the n x n x (slices) block the naive SFG builds at once: 1 MiB in float32, a
#: block that stays in cache (a block of tens of MiB makes every pass a trip to memory).
_NAIVE_BLOCK = 2**18


def naive_sfg(
    X: torch.Tensor,
    Y: torch.Tensor,
    n_projections: int = 50,
    *,
    beta: float = 0.1,
    p: int = 2,
    projections: torch.Tensor | None = None,
    seed: int = 0,
) -> torch.Tensor:
    r"""SFG with the O(n^2) structure term, the peer of ``discrepancies.sfg`` (same definition).

    .. math::
        \mathrm{FG}_\beta(\theta) = \min_{\sigma \in \{\mathrm{id}, \mathrm{rev}\}}
        (1-\beta) \frac{1}{n}\sum_i |u_i - v_{\sigma(i)}|^p
        + \frac{\beta}{n^2} \sum_{i,j} \big((u_i-u_j)^2 - (v_{\sigma(i)}-v_{\sigma(j)})^2\big)^2

    with u, v the sorted projections of X (n, d) and Y (n, d) on ``projections`` (d, L) or on
    ``n_projections`` uniform directions drawn from ``seed``. Returns the mean over directions
    (0-d tensor). Blocks of slices keep memory at ``_NAIVE_BLOCK`` elements.
    """
    n, d = X.shape
    if projections is None:
        g = torch.Generator(device=X.device).manual_seed(seed)
        theta = torch.randn(d, n_projections, generator=g, device=X.device, dtype=X.dtype)
        projections = theta / theta.norm(dim=0, keepdim=True)
    u = torch.sort(X @ projections, dim=0).values
    v = torch.sort(Y @ projections, dim=0).values
    per_slice = []
    for v_sigma in (v, v.flip(0)):
        transport = (u - v_sigma).abs().pow(p).mean(dim=0)
        structure = []
        step = max(1, _NAIVE_BLOCK // (n * n))
        for start in range(0, u.shape[1], step):
            ub, vb = u[:, start:start + step], v_sigma[:, start:start + step]
            du = (ub[:, None, :] - ub[None, :, :]) ** 2
            dv = (vb[:, None, :] - vb[None, :, :]) ** 2
            structure.append(((du - dv) ** 2).mean(dim=(0, 1)))
        per_slice.append((1 - beta) * transport + beta * torch.cat(structure))
    return torch.minimum(*per_slice).mean()


def _pot_sw(X: torch.Tensor, Y: torch.Tensor, n_projections: int, seed: int) -> torch.Tensor:
    return ot.sliced_wasserstein_distance(X, Y, n_projections=n_projections, p=2, seed=seed)


def _pot_max_sw(X: torch.Tensor, Y: torch.Tensor, n_projections: int, seed: int) -> torch.Tensor:
    return ot.max_sliced_wasserstein_distance(X, Y, n_projections=n_projections, p=2, seed=seed)


#: Everything timed: the registry, then the peers.
METHODS: dict[str, Callable[..., torch.Tensor]] = {
    **REGISTRY,
    "pot_sw": _pot_sw,
    "pot_max_sw": _pot_max_sw,
    "naive_sfg": naive_sfg,
}


class _DiscrepancyAxis(Seeded):
    """Time of one call ``fn(X, Y, n_projections=L, seed=0)`` along one axis."""

    axis: str = ""
    params: list = []
    param_names: list = []
    timeout = LONG_TIMEOUT

    def setup(self, device: str, method: str, value: int) -> None:
        self.device = require_device(device)
        point = {"n": N_BASE, "d": D_BASE, "L": L_BASE, self.axis: value}
        if method == "naive_sfg" and point["n"] > NAIVE_MAX_N:
            raise NotImplementedError(f"n={point['n']}: naive SFG is capped at {NAIVE_MAX_N}")
        self.X, self.Y = point_clouds(point["n"], point["d"], device, self.seed)
        self.L = point["L"]
        self.fn = METHODS[method]

    def time_discrepancy(self, device: str, method: str, value: int) -> None:
        self.fn(self.X, self.Y, n_projections=self.L, seed=self.seed)
        synchronize(self.device)


class DiscrepancyVsN(_DiscrepancyAxis):
    axis = "n"
    params = [DEVICES, list(METHODS), N_GRID]
    param_names = ["device", "method", "n"]


class DiscrepancyVsD(_DiscrepancyAxis):
    axis = "d"
    params = [DEVICES, list(METHODS), D_GRID]
    param_names = ["device", "method", "d"]


class DiscrepancyVsL(_DiscrepancyAxis):
    axis = "L"
    params = [DEVICES, list(METHODS), L_GRID]
    param_names = ["device", "method", "L"]


class TrainingStepVsN(_DiscrepancyAxis):
    """Time of one call and its backward pass, with gradients to X and Y: the cost of the
    discrepancy as a training loss (the RAE's use). The spherical family's ascent and the
    sort permutations are only paid in full here, so this is the axis on which their cost is
    compared with SFG's (the budget: at most 1.3 (T + 1) SFG with ``n_iter = T``)."""

    axis = "n"
    params = [DEVICES, list(METHODS), N_GRID]
    param_names = ["device", "method", "n"]

    def setup(self, device: str, method: str, value: int) -> None:
        super().setup(device, method, value)
        # fresh leaves on the cached clouds: gradients never accumulate across calls
        self.X, self.Y = self.X.detach().requires_grad_(True), self.Y.detach().requires_grad_(True)

    def time_training_step(self, device: str, method: str, value: int) -> None:
        self.fn(self.X, self.Y, n_projections=self.L, seed=self.seed).backward()
        synchronize(self.device)


class DiscrepancyPeakMemory(Seeded):
    """Peak resident memory of one call at d = 32, L = 128 (CPU)."""

    params = [list(METHODS), [1024, 4096]]
    param_names = ["method", "n"]
    timeout = LONG_TIMEOUT

    def setup(self, method: str, n: int) -> None:
        if method == "naive_sfg" and n > NAIVE_MAX_N:
            raise NotImplementedError(f"n={n}: naive SFG is capped at {NAIVE_MAX_N}")
        self.X, self.Y = point_clouds(n, D_BASE, "cpu", self.seed)
        self.fn = METHODS[method]

    def peakmem_discrepancy(self, method: str, n: int) -> None:
        self.fn(self.X, self.Y, n_projections=L_BASE, seed=self.seed)


def _energy_mean_square(spec: Spec, m2: float, d: int, weight: float) -> float:
    r""":math:`E[t^2]` under the energy-based law of ``spec`` (at its default energy) for a
    translate, whose slice cost is :math:`c = w\, m_2 t^2` with :math:`t = \theta^\top m /
    \|m\|` of density :math:`\propto (1 - t^2)^{(d-3)/2}` under the uniform law: one
    integral of :math:`t^2 f(c)` over one of :math:`f(c)`, by adaptive quadrature."""
    kw = spec.defaults
    if kw["energy"] == "exp":
        # c / tau, tau = temperature times the uniform mean w m2 / d, or temperature
        tau = (kw["temperature"] * weight * m2 / d if kw["temperature_scale"] == "mean"
               else kw["temperature"])
        exponent = weight * m2 / tau

        def f(t: float) -> float:  # exp(c / tau), shifted by its largest value (t = 1)
            return math.exp(exponent * (t * t - 1))
    else:
        power = 1.0 if kw["energy"] == "identity" else kw["rho"]

        def f(t: float) -> float:
            return (t * t) ** power

    def density(t: float) -> float:
        return (1 - t * t) ** ((d - 3) / 2) * f(t)

    top = scipy.integrate.quad(lambda t: t * t * density(t), 0, 1)[0]
    return top / scipy.integrate.quad(density, 0, 1)[0]


def translate_cost(spec: Spec, m2: float, d: int, beta: float) -> float:
    """The mean (or the maximum, for a maximised entry) over directions of the per-direction
    cost of ``spec`` at p = 2 for Y = X + m, from its spec: ``(theta^T m)^2`` for W_2^2, times
    ``1 - beta`` for FG_beta (the structure term of a translate is 0); the mean over uniform
    directions is ``||m||^2 / d``, the maximum ``||m||^2``, the mean under an energy-based
    law ``||m||^2 E[t^2]`` (:func:`_energy_mean_square`). ``m2`` is ``||m||^2``. Not defined
    for the spherical and distributional families (a mean under a law placed by an ascent)."""
    if spec.placed:
        raise ValueError(f"no translate closed form for {spec.name} (slicing law "
                         f"{spec.slicing_law!r})")
    weight = 1 - beta if spec.fused else 1
    if spec.slicing_law == "energy":
        return weight * m2 * _energy_mean_square(spec, m2, d, weight)
    return weight * m2 / d if spec.expectation else weight * m2


@functools.lru_cache(maxsize=1)
def _translate_pair(n: int, d: int, base: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """X (n, d) in float64, its translate X + m, and ||m||^2."""
    g = torch.Generator().manual_seed(base)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    m = torch.randn(d, generator=g, dtype=torch.float64)
    return X, X + m, float(m @ m)


class EstimatorError(Seeded):
    """Relative error |estimate - exact| / exact against the translate's closed form.

    The mean over ``N_SEEDS`` seeds at n = 256, d = 16, beta = 0.1, p = 2. For ``sw`` the
    estimate compared is SW_2^2 (what the L directions average); the Monte-Carlo error of SW
    and SFG falls like 1/sqrt(L); max-SW and max-SFG should sit at 0 for every L.
    """

    params = [[name for name, spec in REGISTRY.items() if not spec.placed], L_GRID]
    param_names = ["method", "L"]
    unit = "relative error"
    N_SEEDS = 10
    BETA = 0.1
    timeout = LONG_TIMEOUT

    def setup(self, method: str, L: int) -> None:
        self.X, self.Y, self.m2 = _translate_pair(256, 16, self.seed)

    def _estimate(self, method: str, L: int, seed: int) -> float:
        kwargs = {"beta": self.BETA} if REGISTRY[method].fused else {}
        return float(REGISTRY[method](self.X, self.Y, n_projections=L, seed=seed, **kwargs))

    def track_relative_error(self, method: str, L: int) -> float:
        spec = REGISTRY[method]
        exact = translate_cost(spec, self.m2, self.X.shape[1], self.BETA)
        # a mean of W_2^2 under a root is compared squared, a single direction's W_2 as is
        squared = spec.root and spec.expectation
        exact = exact**0.5 if spec.root and not squared else exact
        errors = []
        for s in range(self.seed, self.seed + self.N_SEEDS):
            est = self._estimate(method, L, s)
            est = est**2 if squared else est
            errors.append(abs(est - exact) / exact)
        return sum(errors) / len(errors)
