"""Shared pieces of the asv suite: devices, thread pinning, cached inputs, CUDA timing.

asv-runner 0.3 runs ``setup`` again before every timed call, so ``setup`` methods only look
inputs up here: each input is built once per process (``functools.lru_cache``) from a fixed
seed, so every benchmark and every commit sees the same numbers.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator

import numpy as np
import torch

from validation.threads import torch_threads

#: Threads used by torch on CPU. One thread gives the most stable figures on a shared machine;
#: the speed of a multi-threaded kernel is not what the suite tracks.
NUM_THREADS = 1
if os.environ.get("ASV") == "true":  # asv's benchmark processes (see __init__.py)
    torch.set_num_threads(NUM_THREADS)


@contextlib.contextmanager
def pinned_threads() -> Iterator[None]:
    """Run torch on ``NUM_THREADS`` threads inside the block, as under asv, then restore."""
    with torch_threads(NUM_THREADS):
        yield

#: ``cpu`` always; ``cuda`` is skipped (asv's NotImplementedError) where there is no GPU.
DEVICES = ["cpu", "cuda"]

#: Set to 1 (CI) to time only the two ends of every numeric axis: each benchmark, skip path and
#: peer still runs, in a minute or two instead of the full grid's half hour of ``--quick``.
SMOKE = os.environ.get("SLICED_BENCH_ASV_SMOKE", "0") == "1"


def numeric_grid(values: list) -> list:
    """``values``, or only its first and last under ``SLICED_BENCH_ASV_SMOKE=1``."""
    return [values[0], values[-1]] if SMOKE and len(values) > 2 else list(values)


#: The per-benchmark timeout (seconds) of the heaviest parameter grids.
LONG_TIMEOUT = 600


class Seeded:
    """A benchmark whose inputs and draws all derive from the base seed ``seed``.

    asv builds every benchmark with no argument, so the base seed is 0 there; the sweep of
    ``sliced-bench curves`` passes its ``--seed``.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)


def require_device(device: str) -> torch.device:
    """Return ``torch.device(device)``, or raise NotImplementedError (asv: skipped) if absent."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise NotImplementedError(f"device {device!r}: CUDA is not available")
    return torch.device(device)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued kernels, so a timed call measures the work, not the launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def generator(device: torch.device, seed: int) -> torch.Generator:
    """A fresh generator on ``device`` seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(seed)


def unit_vector(d: int, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The location used by every sampler benchmark: (1, ..., 1) / sqrt(d)."""
    return torch.full((d,), 1.0 / np.sqrt(d), dtype=dtype, device=device)


@functools.lru_cache(maxsize=8)
def point_clouds(n: int, d: int, device: str, base: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two float32 point clouds of shape (n, d): X ~ N(0, I) and Y ~ N(1, 2 I), drawn from the
    base seed ``base`` (built once per process)."""
    g = torch.Generator().manual_seed(base + 7919 * n + d)
    X = torch.randn(n, d, generator=g)
    Y = 1.0 + 2.0 * torch.randn(n, d, generator=g)
    return X.to(device), Y.to(device)
