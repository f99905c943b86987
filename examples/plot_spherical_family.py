"""
SSFG between SFG and max-SFG as the concentration grows
=======================================================

SSFG slices along a von Mises-Fisher law whose location is optimised: kappa = 0 is SFG
(uniform directions) and kappa -> infinity is max-SFG (one best direction), so
SFG <= SSFG <= max-SFG up to estimation error. Two Gaussian clouds that differ along one axis
in d = 10.
"""

import matplotlib.pyplot as plt
import torch

from discrepancies import max_sfg, sfg, ssfg

g = torch.Generator().manual_seed(0)
X = torch.randn(200, 10, generator=g, dtype=torch.float64)
Y = torch.randn(200, 10, generator=g, dtype=torch.float64)
Y[:, 0] = 3 * Y[:, 0] + 1

kappas = [0.0, 1.0, 10.0, 100.0, 1000.0]
values = [float(ssfg(X, Y, kappa=k, seed=0)) for k in kappas]
low, high = float(sfg(X, Y, n_projections=1000, seed=0)), float(max_sfg(X, Y, seed=0))

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot([k if k else 0.1 for k in kappas], values, "o-", label="SSFG")
ax.axhline(low, color="grey", ls="--", label="SFG")
ax.axhline(high, color="black", ls=":", label="max-SFG")
ax.set_xscale("log")
ax.set_xlabel("kappa (kappa = 0 drawn at 0.1)")
ax.set_ylabel("value (no root)")
ax.legend()
fig.tight_layout()
plt.show()
