"""torch's intra-op thread count, set for a block and restored after.

The benchmarks, the validation's many small calls and the RAE tasks each pin torch's threads:
a benchmark so that its timings are comparable, tiny calls because a thread pool only adds
overhead, a training because its rounding depends on the thread count.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` inside the block, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
