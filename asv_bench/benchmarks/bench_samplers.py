"""Sampling on the sphere S^{d-1}: time and peak memory of ``rsample``, and the vMF acceptance rate.

Grid: n in {100, 1000} draws, d on the log grid 2, 4, ..., 2^14 (14 points), concentration
kappa in {1, 10, 100, 10^4}, location (1, ..., 1)/sqrt(d). The suite's samplers are timed next
to their peers, on the same grid:

- ``scipy.stats.vonmises_fisher`` (NumPy, CPU only). Its ``rvs`` rotates the draws with the Q
  factor of a d x d QR decomposition: O(d^3) time and O(d^2) memory per call (about 2 s at
  d = 2048 and 11 s at d = 4096 here), so it is capped at d <= ``SCIPY_MAX_D``; larger d are
  skipped, not failed.
- the ``power-spherical`` package (De Cao & Aziz, 2020), the reference implementation of the
  power spherical law. It has no ``generator`` argument, so its draws follow torch's global
  seed, set in ``setup``.
"""

# asv reads params/param_names as plain class-level lists.
# ruff: noqa: RUF012

from __future__ import annotations

import functools

import numpy as np
import power_spherical
import scipy.stats
import torch

from samplers import MixtureVonMisesFisher, PowerSpherical, VonMisesFisher, uniform_sphere
from samplers import von_mises_fisher as vmf_module

from .common import (
    DEVICES,
    LONG_TIMEOUT,
    Seeded,
    generator,
    numeric_grid,
    require_device,
    synchronize,
    unit_vector,
)

N_GRID = [100, 1000]
D_GRID = numeric_grid([2**k for k in range(1, 15)])
KAPPAS = numeric_grid([1.0, 10.0, 100.0, 1e4])

#: Largest dimension at which scipy.stats.vonmises_fisher is timed (its rotation is O(d^3)).
SCIPY_MAX_D = 1024

#: Components of the benchmarked mixture of vMF (equal weights, common kappa).
N_COMPONENTS = 4


def _mixture_locations(d: int, device: torch.device, base: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(base + d)
    locs = torch.randn(N_COMPONENTS, d, generator=g)
    return (locs / locs.norm(dim=1, keepdim=True)).to(device)


@functools.lru_cache(maxsize=4)
def make_sampler(
    name: str, d: int, kappa: float, device: str, base: int
) -> torch.distributions.Distribution:
    """The distribution ``name`` on S^{d-1} at concentration ``kappa`` (the mixture's locations
    drawn from the base seed ``base``), built once per process."""
    dev = torch.device(device)
    loc = unit_vector(d, dev)
    conc = torch.tensor(kappa, dtype=torch.float32, device=dev)
    if name == "vmf":
        return VonMisesFisher(loc, conc)
    if name == "power_spherical":
        return PowerSpherical(loc, conc)
    if name == "mixture_vmf":
        locs = _mixture_locations(d, dev, base)
        return MixtureVonMisesFisher(locs, conc.expand(N_COMPONENTS))
    if name == "power_spherical_pkg":
        return power_spherical.PowerSpherical(loc, conc)
    raise ValueError(f"name: unknown sampler {name!r}")


class _TorchSampling(Seeded):
    """rsample time of one torch sampler over (device, n, d, kappa)."""

    sampler: str = ""
    params = [DEVICES, N_GRID, D_GRID, KAPPAS]
    param_names = ["device", "n", "d", "kappa"]
    timeout = LONG_TIMEOUT

    def setup(self, device: str, n: int, d: int, kappa: float) -> None:
        self.device = require_device(device)
        self.dist = make_sampler(self.sampler, d, kappa, device, self.seed)
        self.generator = generator(self.device, self.seed)
        torch.manual_seed(self.seed)

    def time_rsample(self, device: str, n: int, d: int, kappa: float) -> None:
        self.dist.rsample((n,), generator=self.generator)
        synchronize(self.device)


class VonMisesFisherSampling(_TorchSampling):
    sampler = "vmf"


class PowerSphericalSampling(_TorchSampling):
    sampler = "power_spherical"


class MixtureVonMisesFisherSampling(_TorchSampling):
    sampler = "mixture_vmf"


class PowerSphericalPackageSampling(_TorchSampling):
    """Peer: the ``power-spherical`` package (no ``generator`` argument: global seed)."""

    sampler = "power_spherical_pkg"

    def time_rsample(self, device: str, n: int, d: int, kappa: float) -> None:
        self.dist.rsample((n,))
        synchronize(self.device)


class UniformSphereSampling(Seeded):
    """``uniform_sphere(n, d)``: normalised Gaussian draws (no concentration)."""

    params = [DEVICES, N_GRID, D_GRID]
    param_names = ["device", "n", "d"]

    def setup(self, device: str, n: int, d: int) -> None:
        self.device = require_device(device)
        self.generator = generator(self.device, self.seed)

    def time_rsample(self, device: str, n: int, d: int) -> None:
        uniform_sphere(n, d, generator=self.generator, device=self.device)
        synchronize(self.device)


class ScipyVonMisesFisherSampling(Seeded):
    """Peer: ``scipy.stats.vonmises_fisher(mu, kappa).rvs(n)`` (CPU, float64, d <= 1024)."""

    params = [N_GRID, D_GRID, KAPPAS]
    param_names = ["n", "d", "kappa"]
    timeout = LONG_TIMEOUT

    def setup(self, n: int, d: int, kappa: float) -> None:
        if d > SCIPY_MAX_D:
            raise NotImplementedError(f"d={d}: scipy's O(d^3) rotation is capped at {SCIPY_MAX_D}")
        self.dist = scipy.stats.vonmises_fisher(np.full(d, 1.0 / np.sqrt(d)), kappa)
        self.rng = np.random.default_rng(self.seed)

    def time_rsample(self, n: int, d: int, kappa: float) -> None:
        self.dist.rvs(n, random_state=self.rng)


class SamplingPeakMemory(Seeded):
    """Peak resident memory of a process drawing n = 1000 points at kappa = 10."""

    params = [["vmf", "power_spherical", "mixture_vmf", "uniform"], numeric_grid([16, 1024, 16384])]
    param_names = ["sampler", "d"]

    def setup(self, sampler: str, d: int) -> None:
        self.device = torch.device("cpu")
        if sampler != "uniform":
            self.dist = make_sampler(sampler, d, 10.0, "cpu", self.seed)
        self.generator = generator(self.device, self.seed)

    def peakmem_rsample(self, sampler: str, d: int) -> None:
        if sampler == "uniform":
            uniform_sphere(1000, d, generator=self.generator)
        else:
            self.dist.rsample((1000,), generator=self.generator)


class VonMisesFisherAcceptance(Seeded):
    r"""Observed acceptance rate of the vMF rejection sampler, over (d, kappa).

    ``wood_acceptance_rate`` runs the sampler's own Wood loop (the code path of
    ``VonMisesFisher.rsample``, shared-concentration pool) for ``N_DRAWS`` draws in float64 with
    a fixed seed and returns accepted / proposed (standard error below 1.2e-3). Its expectation
    is the acceptance probability of Wood's envelope: exactly 0.658 at worst (d = 2,
    kappa >> 1), about 0.70 for kappa >> d at larger d, near 1 for kappa << d. A drop flags a
    broken envelope ``b``. (``rsample`` uses the exact inverse CDF at d = 3, not on this grid.)
    """

    params = [D_GRID, KAPPAS]
    param_names = ["d", "kappa"]
    unit = "accepted / proposed"
    N_DRAWS = 200_000

    def setup(self, d: int, kappa: float) -> None:
        self.generator = generator(torch.device("cpu"), self.seed)

    def track_acceptance_rate(self, d: int, kappa: float) -> float:
        return vmf_module.wood_acceptance_rate(kappa, d, self.N_DRAWS, self.generator,
                                               torch.float64)
