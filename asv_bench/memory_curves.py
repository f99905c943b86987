"""Peak memory against n, chunked and unchunked, for ``sliced-bench curves`` (sweep only).

The benchmark of :class:`asv_bench.benchmarks.bench_memory.BoundedMemoryVsN` (SW and SFG,
value and gradient, d = 20, L = 200, float32) run in one fresh process per method and mode,
on n in increasing order: a process's peak resident set size only grows, and each n needs
more than the one before, so the peak read after each call is that call's. Written:
``memory.csv`` and ``memory.png`` / ``memory.svg`` (peak against n, log-log).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
from pathlib import Path

from asv_bench.benchmarks.bench_memory import MODES, BoundedMemoryVsN

QUICK_N = (2000, 8000, 32000)
DEFAULT_N = (10**4, 10**5, 10**6)


def _child(method: str, mode: str, seed: int, ns: list[int]) -> list[int]:
    """Peak resident bytes after each n's call, in this process."""
    peaks = []
    for n in ns:
        bench = BoundedMemoryVsN(seed=seed)
        bench.setup(method, mode, n)
        bench.peakmem_value_and_gradient(method, mode, n)
        del bench
        peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return peaks


def sweep(ns: tuple[int, ...], seed: int) -> list[dict]:
    """Rows (method, mode, n, peak_bytes), one child process per method and mode."""
    rows = []
    for method in BoundedMemoryVsN.params[0]:
        for mode in MODES:
            cmd = [sys.executable, "-m", "asv_bench.memory_curves", method, mode, str(seed),
                   *map(str, ns)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            peaks = json.loads(done.stdout.strip().splitlines()[-1])
            rows += [{"method": method, "mode": mode, "n": n, "peak_bytes": peak}
                     for n, peak in zip(ns, peaks, strict=True)]
    return rows


def run(out: Path, quick: bool, seed: int) -> list[Path]:
    """The sweep, ``memory.csv`` and the figure (called by ``sliced-bench curves``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from asv_bench.figures import save

    rows = sweep(QUICK_N if quick else DEFAULT_N, seed)
    path = out / "memory.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for method in BoundedMemoryVsN.params[0]:
        for mode, style in zip(MODES, ("-o", "--s"), strict=True):
            pts = [r for r in rows if r["method"] == method and r["mode"] == mode]
            ax.plot([r["n"] for r in pts], [r["peak_bytes"] / 2**20 for r in pts], style,
                    label=f"{method} {mode}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (= m), d = 20, L = 200, float32")
    ax.set_ylabel("peak resident memory (MiB), value + gradient")
    ax.set_title("bounded memory: max_memory = 16 MiB per block")
    ax.legend()
    return [path, *save(fig, out, "memory")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("method")
    parser.add_argument("mode")
    parser.add_argument("seed", type=int)
    parser.add_argument("n", type=int, nargs="+")
    a = parser.parse_args()
    print(json.dumps(_child(a.method, a.mode, a.seed, a.n)))
