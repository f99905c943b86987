"""
SW against POT, and how the estimate settles with the number of directions
==========================================================================

``discrepancies.sw`` and POT's ``ot.sliced_wasserstein_distance`` give the same value on the
same directions (both return the p-th root, POT's convention). With random directions the
estimate is a Monte Carlo mean, so its spread shrinks like ``L ** -0.5``; the plot shows ten
seeds per number of directions ``L``.
"""

import matplotlib.pyplot as plt
import numpy as np
import ot

from discrepancies import sw

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 5))
Y = rng.normal(size=(300, 5)) + np.array([1.0, 0, 0, 0, 0])

# the same directions for both: (d, L) unit columns, POT's layout
theta = rng.normal(size=(5, 200))
theta /= np.linalg.norm(theta, axis=0)
ours = sw(X, Y, projections=theta)
pot = ot.sliced_wasserstein_distance(X, Y, projections=theta)
print(f"sw = {ours:.12f}, POT = {pot:.12f}, relative difference {abs(ours - pot) / pot:.1e}")

Ls = [4, 16, 64, 256, 1024]
values = np.array([[sw(X, Y, n_projections=L, seed=s) for s in range(10)] for L in Ls])
fig, ax = plt.subplots(figsize=(5, 3.2))
for L, v in zip(Ls, values, strict=True):
    ax.plot([L] * len(v), v, "o", color="tab:blue", alpha=0.5)
ax.set_xscale("log")
ax.set_xlabel("number of directions L")
ax.set_ylabel("SW_2 estimate")
ax.set_title("ten seeds per L")
fig.tight_layout()
plt.show()
