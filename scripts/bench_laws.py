"""Cost of every registry entry that is not a plain uniform average, relative to SW / SFG at
the same L.

Every entry whose slicing law is not ``"uniform"`` (or those of ``--laws``) is timed against
its uniform peer (SFG for the fused ones, SW otherwise) on the same clouds and the same number
L of directions, at its defaults. The calls are interleaved (each repeat runs every function
once, in a shuffled order) and the median ratio of the per-call CPU times is reported, so that
the ratios come from the same moments of a shared machine. Two modes: ``forward`` (the value
only) and ``train`` (inputs with ``requires_grad`` and ``.backward()`` on the value, the
reading that matters for a regulariser).

    .venv/bin/python scripts/bench_laws.py --n 500 --d 50 --L 100 --repeat 30
    .venv/bin/python scripts/bench_laws.py --laws energy
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from threadpoolctl import threadpool_limits
from timing import interleaved_times

from discrepancies import REGISTRY, sfg, sw
from discrepancies.registry import SLICING_LAWS


def _call(fn, X: torch.Tensor, Y: torch.Tensor, L: int, train: bool):
    def run() -> None:
        Xc, Yc = (X.detach().requires_grad_(True), Y.detach().requires_grad_(True)) if train \
            else (X, Y)
        value = fn(Xc, Yc, n_projections=L, seed=0)
        if train:
            value.backward()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--d", type=int, default=50)
    parser.add_argument("--L", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--laws", nargs="+", choices=sorted(SLICING_LAWS), default=None,
                        help="slicing laws to time (default: every law but uniform)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(args.n, args.d, generator=g, dtype=torch.float64)
    Y = torch.randn(args.n, args.d, generator=g, dtype=torch.float64) * 1.5 + 0.3
    laws = args.laws or [law for law in SLICING_LAWS if law != "uniform"]
    entries = {name: spec for name, spec in REGISTRY.items() if spec.slicing_law in laws}
    print(f"n={args.n} d={args.d} L={args.L} float64, {args.threads} thread(s), "
          f"median of {args.repeat} interleaved repeats (CPU time)")
    print("| entry | peer | forward ratio | train ratio |")
    print("|---|---|---|---|")
    with threadpool_limits(args.threads):
        for name, spec in entries.items():
            peer_name, peer = ("sfg", sfg) if spec.fused else ("sw", sw)
            ratios = []
            for train in (False, True):
                times = interleaved_times(
                    {"peer": _call(peer, X, Y, args.L, train),
                     "entry": _call(spec, X, Y, args.L, train)},
                    args.repeat, shuffle_seed=1, warmup=True, clock=time.process_time)
                ratios.append(statistics.median(e / p for e, p in zip(
                    times["entry"], times["peer"], strict=True)))
            print(f"| {name} | {peer_name} | {ratios[0]:.2f} | {ratios[1]:.2f} |")


if __name__ == "__main__":
    main()
