"""The methods x seeds grid of the RAE comparison and its statistics.

A method is ``"none"`` (the plain autoencoder) or a name of the discrepancy registry; each is
trained with a :class:`Setting` (keywords, gamma) in one final task per seed
(:mod:`validation.rae.engine`) and evaluated by :func:`validation.rae.metrics.evaluate`. The
summary gives means with 95% t intervals over seeds; the comparisons pair every method with
SFG and SW seed by seed (:mod:`validation.rae.stats`), with Holm's correction over each
baseline's family (every other method x every metric).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from validation.rae.stats import Interval, Paired, compare, holm_verdicts, mean_interval
from validation.rae.train import Discrepancy

NONE = "none"
# held-out metrics compared between methods, all lower-is-better (see validation.rae.metrics)
METRICS = ("recon", "fd", "sw_images", "latent_sw")
LOWER_IS_BETTER = dict.fromkeys(METRICS, True)
TIME = "seconds_per_epoch"
# the references every method is compared with, seed by seed: SFG (the spherical paper's
# baseline) and SW
BASELINES = ("sfg", "sw")

# Fixed keywords for every registry entry that accepts them, sized so that the optimised
# discrepancies (several ascent steps per training step) stay affordable on a CPU. beta = 0.1
# is the RAE paper's. The knobs tuned per method live in validation.rae.selection.
HARNESS_SETTINGS = {"n_projections": 50, "n_iter": 10, "beta": 0.1}


def method_kwargs(fn: Callable, extra: Mapping[str, object] | None = None) -> dict:
    """The fixed keyword arguments the harness passes to discrepancy ``fn`` besides X, Y and
    seed: :data:`HARNESS_SETTINGS` and ``extra``, restricted to the keywords ``fn`` accepts."""
    accepted = inspect.signature(fn).parameters
    return {k: v for k, v in {**HARNESS_SETTINGS, **(extra or {})}.items() if k in accepted}


@dataclass
class Setting:
    """What one method trains with: the discrepancy's keywords and the weight gamma (``fn`` is
    None and gamma 0 for the plain autoencoder)."""

    fn: Discrepancy | None
    kwargs: dict
    gamma: float


def resolve_methods(requested: list[str] | None,
                    registry: Mapping[str, Discrepancy]) -> list[str]:
    """``requested`` checked against ``registry`` (plus ``"none"``); all of them when None."""
    available = [NONE, *registry]
    if requested is None:
        return available
    unknown = [m for m in requested if m not in available]
    if unknown:
        raise ValueError(f"--methods: unknown {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(available)}")
    return list(dict.fromkeys(requested))


@dataclass
class Run:
    """One trained model: its metrics, its training history, and (for drawing) a few generated
    images and reconstructions of the first held-out images."""

    method: str
    seed: int
    metrics: dict[str, float]
    history: list[dict[str, float]]
    samples: np.ndarray = field(repr=False)
    reconstructions: np.ndarray = field(repr=False)

    def as_dict(self) -> dict:
        return {"method": self.method, "seed": self.seed, **self.metrics,
                "history": self.history}


def _by_method(runs: list[Run], key: str) -> dict[str, np.ndarray]:
    """method -> values of ``key`` in seed order."""
    out = {}
    for method in dict.fromkeys(r.method for r in runs):
        mine = sorted((r for r in runs if r.method == method), key=lambda r: r.seed)
        out[method] = np.array([r.metrics[key] for r in mine], dtype=np.float64)
    return out


def summarise(runs: list[Run]) -> dict[str, dict[str, Interval]]:
    """method -> metric -> mean and 95% t interval over seeds, for :data:`METRICS`, the seconds
    per epoch, and (when ``"none"`` ran) ``cost``: seconds per epoch over the plain
    autoencoder's on the same seed."""
    summary: dict[str, dict[str, Interval]] = {}
    times = _by_method(runs, TIME)
    for metric in (*METRICS, TIME):
        for method, values in _by_method(runs, metric).items():
            summary.setdefault(method, {})[metric] = mean_interval(values)
    if NONE in times:
        for method, values in times.items():
            summary[method]["cost"] = mean_interval(values / times[NONE])
    return summary


def paired_comparisons(runs: list[Run]) -> dict[str, dict[str, dict[str, Paired]]]:
    """baseline -> method -> metric -> :class:`~validation.rae.stats.Paired` (method minus
    baseline, seed by seed), for each of :data:`BASELINES` that ran, every other method and
    every metric of :data:`METRICS`."""
    out: dict[str, dict[str, dict[str, Paired]]] = {}
    for metric in METRICS:
        values = _by_method(runs, metric)
        for baseline in (b for b in BASELINES if b in values):
            for method in (m for m in values if m != baseline):
                out.setdefault(baseline, {}).setdefault(method, {})[metric] = compare(
                    values[method], values[baseline],
                    lower_is_better=LOWER_IS_BETTER[metric])
    for rows in out.values():
        cells = [(method, metric) for method, row in rows.items() for metric in row]
        adjusted = holm_verdicts([rows[m][k] for m, k in cells],
                                 [LOWER_IS_BETTER[k] for _, k in cells])
        for (method, metric), c in zip(cells, adjusted, strict=True):
            rows[method][metric] = c
    return out
