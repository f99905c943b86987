"""``sliced-bench rae``: the discrepancies compared end to end as RAE regularisers.

The protocol:

1. Data: training, validation and test splits (:func:`validation.rae.data.load_data`); the
   validation split is carved from the training images; a feature classifier (for the Frechet
   distance) is trained on the training split.
2. Selection, on the training and validation splits only: for every registry entry, gamma and
   the entry's knobs are chosen by :func:`validation.rae.selection.select` (same number of
   trials, epochs and seeds for every method; criterion: classifier Frechet distance on the
   validation split). ``--gamma X`` skips it (one gamma for all, knobs at their defaults);
   ``--quick`` skips it too and weights each method by its scale at initialisation
   (:func:`validation.rae.train.gamma_scale`: regulariser as large as the reconstruction).
3. Final runs: every method (plus ``none``, the plain autoencoder) with its chosen setting,
   for every seed (a seed fixes initialisation and batch order for every method), evaluated on
   the test split.
4. Statistics: mean and 95% t interval per metric; every method against SFG and SW, seed by
   seed (paired t-test, :mod:`validation.rae.stats`); cost as seconds per epoch over ``none``'s.

Writes to ``--out`` (all in :func:`write_outputs`): ``rae_table.md``, ``rae_results.json``,
``rae_runs.csv``, ``rae_summary.csv``, ``rae_comparisons.csv``, ``rae_selection.csv`` and the
figures ``rae_samples.png``, ``rae_reconstructions.png``, ``rae_metrics.png``,
``rae_training_curves.png``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from discrepancies.slicing import SCHEMES
from validation.rae import figures
from validation.rae.data import DataSplits, load_data
from validation.rae.experiment import (
    BASELINES,
    METRICS,
    NONE,
    TIME,
    Run,
    Setting,
    method_kwargs,
    paired_comparisons,
    resolve_methods,
    run_grid,
    summarise,
)
from validation.rae.metrics import (
    FeatureClassifier,
    accuracy,
    frechet_distance,
    train_feature_classifier,
)
from validation.rae.selection import (
    CRITERION,
    GRID_SPAN,
    KNOB_GRIDS,
    Selection,
    check_trials,
    default_knobs,
    knob_grid,
    select,
)
from validation.rae.stats import ALPHA, MIN_N, Interval, Paired
from validation.rae.train import Discrepancy, TrainConfig, gamma_scale, init_model


@dataclass(frozen=True)
class Profile:
    """Defaults of one kind of data: training configuration, number of final seeds, trials per
    method in the selection (None: no selection), training-split size (None: all) and number
    of selection seeds."""

    config: TrainConfig
    n_seeds: int
    n_trials: int | None
    train_size: int | None
    selection_seeds: int = 1


# (data kind, quick) -> defaults. Digits: latent 4 and small MLPs. IDX data (Fashion-MNIST,
# MNIST): latent 8 as in the paper, an MLP, 8 epochs on a 10000-image training split, so that
# the whole protocol (7 x 12 selection trials + 8 x 5 final runs, 124 trainings) fits within
# an hour on a shared 2-core CPU; --arch conv --width 1 --train-size 50000 --device cuda is
# closer to the paper's setting.
PROFILES: dict[tuple[str, bool], Profile] = {
    ("digits", False): Profile(TrainConfig(latent_dim=4, hidden=(128, 64), epochs=20), 5, 12,
                               None),
    ("digits", True): Profile(TrainConfig(latent_dim=4, hidden=(128, 64), epochs=5), 2, None,
                              None),
    ("idx", False): Profile(TrainConfig(latent_dim=8, hidden=(256, 128), epochs=8), 5, 12,
                            10000),
    ("idx", True): Profile(TrainConfig(latent_dim=8, hidden=(256, 128), epochs=1), 1, None,
                           2000),
}
COLUMNS = {
    "recon": "recon. error",
    "fd": "FD (classifier)",
    "sw_images": "SW images",
    "latent_sw": "latent SW",
}
DEFAULT_SLICING = "mc"


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
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help="training epochs, selection and final runs (default: digits 20, "
                             "IDX 8; --quick: 5 / 1)")
    grid = parser.add_mutually_exclusive_group()
    grid.add_argument("--gamma", type=_non_negative_float, default=None,
                      help="one weight of the regulariser for every method: no selection, "
                           "knobs at their defaults")
    grid.add_argument("--gamma-grid", type=_non_negative_float, nargs="+", default=None,
                      metavar="GAMMA",
                      help="absolute gammas to select from, crossed with each method's knob "
                           "grid (then a method with c knob settings gets c x as many trials); "
                           "default: the scale rule's grid")
    parser.add_argument("--trials", type=_positive_int, default=None,
                        help="selection trials per method (a multiple of 4; default 12; "
                             "--quick: no selection unless given)")
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
    parser.add_argument("--out", type=Path, default=Path("results/rae"),
                        help="output folder (default: %(default)s)")


@dataclass
class Plan:
    """What a run does: the training configuration, the final seeds, the selection (trials per
    method, absolute gamma grid, seeds; ``n_trials=None`` and no grid: no selection), a forced
    gamma, and extra keywords for the discrepancies."""

    config: TrainConfig
    seeds: list[int]
    n_trials: int | None
    gamma_grid: list[float] | None
    selection_seeds: list[int]
    gamma: float | None
    extra_kwargs: dict = field(default_factory=dict)

    @property
    def selects(self) -> bool:
        return self.gamma is None and (self.n_trials is not None or self.gamma_grid is not None)


@dataclass
class SelectionStage:
    """What the training and validation splits decided: the classifier, every method's setting,
    and the selection records (empty without selection)."""

    classifier: FeatureClassifier
    validation_accuracy: float
    settings: dict[str, Setting]
    selections: dict[str, Selection]
    how: str


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
        splits = load_data(args.data, seed=args.seed,
                           train_size=args.train_size or profile.train_size)
        plan = _plan(args, profile, [registry[m] for m in methods if m != NONE])
        init_model(splits.validation, plan.config, args.seed)  # --arch conv on 8x8: fail now
    except ValueError as err:
        print(f"sliced-bench rae: error: {err}", file=sys.stderr)
        return 2
    print(f"sliced-bench rae: test split: {splits.test_source}", flush=True)
    threads = torch.get_num_threads()
    # the networks are small: intra-op threads cost more in synchronisation than they win, and
    # on a shared machine several threads per process slow every process down
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        stage = select_stage(splits, methods, registry, sw, plan, seed=args.seed,
                             device=args.device)
        report = final_stage(splits, stage, plan, sw, seed=args.seed, device=args.device)
        report.notes["wall_seconds"] = time.perf_counter() - start
        report.table = _markdown(report)
    except FloatingPointError as err:  # a final run diverged at its chosen gamma
        print(f"sliced-bench rae: error: {err}", file=sys.stderr)
        return 1
    finally:
        torch.set_num_threads(threads)
    print(report.table)
    write_outputs(args.out, report)
    # args.out is the staging folder, moved into place once the run completes: name the files
    print(f"\nwrote rae_table.md, rae_results.json, rae_*.csv, rae_*.png "
          f"({report.notes['wall_seconds']:.0f} s)")
    return 0


def _plan(args: argparse.Namespace, profile: Profile, fns: list[Discrepancy]) -> Plan:
    changes = {"epochs": args.epochs, "arch": args.arch, "width": args.width}
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
    n_trials = args.trials or profile.n_trials
    plan = Plan(config, [args.seed + i for i in range(args.seeds or profile.n_seeds)],
                n_trials, args.gamma_grid,
                [args.seed + i for i in range(profile.selection_seeds)], args.gamma, extra)
    if plan.selects and plan.gamma_grid is None:
        check_trials(fns, n_trials)
    return plan


def select_stage(splits: DataSplits, methods: list[str], registry: Mapping[str, Discrepancy],
                 sw: Discrepancy, plan: Plan, *, seed: int, device: str = "cpu",
                 progress: bool = True) -> SelectionStage:
    """Steps 1-2 of the protocol, on ``splits.validation`` alone (training and validation
    images): the feature classifier and each method's :class:`Setting`."""
    data = splits.validation
    classifier, val_accuracy = train_feature_classifier(data, seed=seed, device=device)

    def kwargs_of(fn: Discrepancy) -> dict:
        return method_kwargs(fn, plan.extra_kwargs)

    regularised = [m for m in methods if m != NONE]
    settings = {m: Setting(None, {}, 0.0) for m in methods if m == NONE}
    selections: dict[str, Selection] = {}
    if plan.selects:
        n_trials = plan.n_trials if plan.gamma_grid is None else None
        total = sum(n_trials or len(plan.gamma_grid) * len(knob_grid(registry[m]))
                    for m in regularised)
        with tqdm(total=total, desc="rae selection", unit="trial", file=sys.stderr,
                  dynamic_ncols=True, disable=not progress) as bar:
            selections = select(data, regularised, registry, plan.config, classifier, sw,
                                kwargs_of, n_trials=plan.n_trials or 0,
                                seeds=plan.selection_seeds, gamma_grid=plan.gamma_grid,
                                device=device,
                                on_trial=lambda m, i: (bar.set_postfix_str(m), bar.update()))
        for m, chosen in selections.items():
            fn = registry[m]
            settings[m] = Setting(fn, {**kwargs_of(fn), **chosen.knobs}, chosen.gamma)
        if plan.gamma_grid is None:
            how = (f"gamma and knobs chosen per method on the validation split by {CRITERION} "
                   f"(lower is better), {plan.n_trials} trials per method: gamma = scale x "
                   f"10^t, t evenly spaced over [{GRID_SPAN[0]}, {GRID_SPAN[1]}], crossed with "
                   f"the knob grids {KNOB_GRIDS}")
        else:
            how = (f"gamma chosen per method on the validation split by {CRITERION} from "
                   f"--gamma-grid {plan.gamma_grid}, crossed with the knob grids {KNOB_GRIDS}")
        how += (f"; {plan.config.epochs} epochs, selection seed(s) {plan.selection_seeds}, "
                "the same for every method")
    else:
        for m in regularised:
            fn = registry[m]
            kwargs = {**kwargs_of(fn), **default_knobs(fn)}
            gamma = plan.gamma if plan.gamma is not None else gamma_scale(
                data, plan.config, fn, kwargs, seed=seed, device=device)
            settings[m] = Setting(fn, kwargs, gamma)
        how = (f"one gamma for every method (--gamma {plan.gamma}), knobs at their defaults"
               if plan.gamma is not None else
               "no selection: each method's gamma is its scale at initialisation (regulariser "
               "as large as the reconstruction term), knobs at their defaults")
    ordered = {m: settings[m] for m in methods}
    return SelectionStage(classifier, val_accuracy, ordered, selections, how)


@dataclass
class Report:
    """Everything :func:`write_outputs` writes."""

    config: TrainConfig
    stage: SelectionStage
    runs: list[Run]
    summary: dict[str, dict[str, Interval]]
    comparisons: dict[str, dict[str, dict[str, Paired]]]
    notes: dict
    shape: tuple[int, int]
    originals: np.ndarray
    table: str = ""


def final_stage(splits: DataSplits, stage: SelectionStage, plan: Plan, sw: Discrepancy, *,
                seed: int, device: str = "cpu") -> Report:
    """Steps 3-4: train every method with its setting for every seed, evaluate on the test
    split, and gather the statistics."""
    data = splits.test
    epochs = len(stage.settings) * len(plan.seeds) * plan.config.epochs
    with tqdm(total=epochs, desc="rae final runs", unit="epoch", file=sys.stderr,
              dynamic_ncols=True) as bar:
        def on_epoch(method: str, s: int, epoch: int, record: dict) -> None:
            bar.set_postfix_str(f"{method} seed {s} loss {record['loss']:.3g}")
            bar.update()

        runs = run_grid(data, stage.settings, plan.config, plan.seeds, stage.classifier, sw,
                        device=device, on_epoch=on_epoch)
    notes = {"data": data.name, "test_split": splits.test_source, "n_train": len(data.x_train),
             "n_validation": len(splits.validation.x_test), "n_test": len(data.x_test),
             "seeds": plan.seeds, "device": device, "selection": stage.how,
             "classifier_accuracy_validation": stage.validation_accuracy,
             "classifier_accuracy_test": accuracy(stage.classifier, data, device),
             "fd_train_vs_test": _fd_floor(splits, stage.classifier, seed, device)}
    return Report(plan.config, stage, runs, summarise(runs), paired_comparisons(runs), notes,
                  data.shape, data.x_test[:10])


@torch.no_grad()
def _fd_floor(splits: DataSplits, classifier: torch.nn.Module, seed: int, device: str) -> float:
    """FD between as many training images as test ones (or all, if fewer) and the test images:
    what a generator reproducing the data distribution would score (finite-sample floor)."""
    data = splits.test
    pick = np.random.default_rng(seed).permutation(len(data.x_train))[:len(data.x_test)]
    feats = [classifier.features(torch.as_tensor(x, device=device)).cpu().numpy()
             for x in (data.x_train[pick], data.x_test)]
    return frechet_distance(*feats)


def _num(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else "n/a"


def _interval(stat: Interval) -> str:
    if stat.n < 2:
        return _num(stat.mean)
    return f"{_num(stat.mean)} [{_num(stat.low)}, {_num(stat.high)}]"


def _paired(c: Paired) -> str:
    d = c.difference
    sign = "+" if d.mean > 0 else ""
    if not math.isfinite(c.p_value):
        return f"{sign}{_num(d.mean)} (no test)"
    verdict = c.verdict if c.verdict not in ("better", "worse") else f"**{c.verdict}**"
    return (f"{sign}{_num(d.mean)} [{_num(d.low)}, {_num(d.high)}], p={c.p_value:.2g}, "
            f"{verdict}")


def _knobs_text(setting: Setting) -> str:
    shown = {k: v for k, v in setting.kwargs.items() if k in KNOB_GRIDS}
    return ", ".join(f"{k}={v:g}" for k, v in shown.items()) or "-"


def _markdown(report: Report) -> str:
    notes, config = report.notes, report.config
    n = len(notes["seeds"])
    test_note = ("" if n >= MIN_N else
                 f" With {n} seed(s) no test is made (a paired test needs at least {MIN_N}).")
    lines = [
        f"## RAE comparison on {notes['data']} ({notes['n_train']} train / "
        f"{notes['n_validation']} validation / {notes['n_test']} test images), {n} seed(s)",
        "",
        f"Test split: {notes['test_split']}.",
        "",
        f"Setting: {notes['selection']}. Metrics on the test split, mean [95% t interval] over "
        f"{n} seed(s); lower is better for every metric. cost: seconds per epoch over the "
        "plain autoencoder's (none) on the same seed, in this run.",
        "",
        "| method | gamma | knobs | " + " | ".join(COLUMNS.values()) + " | cost (x none) |",
        "|---|---:|---|" + "---:|" * len(COLUMNS) + "---:|",
    ]
    for method, stats in report.summary.items():
        setting = report.stage.settings[method]
        gamma = "-" if setting.fn is None else f"{setting.gamma:.3g}"
        cells = [_interval(stats[m]) for m in METRICS]
        cost = _interval(stats["cost"]) if "cost" in stats else _num(stats[TIME].mean) + " s"
        lines.append(f"| {method} | {gamma} | {_knobs_text(setting)} | " + " | ".join(cells)
                     + f" | {cost} |")
    for baseline in BASELINES:
        if baseline not in report.comparisons:
            continue
        lines += [
            "",
            f"### Against {baseline}, seed by seed (method - {baseline}; paired t-test, "
            f"two-sided, alpha = {ALPHA} per comparison, n = {n})",
            "",
            "| method | " + " | ".join(COLUMNS.values()) + " |",
            "|---|" + "---|" * len(COLUMNS),
        ]
        for method, row in report.comparisons[baseline].items():
            lines.append(f"| {method} | " + " | ".join(_paired(row[m]) for m in METRICS) + " |")
    lines += [
        "",
        f"Model: {_model_text(config)}, latent dimension {config.latent_dim}, GMM prior with "
        f"{config.n_components} learnable components; loss = reconstruction + gamma * D(codes, "
        f"prior samples); Adam lr {config.lr}, batch {config.batch_size}, {config.epochs} "
        f"epochs, seeds {notes['seeds']}, device {notes['device']}.",
        "recon. error: squared error summed over pixels per test image. FD: Frechet distance "
        "in the features of a small MLP classifier trained on the training split (accuracy "
        f"{notes['classifier_accuracy_validation']:.3f} validation, "
        f"{notes['classifier_accuracy_test']:.3f} test), NOT Inception FID; training vs test "
        f"images score {notes['fd_train_vs_test']:.3g} (the finite-sample floor). SW images: "
        "SW_2 between generated and test images. latent SW: SW_2 between the codes of the test "
        "images and prior samples. Verdicts: better / worse when p < alpha, oriented so that "
        "better means a lower metric; not corrected for the number of comparisons."
        + test_note,
        f"Total wall time {notes['wall_seconds']:.0f} s.",
    ]
    return "\n".join(lines)


def _model_text(config: TrainConfig) -> str:
    if config.arch == "conv":
        return f"convolutional encoder/decoder of the RAE code, width x{config.width:g}"
    return f"MLP encoder/decoder, hidden {config.hidden}"


def write_outputs(out: Path, report: Report) -> None:
    """Write every output file of ``report`` into the folder ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "rae_table.md").write_text(report.table + "\n")
    settings = {m: {"kwargs": s.kwargs, "gamma": s.gamma if s.fn is not None else None}
                for m, s in report.stage.settings.items()}
    payload = {
        "config": dataclasses.asdict(report.config), "settings": settings, "notes": report.notes,
        "selection": {m: s.as_dict() for m, s in report.stage.selections.items()},
        "summary": {m: {k: v.as_dict() for k, v in row.items()}
                    for m, row in report.summary.items()},
        "comparisons": {b: {m: {k: v.as_dict() for k, v in row.items()}
                            for m, row in rows.items()}
                        for b, rows in report.comparisons.items()},
        "runs": [r.as_dict() for r in report.runs],
    }
    (out / "rae_results.json").write_text(json.dumps(_jsonable(payload), indent=1,
                                                     allow_nan=False))
    metrics = (*METRICS, TIME)
    with open(out / "rae_runs.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "seed", "gamma", *metrics])
        writer.writerows([r.method, r.seed, settings[r.method]["gamma"],
                          *(r.metrics[m] for m in metrics)] for r in report.runs)
    with open(out / "rae_summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        keys = [*metrics, "cost"]
        writer.writerow(["method", "n_seeds", "gamma",
                         *(f"{k}_{s}" for k in keys for s in ("mean", "low", "high"))])
        for method, row in report.summary.items():
            cells = [getattr(row[k], s) if k in row else "" for k in keys
                     for s in ("mean", "low", "high")]
            writer.writerow([method, row[METRICS[0]].n, settings[method]["gamma"], *cells])
    with open(out / "rae_comparisons.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["baseline", "method", "metric", "n", "difference", "low", "high",
                         "p_value", "verdict"])
        for baseline, rows in report.comparisons.items():
            for method, row in rows.items():
                for metric, c in row.items():
                    d = c.difference
                    writer.writerow([baseline, method, metric, d.n, d.mean, d.low, d.high,
                                     c.p_value, c.verdict])
    with open(out / "rae_selection.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "trial", "knobs", "gamma", "scale", CRITERION, "diverged",
                         "chosen"])
        for method, sel in report.stage.selections.items():
            for i, t in enumerate(sel.trials):
                writer.writerow([method, i, json.dumps(t.knobs), t.gamma, t.scale, t.score,
                                 t.diverged, t.gamma == sel.gamma and t.knobs == sel.knobs])
    figures.plot_samples(report.runs, report.shape, out / "rae_samples.png")
    figures.plot_reconstructions(report.runs, report.originals, report.shape,
                                 out / "rae_reconstructions.png")
    figures.plot_metrics(report.summary, out / "rae_metrics.png")
    figures.plot_training_curves(report.runs, out / "rae_training_curves.png")


def _jsonable(value: object) -> object:
    """NaN (an interval of one seed, a p-value not computed) and inf become null, so the file
    is strict JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
