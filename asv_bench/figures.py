"""The figures of ``sliced-bench curves`` and their CSV, from a list of timings.

- ``sampling_time_vs_d``: time of one ``rsample`` of n points against d, log-log, a panel per
  kappa, a line per sampler (peers dashed), interquartile bars;
- ``sampling_ratio_vmf_power_spherical``: time of vMF / time of power spherical against d,
  a line per kappa;
- ``discrepancy_time``: time of one call against n, d and L (one axis at a time around the
  base point), a line per ``REGISTRY`` entry and per peer;
- ``curves.csv`` (:func:`write_csv`): every plotted point (:class:`Point`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asv_bench.timings import DISCREPANCY_AXES, SAMPLER_SERIES, Timing

#: peer benchmarked next to the registry -> its legend label
PEERS = {"pot_sw": "POT sliced_wasserstein (peer)",
         "pot_max_sw": "POT max_sliced_wasserstein (peer)",
         "naive_sfg": "naive O(n^2) SFG (peer)"}


@dataclass
class Point:
    """One plotted point, as written to the CSV."""

    figure: str
    panel: str
    series: str
    x_name: str
    x: float
    y: float
    y_q25: float
    y_q75: float
    unit: str


def sampling_points(timings: list[Timing], device: str) -> list[Point]:
    """Time-vs-d points of the samplers at the largest n timed (uniform repeated per kappa)."""
    rows = [t for t in timings if t.cls in SAMPLER_SERIES and t.param("device", "cpu") == device]
    if not rows:
        return []
    n = max(int(t.param("n")) for t in rows)
    kappas = sorted({float(t.param("kappa")) for t in rows if t.param("kappa") is not None})
    points = []
    for t in rows:
        if int(t.param("n")) != n:
            continue
        label = SAMPLER_SERIES[t.cls][0]
        panels = [t.param("kappa")] if t.param("kappa") is not None else kappas
        for kappa in panels:
            points.append(Point("sampling_time_vs_d", f"kappa = {_fmt(float(kappa))}", label, "d",
                                float(t.param("d")), t.median, t.q25, t.q75,
                                f"s per rsample of n = {n}"))
    return points


def ratio_points(sampling: list[Point]) -> list[Point]:
    """time(vMF) / time(power spherical) at each (kappa, d) where both were timed."""
    by_key = {(p.series, p.panel, p.x): p for p in sampling}
    points = []
    for (series, panel, x), vmf in sorted(by_key.items()):
        ps = by_key.get(("power spherical", panel, x))
        if series != "vMF" or ps is None:
            continue
        # Interquartile range of the ratio from the quartiles of both (conservative).
        points.append(Point("sampling_ratio_vmf_power_spherical", "", panel, "d", x,
                            vmf.y / ps.y, vmf.y_q25 / ps.y_q75, vmf.y_q75 / ps.y_q25,
                            "time ratio"))
    return points


def discrepancy_points(timings: list[Timing], device: str) -> list[Point]:
    points = []
    for t in timings:
        axis = DISCREPANCY_AXES.get(t.cls)
        if axis is None or t.param("device", "cpu") != device:
            continue
        method = str(t.param("method"))
        points.append(Point("discrepancy_time", axis, PEERS.get(method, method), axis,
                            float(t.param(axis)), t.median, t.q25, t.q75, "s per call"))
    return points


def curve_points(timings: list[Timing], device: str) -> list[Point]:
    """Every point of the three figures: sampling times, their vMF / power spherical ratio and
    discrepancy times, on ``device``."""
    sampling = sampling_points(timings, device)
    return sampling + ratio_points(sampling) + discrepancy_points(timings, device)


def _fmt(x: float) -> str:
    return f"{x:g}" if x < 1000 else f"1e{round(math.log10(x))}"


def write_csv(points: list[Point], path: Path) -> None:
    fields = list(Point.__dataclass_fields__)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        for p in points:
            writer.writerow([getattr(p, k) for k in fields])


def _series(points: list[Point]) -> dict[str, list[Point]]:
    out: dict[str, list[Point]] = {}
    for p in sorted(points, key=lambda p: (p.series, p.x)):
        out.setdefault(p.series, []).append(p)
    return out


def _errorbar(ax, pts: list[Point], style: dict) -> None:
    x = np.array([p.x for p in pts])
    y = np.array([p.y for p in pts])
    err = np.array([[p.y - p.y_q25 for p in pts], [p.y_q75 - p.y for p in pts]]).clip(min=0)
    ax.errorbar(x, y, yerr=err, capsize=2, markersize=4, linewidth=1.3, **style)


def _styles(names: list[str], peers: Iterable[str]) -> dict[str, dict]:
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("tab10").colors
    peers = set(peers)
    return {name: {"color": colours[i % 10], "marker": "os^vDP*Xh<>"[i % 11],
                   "linestyle": "--" if name in peers else "-", "label": name}
            for i, name in enumerate(names)}


def draw(points: list[Point], out: Path, device: str, source: str) -> list[Path]:
    """Draw the three figures (PNG and SVG) that have data; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    figures = {
        "sampling_time_vs_d": _draw_sampling,
        "sampling_ratio_vmf_power_spherical": _draw_ratio,
        "discrepancy_time": _draw_discrepancies,
    }
    for name, drawer in figures.items():
        pts = [p for p in points if p.figure == name]
        if not pts:
            continue
        fig = drawer(plt, pts)
        fig.suptitle(f"{fig.get_suptitle()}\n({source}; device {device})", fontsize=10)
        written += save(fig, out, name)
    return written


def save(fig, out: Path, name: str) -> list[Path]:
    """Write ``fig`` as ``out/name.png`` and ``out/name.svg``, close it, return the two paths."""
    import matplotlib.pyplot as plt

    written = []
    for ext in ("png", "svg"):
        path = out / f"{name}.{ext}"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        written.append(path)
    plt.close(fig)
    return written


def _draw_sampling(plt, pts: list[Point]):
    panels = sorted({p.panel for p in pts}, key=lambda s: float(s.split("=")[1]))
    names = [s for s, _ in SAMPLER_SERIES.values() if any(p.series == s for p in pts)]
    styles = _styles(names, [s for s, peer in SAMPLER_SERIES.values() if peer])
    cols = min(2, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.9 * rows), squeeze=False,
                             sharex=True, sharey=True)
    for ax, panel in zip(axes.flat, panels, strict=False):
        for name, series in _series([p for p in pts if p.panel == panel]).items():
            _errorbar(ax, series, styles[name])
        ax.set(xscale="log", yscale="log", title=panel)
        ax.set_xscale("log", base=2)
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("dimension d (sphere S^{d-1} in R^d)")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"time [{pts[0].unit.split(' per')[0]}]")
    fig.suptitle(f"Sampling time against d ({pts[0].unit}; bars: interquartile range)")
    handles, labels = _legend_entries(axes.flat, names)
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False,
               bbox_to_anchor=(0.5, -0.02 - 0.03 * math.ceil(len(labels) / 3)))
    fig.tight_layout()
    return fig


def _legend_entries(axes, order: list[str]) -> tuple[list, list[str]]:
    """One legend entry per series over all panels, in the order of ``order``."""
    found = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            found.setdefault(lab, h)
    labels = [name for name in order if name in found]
    return [found[name] for name in labels], labels


def _draw_ratio(plt, pts: list[Point]):
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    names = sorted({p.series for p in pts}, key=lambda s: float(s.split("=")[1]))
    styles = _styles(names, [])
    for name, series in _series(pts).items():
        _errorbar(ax, series, styles[name])
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set(xlabel="dimension d (sphere S^{d-1} in R^d)",
           ylabel="time vMF / time power spherical (ratio)")
    from matplotlib import ticker

    plain = ticker.FuncFormatter(lambda y, _: f"{y:g}")
    ax.yaxis.set_minor_locator(ticker.LogLocator(subs=(2.0, 3.0, 5.0)))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.tick_params(axis="y", which="minor", labelsize=8)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9, title="concentration", title_fontsize=9, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle("vMF (rejection) against power spherical (no rejection): time ratio")
    fig.tight_layout()
    return fig


def _draw_discrepancies(plt, pts: list[Point]):
    axes_order = [a for a in ("n", "d", "L") if any(p.panel == a for p in pts)]
    names = list(dict.fromkeys(p.series for p in pts if p.series not in PEERS.values()))
    names += [s for s in PEERS.values() if any(p.series == s for p in pts)]
    styles = _styles(names, PEERS.values())
    fig, axes = plt.subplots(1, len(axes_order), figsize=(4.6 * len(axes_order), 4.0),
                             squeeze=False, sharey=True)
    labels = {"n": "number of points n (d = 32, L = 128)",
              "d": "dimension d (n = 512, L = 128)",
              "L": "number of projections L (n = 512, d = 32)"}
    for ax, axis in zip(axes.flat, axes_order, strict=True):
        for name, series in _series([p for p in pts if p.panel == axis]).items():
            _errorbar(ax, series, styles[name])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(labels[axis])
        ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].set_ylabel("time per call [s]")
    fig.suptitle("Discrepancy time, one axis at a time around n = 512, d = 32, L = 128")
    handles, labs = _legend_entries(axes.flat, names)
    fig.legend(handles, labs, loc="lower center", ncol=4, fontsize=9, frameon=False,
               bbox_to_anchor=(0.5, -0.04 - 0.05 * math.ceil(len(labs) / 4)))
    fig.tight_layout()
    return fig

