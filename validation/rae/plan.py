"""Planning the RAE protocol: the spec of every training, in a fixed order, and its key.

Every training of the protocol (a selection trial on one selection seed, or a final run) is a
:class:`Task`: a pure function of its spec (data, architecture, method, keywords and knobs,
gamma, seed, epochs, device, threads, package version). :func:`task_key` hashes the spec, so
the engine (:mod:`validation.rae.engine`) can cache a finished task under that key and a rerun
of the same protocol does only what is missing.

Fairness rules of the selection (each one favours the methods that have knobs, the
challengers, which is the safe direction for a "not better than" verdict):

1. Knobs. The knobs a method is tuned on are read from its registry entry: every keyword of
   its signature that :data:`KNOB_GRIDS` names (``kappa`` for the spherical family, also
   ``n_components`` for the mixture; an entry added to the registry with one of these
   keywords joins the search as it is, and a new knob joins by one line in the table).
   Their grids are crossed into ``c`` knob settings (``c = 1`` without knobs).
2. Equal gamma grid. For each knob setting, :func:`validation.rae.train.gamma_scale`
   measures the weight ``s`` that makes ``s * D`` equal to the reconstruction term at
   initialisation (SW's p-th root and the fused family's squared scale on one footing), and
   the trials use ``gamma = s * 10^t`` for the SAME values of ``t`` for every method
   (``n`` values evenly spaced over :data:`GRID_SPAN`). A method with ``c`` knob settings
   thus gets ``c * n`` trials: more trials, never a coarser gamma grid. With absolute gammas
   (``--gamma-grid``) every knob setting of every method is tried with each of them.
3. Independent seeds. Each trial trains one model per selection seed; selection seeds are
   :data:`SELECTION_SEED_OFFSET` above the base seed, disjoint from the final seeds, so no
   final run reuses a selection run (no winner's curse carried into the test numbers).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from validation.rae.train import TrainConfig

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
# selection seeds are base seed + this + i: far from the final seeds base seed + 0, 1, ...
SELECTION_SEED_OFFSET = 1000
TRIAL, FINAL = "trial", "final"


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


def grid_offsets(n: int) -> np.ndarray:
    """The ``n`` exponents ``t`` of every method's gamma grid ``gamma = scale * 10^t``: evenly
    spaced over :data:`GRID_SPAN` (``[0.0]`` for n = 1)."""
    if n < 1:
        raise ValueError(f"the gamma grid needs at least one value, got n = {n}")
    return np.zeros(1) if n == 1 else np.linspace(*GRID_SPAN, n)


def selection_seeds(base: int, k: int, n_final: int) -> list[int]:
    """``k`` selection seeds, disjoint from the ``n_final`` final seeds ``base, base + 1, ...``."""
    if n_final > SELECTION_SEED_OFFSET:
        raise ValueError(f"--seeds must be at most {SELECTION_SEED_OFFSET}, got {n_final}")
    return [base + SELECTION_SEED_OFFSET + i for i in range(k)]


@dataclass(frozen=True)
class Task:
    """The spec of one training. ``kind``: :data:`TRIAL` (trained on the training split,
    scored on the validation split) or :data:`FINAL` (trained on the training split, scored
    on the test split). ``data``, ``data_seed`` and ``train_size`` name the splits (what
    :func:`validation.rae.data.load_data` receives); ``kwargs`` are every keyword passed to
    the discrepancy (fixed ones and knobs), ``knobs`` the tuned ones among them, ``offset``
    the grid exponent ``t`` of a trial (None for an absolute gamma or a final run);
    ``threads`` the torch intra-op threads the training runs with; ``version`` the package's.
    """

    kind: str
    data: str
    data_seed: int
    train_size: int | None
    config: TrainConfig
    method: str
    kwargs: dict
    knobs: dict
    gamma: float
    offset: float | None
    seed: int
    device: str
    threads: int
    version: str

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def task_key(task: Task) -> str:
    """A key of ``task``'s spec: the SHA-256 of its canonical JSON (40 hex digits kept)."""
    text = json.dumps(task.as_dict(), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sliced-bench")
    except PackageNotFoundError:
        return "unknown"


def trial_tasks(base: Task, methods: Sequence[str], kwargs: dict[str, dict],
                knobs: dict[str, list[dict]], gammas: dict[tuple[str, int], list[float]],
                offsets: Sequence[float | None], seeds: Sequence[int]) -> list[Task]:
    """Every selection task, in a fixed order: method, knob setting, gamma, selection seed.
    ``gammas[(method, i)]`` is the gamma grid of knob setting ``i`` (one gamma per offset)."""
    tasks = []
    for method in methods:
        for i, setting in enumerate(knobs[method]):
            grid = gammas[(method, i)]
            if len(grid) != len(offsets):
                raise ValueError(f"{method}: {len(grid)} gammas for {len(offsets)} grid points: "
                                 "every method must be searched on the same grid")
            for gamma, offset in zip(grid, offsets, strict=True):
                for seed in seeds:
                    tasks.append(dataclasses.replace(
                        base, kind=TRIAL, method=method,
                        kwargs={**kwargs[method], **setting}, knobs=dict(setting),
                        gamma=float(gamma), offset=offset, seed=seed))
    return tasks


def final_tasks(base: Task, settings: dict[str, tuple[dict, dict, float]],
                seeds: Sequence[int]) -> list[Task]:
    """Every final run, in a fixed order: method (as ``settings`` orders them), then seed.
    ``settings[method] = (kwargs, knobs, gamma)``."""
    return [dataclasses.replace(base, kind=FINAL, method=method, kwargs=dict(kwargs),
                                knobs=dict(knobs), gamma=float(gamma), offset=None, seed=seed)
            for method, (kwargs, knobs, gamma) in settings.items() for seed in seeds]
