"""``sliced-bench curves``: time-vs-dimension figures and their CSV.

Two sources of timings, one set of figures (:mod:`asv_bench.figures`):

- ``--from-asv DIR``: the newest result file of an ``asv run`` (asv 0.6 ``result_columns``
  JSON, e.g. ``.asv/results``; a single result file may be named too), read by
  :mod:`asv_bench.asv_results`;
- otherwise: a sweep of its own (:mod:`asv_bench.sweep`), which calls the asv benchmark
  classes of ``asv_bench/benchmarks`` (the same ``setup`` and timed methods) on a smaller grid
  and records the median and quartiles of repeated timings; it adds the slicing schemes'
  error against L and against time (:mod:`asv_bench.slicing_curves`) and the peak memory
  against n, chunked and unchunked (:mod:`asv_bench.memory_curves`).

Figures (PNG and SVG in ``--out``), every plotted point also in ``curves.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from asv_bench import figures, sweep
from asv_bench.asv_results import load_asv_results, newest_result_file


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
        grid = sweep.QUICK if args.quick else sweep.DEFAULT
        start = time.perf_counter()
        timings = sweep.run_sweep(grid, args.device, args.seed)
        source = "quick sweep" if args.quick else "sweep"
        print(f"timed {len(timings)} combinations in {time.perf_counter() - start:.0f} s")
    points = figures.curve_points(timings, args.device)
    if not points:
        print(f"sliced-bench curves: error: no timing for device {args.device!r} to plot",
              file=sys.stderr)
        return 1
    figures.write_csv(points, out / "curves.csv")
    files = figures.draw(points, out, args.device, source)
    if args.from_asv is None:  # the slicing schemes' error curves come from a sweep only
        from asv_bench import memory_curves, slicing_curves

        files += slicing_curves.run(out, args.quick, args.device, args.seed)
        files += memory_curves.run(out, args.quick, args.seed)
    for f in [out / "curves.csv", *files]:
        print(f"wrote {f.name}")
    return 0
