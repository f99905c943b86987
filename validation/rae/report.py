"""Reporting the RAE protocol: the table, the statistics, the files and the figures.

:func:`build_report` gathers the final runs into :class:`Report` (summaries with t intervals,
paired comparisons with Holm-adjusted p-values per baseline); :func:`markdown` renders the
table; :func:`write_outputs` writes ``rae_table.md``, ``rae_results.json``, ``rae_runs.csv``,
``rae_summary.csv``, ``rae_comparisons.csv``, ``rae_selection.csv`` and the figures
``rae_samples.png``, ``rae_reconstructions.png``, ``rae_metrics.png``,
``rae_training_curves.png``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from validation.rae import figures
from validation.rae.data import DataSplits
from validation.rae.experiment import (
    BASELINES,
    METRICS,
    TIME,
    Run,
    Setting,
    paired_comparisons,
    summarise,
)
from validation.rae.metrics import FeatureClassifier, frechet_distance
from validation.rae.plan import KNOB_GRIDS
from validation.rae.selection import CRITERION, Selection
from validation.rae.stats import ALPHA, MIN_N, Interval, Paired
from validation.rae.train import TrainConfig

COLUMNS = {
    "recon": "recon. error",
    "fd": "FD (classifier)",
    "sw_images": "SW images",
    "latent_sw": "latent SW",
}


@dataclass
class Report:
    """Everything :func:`write_outputs` writes: the configuration, each method's setting, the
    selection records (empty without selection), the final runs and their statistics, notes
    (data, seeds, engine, wall time, ...), the image shape and the first test images."""

    config: TrainConfig
    settings: dict[str, Setting]
    selections: dict[str, Selection]
    runs: list[Run]
    summary: dict[str, dict[str, Interval]]
    comparisons: dict[str, dict[str, dict[str, Paired]]]
    notes: dict
    shape: tuple[int, int]
    originals: np.ndarray
    table: str = ""




@torch.no_grad()
def fd_floor(splits: DataSplits, classifier: FeatureClassifier, seed: int,
             device: str) -> float:
    """FD between as many training images as test ones (or all, if fewer) and the test images:
    what a generator reproducing the data distribution would score (finite-sample floor)."""
    data = splits.test
    pick = np.random.default_rng(seed).permutation(len(data.x_train))[:len(data.x_test)]
    feats = [classifier.features(torch.as_tensor(x, device=device)).cpu().numpy()
             for x in (data.x_train[pick], data.x_test)]
    return frechet_distance(*feats)


def _family(report: Report, baseline: str) -> int:
    return sum(math.isfinite(c.p_value) for row in report.comparisons[baseline].values()
               for c in row.values())


def build_report(config: TrainConfig, settings: dict[str, Setting],
                 selections: dict[str, Selection], runs: list[Run], notes: dict,
                 shape: tuple[int, int], originals: np.ndarray) -> Report:
    """The :class:`Report` of the final ``runs``: summaries and paired comparisons (Holm per
    baseline)."""
    return Report(config, settings, selections, runs, summarise(runs), paired_comparisons(runs),
                  notes, shape, originals)


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
            f"p_Holm={c.p_adjusted:.2g}, {verdict}")


def _knobs_text(setting: Setting) -> str:
    shown = {k: v for k, v in setting.kwargs.items() if k in KNOB_GRIDS}
    return ", ".join(f"{k}={v:g}" for k, v in shown.items()) or "-"


def markdown(report: Report) -> str:
    """The Markdown table of ``report`` (settings, metrics, comparisons, notes)."""
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
        setting = report.settings[method]
        gamma = "-" if setting.fn is None else f"{setting.gamma:.3g}"
        cells = [_interval(stats[m]) for m in METRICS]
        cost = _interval(stats["cost"]) if "cost" in stats else _num(stats[TIME].mean) + " s"
        lines.append(f"| {method} | {gamma} | {_knobs_text(setting)} | " + " | ".join(cells)
                     + f" | {cost} |")
    for baseline in BASELINES:
        if baseline not in report.comparisons:
            continue
        family = _family(report, baseline)
        tests = (f"verdicts at alpha = {ALPHA} on Holm-adjusted p-values over the {family} "
                 "comparisons of this table" if family else
                 f"no test: a paired test needs at least {MIN_N} seeds")
        lines += [
            "",
            f"### Against {baseline}, seed by seed (method - {baseline}; paired t-test, "
            f"two-sided, n = {n}; {tests})",
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
        f"epochs, seeds {notes['seeds']}, device {notes['device']}"
        + ("." if config.warm_iters is None else
           f"; warm start: each optimised discrepancy keeps its state across steps, "
           f"{config.warm_iters} ascent steps per call after the first."),
        "recon. error: squared error summed over pixels per test image. FD: Frechet distance "
        "in the features of a small MLP classifier trained on the training split (accuracy "
        f"{notes['classifier_accuracy_validation']:.3f} validation, "
        f"{notes['classifier_accuracy_test']:.3f} test), NOT Inception FID; training vs test "
        f"images score {notes['fd_train_vs_test']:.3g} (the finite-sample floor). SW images: "
        "SW_2 between generated and test images. latent SW: SW_2 between the codes of the test "
        "images and prior samples. Verdicts: better / worse when p_Holm < alpha (p: the raw "
        "paired t-test; p_Holm: Holm's step-down adjustment over the table's family), oriented "
        "so that better means a lower metric." + test_note,
        f"Engine: {notes['engine']}; torch threads per task {notes['threads_per_task']}; "
        f"{notes['tasks_run']} task(s) run, {notes['tasks_cached']} loaded from the cache. "
        f"Cost column measured with {notes['workers']} task(s) running at once.",
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
                for m, s in report.settings.items()}
    payload = {
        "config": dataclasses.asdict(report.config), "settings": settings, "notes": report.notes,
        "selection": {m: s.as_dict() for m, s in report.selections.items()},
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
                         "p_value", "p_holm", "verdict"])
        for baseline, rows in report.comparisons.items():
            for method, row in rows.items():
                for metric, c in row.items():
                    d = c.difference
                    writer.writerow([baseline, method, metric, d.n, d.mean, d.low, d.high,
                                     c.p_value, c.p_adjusted, c.verdict])
    with open(out / "rae_selection.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "trial", "knobs", "gamma", "log10_gamma_over_scale",
                         CRITERION, "diverged", "chosen"])
        for method, sel in report.selections.items():
            for i, t in enumerate(sel.trials):
                writer.writerow([method, i, json.dumps(t.knobs), t.gamma, t.offset, t.score,
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
