"""The slicing schemes' convergence figures of ``sliced-bench curves`` (sweep mode).

For SW_2^2 and SFG (beta = 0.1) on the clouds of :mod:`asv_bench.benchmarks.bench_slicing`,
in each d of the grid: the relative RMSE over seeds against the exact limit
(:mod:`validation.exact_slicing`, its standard error subtracted in quadrature as in the
benchmark) and the median seconds per call, for every slicing scheme, our plain Monte Carlo
and POT's ``ot.sliced_wasserstein_distance`` (a peer, SW only), one thread.

Files (in ``--out``):

- ``slicing_error_vs_L`` (PNG, SVG): RMSE against L, log-log, a panel per (quantity, d), a
  line per scheme; the legend gives the empirical slope (least squares of log RMSE on log L;
  Monte Carlo's is -1/2);
- ``slicing_error_vs_time``: the same RMSE against the seconds per call;
- ``slicing.csv``: every point; ``slicing_equal_time.md`` / ``.csv``: each scheme's RMSE
  divided by plain Monte Carlo's at the same seconds per call (Monte Carlo's RMSE-vs-time
  curve interpolated log-log at the scheme's time, at each L of the grid; the table gives the
  median over L), per d: below 1, the scheme is worth its cost.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from asv_bench.benchmarks.bench_slicing import QUANTITIES, relative_rmse
from asv_bench.figures import save
from validation.exact_slicing import sliced_limit
from validation.slicing_checks import POT, clouds, estimators, one_thread


@dataclass(frozen=True)
class SlicingGrid:
    """What the sweep measures."""

    dims: tuple[int, ...]
    Ls: tuple[int, ...]
    n_seeds: int
    n_points: int
    reference_size: int  # directions per replicate of the Monte Carlo limit (d > 3)


QUICK = SlicingGrid(dims=(3, 10), Ls=(8, 32, 128, 512), n_seeds=12, n_points=32,
                    reference_size=1 << 13)
DEFAULT = SlicingGrid(dims=(3, 10, 100, 1000), Ls=(8, 16, 32, 64, 128, 256, 512, 1024),
                      n_seeds=32, n_points=64, reference_size=1 << 15)


@dataclass(frozen=True)
class ErrorPoint:
    """One (quantity, d, scheme, L): relative RMSE and seconds per call."""

    quantity: str
    d: int
    scheme: str
    L: int
    rmse: float
    seconds: float
    reference_rel_se: float


def sweep(grid: SlicingGrid, device: str = "cpu", seed: int = 0,
          progress: bool = True) -> list[ErrorPoint]:
    """Measure every (quantity, d, scheme, L) of ``grid`` (one thread)."""
    from tqdm import tqdm

    tasks = [(q, d) for d in grid.dims for q in QUANTITIES]
    points = []
    with one_thread():
        for name, d in tqdm(tasks, desc="slicing sweep", unit="case", disable=not progress):
            quantity = QUANTITIES[name]
            X, Y = clouds(grid.n_points, d, seed + d, device)
            exact = sliced_limit(lambda P, q=quantity, X=X, Y=Y: q.per_slice(X, Y, P), d,
                                 size=None if d <= 3 else grid.reference_size, seed=seed,
                                 like=X)
            for L in grid.Ls:
                for scheme, fn in estimators(quantity, X, Y, L, mutants=False).items():
                    fn(seed)  # warm-up (first Sobol' table, first QR)
                    values, seconds = _timed(fn, range(seed, seed + grid.n_seeds))
                    points.append(ErrorPoint(
                        name, d, scheme, L, relative_rmse(values, exact.value, exact.error),
                        seconds, exact.error / abs(exact.value)))
    return points


def _timed(fn, seeds: range) -> tuple[np.ndarray, float]:
    """The estimates for every seed and the median seconds per call (robust to the odd call
    slowed down by other work on the machine)."""
    values, seconds = [], []
    for s in seeds:
        start = time.perf_counter()
        values.append(fn(s))
        seconds.append(time.perf_counter() - start)
    return np.array(values), float(np.median(seconds))


def label(scheme: str) -> str:
    return "POT (peer)" if scheme == POT else scheme


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y on log x over the positive points (NaN if fewer than 2)."""
    keep = [(x, y) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(keep) < 2:
        return math.nan
    lx, ly = np.log([k[0] for k in keep]), np.log([k[1] for k in keep])
    return float(np.polyfit(lx, ly, 1)[0])


def equal_time_ratios(points: list[ErrorPoint]) -> list[dict]:
    """Each scheme's RMSE over Monte Carlo's at the same seconds per call, per (quantity, d,
    L): MC's log RMSE interpolated linearly in log seconds (clamped to MC's range, so a scheme
    cheaper or dearer than every MC point is compared with MC's nearest end)."""
    out = []
    for quantity, d in sorted({(p.quantity, p.d) for p in points}):
        case = [p for p in points if p.quantity == quantity and p.d == d]
        mc = sorted((p for p in case if p.scheme == "mc"), key=lambda p: p.seconds)
        lt = np.log([p.seconds for p in mc])
        le = np.log([max(p.rmse, 1e-300) for p in mc])
        for p in case:
            if p.scheme == "mc" or p.rmse <= 0:
                continue
            mc_at = math.exp(float(np.interp(math.log(p.seconds), lt, le)))
            out.append({"quantity": quantity, "d": d, "scheme": p.scheme, "L": p.L,
                        "seconds": p.seconds, "rmse": p.rmse, "mc_rmse_same_time": mc_at,
                        "ratio": p.rmse / mc_at})
    return out


def equal_time_table(ratios: list[dict], command: str) -> str:
    """Markdown: the median over L of the equal-time ratio, a row per (quantity, scheme), a
    column per d."""
    dims = sorted({r["d"] for r in ratios})
    rows = sorted({(r["quantity"], r["scheme"]) for r in ratios})
    lines = [f"Median over L of RMSE / RMSE(Monte Carlo) at equal seconds per call "
             f"(below 1: better than plain Monte Carlo for the same time). `{command}`", "",
             "| quantity | scheme | " + " | ".join(f"d = {d}" for d in dims) + " |",
             "|---|---|" + "---|" * len(dims)]
    for quantity, scheme in rows:
        cells = []
        for d in dims:
            values = [r["ratio"] for r in ratios
                      if (r["quantity"], r["scheme"], r["d"]) == (quantity, scheme, d)]
            cells.append(f"{np.median(values):.2f}" if values else "-")
        lines.append(f"| {quantity} | {label(scheme)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def draw(points: list[ErrorPoint], out: Path, source: str) -> list[Path]:
    """The two figures (PNG and SVG); return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    quantities = [q for q in QUANTITIES if any(p.quantity == q for p in points)]
    dims = sorted({p.d for p in points})
    schemes = list(dict.fromkeys(p.scheme for p in points))
    colours = plt.get_cmap("tab10").colors
    styles = {s: {"color": colours[i % 10], "marker": "os^vD*"[i % 6],
                  "linestyle": "--" if s == POT else "-"} for i, s in enumerate(schemes)}
    written = []
    for name, x_of, xlabel in (("slicing_error_vs_L", lambda p: p.L, "number of directions L"),
                               ("slicing_error_vs_time", lambda p: p.seconds,
                                "seconds per call (one thread)")):
        fig, axes = plt.subplots(len(quantities), len(dims), squeeze=False,
                                 figsize=(3.9 * len(dims), 3.4 * len(quantities)))
        for row, quantity in enumerate(quantities):
            for col, d in enumerate(dims):
                ax = axes[row, col]
                for scheme in schemes:
                    pts = sorted((p for p in points if (p.quantity, p.d, p.scheme)
                                  == (quantity, d, scheme) and p.rmse > 0), key=lambda p: p.L)
                    if not pts:
                        continue
                    xs, ys = [x_of(p) for p in pts], [p.rmse for p in pts]
                    ax.plot(xs, ys, markersize=4, linewidth=1.3, **styles[scheme],
                            label=f"{label(scheme)} ({slope(xs, ys):+.2f})")
                floor = max(p.reference_rel_se for p in points
                            if (p.quantity, p.d) == (quantity, d))
                ax.axhline(floor, color="grey", linewidth=0.8, linestyle=":")
                ax.set(xscale="log", yscale="log", title=f"{QUANTITIES[quantity].name}, d = {d}")
                ax.xaxis.set_minor_formatter(NullFormatter())  # crowded on narrow ranges
                ax.grid(True, which="major", alpha=0.3)
                ax.legend(fontsize=7, title="scheme (slope)", title_fontsize=7, frameon=False)
                if row == len(quantities) - 1:
                    ax.set_xlabel(xlabel)
                if col == 0:
                    ax.set_ylabel("relative RMSE")
        fig.suptitle(f"Slicing schemes: error against the exact limit ({source}; dotted: the "
                     f"limit's standard error)", fontsize=10)
        fig.tight_layout()
        written += save(fig, out, name)
    return written


def write(points: list[ErrorPoint], out: Path, command: str) -> list[Path]:
    """``slicing.csv``, ``slicing_equal_time.csv`` and ``slicing_equal_time.md``."""
    path = out / "slicing.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(ErrorPoint.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(p) for p in points)
    ratios = equal_time_ratios(points)
    ratio_path = out / "slicing_equal_time.csv"
    with ratio_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(ratios[0]) if ratios else ["ratio"])
        writer.writeheader()
        writer.writerows(ratios)
    table = out / "slicing_equal_time.md"
    table.write_text(equal_time_table(ratios, command))
    return [path, ratio_path, table]


def run(out: Path, quick: bool, device: str, seed: int) -> list[Path]:
    """The sweep, its files and figures (called by ``sliced-bench curves``)."""
    grid = QUICK if quick else DEFAULT
    start = time.perf_counter()
    points = sweep(grid, device, seed)
    print(f"slicing sweep: {len(points)} points in {time.perf_counter() - start:.0f} s")
    command = f"sliced-bench curves{' --quick' if quick else ''} --seed {seed}"
    return write(points, out, command) + draw(points, out, "quick sweep" if quick else "sweep")
