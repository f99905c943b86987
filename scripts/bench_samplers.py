"""Speed of the samplers on the sphere against SciPy and the power-spherical package.

Times n draws (default 1000) per call, median of ``--repeat`` calls, all peers interleaved in the
same run so that the ratios are meaningful on a shared machine. Prints a Markdown table.

    .venv/bin/python scripts/bench_samplers.py [--n 1000] [--repeat 15] [--device cpu]

Targets: vMF(d=1000, kappa=100) >= 50x faster than scipy.stats.vonmises_fisher;
vMF within 1.5x of our power spherical for d >= 100; our power spherical no slower than the
power-spherical package for d in {10, 100, 1000}.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import power_spherical
import scipy.stats
import torch
from threadpoolctl import threadpool_limits
from timing import interleaved_times

from samplers import PowerSpherical, VonMisesFisher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--kappa", type=float, default=100.0)
    parser.add_argument("--dims", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--scipy-max-d", type=int, default=1000,
                        help="skip scipy above this d (its sampler builds a d x d rotation)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch and BLAS threads (default 1: on a loaded shared machine, "
                             "multi-thread barriers and spinning BLAS workers add stalls that "
                             "drown the samplers' own cost)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    g = torch.Generator(device=device).manual_seed(0)
    rng = np.random.default_rng(0)
    shape = (args.n,)
    print(f"n = {args.n} draws per call, kappa = {args.kappa}, median of {args.repeat}, "
          f"device {device}, torch threads {torch.get_num_threads()}")
    print("| d | ours vMF (ms) | ours PS (ms) | power-spherical pkg (ms) | scipy vMF (ms) "
          "| vMF / ours PS | ours PS / pkg PS | scipy / ours vMF |")
    print("|---|---|---|---|---|---|---|---|")
    for d in args.dims:
        loc = torch.zeros(d, device=device)
        loc[0] = 1.0
        kappa = torch.tensor(args.kappa, device=device)
        vmf = VonMisesFisher(loc, kappa)
        ps = PowerSpherical(loc, kappa)
        pkg = power_spherical.PowerSpherical(loc, kappa)
        fns = {
            "vmf": lambda vmf=vmf: vmf.rsample(shape, generator=g),
            "ps": lambda ps=ps: ps.rsample(shape, generator=g),
            "pkg": lambda pkg=pkg: pkg.rsample(shape),
        }
        if d <= args.scipy_max_d:
            sp = scipy.stats.vonmises_fisher(loc.cpu().double().numpy(), args.kappa)
            fns["scipy"] = lambda sp=sp: sp.rvs(args.n, random_state=rng)
        t = {name: statistics.median(times) for name, times in interleaved_times(
            fns, args.repeat, sync=sync, shuffle_seed=0, warmup=True).items()}
        t_vmf, t_ps, t_pkg = t["vmf"], t["ps"], t["pkg"]
        if "scipy" in t:
            sp_cols = f"{1e3 * t['scipy']:.2f} | ", f"{t['scipy'] / t_vmf:.1f}x"
        else:
            sp_cols = "skipped | ", "-"
        print(f"| {d} | {1e3 * t_vmf:.2f} | {1e3 * t_ps:.2f} | {1e3 * t_pkg:.2f} | {sp_cols[0]}"
              f"{t_vmf / t_ps:.2f} | {t_ps / t_pkg:.2f} | {sp_cols[1]} |")


if __name__ == "__main__":
    main()
