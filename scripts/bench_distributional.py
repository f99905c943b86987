"""Cost of one DSW / DSFG call (value and backward pass, defaults: 10 Adam steps) against SW /
SFG on the same L, as the median over repeats of the per-repeat ratio (the calls take turns
within each repeat: the machine may be shared).

    .venv/bin/python scripts/bench_distributional.py [--repeats 7]

Sizes: the RAE's (n = 100, d = 8, L = 50, float32) and the asv base point (n = 512, d = 32,
L = 128, float32).
"""

from __future__ import annotations

import argparse
import statistics

import torch
from timing import interleaved_times

from discrepancies import dsfg, dsw, sfg, sw


def _call(fn, X: torch.Tensor, Y: torch.Tensor, L: int):
    def run() -> None:
        Xg = X.clone().requires_grad_(True)
        fn(Xg, Y, n_projections=L, seed=0).backward()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    for n, d, L in ((100, 8, 50), (512, 32, 128)):
        X, Y = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g) * 1.5 + 0.3
        times = interleaved_times({f.__name__: _call(f, X, Y, L) for f in (sw, dsw, sfg, dsfg)},
                                  args.repeats, warmup=True, shuffle_seed=0)
        ratio = {pair: statistics.median(a / b for a, b in zip(times[pair[0]], times[pair[1]],
                                                                  strict=True))
                 for pair in (("dsw", "sw"), ("dsfg", "sfg"))}
        print(f"n={n} d={d} L={L}: dsw / sw {ratio[('dsw', 'sw')]:.1f}, "
              f"dsfg / sfg {ratio[('dsfg', 'sfg')]:.1f} (value + backward, median of "
              f"{args.repeats} per-repeat ratios)")


if __name__ == "__main__":
    main()
