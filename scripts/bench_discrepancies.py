"""Speed and memory of the discrepancies, as ratios against peers measured in the same run.

    .venv/bin/python scripts/bench_discrepancies.py [--repeats 5] [--quick]

1. SW, n = m = 10^4, d = 100, L = 1000, float64, CPU: ``discrepancies.sw`` (NumPy in, and
   torch with a backward pass) against POT's ``ot.sliced_wasserstein_distance`` and a plain
   matmul + ``torch.sort`` implementation, on the same directions. Median of the repeats.
2. SFG, n = 5000, L = 500: peak resident memory of one forward + backward pass, measured in a
   fresh subprocess (Linux ``VmHWM`` after resetting it), next to the size of one (L, n) and
   one (n, n) float64 tensor; and at n = 2500 to show the linear growth.
3. FG forward + backward with respect to the directions (one ascent step of the spherical
   family) against the SFG forward pass on the same L.
4. The POT drop-in: ``discrepancies.pot``'s ``sliced_wasserstein_distance`` and
   ``max_sliced_wasserstein_distance`` against POT's, the same call (``seed=0``, so the same
   directions, drawn inside the timed call), n = 5000, d = 50, L = 500: NumPy (uniform,
   weighted, and m = n / 2 points in Y), and torch float64 with a backward pass.
The machine may be shared: the functions take turns within each repeat, and the result is the
median over repeats of the per-repeat ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from functools import partial

import numpy as np
import ot
import torch
from timing import interleaved_times

from discrepancies import pot, sfg, sw
from discrepancies._slices import fg_per_slice


def _median_ratio(num: list[float], den: list[float]) -> float:
    """Median over repeats of the per-repeat ratio (same load in numerator and denominator)."""
    return statistics.median(a / b for a, b in zip(num, den, strict=True))


def _plain_torch_sw(X: torch.Tensor, Y: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    U = torch.sort(X @ P, dim=0).values
    V = torch.sort(Y @ P, dim=0).values
    return ((U - V) ** 2).mean() ** 0.5


def bench_sw(n: int, d: int, L: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((n, d)) + 0.5
    P = rng.standard_normal((d, L))
    P /= np.linalg.norm(P, axis=0)
    Xt, Yt, Pt = (torch.from_numpy(a) for a in (X, Y, P))

    def ours_grad():
        Xg = Xt.clone().requires_grad_(True)
        sw(Xg, Yt, projections=Pt).backward()

    times = interleaved_times({
        "pot": lambda: ot.sliced_wasserstein_distance(X, Y, projections=P),
        "plain_torch_sort": lambda: _plain_torch_sw(Xt, Yt, Pt),
        "ours_numpy": lambda: sw(X, Y, projections=P),
        "ours_torch_forward_backward": ours_grad,
    }, repeats)
    ref = ot.sliced_wasserstein_distance(X, Y, projections=P)
    return {"n": n, "d": d, "L": L,
            "median_seconds": {k: statistics.median(v) for k, v in times.items()},
            "speedup_vs_pot": _median_ratio(times["pot"], times["ours_numpy"]),
            "speedup_vs_plain_torch_sort": _median_ratio(times["plain_torch_sort"],
                                                         times["ours_numpy"]),
            "speedup_vs_pot_with_backward": _median_ratio(times["pot"],
                                                          times["ours_torch_forward_backward"]),
            "relative_difference_vs_pot": abs(sw(X, Y, projections=P) - ref) / ref}


_MEMORY_CHILD = """
import re, sys, torch
from discrepancies._slices import fg_per_slice
def status_kb(key):
    return int(re.search(key + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
n, d, L = (int(a) for a in sys.argv[1:4])
g = torch.Generator().manual_seed(0)
X = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
Y = torch.randn(n, d, generator=g, dtype=torch.float64)
P = torch.randn(d, L, generator=g, dtype=torch.float64)
P = (P / P.norm(dim=0)).requires_grad_(True)
fg_per_slice(X[:10], Y[:10], P[:, :2], 0.1, 2.0).sum().backward()  # warm up BLAS and autograd
X.grad = P.grad = None
before = status_kb("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
fg_per_slice(X, Y, P, 0.1, 2.0).mean().backward()
print((status_kb("VmHWM") - before) * 1024)
"""


def bench_sfg_memory(n: int, d: int, L: int) -> dict:
    def peak(n_points: int) -> int:
        # A fixed mmap threshold makes glibc return every freed large buffer to the system, so
        # the peak resident size measures live tensors, not the allocator's retained heap.
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(n_points), str(d), str(L)],
                             capture_output=True, text=True, check=True, env=env)
        return int(out.stdout.strip())

    full, half = peak(n), peak(n // 2)
    return {"n": n, "d": d, "L": L, "peak_bytes": full, "peak_bytes_half_n": half,
            "peak_over_nL_float64": full / (8 * n * L),
            "one_nxn_float64_bytes": 8 * n * n, "growth_n_to_2n": full / max(half, 1)}


def bench_fg_step(n: int, d: int, L: int, repeats: int) -> dict:
    g = torch.Generator().manual_seed(1)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Y = torch.randn(n, d, generator=g, dtype=torch.float64) + 0.5
    P = torch.randn(d, L, generator=g, dtype=torch.float64)
    P /= P.norm(dim=0)

    def step():
        Pg = P.clone().requires_grad_(True)
        fg_per_slice(X, Y, Pg, 0.1, 2.0).mean().backward()

    def value_with_grad_to_x():
        sfg(X.clone().requires_grad_(True), Y, projections=P).backward()

    times = interleaved_times({"sfg_forward": lambda: sfg(X, Y, projections=P),
                                "sfg_forward_backward_x": value_with_grad_to_x,
                                "fg_step_forward_backward_projections": step}, repeats)
    return {"n": n, "d": d, "L": L,
            "median_seconds": {k: statistics.median(v) for k, v in times.items()},
            "step_over_sfg_forward": _median_ratio(times["fg_step_forward_backward_projections"],
                                                   times["sfg_forward"]),
            "step_over_sfg_forward_backward": _median_ratio(
                times["fg_step_forward_backward_projections"], times["sfg_forward_backward_x"])}


def bench_pot_dropin(n: int, d: int, L: int, repeats: int) -> dict:
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((n, d)) + 0.5
    a, b = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    cases = {
        "numpy": lambda fn: fn(X, Y, n_projections=L, seed=0),
        "numpy_weighted": lambda fn: fn(X, Y, a, b, L, seed=0),
        "numpy_m_is_n_over_2": lambda fn: fn(X, Y[: n // 2], n_projections=L, seed=0),
        "torch_backward": lambda fn: fn(Xt.clone().requires_grad_(True), Yt, n_projections=L,
                                        seed=0).backward(),
    }
    seconds, speedups = {}, {}
    for name in ("sliced_wasserstein_distance", "max_sliced_wasserstein_distance"):
        for case, call in cases.items():
            # one case at a time, POT and ours taking turns: no other call's threads or freed
            # buffers in between
            times = interleaved_times({lib: partial(call, getattr(module, name))
                                       for lib, module in (("pot", ot), ("ours", pot))}, repeats)
            key = f"{name}/{case}"
            seconds[key] = {lib: statistics.median(t) for lib, t in times.items()}
            speedups[key] = _median_ratio(times["pot"], times["ours"])
    return {"n": n, "d": d, "L": L, "median_seconds": seconds, "speedup_vs_pot": speedups}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    report = {
        "torch_threads": torch.get_num_threads(), "numpy": np.__version__,
        "torch": torch.__version__, "pot": ot.__version__,
        "sw": bench_sw(10_000 // scale, 100, 1000 // scale, args.repeats),
        "sfg_memory": bench_sfg_memory(5000 // scale, 100, 500 // scale),
        "fg_step": bench_fg_step(5000 // scale, 100, 500 // scale, args.repeats),
        "pot_dropin": bench_pot_dropin(5000 // scale, 50, 500 // scale, args.repeats),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
