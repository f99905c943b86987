"""Cost of the spherical family relative to SFG on the same number of directions L.

The budget: SSFG with ``n_iter = T`` costs at most ``1.3 (T + 1)`` times SFG. The
timings are interleaved (SFG, then each spherical call, in turn, ``--repeat`` times) and the
median is reported, so that the ratios come from the same moments of a shared machine.

Two modes: ``forward`` (tensors without gradients: the value only) and ``train`` (inputs with
``requires_grad`` and ``.backward()`` on the value, as in a training step).

``--stages`` times instead the parts of one value-only SSFG call, in units of a value-only SFG,
and the total they predict for each T (see :mod:`discrepancies.spherical`): the start's scoring
of L uniform directions, the centred data, the base draws' product, one ascent evaluation with
its gradient and one without, and the final value on fresh draws.

    .venv/bin/python scripts/bench_spherical.py --n 1000 5000 --d 100 --L 500 --T 5 20
    .venv/bin/python scripts/bench_spherical.py --stages --dtype float32 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import torch
from threadpoolctl import threadpool_limits
from timing import interleaved_times

from discrepancies import mssfg, pssfg, sfg, ssfg
from discrepancies import spherical as sph
from discrepancies._directions import random_projections
from discrepancies._slices import fg_per_slice

FUNCTIONS = {"ssfg": ssfg, "pssfg": pssfg, "mssfg": mssfg}


def _timed(fn, X, Y, train: bool, clock, seed: int, **kwargs) -> float:
    if train:
        X, Y = X.detach().requires_grad_(True), Y.detach().requires_grad_(True)
    start = clock()
    value = fn(X, Y, seed=seed, **kwargs)
    if train:
        value.backward()
    return clock() - start


def _clouds(n: int, d: int, dtype: torch.dtype, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The two point clouds every timing uses: standard normal, and scaled and shifted."""
    g = torch.Generator().manual_seed(n)
    X = torch.randn(n, d, generator=g, dtype=dtype).to(device)
    Y = (1.5 * torch.randn(n, d, generator=g, dtype=dtype) + 0.3).to(device)
    return X, Y


def _stage_calls(X: torch.Tensor, Y: torch.Tensor, L: int, Ts: list[int], beta: float = 0.1,
                 p: float = 2.0, kappa: float = 10.0) -> dict[str, callable]:
    """The parts of ``ssfg(X, Y, n_projections=L)`` (value only), each a call on its own, and
    the whole call for each ``n_iter`` in ``Ts``. The parts run on a warm workspace, so the page
    faults a first call pays for its buffers are not in them."""
    g = torch.Generator(X.device).manual_seed(0)
    d = X.shape[1]
    data = sph._Centred.of(X, Y)
    draw = sph._draw_vmf(kappa, L)
    loc = random_projections(d, 1, g, X.dtype, X.device).T
    base = sph._BaseDraws.of(*draw.base_draws(loc, g), data, 1)
    weights = torch.full((L,), 1.0 / L, dtype=X.dtype, device=X.device)

    def evaluation(gradient: bool) -> None:
        _, vjp = sph._placed_fg(loc, base, data, beta, p, need_grad=gradient)
        if gradient:
            vjp(weights)

    calls = {
        "sfg": lambda: sfg(X, Y, n_projections=L, beta=beta, p=p, seed=0),
        "start scoring": lambda: fg_per_slice(X, Y, random_projections(d, L, g, X.dtype,
                                                                        X.device), beta, p),
        "centred data": lambda: sph._Centred.of(X, Y),
        "base draws": lambda: sph._BaseDraws.of(*draw.base_draws(loc, g), data, 1),
        "evaluation + gradient": lambda: evaluation(True),
        "evaluation": lambda: evaluation(False),
        "final value": lambda: fg_per_slice(X, Y, draw(loc, g).T, beta, p),
    }
    for T in Ts:
        calls[f"ssfg T={T}"] = partial(ssfg, X, Y, n_projections=L, beta=beta, p=p, kappa=kappa,
                                       n_iter=T, seed=0)
    return calls


def _print_stages(X: torch.Tensor, Y: torch.Tensor, L: int, Ts: list[int], repeat: int,
                  clock) -> None:
    times = interleaved_times(_stage_calls(X, Y, L, Ts), repeat, warmup=True, clock=clock)
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    unit = ms["sfg"]
    print(f"n={X.shape[0]}: value-only SFG {unit:.1f} ms")
    for name, t in ms.items():
        print(f"  {name:24} {t:9.1f} ms {t / unit:6.2f} SFG")
    # T = 0 keeps the start: no base draws, no evaluation. Otherwise every step is charged a
    # gradient, which a rejected backtracking step skips: the sum is an upper bound of the parts.
    always = ms["start scoring"] + ms["centred data"] + ms["final value"]
    ascent = ms["base draws"] + ms["evaluation"]
    for T in Ts:
        model = always + (ascent + T * ms["evaluation + gradient"] if T else 0.0)
        whole = ms[f"ssfg T={T}"]
        print(f"  T={T}: parts add up to {model / unit:.2f} SFG, the whole call takes "
              f"{whole / unit:.2f} SFG = {whole / ((T + 1) * unit):.2f} (T+1) SFG (budget 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--L", type=int, default=500)
    parser.add_argument("--T", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    parser.add_argument("--mode", choices=["forward", "train"], nargs="+",
                        default=["forward", "train"])
    parser.add_argument("--functions", nargs="+", choices=sorted(FUNCTIONS), default=["ssfg"])
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of torch and of NumPy's BLAS (default: their choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--stages", action="store_true",
                        help="time the parts of a value-only SSFG call instead")
    parser.add_argument("--clock", choices=["process", "wall"], default="process",
                        help="process: CPU time of this process, robust to other processes on "
                             "a shared machine (CPU only); wall: elapsed time (default: "
                             "%(default)s)")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "process" else time.perf_counter
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        # NumPy's BLAS too (the ascent's products run there): its idle threads spin, and that
        # CPU time would count against the process clock
        threadpool_limits(args.threads)
    dtype = getattr(torch, args.dtype)
    print(f"d={args.d} L={args.L} dtype={args.dtype} device={args.device} "
          f"threads={torch.get_num_threads()} repeat={args.repeat} clock={args.clock}")
    if args.stages:
        for n in args.n:
            _print_stages(*_clouds(n, args.d, dtype, args.device), args.L, args.T, args.repeat,
                          clock)
        return
    print(f"{'mode':8} {'n':>6} {'function':8} {'T':>3} {'sfg ms':>9} {'spherical ms':>13} "
          f"{'ratio/(T+1)':>12} {'(of minima)':>12}  budget 1.3 (median)")
    for mode in args.mode:
        train = mode == "train"
        for n in args.n:
            X, Y = _clouds(n, args.d, dtype, args.device)
            calls = [("sfg", 0, partial(_timed, sfg, X, Y, train, clock,
                                         n_projections=args.L))]
            for name in args.functions:
                for T in args.T:
                    calls.append((name, T, partial(_timed, FUNCTIONS[name], X, Y, train, clock,
                                                   n_projections=args.L, n_iter=T)))
            times: dict[tuple[str, int], list[float]] = {(c[0], c[1]): [] for c in calls}
            for _, _, call in calls:  # warm-up
                call(seed=0)
            for r in range(args.repeat):
                for name, T, call in calls:
                    if args.device != "cpu":
                        torch.cuda.synchronize()
                    times[(name, T)].append(call(seed=r + 1))
                    if args.device != "cpu":
                        torch.cuda.synchronize()
            t_sfg = statistics.median(times[("sfg", 0)])
            for name, T, _ in calls[1:]:
                t = statistics.median(times[(name, T)])
                ratio = t / ((T + 1) * t_sfg)
                ratio_min = min(times[(name, T)]) / ((T + 1) * min(times[("sfg", 0)]))
                print(f"{mode:8} {n:>6} {name:8} {T:>3} {1e3 * t_sfg:>9.1f} {1e3 * t:>13.1f} "
                      f"{ratio:>12.2f} {ratio_min:>12.2f}  {'ok' if ratio <= 1.3 else 'OVER'}")


if __name__ == "__main__":
    main()
