"""``sliced-bench rae``: the discrepancies compared end to end as RAE regularisers.

The protocol (its fairness rules are in :mod:`validation.rae.plan`):

1. Data: training, validation and test splits (:func:`validation.rae.data.load_data`); the
   validation split is carved from the training images; a feature classifier (for the Frechet
   distance) is trained on the training split.
2. Selection, on the training and validation splits only: every method is searched on the
   same gamma grid relative to its own scale, its knobs crossed on top, each trial trained on
   every selection seed (disjoint from the final seeds) and scored by the mean validation FD
   (:mod:`validation.rae.selection`). ``--gamma X`` skips it (one gamma for all, knobs at
   their defaults); ``--quick`` skips it too and weights each method by its scale.
3. Final runs: every method (plus ``none``, the plain autoencoder) with its chosen setting,
   for every final seed, evaluated on the test split.
4. Statistics: mean and 95% t interval per metric; every method against SFG and SW, seed by
   seed (paired t-test, Holm's correction per baseline; :mod:`validation.rae.stats`).

Every training is a task (:mod:`validation.rae.plan`) run by :class:`validation.rae.engine.Engine`
(joblib: loky with ``--jobs``, or Dask with ``--scheduler``) and cached in ``--cache``, so that
rerunning the command runs only the tasks that are missing. The tables and files are written by
:mod:`validation.rae.report`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from discrepancies.slicing import SCHEMES
from validation.rae.data import load_data
from validation.rae.engine import Engine, cached_classifier
from validation.rae.experiment import NONE, Run, Setting, method_kwargs, resolve_methods
from validation.rae.metrics import accuracy, train_feature_classifier
from validation.rae.plan import (
    GRID_SPAN,
    KNOB_GRIDS,
    Task,
    default_knobs,
    final_tasks,
    grid_offsets,
    knob_grid,
    package_version,
    selection_seeds,
    trial_tasks,
)
from validation.rae.report import build_report, fd_floor, markdown, write_outputs
from validation.rae.selection import CRITERION, select
from validation.rae.train import Discrepancy, TrainConfig, gamma_scale, init_model
from validation.threads import torch_threads


@dataclass(frozen=True)
class Profile:
    """Defaults of one kind of data: training configuration, number of final seeds, gamma
    grid points per knob setting (None: no selection), training-split size (None: all) and
    number of selection seeds."""

    config: TrainConfig
    n_seeds: int
    grid_points: int | None
    train_size: int | None
    selection_seeds: int = 2


# (data kind, quick) -> defaults. Digits: latent 4 and small MLPs. IDX data (Fashion-MNIST,
# MNIST): latent 8 as in the paper, an MLP, 8 epochs on a 10000-image training split;
# --arch conv --width 1 --train-size 50000 --device cuda is closer to the paper's setting.
PROFILES: dict[tuple[str, bool], Profile] = {
    ("digits", False): Profile(TrainConfig(latent_dim=4, hidden=(128, 64), epochs=20), 5, 7,
                               None),
    ("digits", True): Profile(TrainConfig(latent_dim=4, hidden=(128, 64), epochs=5), 2, None,
                              None),
    ("idx", False): Profile(TrainConfig(latent_dim=8, hidden=(256, 128), epochs=8), 5, 7,
                            10000),
    ("idx", True): Profile(TrainConfig(latent_dim=8, hidden=(256, 128), epochs=1), 1, None,
                           2000),
}
DEFAULT_SLICING = "mc"
# torch's intra-op threads per task: a fixed, recorded setting (not cores / jobs), because the
# rounding of torch's CPU kernels can depend on the thread count; the networks are small, so
# one thread per task costs little and leaves the cores to the other tasks
THREADS_PER_TASK = 1
TASKS = "tasks"


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value!r}")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not (number >= 0 and np.isfinite(number)):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {value!r}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not (number > 0 and np.isfinite(number)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value!r}")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="no selection (gamma from the scale rule), 5 epochs and 2 seeds on "
                             "digits, 1 epoch and 1 seed on IDX data (under a minute on digits)")
    parser.add_argument("--data", default="digits",
                        help="'digits' (scikit-learn's bundled 8x8 digits), 'fashion-mnist' "
                             "(Debian's dataset-fashion-mnist) or a folder holding MNIST IDX "
                             "files train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] "
                             "(t10k-* used as the test split when present)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                        help="subset of 'none' and the registry's discrepancies (default: all)")
    parser.add_argument("--seeds", type=_positive_int, default=None,
                        help="number of final seeds: --seed, --seed + 1, ... (default: 5; "
                             "--quick: 2 on digits, 1 on IDX data)")
    parser.add_argument("--selection-seeds", type=_positive_int, default=None, metavar="K",
                        help="seeds each selection trial trains on (criterion: the mean over "
                             "them): --seed + 1000, ..., disjoint from the final seeds "
                             "(default: 2)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help="training epochs, selection and final runs (default: digits 20, "
                             "IDX 8; --quick: 5 / 1)")
    grid = parser.add_mutually_exclusive_group()
    grid.add_argument("--gamma", type=_non_negative_float, default=None,
                      help="one weight of the regulariser for every method: no selection, "
                           "knobs at their defaults")
    grid.add_argument("--gamma-grid", type=_non_negative_float, nargs="+", default=None,
                      metavar="GAMMA",
                      help="absolute gammas, the same for every method, instead of the grid "
                           "relative to each method's scale; crossed with each method's knob "
                           "settings. --trials, if given, must equal their number")
    parser.add_argument("--trials", type=_positive_int, default=None, metavar="N",
                        help="gamma values per knob setting, the same for every method: gamma "
                             f"= scale x 10^t, N values of t evenly spaced over {GRID_SPAN} "
                             "(a method with c knob settings gets c x N trials, each on every "
                             "selection seed); default 7, --quick: no selection unless given. "
                             "With --gamma-grid: may only repeat the grid's length")
    parser.add_argument("--train-size", type=_positive_int, default=None,
                        help="use at most this many training images (default: all on digits, "
                             "10000 on IDX data; --quick IDX: 2000)")
    parser.add_argument("--arch", choices=("mlp", "conv"), default="mlp",
                        help="mlp (default) or conv: the original RAE code's MNIST networks, "
                             "for 28x28 images")
    parser.add_argument("--width", type=_positive_float, default=1.0,
                        help="--arch conv: channels scaled by this factor (default 1: "
                             "128-256-512-1024)")
    parser.add_argument("--slicing", default=DEFAULT_SLICING, choices=sorted(SCHEMES),
                        help="passed as slicing=NAME to the discrepancies that accept it when "
                             f"not {DEFAULT_SLICING!r} (default)")
    parser.add_argument("--warm-start", type=_non_negative_int, nargs="?", const=2,
                        default=None, metavar="N",
                        help="keep each optimised discrepancy's state (direction, locations, "
                             "push-forward) across training steps and run N ascent steps per "
                             "call after the first (default N: 2; off without the flag)")
    parser.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1,
                        help="tasks (trainings) run at once, one process each, with joblib's "
                             "loky backend (default: the number of cores, %(default)s here)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the tasks on the Dask cluster whose scheduler is at ADDRESS "
                             "(e.g. tcp://host:8786; needs the 'cluster' extra), through "
                             "joblib's dask backend, instead of --jobs local processes")
    parser.add_argument("--threads-per-task", type=_positive_int, default=THREADS_PER_TASK,
                        help="torch intra-op threads of each task, part of every task's spec "
                             "(default: %(default)s)")
    parser.add_argument("--cache", type=Path, default=None,
                        help=f"folder of finished tasks, kept across runs so that a rerun does "
                             f"only what is missing (default: OUT/{TASKS}, beside --out's files)")
    parser.add_argument("--out", type=Path, default=Path("results/rae"),
                        help="output folder (default: %(default)s)")


@dataclass
class Plan:
    """What a run does: the training configuration, the final seeds, the selection (grid
    points per knob setting or an absolute gamma grid, and the selection seeds; neither: no
    selection), a forced gamma, and extra keywords for the discrepancies."""

    config: TrainConfig
    seeds: list[int]
    grid_points: int | None
    gamma_grid: list[float] | None
    selection_seeds: list[int]
    gamma: float | None
    extra_kwargs: dict = field(default_factory=dict)

    @property
    def selects(self) -> bool:
        return self.gamma is None and (self.grid_points is not None
                                       or self.gamma_grid is not None)


def run(args: argparse.Namespace, *, registry: Mapping[str, Discrepancy] | None = None,
        sw: Discrepancy | None = None) -> int:
    """Run the protocol; ``registry`` and ``sw`` default to the suite's (tests inject)."""
    if registry is None or sw is None:
        import discrepancies

        registry = discrepancies.REGISTRY if registry is None else registry
        sw = discrepancies.sw if sw is None else sw
    try:
        methods = resolve_methods(args.methods, registry)
        kind = "digits" if args.data == "digits" else "idx"
        profile = PROFILES[(kind, bool(args.quick))]
        train_size = args.train_size or profile.train_size
        splits = load_data(args.data, seed=args.seed, train_size=train_size)
        plan = _plan(args, profile, [registry[m] for m in methods if m != NONE])
        init_model(splits.validation, plan.config, args.seed)  # --arch conv on 8x8: fail now
    except ValueError as err:
        print(f"sliced-bench rae: error: {err}", file=sys.stderr)
        return 2
    print(f"sliced-bench rae: test split: {splits.test_source}", flush=True)
    start = time.perf_counter()
    threads = args.threads_per_task
    base = Task("", args.data, args.seed, train_size, plan.config, "", {}, {}, 0.0, None, 0,
                args.device, threads, package_version())
    regularised = [m for m in methods if m != NONE]
    kwargs = {m: method_kwargs(registry[m], plan.extra_kwargs) for m in regularised}
    cache = args.cache or Path(getattr(args, "final_out", None) or args.out) / TASKS
    with torch_threads(threads):
        state, classifier, val_accuracy = cached_classifier(
            cache, base, lambda: train_feature_classifier(splits.validation, seed=args.seed,
                                                          device=args.device))
        trials, how = _trials(splits.validation, plan, base, registry, regularised, kwargs,
                              args.device)
    engine = Engine(jobs=args.jobs, scheduler=args.scheduler, cache=cache,
                    total=len(trials) + len(methods) * len(plan.seeds))

    def fns(method: str) -> Discrepancy | None:
        return None if method == NONE else registry[method]

    with engine:
        selections = select(trials, engine.run(trials, fns, sw, state)) if trials else {}
        settings = {NONE: Setting(None, {}, 0.0)}
        for m in regularised:
            if m in selections:
                knobs, gamma = selections[m].knobs, selections[m].gamma
            else:
                knobs = default_knobs(registry[m])
                gamma = plan.gamma if plan.gamma is not None else _scale(
                    splits.validation, plan.config, registry[m], {**kwargs[m], **knobs},
                    args.seed, args.device, threads)
            settings[m] = Setting(registry[m], {**kwargs[m], **knobs}, gamma)
        settings = {m: settings[m] for m in methods}
        finals = final_tasks(base, {m: (s.kwargs, {}, s.gamma) for m, s in settings.items()},
                             plan.seeds)
        results = engine.run(finals, fns, sw, state)
    for task, result in zip(finals, results, strict=True):
        if result["diverged"]:
            print(f"sliced-bench rae: error: {task.method} (gamma {task.gamma:.3g}), seed "
                  f"{task.seed}: {result['message']}", file=sys.stderr)
            return 1
    runs = [Run(t.method, t.seed, r["metrics"], r["history"], r["samples"],
                r["reconstructions"]) for t, r in zip(finals, results, strict=True)]
    with torch_threads(threads):
        notes = {"data": splits.test.name, "test_split": splits.test_source,
                 "n_train": len(splits.test.x_train),
                 "n_validation": len(splits.validation.x_test),
                 "n_test": len(splits.test.x_test), "seeds": plan.seeds,
                 "selection_seeds": plan.selection_seeds if trials else [],
                 "device": args.device, "selection": how,
                 "classifier_accuracy_validation": val_accuracy,
                 "classifier_accuracy_test": accuracy(classifier, splits.test, args.device),
                 "fd_train_vs_test": fd_floor(splits, classifier, args.seed, args.device)}
    engine_text = (f"dask scheduler {args.scheduler}" if args.scheduler is not None
                   else f"joblib loky, --jobs {args.jobs}")
    notes.update(engine=engine_text, workers=engine.workers, threads_per_task=threads,
                 tasks_run=engine.ran, tasks_cached=engine.total - engine.ran,
                 task_workers=sorted({r["workers"] for r in results}),
                 wall_seconds=time.perf_counter() - start)
    report = build_report(plan.config, settings, selections, runs, notes, splits.test.shape,
                          splits.test.x_test[:10])
    report.table = markdown(report)
    print(report.table)
    write_outputs(args.out, report)
    print(f"\nwrote rae_table.md, rae_results.json, rae_*.csv, rae_*.png "
          f"({notes['wall_seconds']:.0f} s; {engine.ran} task(s) run, "
          f"{engine.total - engine.ran} from the cache)")
    return 0


def _scale(data: object, config: TrainConfig, fn: Discrepancy, kwargs: dict, seed: int,
           device: str, threads: int) -> float:
    with torch_threads(threads):
        return gamma_scale(data, config, fn, kwargs, seed=seed, device=device)


def _trials(data: object, plan: Plan, base: Task, registry: Mapping[str, Discrepancy],
            methods: list[str], kwargs: dict[str, dict], device: str
            ) -> tuple[list[Task], str]:
    """The selection tasks of ``plan`` (none without selection) and a sentence saying how
    each method's setting is chosen."""
    if not plan.selects:
        how = (f"one gamma for every method (--gamma {plan.gamma}), knobs at their defaults"
               if plan.gamma is not None else
               "no selection: each method's gamma is its scale at initialisation (regulariser "
               "as large as the reconstruction term), knobs at their defaults")
        return [], how
    knobs = {m: knob_grid(registry[m]) for m in methods}
    gammas = {}
    if plan.gamma_grid is None:
        offsets = [float(t) for t in grid_offsets(plan.grid_points)]
        for m in methods:
            for i, setting in enumerate(knobs[m]):
                scale = gamma_scale(data, plan.config, registry[m],
                                    {**kwargs[m], **setting}, seed=plan.selection_seeds[0],
                                    device=device)
                gammas[(m, i)] = [scale * 10.0 ** t for t in offsets]
        how = (f"gamma and knobs chosen per method on the validation split by {CRITERION} "
               f"(lower is better, mean over the selection seeds): gamma = scale x 10^t with "
               f"the same {len(offsets)} values of t for every method, evenly spaced over "
               f"[{GRID_SPAN[0]}, {GRID_SPAN[1]}], crossed with the knob grids {KNOB_GRIDS}")
    else:
        offsets = [None] * len(plan.gamma_grid)
        gammas = {(m, i): list(plan.gamma_grid) for m in methods
                  for i in range(len(knobs[m]))}
        how = (f"gamma chosen per method on the validation split by {CRITERION} from "
               f"--gamma-grid {plan.gamma_grid} (the same for every method), crossed with the "
               f"knob grids {KNOB_GRIDS}")
    how += (f"; {plan.config.epochs} epochs, selection seeds {plan.selection_seeds} (disjoint "
            f"from the final seeds), the same for every method")
    tasks = trial_tasks(base, methods, kwargs, knobs, gammas, offsets, plan.selection_seeds)
    return tasks, how


def _plan(args: argparse.Namespace, profile: Profile, fns: list[Discrepancy]) -> Plan:
    changes = {"epochs": args.epochs, "arch": args.arch, "width": args.width,
               "warm_iters": args.warm_start}
    config = dataclasses.replace(profile.config,
                                 **{k: v for k, v in changes.items() if v is not None})
    extra = {}
    if args.slicing != DEFAULT_SLICING:
        extra["slicing"] = args.slicing
        if not any("slicing" in method_kwargs(fn, extra) for fn in fns):
            raise ValueError(f"--slicing {args.slicing!r}: no selected discrepancy accepts a "
                             "slicing keyword")
        # a scheme that a discrepancy refuses (control variates in a maximisation) fails now,
        # not after the classifier and the first trainings: one call each on a tiny problem
        probe = torch.randn(8, config.latent_dim, generator=torch.Generator().manual_seed(0))
        for fn in fns:
            kwargs = method_kwargs(fn, extra)
            if "slicing" in kwargs:
                try:
                    fn(probe, probe.flip(0), seed=0, **kwargs)
                except ValueError as err:
                    raise ValueError(f"--slicing {args.slicing!r}: {err}") from err
    if args.gamma_grid is not None and args.trials not in (None, len(args.gamma_grid)):
        raise ValueError(f"--trials {args.trials} contradicts --gamma-grid's "
                         f"{len(args.gamma_grid)} values (--trials counts the gamma values per "
                         "knob setting); drop one of them")
    n_seeds = args.seeds or profile.n_seeds
    grid_points = args.trials or profile.grid_points
    k = args.selection_seeds or profile.selection_seeds
    return Plan(config, [args.seed + i for i in range(n_seeds)],
                grid_points if args.gamma_grid is None else None, args.gamma_grid,
                selection_seeds(args.seed, k, n_seeds), args.gamma, extra)
