"""Figures of the RAE comparison (PNG): generated samples and reconstructions of each method
(first seed), the metrics as bars with 95% interval error bars, and the training curves."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from validation.rae.experiment import NONE, Run
from validation.rae.stats import Interval

METRIC_LABELS = {
    "recon": "held-out reconstruction error",
    "fd": "Frechet distance (classifier features)",
    "sw_images": "SW_2 generated vs held-out images",
    "latent_sw": "SW_2 aggregated posterior vs prior",
    "seconds_per_epoch": "seconds per epoch",
}
GAP = 0.25
CURVES = {"loss": "training loss", "recon": "training reconstruction",
          "reg": "training regulariser D", "test_recon": "held-out reconstruction"}


def tile(images: np.ndarray, shape: tuple[int, int], n_cols: int) -> np.ndarray:
    """Arrange flattened images (n, h*w) in a grid with ``n_cols`` columns, separated by
    1-pixel light-grey gaps (intensity ``GAP``: visible, yet far from the strokes' 1)."""
    h, w = shape
    n_rows = math.ceil(len(images) / n_cols)
    grid = np.full((n_rows * (h + 1) - 1, n_cols * (w + 1) - 1), GAP)
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        grid[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img.reshape(h, w)
    return grid


def _first_seed(runs: list[Run]) -> list[Run]:
    first: dict[str, Run] = {}
    for run in runs:
        first.setdefault(run.method, run)
    return list(first.values())


def plot_samples(runs: list[Run], shape: tuple[int, int], path: Path) -> None:
    """One panel of generated images (decoded prior samples) per method."""
    shown = _first_seed(runs)
    n_cols = min(4, len(shown))
    n_rows = math.ceil(len(shown) / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3 * n_cols, 3.4 * n_rows + 0.3),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, run in zip(axes.flat, shown, strict=False):
        side = math.isqrt(len(run.samples))
        ax.imshow(tile(run.samples[:side * side], shape, side), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{run.method} (seed {run.seed})", fontsize=10)
    fig.suptitle("Generated samples")
    fig.tight_layout(h_pad=1.5)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reconstructions(runs: list[Run], originals: np.ndarray, shape: tuple[int, int],
                         path: Path) -> None:
    """First row: held-out images; then one row of reconstructions per method."""
    shown = _first_seed(runs)
    rows = [originals, *(run.reconstructions for run in shown)]
    labels = ["held-out", *(run.method for run in shown)]
    fig, axes = plt.subplots(len(rows), 1, figsize=(0.5 * len(originals) + 1.2, 0.6 * len(rows)),
                             squeeze=False)
    for ax, images, label in zip(axes[:, 0], rows, labels, strict=True):
        ax.imshow(tile(images, shape, len(images)), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Reconstructions of held-out images", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_metrics(summary: dict[str, dict[str, Interval]], path: Path) -> None:
    """One bar chart per metric: mean over seeds, error bars the 95% t interval (none for one
    seed)."""
    methods = list(summary)
    fig, axes = plt.subplots(1, len(METRIC_LABELS), figsize=(3.4 * len(METRIC_LABELS), 3.6))
    colors = plt.cm.tab10(np.arange(len(methods)) % 10)
    n = max(row[metric].n for row in summary.values() for metric in METRIC_LABELS)
    for ax, (metric, label) in zip(axes, METRIC_LABELS.items(), strict=True):
        stats = [summary[m][metric] for m in methods]
        means = np.array([s.mean for s in stats])
        errors = None
        if n > 1:
            errors = np.array([[s.mean - s.low for s in stats], [s.high - s.mean for s in stats]])
        ax.bar(range(len(methods)), means, yerr=errors, capsize=3, color=colors)
        ax.set_xticks(range(len(methods)), methods, rotation=60, ha="right", fontsize=8)
        ax.set_title(label, fontsize=9)
    fig.suptitle(f"Test metrics, mean and 95% interval over {n} seed(s); lower is better")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training_curves(runs: list[Run], path: Path) -> None:
    """Per-epoch curves, mean over seeds with a +-std band, one line per method."""
    methods = list(dict.fromkeys(r.method for r in runs))
    fig, axes = plt.subplots(1, len(CURVES), figsize=(4 * len(CURVES), 3.4))
    for i, method in enumerate(methods):
        histories = [r.history for r in runs if r.method == method]
        for ax, key in zip(axes, CURVES, strict=True):
            if key == "reg" and method == NONE:  # identically zero: nothing on a log axis
                continue
            values = np.array([[h[key] for h in hist] for hist in histories])
            epochs = np.arange(1, values.shape[1] + 1)
            mean, std = values.mean(axis=0), values.std(axis=0)
            ax.plot(epochs, mean, color=plt.cm.tab10(i % 10), label=method, lw=1.2)
            ax.fill_between(epochs, mean - std, mean + std, color=plt.cm.tab10(i % 10),
                            alpha=0.2, lw=0)
    for ax, label in zip(axes, CURVES.values(), strict=True):
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
