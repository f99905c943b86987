"""Interleaved timing shared by the benchmark scripts of this folder."""

from __future__ import annotations

import random
import time
from collections.abc import Callable


def interleaved_times(fns: dict[str, Callable[[], object]], repeats: int, *,
                      sync: Callable[[], None] = lambda: None, shuffle_seed: int | None = None,
                      warmup: bool = False,
                      clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Seconds of each call of each function, the functions taking turns within every repeat so
    that a change of load on a shared machine hits all of them alike.

    ``sync`` runs before and after each timed call (a CUDA synchronisation, say);
    ``shuffle_seed`` draws a new order per repeat (so that no peer always runs right after
    another one's cache and thread wake-ups); ``warmup`` calls each function once untimed;
    ``clock`` reads the time (``time.process_time``: CPU time of this process).
    """
    if warmup:
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    order = None if shuffle_seed is None else random.Random(shuffle_seed)
    for _ in range(repeats):
        if order is not None:
            order.shuffle(names)
        for name in names:
            sync()
            start = clock()
            fns[name]()
            sync()
            times[name].append(clock() - start)
    return times
