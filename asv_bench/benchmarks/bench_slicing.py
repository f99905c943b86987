"""Slicing schemes (``slicing=`` of SW and SFG): their error against the exact limit, and their
cost, with POT's random projections and our own plain Monte Carlo as peers on the same data.

``track_rmse``: the root mean square error over ``N_SEEDS`` seeds of the estimate of SW_2^2
or SFG (beta = 0.1, p = 2) against the L -> infinity limit of
:mod:`validation.exact_slicing`, relative to that limit, along L and d, for two anisotropic
Gaussian clouds of ``N_POINTS`` points (:func:`validation.slicing_checks.clouds`). The limit
(a randomised dense rule in d = 3, Monte Carlo with ``REFERENCE_SIZE`` x 8 directions beyond;
d = 1000 is left to ``sliced-bench curves``: its limit alone would dominate an asv run)
has its own standard error s; the mean square error measured against it exceeds the true one
by s^2 on average, so s^2 is subtracted (floored at 0), and ``track_reference_error`` records s
(relative) so that RMSEs near it can be read as "below the reference's resolution".
The limits are computed once per benchmark run (asv's ``setup_cache``).

``time_*``: one call of ``sw`` / ``sfg`` with each scheme (and POT's
``ot.sliced_wasserstein_distance``), along d (n = 512, L = 128) and along L (n = 512, d = 32),
float32, seed 0.
"""

# asv reads params/param_names as plain class-level lists.
# ruff: noqa: RUF012

from __future__ import annotations

import functools
import math

import numpy as np
import ot
import torch

from discrepancies import sfg, sw
from discrepancies.slicing import SCHEMES
from validation.exact_slicing import sliced_limit
from validation.slicing_checks import POT as POT_ESTIMATOR
from validation.slicing_checks import SFG, SW2, clouds, estimators

from .common import (
    DEVICES,
    LONG_TIMEOUT,
    SMOKE,
    Seeded,
    numeric_grid,
    point_clouds,
    require_device,
    synchronize,
)

QUANTITIES = {"sw": SW2, "sfg": SFG}
#: the schemes, then the peer (POT: i.i.d. uniform directions like "mc")
POT = "pot"
METHODS = [*SCHEMES, POT]
D_ERROR = numeric_grid([3, 10, 100])
L_ERROR = numeric_grid([16, 64, 256, 1024])
N_POINTS = 64
N_SEEDS = 4 if SMOKE else 16  # the smoke run only checks that everything runs
#: directions per replicate of the Monte Carlo limit (d > 3; 8 replicates); the smoke run only
#: checks that everything runs
REFERENCE_SIZE = 1 << 10 if SMOKE else 1 << 15

N_TIME, D_TIME, L_TIME = 512, 32, 128
D_GRID = numeric_grid([3, 16, 128, 1024])
L_GRID = numeric_grid([16, 64, 256, 1024])


def applies(quantity: str, method: str) -> bool:
    """Whether ``method`` estimates ``quantity`` (control variates: SW_2 only; POT: SW)."""
    if method == POT:
        return quantity == "sw"
    return method in QUANTITIES[quantity].schemes


@functools.lru_cache(maxsize=8)
def error_clouds(d: int, base: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The float64 clouds of the error benchmarks in dimension d (from the base seed)."""
    return clouds(N_POINTS, d, base + d)


def references(dims: list[int], base: int) -> dict[tuple[str, int], tuple[float, float]]:
    """(quantity, d) -> (limit, its standard error), for every quantity and d in ``dims``."""
    out = {}
    for d in dims:
        X, Y = error_clouds(d, base)
        for name, quantity in QUANTITIES.items():
            exact = sliced_limit(functools.partial(quantity.per_slice, X, Y), d,
                                 size=None if d <= 3 else REFERENCE_SIZE, seed=base, like=X)
            out[(name, d)] = (exact.value, exact.error)
    return out


def relative_rmse(values: np.ndarray, exact: float, exact_se: float) -> float:
    """sqrt(mean((values - exact)^2) - exact_se^2) / |exact|, floored at 0: the RMSE against
    the true limit, the reference's own variance taken out."""
    mse = float(np.mean((np.asarray(values) - exact) ** 2)) - exact_se**2
    return math.sqrt(max(mse, 0.0)) / abs(exact)


class SlicingError(Seeded):
    """Relative RMSE of each scheme against the exact limit, along d and L."""

    params = [list(QUANTITIES), METHODS, D_ERROR, L_ERROR]
    param_names = ["quantity", "method", "d", "L"]
    unit = "relative RMSE"
    timeout = LONG_TIMEOUT

    def setup_cache(self) -> dict:
        return references(D_ERROR, self.seed)

    def setup(self, cache: dict, quantity: str, method: str, d: int, L: int) -> None:
        if not applies(quantity, method):
            raise NotImplementedError(f"{method} does not estimate {quantity}")
        self.X, self.Y = error_clouds(d, self.seed)
        self.exact, self.exact_se = cache[(quantity, d)]
        name = POT_ESTIMATOR if method == POT else method
        self.estimate = estimators(QUANTITIES[quantity], self.X, self.Y, L,
                                   mutants=False)[name]

    def track_rmse(self, cache: dict, quantity: str, method: str, d: int, L: int) -> float:
        values = np.array([self.estimate(s) for s in range(self.seed, self.seed + N_SEEDS)])
        return relative_rmse(values, self.exact, self.exact_se)

    def track_reference_error(self, cache: dict, quantity: str, method: str, d: int,
                              L: int) -> float:
        return self.exact_se / abs(self.exact)


def _pot_sw(X: torch.Tensor, Y: torch.Tensor, L: int, seed: int) -> torch.Tensor:
    return ot.sliced_wasserstein_distance(X, Y, n_projections=L, p=2, seed=seed)


#: timed calls: "sw:<scheme>", "sfg:<scheme>" (beta = 0.1; no control variates) and POT
TIMED = {**{f"sw:{s}": functools.partial(sw, slicing=s) for s in SCHEMES},
         **{f"sfg:{s}": functools.partial(sfg, slicing=s) for s in SFG.schemes},
         "pot_sw": None}


class _SlicingTime(Seeded):
    axis = ""
    params: list = []
    param_names: list = []
    timeout = LONG_TIMEOUT

    def setup(self, device: str, method: str, value: int) -> None:
        self.device = require_device(device)
        point = {"d": D_TIME, "L": L_TIME, self.axis: value}
        self.X, self.Y = point_clouds(N_TIME, point["d"], device, self.seed)
        self.L = point["L"]
        fn = TIMED[method]
        self.call = (functools.partial(_pot_sw, self.X, self.Y, self.L) if fn is None
                     else functools.partial(fn, self.X, self.Y, n_projections=self.L))

    def time_slicing(self, device: str, method: str, value: int) -> None:
        self.call(seed=self.seed)
        synchronize(self.device)


class SlicingTimeVsD(_SlicingTime):
    """Time of one call per scheme along d (n = 512, L = 128)."""

    axis = "d"
    params = [DEVICES, list(TIMED), D_GRID]
    param_names = ["device", "method", "d"]


class SlicingTimeVsL(_SlicingTime):
    """Time of one call per scheme along L (n = 512, d = 32)."""

    axis = "L"
    params = [DEVICES, list(TIMED), L_GRID]
    param_names = ["device", "method", "L"]
