"""Cost per training epoch of the RAE's optimised regularisers against SFG, cold and with the
warm start of ``sliced-bench rae --warm-start`` (validation/rae/train.py).

Every configuration (SFG, SW, and each optimised registry entry cold and warm) trains the quick
digits model (latent 4, MLP (128, 64), batch 100, the harness's keywords: n_projections 50,
n_iter 10) for ``--epochs`` epochs; the configurations take turns within each of ``--repeats``
rounds (scripts/timing.py), so that a change of load hits them alike. Reported: the median
seconds per epoch (the updates only, as ``TrainResult`` times them) and its ratio to SFG's.

    python scripts/bench_warm_start.py --epochs 2 --repeats 3 --warm-iters 2
"""

from __future__ import annotations

import argparse
import dataclasses
import platform

import numpy as np
import torch
from timing import interleaved_times

import discrepancies
from validation.rae.data import load_digits
from validation.rae.experiment import method_kwargs
from validation.rae.train import TrainConfig, train_rae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warm-iters", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the rae command does for these small networks
    data = load_digits(seed=0).validation
    config = TrainConfig(latent_dim=4, hidden=(128, 64), epochs=args.epochs)
    warm_config = dataclasses.replace(config, warm_iters=args.warm_iters)
    registry = discrepancies.REGISTRY
    runs = {"sfg": (registry["sfg"], config), "sw": (registry["sw"], config)}
    for name, spec in registry.items():
        if spec.optimised:
            runs[name] = (spec, config)
            runs[f"{name} --warm-start"] = (spec, warm_config)
    seconds: dict[str, list[float]] = {name: [] for name in runs}

    def train(name: str):
        fn, cfg = runs[name]
        result = train_rae(data, cfg, fn, method_kwargs(fn), seed=0)
        seconds[name].extend(h["seconds"] for h in result.history)

    interleaved_times({name: (lambda n=name: train(n)) for name in runs}, args.repeats,
                      shuffle_seed=0)
    base = float(np.median(seconds["sfg"]))
    print(f"{platform.node()}: digits, {args.epochs} epochs x {args.repeats} rounds, "
          f"warm start {args.warm_iters} ascent steps per call, 1 torch thread")
    print(f"{'method':<24} {'s/epoch':>8} {'x SFG':>6}")
    for name in runs:
        median = float(np.median(seconds[name]))
        print(f"{name:<24} {median:8.3f} {median / base:6.2f}")


if __name__ == "__main__":
    main()
