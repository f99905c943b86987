"""``sliced-bench curves``: time-vs-dimension figures and their CSV.

Two sources of timings, one set of figures:

- ``--from-asv DIR``: the newest result file of an ``asv run`` (asv 0.6 ``result_columns``
  JSON, e.g. ``.asv/results``; a single result file may be named too).
- otherwise: a sweep of its own, which calls the asv benchmark classes of
  ``asv_bench/benchmarks`` (the same ``setup`` and timed methods) on a smaller grid and
  records the median and quartiles of repeated timings.

Figures (PNG and SVG in ``--out``), every plotted point also in ``curves.csv``:

- ``sampling_time_vs_d``: time of one ``rsample`` of n points against d, log-log, a panel per
  kappa, a line per sampler (peers dashed), interquartile bars;
- ``sampling_ratio_vmf_power_spherical``: time of vMF / time of power spherical against d,
  a line per kappa;
- ``discrepancy_time``: time of one call against n, d and L (one axis at a time around the
  base point), a line per ``REGISTRY`` entry and per peer;
- in sweep mode, the slicing schemes' error against L and against time
  (:mod:`asv_bench.slicing_curves`).
"""

from __future__ import annotations

import argparse
import ast
import csv
import importlib
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: asv's benchmark modules, as named in its result files (relative to ``benchmark_dir``).
_SAMPLERS = "bench_samplers"
_DISCREPANCIES = "bench_discrepancies"

#: sampler benchmark class -> (label, is a peer)
SAMPLER_SERIES = {
    "VonMisesFisherSampling": ("vMF", False),
    "PowerSphericalSampling": ("power spherical", False),
    "MixtureVonMisesFisherSampling": ("mixture of vMF (4 comp.)", False),
    "UniformSphereSampling": ("uniform", False),
    "ScipyVonMisesFisherSampling": ("scipy vonmises_fisher (peer)", True),
    "PowerSphericalPackageSampling": ("power-spherical package (peer)", True),
}
#: discrepancy benchmark class -> the axis it sweeps
DISCREPANCY_AXES = {"DiscrepancyVsN": "n", "DiscrepancyVsD": "d", "DiscrepancyVsL": "L"}
PEERS = {"pot_sw": "POT sliced_wasserstein (peer)",
         "pot_max_sw": "POT max_sliced_wasserstein (peer)",
         "naive_sfg": "naive O(n^2) SFG (peer)"}


@dataclass(frozen=True)
class Timing:
    """One timed parameter combination: seconds per call (median and quartiles)."""

    benchmark: str  # e.g. "bench_samplers.VonMisesFisherSampling.time_rsample"
    params: tuple[tuple[str, object], ...]  # (name, value) in asv's order
    median: float
    q25: float
    q75: float

    @property
    def cls(self) -> str:
        return self.benchmark.split(".")[-2]

    def param(self, name: str, default: object = None) -> object:
        return dict(self.params).get(name, default)


# --------------------------------------------------------------------------------------------
# asv result files


def _literal(text: str) -> object:
    """asv stores parameter values as their repr (``"'cpu'"``, ``"100"``, ``"1.0"``)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def newest_result_file(path: Path) -> Path:
    """``path`` itself if it is a file, else the asv result file below it of the newest commit
    (asv's ``date`` is the commit's), the most recently written one among equals."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise ValueError(f"--from-asv: {str(path)!r} is neither an asv result file nor a folder")
    best: tuple[tuple[int, float], Path] | None = None
    unreadable = []
    for f in path.rglob("*.json"):
        if f.name in ("machine.json", "benchmarks.json"):
            continue
        try:
            data = json.loads(f.read_text())
            if isinstance(data, dict) and "result_columns" in data and "results" in data:
                key = ((int(data.get("date") or 0), f.stat().st_mtime), f)
                best = key if best is None or key[0] > best[0] else best
        except (OSError, ValueError, TypeError):
            unreadable.append(f)
    if best is None:
        skipped = f" ({len(unreadable)} unreadable, e.g. {unreadable[0]})" if unreadable else ""
        raise ValueError(f"--from-asv: no asv result file (result_columns format) under "
                         f"{path}{skipped}")
    return best[1]


def load_asv_results(path: Path) -> list[Timing]:
    """The ``time_*`` results of one asv 0.6 result file, one :class:`Timing` per parameter set.

    The file maps each benchmark name to a row whose columns are named by ``result_columns``
    (``result``, ``params``, ..., ``stats_q_25``, ``stats_q_75``, ...; trailing empty columns
    dropped). ``result`` and the stats are lists over the product of ``params`` in row-major
    order, with ``None`` (or NaN) where the combination was skipped or failed.

    Raises ValueError naming the file when it (or its ``benchmarks.json``) cannot be read, is
    not JSON, or does not have that layout.
    """
    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        raise ValueError(f"--from-asv: cannot read {path}: {err.strerror or err}") from err
    except ValueError as err:  # not JSON, or not text
        raise ValueError(f"--from-asv: {path} is not valid JSON: {err}") from err
    if not (isinstance(data, dict) and "result_columns" in data):
        raise ValueError(f"--from-asv: {path} is not an asv 0.6 result file (no result_columns)")
    names = _param_names(Path(path))
    try:
        return _timings(data, names)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise ValueError(f"--from-asv: {path} does not have the layout of an asv 0.6 result "
                         f"file: {type(err).__name__}: {err}") from err


def _timings(data: dict, names: dict[str, list[str]]) -> list[Timing]:
    columns = data["result_columns"]
    out: list[Timing] = []
    for bench, row in data["results"].items():
        if bench.split(".")[-1].split("_")[0] != "time":
            continue
        cols = dict(zip(columns, row, strict=False))  # trailing empty columns are dropped
        result, params = cols.get("result"), cols.get("params") or []
        if result is None:
            continue
        q25 = cols.get("stats_q_25") or [None] * len(result)
        q75 = cols.get("stats_q_75") or [None] * len(result)
        combos = list(itertools.product(*params)) if params else [()]
        pnames = names.get(bench) or [f"param{i + 1}" for i in range(len(params))]
        for combo, med, lo, hi in zip(combos, result, q25, q75, strict=True):
            if med is None or not math.isfinite(med):
                continue
            lo = med if lo is None else lo
            hi = med if hi is None else hi
            values = tuple((k, _literal(v)) for k, v in zip(pnames, combo, strict=True))
            out.append(Timing(bench, values, float(med), float(lo), float(hi)))
    return out


def _param_names(result_file: Path) -> dict[str, list[str]]:
    """Parameter names from ``benchmarks.json`` (two folders up), or those of the suite."""
    for folder in (result_file.parent.parent, result_file.parent):
        index = folder / "benchmarks.json"
        if index.is_file():
            try:
                data = json.loads(index.read_text())
                return {k: v.get("param_names", []) for k, v in data.items()
                        if isinstance(v, dict)}
            except (OSError, ValueError, AttributeError) as err:
                raise ValueError(f"--from-asv: cannot read the parameter names in {index}: "
                                 f"{err}") from err
    return {name: list(cls.param_names) for name, cls in _benchmark_classes()}


def _benchmark_classes() -> Iterable[tuple[str, type]]:
    """(asv name, class) of every ``time_*`` benchmark of the samplers and discrepancies."""
    for module_name in (_SAMPLERS, _DISCREPANCIES):
        module = importlib.import_module(f"asv_bench.benchmarks.{module_name}")
        for cls_name in (*SAMPLER_SERIES, *DISCREPANCY_AXES):
            cls = getattr(module, cls_name, None)
            if cls is None:
                continue
            for attr in dir(cls):
                if attr.startswith("time_"):
                    yield f"{module_name}.{cls_name}.{attr}", cls


# --------------------------------------------------------------------------------------------
# the sweep


@dataclass(frozen=True)
class SweepGrid:
    """The subset of the asv grid that the sweep times."""

    n: int
    d: tuple[int, ...]
    kappa: tuple[float, ...]
    axes: dict  # discrepancy axis -> values
    repeat: int  # timing samples per combination (fewer once max_time is spent)
    min_time: float  # seconds per timing sample (several calls when one is shorter)
    max_time: float  # seconds of samples per combination, after which no new one starts
    min_repeat: int  # samples taken whatever max_time says


QUICK = SweepGrid(n=1000, d=(2, 16, 128, 2048, 8192), kappa=(10.0, 1e4),
                  axes={"n": (64, 256, 1024), "d": (2, 16, 128), "L": (16, 64, 256)},
                  repeat=3, min_time=0.002, max_time=0.15, min_repeat=1)
DEFAULT = SweepGrid(n=1000, d=(2, 8, 32, 128, 512, 2048, 8192), kappa=(1.0, 10.0, 100.0, 1e4),
                    axes={"n": (64, 256, 1024, 4096), "d": (2, 16, 128, 1024),
                          "L": (16, 64, 256, 1024)},
                    repeat=5, min_time=0.005, max_time=0.25, min_repeat=2)


def sweep_tasks(grid: SweepGrid, device: str) -> list[tuple[str, type, tuple]]:
    """(asv name, class, parameter values) of every combination the sweep times."""
    tasks = []
    for name, cls in _benchmark_classes():
        names = list(cls.param_names)
        if "method" in names:
            axis = DISCREPANCY_AXES[name.split(".")[1]]
            values = {"device": (device,), "method": tuple(cls.params[1]), axis: grid.axes[axis]}
        else:
            values = {"device": (device,), "n": (grid.n,), "d": grid.d, "kappa": grid.kappa}
        if "device" not in names and device != "cpu":
            continue
        for combo in itertools.product(*(values[k] for k in names)):
            tasks.append((name, cls, combo))
    return tasks


def measure(fn: Callable[[], object], repeat: int, min_time: float,
            max_time: float = math.inf, min_repeat: int = 1) -> tuple[float, float, float]:
    """Median, 25th and 75th percentiles of the seconds per call of ``fn``.

    After one warm-up call, ``repeat`` samples, each timing enough calls to last ``min_time``;
    no new sample starts once ``max_time`` seconds of samples are spent and ``min_repeat``
    samples are taken (so the quartiles of slow calls are rough, or absent with one sample).
    """
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    number = max(1, math.ceil(min_time / max(first, 1e-9)))
    samples = []
    spent = 0.0
    while len(samples) < repeat and (len(samples) < min_repeat or spent < max_time):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        spent += elapsed
        samples.append(elapsed / number)
    q25, med, q75 = np.percentile(samples, [25, 50, 75])
    return float(med), float(q25), float(q75)


def run_sweep(grid: SweepGrid, device: str, seed: int, progress: bool = True) -> list[Timing]:
    """Time every task of :func:`sweep_tasks` in this process (combinations the suite skips,
    such as a capped peer or CUDA without a GPU, are left out)."""
    from tqdm import tqdm

    from asv_bench.benchmarks import common

    out = []
    tasks = sweep_tasks(grid, device)
    with common.pinned_threads():
        for name, cls, combo in tqdm(tasks, desc="curves sweep", unit="call",
                                     disable=not progress):
            bench = cls(seed=seed)
            try:
                bench.setup(*combo)
            except NotImplementedError:
                continue
            method = getattr(bench, name.split(".")[-1])
            med, lo, hi = measure(lambda m=method, c=combo: m(*c), grid.repeat, grid.min_time,
                                  grid.max_time, grid.min_repeat)
            out.append(Timing(name, tuple(zip(cls.param_names, combo, strict=True)), med, lo, hi))
    return out


# --------------------------------------------------------------------------------------------
# figures and CSV


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


# --------------------------------------------------------------------------------------------
# command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from-asv", type=Path, default=None, metavar="DIR",
                        help="asv results folder (e.g. .asv/results) or one result file; "
                             "without it, run a sweep of the benchmarks here")
    parser.add_argument("--out", type=Path, default=Path("results/curves"),
                        help="output folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sweep grid and fewer repeats (well under a minute)")


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.from_asv is not None:
        try:
            path = newest_result_file(args.from_asv)
            timings = load_asv_results(path)
        except ValueError as exc:
            print(f"sliced-bench curves: error: {exc}", file=sys.stderr)
            return 2
        source = f"asv {path.name[:8]}"
        print(f"read {len(timings)} timings from {path}")
    else:
        grid = QUICK if args.quick else DEFAULT
        start = time.perf_counter()
        timings = run_sweep(grid, args.device, args.seed)
        source = "quick sweep" if args.quick else "sweep"
        print(f"timed {len(timings)} combinations in {time.perf_counter() - start:.0f} s")
    sampling = sampling_points(timings, args.device)
    points = sampling + ratio_points(sampling) + discrepancy_points(timings, args.device)
    if not points:
        print(f"sliced-bench curves: error: no timing for device {args.device!r} to plot",
              file=sys.stderr)
        return 1
    write_csv(points, out / "curves.csv")
    files = draw(points, out, args.device, source)
    if args.from_asv is None:  # the slicing schemes' error curves come from a sweep only
        from asv_bench import slicing_curves

        files += slicing_curves.run(out, args.quick, args.device, args.seed)
    for f in [out / "curves.csv", *files]:
        print(f"wrote {f.name}")
    return 0
