"""``sliced-bench rae``: the discrepancies compared end to end as RAE regularisers.

Trains one relational-regularised autoencoder per method (every ``discrepancies.REGISTRY``
entry, plus ``none``, the plain autoencoder) and seed, prints a Markdown table of held-out
metrics (mean +- std over seeds) and writes to ``--out``: ``rae_table.md``,
``rae_results.json`` (configuration, settings, every run with its training history, summary),
``rae_runs.csv``, ``rae_summary.csv`` and the figures ``rae_samples.png``,
``rae_reconstructions.png``, ``rae_metrics.png`` and ``rae_training_curves.png``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from validation.rae import figures
from validation.rae.data import ImageData, load_data
from validation.rae.experiment import (
    METRICS,
    NONE,
    method_kwargs,
    resolve_methods,
    run_grid,
    summarise,
)
from validation.rae.metrics import frechet_distance, train_feature_classifier
from validation.rae.train import Discrepancy, TrainConfig

# (data kind, quick) -> (training configuration, number of seeds). Digits: smaller latent
# space and networks than the paper's MNIST setting (latent 8), which the "mnist" rows keep.
# Digits default: about 2.5 minutes on 2 shared CPU cores. MNIST: an epoch on 60k images takes
# about 16 s (plain) to 40 s (SSFG) on one CPU thread, so the default MNIST run takes hours on
# a CPU: it is meant for --device cuda, or for fewer --methods / --epochs.
PROFILES: dict[tuple[str, bool], tuple[TrainConfig, int]] = {
    ("digits", False): (TrainConfig(latent_dim=4, hidden=(128, 64), epochs=40), 3),
    ("digits", True): (TrainConfig(latent_dim=4, hidden=(128, 64), epochs=5), 2),
    ("mnist", False): (TrainConfig(latent_dim=8, hidden=(512, 256), epochs=10), 3),
    ("mnist", True): (TrainConfig(latent_dim=8, hidden=(512, 256), epochs=1), 1),
}
COLUMNS = {
    "recon": "recon. error",
    "fd": "FD (classifier)",
    "sw_images": "SW images",
    "latent_sw": "latent SW",
    "seconds_per_epoch": "s / epoch",
}


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="5 epochs and 2 seeds on digits, 1 epoch and 1 seed on MNIST "
                             "(under a minute on digits)")
    parser.add_argument("--data", default="digits",
                        help="'digits' (scikit-learn's bundled 8x8 digits) or a folder holding "
                             "MNIST IDX files train-images-idx3-ubyte[.gz] and "
                             "train-labels-idx1-ubyte[.gz] (t10k-* used as held-out when present)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                        help="subset of 'none' and the registry's discrepancies (default: all)")
    parser.add_argument("--seeds", type=_positive_int, default=None,
                        help="number of training seeds: --seed, --seed + 1, ... (default: 3; "
                             "--quick: 2 on digits, 1 on MNIST)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help="training epochs (default: digits 40, MNIST 10; --quick: 5 / 1)")
    parser.add_argument("--gamma", type=_non_negative_float, default=None,
                        help="weight of the regulariser (default: 1.0, as the RAE code)")
    parser.add_argument("--out", type=Path, default=Path("results/rae"),
                        help="output folder (default: %(default)s)")


def run(args: argparse.Namespace, *, registry: Mapping[str, Discrepancy] | None = None,
        sw: Discrepancy | None = None) -> int:
    """Run the comparison; ``registry`` and ``sw`` default to the suite's (tests inject)."""
    if registry is None or sw is None:
        import discrepancies

        registry = discrepancies.REGISTRY if registry is None else registry
        sw = discrepancies.sw if sw is None else sw
    try:
        methods = resolve_methods(args.methods, registry)
        data = load_data(args.data, seed=args.seed)
    except ValueError as err:
        print(f"sliced-bench rae: error: {err}", file=sys.stderr)
        return 2
    config, n_seeds = _configure(args, data)
    seeds = [args.seed + i for i in range(n_seeds)]
    threads = torch.get_num_threads()
    # the networks are tiny: intra-op threads cost more in synchronisation than they win, and
    # on a shared machine several threads per process slow every process down
    torch.set_num_threads(1)
    try:
        _compare(args, data, methods, registry, sw, config, seeds)
    finally:
        torch.set_num_threads(threads)
    return 0


def _compare(args: argparse.Namespace, data: ImageData, methods: list[str],
             registry: Mapping[str, Discrepancy], sw: Discrepancy, config: TrainConfig,
             seeds: list[int]) -> None:
    start = time.perf_counter()
    classifier, accuracy = train_feature_classifier(data, seed=args.seed, device=args.device)
    fd_floor = _fd_floor(data, classifier, args.seed, args.device)
    with tqdm(total=len(methods) * len(seeds) * config.epochs, desc="rae", unit="epoch",
              file=sys.stderr, dynamic_ncols=True) as bar:
        def on_epoch(method: str, seed: int, epoch: int, record: dict) -> None:
            bar.set_postfix_str(f"{method} seed {seed} loss {record['loss']:.3g}")
            bar.update()

        runs = run_grid(data, methods, registry, config, seeds, classifier, sw,
                        device=args.device, on_epoch=on_epoch)
    summary = summarise(runs)
    wall = time.perf_counter() - start
    settings = {m: ({} if m == NONE else method_kwargs(m, registry[m])) for m in methods}
    notes = {"data": data.name, "n_train": len(data.x_train), "n_test": len(data.x_test),
             "seeds": seeds, "device": args.device, "wall_seconds": wall,
             "classifier_accuracy": accuracy, "fd_train_vs_test": fd_floor}
    table = _markdown(summary, settings, config, notes)
    print(table)
    _write(args.out, table, config, settings, notes, runs, summary, data)
    print(f"\nresults in {args.out}/ (rae_results.json, rae_*.csv, rae_*.png); "
          f"{wall:.0f} s")


def _configure(args: argparse.Namespace, data: ImageData) -> tuple[TrainConfig, int]:
    kind = "digits" if data.name == "digits" else "mnist"
    config, n_seeds = PROFILES[(kind, bool(args.quick))]
    changes = {"epochs": args.epochs, "gamma": args.gamma}
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    return config, args.seeds or n_seeds


@torch.no_grad()
def _fd_floor(data: ImageData, classifier: torch.nn.Module, seed: int, device: str) -> float:
    """FD between as many training images as held-out ones and the held-out images: what a
    generator reproducing the data distribution would score (finite-sample floor)."""
    pick = np.random.default_rng(seed).permutation(len(data.x_train))[:len(data.x_test)]
    feats = [classifier.features(torch.as_tensor(x, device=device)).cpu().numpy()
             for x in (data.x_train[pick], data.x_test)]
    return frechet_distance(*feats)


def _fmt(stat: dict[str, float]) -> str:
    if stat["n"] < 2:
        return f"{stat['mean']:.4g}"
    return f"{stat['mean']:.4g} ± {stat['std']:.2g}"


def _markdown(summary: dict, settings: dict, config: TrainConfig, notes: dict) -> str:
    n = len(notes["seeds"])
    lines = [
        f"## RAE comparison on {notes['data']} ({notes['n_train']} train / {notes['n_test']} "
        f"held-out images), mean ± std over {n} seed(s)",
        "",
        "| method | " + " | ".join(COLUMNS.values()) + " | settings |",
        "|---|" + "---:|" * len(COLUMNS) + "---|",
    ]
    for method, stats in summary.items():
        cells = [_fmt(stats[m]) for m in METRICS]
        setting = ", ".join(f"{k}={v}" for k, v in settings[method].items()) or "-"
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {setting} |")
    lines += [
        "",
        f"Model: MLP encoder/decoder, hidden {config.hidden}, latent dimension "
        f"{config.latent_dim}, GMM prior with {config.n_components} learnable components; "
        f"loss = reconstruction + {config.gamma} * D(codes, prior samples); Adam lr {config.lr}, "
        f"batch {config.batch_size}, {config.epochs} epochs, seeds {notes['seeds']}, "
        f"device {notes['device']}.",
        "Lower is better everywhere. recon. error: squared error summed over pixels per "
        "held-out image. FD: Frechet distance in the features of a small MLP classifier trained "
        "on the training split (held-out accuracy "
        f"{notes['classifier_accuracy']:.3f}), NOT Inception FID; training vs held-out images "
        f"score {notes['fd_train_vs_test']:.3g} (the finite-sample floor). SW images: SW_2 "
        "between generated and held-out images. latent SW: SW_2 between the codes of the "
        "held-out images and prior samples. s / epoch: wall time of one training epoch "
        "(shared machine: compare as ratios within this run).",
        f"Total wall time {notes['wall_seconds']:.0f} s.",
    ]
    return "\n".join(lines)


def _write(out: Path, table: str, config: TrainConfig, settings: dict, notes: dict, runs: list,
           summary: dict, data: ImageData) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "rae_table.md").write_text(table + "\n")
    payload = {"config": dataclasses.asdict(config), "settings": settings, "notes": notes,
               "summary": summary, "runs": [r.as_dict() for r in runs]}
    (out / "rae_results.json").write_text(json.dumps(_jsonable(payload), indent=1, allow_nan=False))
    with open(out / "rae_runs.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "seed", *METRICS])
        writer.writerows([r.method, r.seed, *(r.metrics[m] for m in METRICS)] for r in runs)
    with open(out / "rae_summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "n_seeds", *(f"{m}_{s}" for m in METRICS
                                                  for s in ("mean", "std"))])
        for method, stats in summary.items():
            writer.writerow([method, stats[METRICS[0]]["n"],
                             *(stats[m][s] for m in METRICS for s in ("mean", "std"))])
    figures.plot_samples(runs, data.shape, out / "rae_samples.png")
    figures.plot_reconstructions(runs, data.x_test[:10], data.shape,
                                 out / "rae_reconstructions.png")
    figures.plot_metrics(summary, out / "rae_metrics.png")
    figures.plot_training_curves(runs, out / "rae_training_curves.png")


def _jsonable(value: object) -> object:
    """NaN (the std of a single seed) becomes null, so the file is strict JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
