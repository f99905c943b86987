"""Per-method choice of the regulariser's weight gamma (and of the method's own knobs) on the
validation split, with the same number of trials and the same training budget for every method.

The rule, for each discrepancy of the registry:

1. Knobs. The knobs a method is tuned on are read from its registry entry: every keyword of its
   signature that :data:`KNOB_GRIDS` names (``kappa`` for the spherical family, also
   ``n_components`` for the mixture). Their grids are crossed into ``c`` knob settings
   (``c = 1`` for a method without knobs).
2. Scale. For each knob setting, :func:`validation.rae.train.gamma_scale` measures the weight
   ``s`` that makes ``s * D`` equal to the reconstruction term at initialisation. This puts
   SW (a p-th root) and the fused family (squared scale) on one footing.
3. Grid. ``gamma = s * 10^t`` for ``n_trials / c`` values of ``t`` evenly spaced over
   ``[-1.5, 1.5]``: three decades centred on ``s``. Every method thus gets ``n_trials`` trials;
   a method with fewer knob settings gets a finer gamma grid. ``n_trials`` must be a multiple
   of every method's ``c``.
4. Criterion. Each trial trains one model per selection seed on the training split (same
   epochs and seeds for every method) and scores the mean, over those seeds, of the Frechet
   distance in the feature classifier's space between generated images and the validation
   images (``fd``, lower is better). The trial with the lowest score wins (the first on ties);
   a trial whose loss stops being finite scores +inf.

Selection receives only an :class:`~validation.rae.data.ImageData` whose held-out split is the
validation split: the test split is out of its reach.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from validation.rae.data import ImageData
from validation.rae.metrics import FeatureClassifier, evaluate
from validation.rae.train import Discrepancy, TrainConfig, gamma_scale, train_rae

# Keyword -> grid, for every registry entry whose signature has that keyword. kappa: a mildly
# and a strongly concentrated slicing law in the latent dimensions used here (vMF mean cosine
# to the location about 0.5 and 0.93 in d = 8), within the range Nguyen et al. explore
# ({1, 5, 10, 50, 100}); n_components: a small and the library's default mixture;
# temperature (energy-based slicing, in units of the mean slice cost): a sharper and a flatter
# law, a factor 2 either side of the default 2; lam (DSW, DSFG; a fraction of the
# discrepancy, see discrepancies.distributional): the default and a penalty that keeps the
# pushed directions nearly as spread as uniform ones.
KNOB_GRIDS: dict[str, tuple] = {"kappa": (5.0, 50.0), "n_components": (2, 5),
                                "temperature": (1.0, 4.0), "lam": (1.0, 10.0)}
# log10 of gamma / scale at the two ends of every gamma grid: three decades centred on the scale
GRID_SPAN = (-1.5, 1.5)
CRITERION = "fd"


def knob_grid(fn: Callable) -> list[dict]:
    """The knob settings a registry entry is tuned over (``[{}]`` when it has no knob)."""
    accepted = inspect.signature(fn).parameters
    names = [k for k in KNOB_GRIDS if k in accepted]
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(KNOB_GRIDS[k] for k in names))]


def default_knobs(fn: Callable) -> dict:
    """The knobs of :data:`KNOB_GRIDS` that ``fn`` accepts, at its signature's defaults (what
    a run without selection uses)."""
    parameters = inspect.signature(fn).parameters
    return {k: parameters[k].default for k in KNOB_GRIDS if k in parameters}


def gamma_multipliers(n: int) -> np.ndarray:
    """``n`` values ``10^t``, ``t`` evenly spaced over :data:`GRID_SPAN` (``[1.0]`` for n = 1)."""
    if n == 1:
        return np.ones(1)
    return 10.0 ** np.linspace(*GRID_SPAN, n)


def check_trials(fns: Sequence[Callable], n_trials: int) -> None:
    """Raise ``ValueError`` unless ``n_trials`` is a positive multiple of every method's number
    of knob settings (so every method gets exactly ``n_trials`` trials)."""
    for fn in fns:
        c = len(knob_grid(fn))
        if n_trials < 1 or n_trials % c:
            raise ValueError(f"--trials must be a positive multiple of {c} (the knob settings of "
                             f"{getattr(fn, '__name__', fn)}), got {n_trials}")


@dataclass
class Trial:
    """One candidate: knobs, gamma (and the scale it was derived from), its validation metrics
    averaged over the selection seeds, and its score (the criterion; +inf if it diverged)."""

    knobs: dict
    gamma: float
    scale: float | None
    score: float
    metrics: dict[str, float] = field(default_factory=dict)
    diverged: bool = False


@dataclass
class Selection:
    """The chosen knobs and gamma of one method, and every trial that competed."""

    method: str
    knobs: dict
    gamma: float
    trials: list[Trial]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def select(data: ImageData, methods: Sequence[str], registry: Mapping[str, Discrepancy],
           config: TrainConfig, classifier: FeatureClassifier, sw: Discrepancy,
           base_kwargs: Callable[[Callable], dict], *, n_trials: int, seeds: Sequence[int],
           gamma_grid: Sequence[float] | None = None, device: str = "cpu",
           on_trial: Callable[[str, int], None] | None = None) -> dict[str, Selection]:
    """Choose knobs and gamma for each method of ``methods`` (registry names) by the rule of
    the module docstring, training on ``data.x_train`` and scoring on ``data.x_test`` (the
    validation split).

    ``base_kwargs(fn)``: the fixed keywords passed to ``fn`` (projections, ascent steps, ...).
    ``gamma_grid``, when given, replaces step 3: every knob setting is tried with each of these
    absolute values (a method with c knob settings then gets ``c * len(gamma_grid)`` trials).
    ``on_trial(method, index)`` is called after each trial.
    """
    choices = {}
    for method in methods:
        fn = registry[method]
        settings = knob_grid(fn)
        trials = []
        for knobs in settings:
            kwargs = {**base_kwargs(fn), **knobs}
            if gamma_grid is None:
                scale = gamma_scale(data, config, fn, kwargs, seed=seeds[0], device=device)
                gammas = scale * gamma_multipliers(n_trials // len(settings))
            else:
                scale, gammas = None, np.asarray(gamma_grid, dtype=np.float64)
            for gamma in gammas:
                trials.append(_trial(data, config, fn, kwargs, knobs, float(gamma), scale,
                                     classifier, sw, seeds, device))
                if on_trial is not None:
                    on_trial(method, len(trials))
        best = min(range(len(trials)), key=lambda i: trials[i].score)
        if not math.isfinite(trials[best].score):
            raise FloatingPointError(f"{method}: every trial diverged; try a smaller --gamma-grid")
        choices[method] = Selection(method, trials[best].knobs, trials[best].gamma, trials)
    return choices


def _trial(data: ImageData, config: TrainConfig, fn: Discrepancy, kwargs: dict, knobs: dict,
           gamma: float, scale: float | None, classifier: FeatureClassifier, sw: Discrepancy,
           seeds: Sequence[int], device: str) -> Trial:
    config = dataclasses.replace(config, gamma=gamma)
    per_seed = []
    for seed in seeds:
        try:
            result = train_rae(data, config, fn, kwargs, seed=seed, device=device)
        except FloatingPointError:
            return Trial(knobs, gamma, scale, math.inf, diverged=True)
        per_seed.append(evaluate(result.model, data, classifier, sw, seed=seed, device=device))
    metrics = {k: float(np.mean([m[k] for m in per_seed])) for k in per_seed[0]}
    score = metrics[CRITERION] if math.isfinite(metrics[CRITERION]) else math.inf
    return Trial(knobs, gamma, scale, score, metrics)
