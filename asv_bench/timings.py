"""What ``sliced-bench curves`` plots: the asv benchmarks it reads or times, and one timing.

The samplers' and discrepancies' ``time_*`` benchmarks of ``asv_bench/benchmarks``, named as in
asv's result files (``bench_samplers.VonMisesFisherSampling.time_rsample``), and
:class:`Timing`, one timed parameter combination, whether read from asv
(:mod:`asv_bench.asv_results`) or timed here (:mod:`asv_bench.sweep`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass

#: asv's benchmark modules, as named in its result files (relative to ``benchmark_dir``).
_SAMPLERS = "bench_samplers"
_DISCREPANCIES = "bench_discrepancies"

#: sampler benchmark class -> (label, is a peer)
SAMPLER_SERIES = {
    "VonMisesFisherSampling": ("vMF", False),
    "PowerSphericalSampling": ("power spherical", False),
    "MixtureVonMisesFisherSampling": ("mixture of vMF (4 comp.)", False),
    "UniformSphereSampling": ("uniform", False),
    "ScipyVonMisesFisherSampling": ("scipy vonmises_fisher (peer)", True),
    "PowerSphericalPackageSampling": ("power-spherical package (peer)", True),
}
#: discrepancy benchmark class -> the axis it sweeps
DISCREPANCY_AXES = {"DiscrepancyVsN": "n", "DiscrepancyVsD": "d", "DiscrepancyVsL": "L"}


@dataclass(frozen=True)
class Timing:
    """One timed parameter combination: seconds per call (median and quartiles)."""

    benchmark: str  # e.g. "bench_samplers.VonMisesFisherSampling.time_rsample"
    params: tuple[tuple[str, object], ...]  # (name, value) in asv's order
    median: float
    q25: float
    q75: float

    @property
    def cls(self) -> str:
        return self.benchmark.split(".")[-2]

    def param(self, name: str, default: object = None) -> object:
        return dict(self.params).get(name, default)


def benchmark_classes() -> Iterable[tuple[str, type]]:
    """(asv name, class) of every ``time_*`` benchmark of the samplers and discrepancies."""
    for module_name in (_SAMPLERS, _DISCREPANCIES):
        module = importlib.import_module(f"asv_bench.benchmarks.{module_name}")
        for cls_name in (*SAMPLER_SERIES, *DISCREPANCY_AXES):
            cls = getattr(module, cls_name, None)
            if cls is None:
                continue
            for attr in dir(cls):
                if attr.startswith("time_"):
                    yield f"{module_name}.{cls_name}.{attr}", cls

