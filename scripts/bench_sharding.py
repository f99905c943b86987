"""Strong scaling of the sharded discrepancies: 1 process against W ranks, one thread each.

SW and SFG (value and gradient: ``.backward()`` on the value) on the same problem, X, Y
standard normal (n, d) float32 and shifted, L directions, no chunking (a budget above every
block, so that both runs do the same work). The single process calls with ``group=None``; the
W ranks (gloo, ``file://`` rendezvous, :func:`validation.sharding.spawn_ranks`) with the
default group, each evaluating L / W slices. Calls are interleaved (SW, SFG, ``--repeat``
times) after one untimed warm-up of each; reported: the median wall-clock seconds per call
(the slowest rank's) and the speed-up (single / sharded); and the CPU seconds of the single
process against the busiest rank's, whose ratio is the speed-up on idle cores (on a machine
that other work loads, the wall-clock one mostly measures the load).

    nice -n 10 .venv/bin/python scripts/bench_sharding.py --n 100000 --d 100 --L 2000

Under ``torchrun`` (``torchrun --nproc-per-node 2 scripts/bench_sharding.py``) it times the
sharded calls of the ranks torchrun started instead (the environment's rendezvous, gloo).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from functools import partial

import torch
import torch.distributed as dist

from discrepancies import sfg, sw
from validation.sharding import spawn_ranks

FUNCTIONS = {"sw": sw, "sfg": sfg}


def _times(rank: int, world: int, n: int, d: int, L: int, repeat: int) -> dict:
    """Seconds (wall, CPU) of each call on this rank; ``group=None`` when alone."""
    group = dist.group.WORLD if world > 1 else None
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g).requires_grad_(True)
    Y = (1.5 * torch.randn(n, d, generator=g) + 0.3).requires_grad_(True)
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in FUNCTIONS}
    for i in range(repeat + 1):
        for name, fn in FUNCTIONS.items():
            if group is not None:
                dist.barrier(group)
            wall, cpu = time.perf_counter(), time.process_time()
            fn(X, Y, n_projections=L, seed=i, max_memory=2**62, group=group).backward()
            if i:  # the first round warms up
                out[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return out


def _summary(per_rank: list[dict], name: str) -> tuple[float, float, float]:
    """Medians over the calls of the slowest rank's wall seconds, of the busiest rank's CPU
    seconds and of the ranks' CPU seconds summed."""
    calls = len(per_rank[0][name])
    wall = [max(r[name][i][0] for r in per_rank) for i in range(calls)]
    busiest = [max(r[name][i][1] for r in per_rank) for i in range(calls)]
    cpu = [sum(r[name][i][1] for r in per_rank) for i in range(calls)]
    return statistics.median(wall), statistics.median(busiest), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**5)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--L", type=int, default=2000)
    parser.add_argument("--world", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = partial(_times, n=args.n, d=args.d, L=args.L, repeat=args.repeat)
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # started by torchrun
        torch.set_num_threads(1)
        dist.init_process_group("gloo")
        try:
            rank, world = dist.get_rank(), dist.get_world_size()
            mine = work(rank, world)
            everyone = [None] * world
            dist.all_gather_object(everyone, mine)
            if rank == 0:
                for name in FUNCTIONS:
                    wall, _, cpu = _summary(everyone, name)
                    print(f"{name}: {world} ranks {wall:.2f} s per call, {cpu:.2f} CPU s")
        finally:
            dist.destroy_process_group()
        return
    single = spawn_ranks(work, world=1)
    sharded = spawn_ranks(work, world=args.world)
    print(f"n={args.n} d={args.d} L={args.L}, value and gradient, one thread per process, "
          f"median of {args.repeat}")
    for name in FUNCTIONS:
        (w1, c1, _), (w2, b2, c2) = _summary(single, name), _summary(sharded, name)
        print(f"{name}: wall 1 process {w1:.2f} s, {args.world} ranks {w2:.2f} s: speed-up "
              f"{w1 / w2:.2f}x; CPU 1 process {c1:.2f} s, busiest rank {b2:.2f} s (all ranks "
              f"{c2:.2f} s): CPU speed-up {c1 / b2:.2f}x")


if __name__ == "__main__":
    main()
