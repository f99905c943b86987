"""Peak memory and time of SW (value and gradient) along n, in bounded memory (``max_memory``).

Each configuration runs in a fresh process (so that its peak resident set size, read from
``getrusage``, is its own): X, Y standard normal (n, d) and shifted, ``requires_grad``, one
``sw(...).backward()`` untimed to warm up (skipped with ``--repeat 1``), then ``--repeat``
timed calls. Reported per n: the inputs' bytes (X and Y), the resident set after the inputs
were made, the peak, the budget's chunk of directions and the median seconds per call (wall
clock, and CPU time of the process, which a loaded machine inflates less); at the end the
slopes of log(time) against log(n log n) (1: time grows as n log n).

    nice -n 10 .venv/bin/python scripts/bench_memory.py --n 100000 1000000 10000000
    nice -n 10 .venv/bin/python scripts/bench_memory.py --n 100000 1000000 --unchunked
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time

import torch

from discrepancies import sw
from discrepancies._execution import chunk_size


def _rss_bytes() -> int:
    """The resident set size of this process now (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def one(n: int, d: int, L: int, max_memory: int, repeat: int, threads: int) -> dict:
    """One configuration, in this process."""
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g, dtype=torch.float32).requires_grad_(True)
    Y = (1.5 * torch.randn(n, d, generator=g, dtype=torch.float32) + 0.3).requires_grad_(True)
    after_inputs = _rss_bytes()

    def call() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        sw(X, Y, n_projections=L, seed=1, max_memory=max_memory).backward()
        return time.perf_counter() - start, time.process_time() - cpu

    if repeat > 1:
        call()
    times, cpu_times = zip(*(call() for _ in range(repeat)), strict=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    chunk = chunk_size(L, 2 * n, 4, max_memory)
    return {"n": n, "d": d, "L": L, "max_memory": max_memory, "chunk_directions": chunk,
            "chunk_bytes": chunk * 2 * n * 4, "inputs_bytes": 2 * n * d * 4,
            "rss_after_inputs": after_inputs, "peak_rss": peak,
            "seconds": statistics.median(times), "cpu_seconds": statistics.median(cpu_times),
            "times": times, "threads": threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10**5, 10**6, 10**7])
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--L", type=int, default=200)
    parser.add_argument("--max-memory", type=int, default=2**29,
                        help="bytes of one chunk's block of projections (default 512 MiB)")
    parser.add_argument("--unchunked", action="store_true",
                        help="a budget above the whole (L, 2n) block: no chunks")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        budget = 2**62 if args.unchunked else args.max_memory
        print(json.dumps(one(args.n[0], args.d, args.L, budget, args.repeat, args.threads)))
        return
    rows = []
    print(f"{'n':>10} {'inputs':>9} {'rss0':>9} {'peak':>9} {'chunk':>12} {'s/call':>9} "
          f"{'CPU s':>9}")
    for n in args.n:
        repeat = 1 if n >= 10**7 else args.repeat
        cmd = [sys.executable, __file__, "--one", "--n", str(n), "--d", str(args.d), "--L",
               str(args.L), "--max-memory", str(args.max_memory), "--repeat", str(repeat),
               "--threads", str(args.threads)] + (["--unchunked"] if args.unchunked else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:  # its traceback (an allocation failure, say), and stop
            sys.exit(f"n={n} failed (exit status {done.returncode}):\n{done.stderr}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        gib = 2**30
        print(f"{n:>10} {row['inputs_bytes'] / gib:8.2f}G {row['rss_after_inputs'] / gib:8.2f}G "
              f"{row['peak_rss'] / gib:8.2f}G {row['chunk_directions']:>4} dirs "
              f"{row['seconds']:9.2f} {row['cpu_seconds']:9.2f}", flush=True)
    if len(rows) > 1:
        x = [math.log(r["n"] * math.log(r["n"])) for r in rows]
        mx = statistics.fmean(x)
        for key in ("seconds", "cpu_seconds"):
            y = [math.log(r[key]) for r in rows]
            my = statistics.fmean(y)
            slope = (sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
                     / sum((a - mx) ** 2 for a in x))
            print(f"slope of log({key}) against log(n log n): {slope:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
