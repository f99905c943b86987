"""The methods x seeds grid of the RAE comparison, and its summary (mean and std over seeds).

A method is ``"none"`` (the plain autoencoder) or a name of the discrepancy registry; each is
trained with the keyword arguments of :func:`method_kwargs` and evaluated by
:func:`validation.rae.metrics.evaluate`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from validation.rae.data import ImageData
from validation.rae.metrics import FeatureClassifier, evaluate
from validation.rae.train import Discrepancy, TrainConfig, train_rae

NONE = "none"
METRICS = ("recon", "fd", "sw_images", "latent_sw", "seconds_per_epoch")

# Per-method settings, sized so that the default digits run (8 methods x 3 seeds) fits in
# 10 minutes on 2 CPU cores: the optimised discrepancies run several ascent steps per training
# step, so they get fewer ascent steps than their library defaults. beta = 0.1 is the RAE
# paper's; kappa = 10 is in the range Nguyen et al. explore ({1, 5, 10, 50, 100}).
METHOD_SETTINGS: dict[str, dict] = {
    "sw": {"n_projections": 50},
    "max_sw": {"n_projections": 50, "n_iter": 10},
    "sfg": {"n_projections": 50, "beta": 0.1},
    "max_sfg": {"n_projections": 50, "n_iter": 10, "beta": 0.1},
    "ssfg": {"n_projections": 50, "n_iter": 10, "beta": 0.1, "kappa": 10.0},
    "mssfg": {"n_projections": 50, "n_iter": 10, "beta": 0.1, "kappa": 10.0, "n_components": 5},
    "pssfg": {"n_projections": 50, "n_iter": 10, "beta": 0.1, "kappa": 10.0},
}
# For a registry entry not listed above: these, restricted to the keywords it accepts.
GENERIC_SETTINGS = {"n_projections": 50, "n_iter": 10, "beta": 0.1, "kappa": 10.0}


def method_kwargs(name: str, fn: Callable) -> dict:
    """The keyword arguments the harness passes to discrepancy ``name`` besides X, Y, seed."""
    if name in METHOD_SETTINGS:
        return dict(METHOD_SETTINGS[name])
    accepted = inspect.signature(fn).parameters
    return {k: v for k, v in GENERIC_SETTINGS.items() if k in accepted}


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


def run_grid(data: ImageData, methods: list[str], registry: Mapping[str, Discrepancy],
             config: TrainConfig, seeds: list[int], classifier: FeatureClassifier,
             sw: Discrepancy, *, device: str = "cpu", n_show: int = 64,
             on_epoch: Callable[[str, int, int, dict], None] | None = None) -> list[Run]:
    """Train and evaluate every method with every seed (the same seeds for every method, so
    methods share initialisations and batch orders)."""
    runs = []
    x_show = torch.as_tensor(data.x_test[:10], device=device)
    for method in methods:
        fn = None if method == NONE else registry[method]
        kwargs = {} if fn is None else method_kwargs(method, fn)
        for seed in seeds:
            callback = None if on_epoch is None else (
                lambda epoch, record, m=method, s=seed: on_epoch(m, s, epoch, record))
            result = train_rae(data, config, fn, kwargs, seed=seed, device=device,
                               on_epoch=callback)
            metrics = evaluate(result.model, data, classifier, sw, seed=seed, device=device)
            metrics["seconds_per_epoch"] = result.seconds_per_epoch
            gen = torch.Generator(device=device).manual_seed(seed)
            with torch.no_grad():
                samples = result.model.generate(n_show, gen).cpu().numpy()
                recon = result.model(x_show)[0].cpu().numpy()
            runs.append(Run(method, seed, metrics, result.history, samples, recon))
    return runs


def summarise(runs: list[Run]) -> dict[str, dict[str, dict[str, float]]]:
    """method -> metric -> {"mean", "std", "n"}; std is the sample std (ddof 1), NaN for n = 1."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for method in dict.fromkeys(r.method for r in runs):
        rows = [r.metrics for r in runs if r.method == method]
        summary[method] = {}
        for metric in METRICS:
            values = np.array([row[metric] for row in rows], dtype=np.float64)
            std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
            summary[method][metric] = {"mean": float(values.mean()), "std": std,
                                       "n": len(values)}
    return summary
