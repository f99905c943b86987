"""The timing harness of ``sliced-bench curves`` without asv: a sweep of its own.

It builds the asv benchmark classes of ``asv_bench/benchmarks`` with the base seed given
(asv builds them with none, seed 0), calls their ``setup`` and timed methods on a smaller grid
than asv's, one torch thread as under asv, and records the median and quartiles of repeated
timings (:func:`measure`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from asv_bench.timings import DISCREPANCY_AXES, Timing, benchmark_classes


@dataclass(frozen=True)
class SweepGrid:
    """The subset of the asv grid that the sweep times."""

    n: int
    d: tuple[int, ...]
    kappa: tuple[float, ...]
    axes: Mapping[str, tuple[int, ...]]  # discrepancy axis -> values (read-only)
    repeat: int  # timing samples per combination (fewer once max_time is spent)
    min_time: float  # seconds per timing sample (several calls when one is shorter)
    max_time: float  # seconds of samples per combination, after which no new one starts
    min_repeat: int  # samples taken whatever max_time says

    def __post_init__(self) -> None:
        object.__setattr__(self, "axes", MappingProxyType(dict(self.axes)))


QUICK = SweepGrid(n=1000, d=(2, 16, 128, 2048, 8192), kappa=(10.0, 1e4),
                  axes={"n": (64, 256, 1024), "d": (2, 16, 128), "L": (16, 64, 256)},
                  repeat=3, min_time=0.002, max_time=0.15, min_repeat=1)
DEFAULT = SweepGrid(n=1000, d=(2, 8, 32, 128, 512, 2048, 8192), kappa=(1.0, 10.0, 100.0, 1e4),
                    axes={"n": (64, 256, 1024, 4096), "d": (2, 16, 128, 1024),
                          "L": (16, 64, 256, 1024)},
                    repeat=5, min_time=0.005, max_time=0.25, min_repeat=2)


def sweep_tasks(grid: SweepGrid, device: str) -> list[tuple[str, type, tuple]]:
    """(asv name, class, parameter values) of every combination the sweep times."""
    tasks = []
    for name, cls in benchmark_classes():
        names = list(cls.param_names)
        if "method" in names:
            axis = DISCREPANCY_AXES[name.split(".")[1]]
            values = {"device": (device,), "method": tuple(cls.params[1]), axis: grid.axes[axis]}
        else:
            values = {"device": (device,), "n": (grid.n,), "d": grid.d, "kappa": grid.kappa}
        if "device" not in names and device != "cpu":
            continue
        for combo in itertools.product(*(values[k] for k in names)):
            tasks.append((name, cls, combo))
    return tasks


def measure(fn: Callable[[], object], repeat: int, min_time: float,
            max_time: float = math.inf, min_repeat: int = 1) -> tuple[float, float, float]:
    """Median, 25th and 75th percentiles of the seconds per call of ``fn``.

    After one warm-up call, ``repeat`` samples, each timing enough calls to last ``min_time``;
    no new sample starts once ``max_time`` seconds of samples are spent and ``min_repeat``
    samples are taken (so the quartiles of slow calls are rough, or absent with one sample).
    """
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    number = max(1, math.ceil(min_time / max(first, 1e-9)))
    samples = []
    spent = 0.0
    while len(samples) < repeat and (len(samples) < min_repeat or spent < max_time):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        spent += elapsed
        samples.append(elapsed / number)
    q25, med, q75 = np.percentile(samples, [25, 50, 75])
    return float(med), float(q25), float(q75)


def run_sweep(grid: SweepGrid, device: str, seed: int, progress: bool = True) -> list[Timing]:
    """Time every task of :func:`sweep_tasks` in this process (combinations the suite skips,
    such as a capped peer or CUDA without a GPU, are left out)."""
    from tqdm import tqdm

    from asv_bench.benchmarks import common

    out = []
    tasks = sweep_tasks(grid, device)
    with common.pinned_threads():
        for name, cls, combo in tqdm(tasks, desc="curves sweep", unit="call",
                                     disable=not progress):
            bench = cls(seed=seed)
            try:
                bench.setup(*combo)
            except NotImplementedError:
                continue
            method = getattr(bench, name.split(".")[-1])
            med, lo, hi = measure(lambda m=method, c=combo: m(*c), grid.repeat, grid.min_time,
                                  grid.max_time, grid.min_repeat)
            out.append(Timing(name, tuple(zip(cls.param_names, combo, strict=True)), med, lo, hi))
    return out

