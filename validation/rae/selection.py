"""Per-method choice of gamma and knobs from the selection tasks' results (the reporting side
of the selection; the grid itself is planned by :mod:`validation.rae.plan`).

A trial is one (method, knob setting, gamma); it ran once per selection seed on the training
split and was scored on the validation split. Its score is the mean over the selection seeds
of the criterion :data:`CRITERION` (the Frechet distance in the feature classifier's space
between generated and validation images; lower is better), +inf when any of its trainings
diverged. Each method keeps its lowest-scoring trial (the first on ties).

:func:`select` enforces the equal-search rule rather than trusting the caller: every method
must have been tried on the same grid points (the same exponents ``t`` of ``gamma = scale *
10^t``, or the same absolute gammas) for each of its knob settings, with the same selection
seeds; otherwise it raises ``ValueError``.

Selection sees only the validation split: trials never read the test split.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from validation.rae.plan import TRIAL, Task

CRITERION = "fd"


@dataclass
class Trial:
    """One candidate: knobs, gamma (and its grid exponent ``offset``, None for an absolute
    gamma), its validation metrics averaged over the selection seeds, and its score (the
    criterion; +inf if a training diverged)."""

    knobs: dict
    gamma: float
    offset: float | None
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


def _grid_point(task: Task) -> float:
    return task.offset if task.offset is not None else task.gamma


def select(tasks: Sequence[Task], results: Sequence[dict]) -> dict[str, Selection]:
    """Each method's :class:`Selection` from its trial ``tasks`` and their ``results`` (in the
    same order, as :class:`~validation.rae.engine.Engine` returns them), by the rule of the
    module docstring. Raises ``ValueError`` when the search was not equal, and
    ``FloatingPointError`` when every trial of a method diverged."""
    if len(tasks) != len(results):
        raise ValueError(f"{len(tasks)} tasks but {len(results)} results")
    groups: dict[str, dict[tuple, list[tuple[Task, dict]]]] = {}
    for task, result in zip(tasks, results, strict=True):
        if task.kind != TRIAL:
            raise ValueError(f"select() takes selection trials, got a {task.kind!r} task")
        trial = (repr(sorted(task.knobs.items())), task.gamma)
        groups.setdefault(task.method, {}).setdefault(trial, []).append((task, result))
    reference = None
    choices = {}
    for method, trials in groups.items():
        shape = _search_shape(trials)
        if reference is not None and shape != reference[1]:
            raise ValueError(f"unequal search: {method} was tried on grid points and seeds "
                             f"{shape}, {reference[0]} on {reference[1]}")
        reference = reference or (method, shape)
        scored = [_trial(runs) for runs in trials.values()]
        best = min(range(len(scored)), key=lambda i: scored[i].score)
        if not math.isfinite(scored[best].score):
            raise FloatingPointError(f"{method}: every trial diverged; try a smaller "
                                     "--gamma-grid")
        choices[method] = Selection(method, scored[best].knobs, scored[best].gamma, scored)
    return choices


def _search_shape(trials: dict[tuple, list[tuple[Task, dict]]]) -> tuple:
    """(grid points, selection seeds) of one method, the same for each of its knob settings,
    else ``ValueError``."""
    per_setting: dict[str, list] = {}
    for (knobs, _), runs in trials.items():
        per_setting.setdefault(knobs, []).append(
            (_grid_point(runs[0][0]), tuple(t.seed for t, _ in runs)))
    shapes = {knobs: tuple(sorted(points)) for knobs, points in per_setting.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"unequal search: knob settings tried on different grids: {shapes}")
    return next(iter(shapes.values()))


def _trial(runs: list[tuple[Task, dict]]) -> Trial:
    task = runs[0][0]
    if any(result["diverged"] for _, result in runs):
        return Trial(task.knobs, task.gamma, task.offset, math.inf, diverged=True)
    metrics = {k: float(np.mean([r["metrics"][k] for _, r in runs]))
               for k in runs[0][1]["metrics"]}
    score = metrics[CRITERION] if math.isfinite(metrics[CRITERION]) else math.inf
    return Trial(task.knobs, task.gamma, task.offset, score, metrics)
