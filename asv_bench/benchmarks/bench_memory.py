"""Peak memory of SW and SFG (value and gradient) along n, in bounded memory and without.

``peakmem_value_and_gradient`` runs one ``fn(X, Y, n_projections=200, max_memory=...)`` and
its backward pass at d = 20 in float32 (the setting of ``scripts/bench_memory.py``):
``chunked`` with a budget of :data:`BUDGET` bytes for a block of projections (chunks recomputed
in the backward pass), ``unchunked`` with a budget above every block. The unchunked peak grows
as L (n + m); the chunked one as the inputs, plus one chunk. Under
``SLICED_BENCH_ASV_SMOKE=1`` only two small n run (the suite's smoke check).
"""

# asv reads params/param_names as plain class-level lists.
# ruff: noqa: RUF012

from __future__ import annotations

from discrepancies import REGISTRY

from .common import LONG_TIMEOUT, SMOKE, Seeded, point_clouds

#: Bytes of one chunk's block of projections in the ``chunked`` runs: 2 directions at n = 10^6.
BUDGET = 2**24
D, L = 20, 200
MODES = {"chunked": BUDGET, "unchunked": 2**62}
N_GRID = [1000, 10000] if SMOKE else [10**4, 10**5, 10**6]


class BoundedMemoryVsN(Seeded):
    """Peak resident memory of one value-and-gradient call, chunked and unchunked (CPU)."""

    params = [["sw", "sfg"], list(MODES), N_GRID]
    param_names = ["method", "mode", "n"]
    timeout = LONG_TIMEOUT

    def setup(self, method: str, mode: str, n: int) -> None:
        X, Y = point_clouds(n, D, "cpu", self.seed)
        self.X, self.Y = X.detach().requires_grad_(True), Y.detach().requires_grad_(True)
        self.fn = REGISTRY[method]

    def peakmem_value_and_gradient(self, method: str, mode: str, n: int) -> None:
        self.fn(self.X, self.Y, n_projections=L, seed=self.seed,
                max_memory=MODES[mode]).backward()
