"""Benchmark of the RAE protocol's engine: ``--jobs 2`` against ``--jobs 1``, and the cost of
rerunning a completed protocol (every task loaded from the cache).

Runs ``sliced-bench rae --data digits`` (plus any extra arguments) in fresh output folders,
first with ``--jobs 1``, then with ``--jobs 2``, then reruns the ``--jobs 2`` command in its
folder, each as a subprocess timed by wall clock, and prints the two ratios with the load
average around each run (timings on a shared machine are only comparable within one run of
this script).

Usage::

    python scripts/bench_protocol.py                      # the digits protocol at its defaults
    python scripts/bench_protocol.py --epochs 3 --trials 3 --selection-seeds 1 --seeds 3
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "sliced-bench"


def _timed(args: list[str]) -> dict:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run([str(BIN), "rae", *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"sliced-bench rae {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return {"args": args, "seconds": seconds, "load_before": load,
            "load_after": os.getloadavg()[0]}


def main(extra: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_protocol_") as tmp:
        common = ["--data", "digits", *extra]
        one = _timed([*common, "--jobs", "1", "--out", f"{tmp}/jobs1"])
        two = _timed([*common, "--jobs", "2", "--out", f"{tmp}/jobs2"])
        rerun = _timed([*common, "--jobs", "2", "--out", f"{tmp}/jobs2"])
    result = {"cores": os.cpu_count(), "jobs1": one, "jobs2": two, "rerun": rerun,
              "speedup_jobs2": one["seconds"] / two["seconds"],
              "rerun_fraction": rerun["seconds"] / two["seconds"]}
    print(json.dumps(result, indent=1))
    print(f"\n--jobs 2 vs --jobs 1: {result['speedup_jobs2']:.2f}x faster "
          f"({one['seconds']:.0f} s -> {two['seconds']:.0f} s); rerun of the completed "
          f"protocol: {rerun['seconds']:.1f} s = {100 * result['rerun_fraction']:.1f}% of the "
          f"first run; load average {one['load_before']:.1f} .. {rerun['load_after']:.1f} on "
          f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main(sys.argv[1:])
