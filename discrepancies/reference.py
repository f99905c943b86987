r"""NumPy float64 oracle for the sliced discrepancies, written straight from the definitions.

Slow on purpose: one Python loop per direction, the structure term of FG summed literally over
all pairs (i, j), the 1-D Wasserstein distance integrated interval by interval between the
jumps of the two cumulative distribution functions. Nothing here is shared with the torch
implementations, so agreement between the two is evidence for both. Use small inputs.

Every function evaluates the objective for *given* directions (columns of ``projections``,
shape (d, L), POT's layout) or, for the spherical family, given locations (by quadrature, in
d = 2 and d = 3); the random draws and the ascent belong to the torch side. For the same
reason ``sw`` and ``sfg`` take ``slicing``: of the schemes, only the control variates change
the estimate on given directions (:func:`control_variate_mean`); the others only draw them.

Reference: K. Nguyen, S. Nguyen, N. Ho, T. Pham, H. Bui. "Improving Relational Regularized
Autoencoders with Spherical Sliced Fused Gromov Wasserstein", ICLR 2021.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = [
    "control_variate_mean",
    "dsfg",
    "dsw",
    "ebsfg",
    "ebsw",
    "energy_law_value",
    "energy_weights",
    "fg_1d",
    "fg_1d_exact",
    "fg_per_slice",
    "max_sfg",
    "max_sw",
    "mssfg_objective",
    "pssfg_objective",
    "push_forward",
    "sfg",
    "sphere_grid",
    "spherical_expectation",
    "ssfg_objective",
    "sw",
    "wasserstein_1d",
    "wp_per_slice",
]


def _inverse_cdf(values: np.ndarray, cumulative: np.ndarray, q: float) -> float:
    """The left-continuous quantile: the smallest sorted value whose cumulative weight is >= q."""
    for x, c in zip(values, cumulative, strict=True):
        if c >= q:
            return float(x)
    return float(values[-1])


def wasserstein_1d(u: np.ndarray, v: np.ndarray, a: np.ndarray | None = None,
                   b: np.ndarray | None = None, p: float = 2) -> float:
    r"""W_p^p between :math:`\sum_i a_i \delta_{u_i}` and :math:`\sum_j b_j \delta_{v_j}` on R.

    :math:`\int_0^1 |F_u^{-1}(q) - F_v^{-1}(q)|^p dq`: both quantile functions are constant
    between consecutive jumps of either cumulative distribution function, so the integral is a
    finite sum over those intervals, each evaluated at its midpoint.
    """
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    a = np.full(len(u), 1.0 / len(u)) if a is None else np.asarray(a, dtype=float)
    b = np.full(len(v), 1.0 / len(v)) if b is None else np.asarray(b, dtype=float)
    iu, iv = np.argsort(u, kind="stable"), np.argsort(v, kind="stable")
    us, ca = u[iu], np.cumsum(a[iu])
    vs, cb = v[iv], np.cumsum(b[iv])
    breaks = sorted(set(ca.tolist()) | set(cb.tolist()) | {0.0})
    total = 0.0
    for lo, hi in itertools.pairwise(breaks):
        if hi <= lo or lo >= 1.0:
            continue
        mid = 0.5 * (lo + min(hi, 1.0))
        gap = abs(_inverse_cdf(us, ca, mid) - _inverse_cdf(vs, cb, mid))
        total += (min(hi, 1.0) - lo) * gap**p
    return total


def _fg_cost(u: np.ndarray, w: np.ndarray, beta: float, p: float) -> float:
    """The FG cost of the coupling u_i <-> w_i, with the structure term summed over all pairs."""
    n = len(u)
    transport = sum(abs(u[i] - w[i]) ** p for i in range(n)) / n
    structure = 0.0
    for i in range(n):
        for j in range(n):
            structure += ((u[i] - u[j]) ** 2 - (w[i] - w[j]) ** 2) ** 2
    return (1.0 - beta) * transport + beta * structure / n**2


def fg_1d(u: np.ndarray, v: np.ndarray, beta: float = 0.1, p: float = 2) -> float:
    r"""FG_beta on the line: the better of the identity and anti-identity couplings of the
    sorted samples (docs/design.md), the structure term summed over all pairs.

    .. math:: \min_{\sigma \in \{id, anti\}} (1-\beta)\frac1n\sum_i |u_i - v_{\sigma(i)}|^p
              + \beta\frac1{n^2}\sum_{i,j}((u_i-u_j)^2 - (v_{\sigma(i)}-v_{\sigma(j)})^2)^2
    """
    u, v = np.sort(np.asarray(u, dtype=float)), np.sort(np.asarray(v, dtype=float))
    if len(u) != len(v):
        raise ValueError(f"u and v must have the same length, got {len(u)} and {len(v)}")
    return min(_fg_cost(u, v, beta, p), _fg_cost(u, v[::-1], beta, p))


def fg_1d_exact(u: np.ndarray, v: np.ndarray, beta: float = 0.1, p: float = 2) -> float:
    """The same objective minimised over all n! permutations (brute force; n <= 8)."""
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    if len(u) != len(v) or len(u) > 8:
        raise ValueError(f"brute force needs equal lengths <= 8, got {len(u)} and {len(v)}")
    return min(_fg_cost(u, v[list(perm)], beta, p)
               for perm in itertools.permutations(range(len(v))))


def wp_per_slice(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, p: float = 2,
                 a: np.ndarray | None = None, b: np.ndarray | None = None) -> np.ndarray:
    """W_p^p of the projections on each column of ``projections`` (d, L): shape (L,)."""
    X, Y, P = (np.asarray(t, dtype=float) for t in (X, Y, projections))
    return np.array([wasserstein_1d(X @ P[:, l], Y @ P[:, l], a, b, p)
                     for l in range(P.shape[1])])


def fg_per_slice(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, beta: float = 0.1,
                 p: float = 2) -> np.ndarray:
    """FG_beta of the projections on each column of ``projections`` (d, L): shape (L,)."""
    X, Y, P = (np.asarray(t, dtype=float) for t in (X, Y, projections))
    return np.array([fg_1d(X @ P[:, l], Y @ P[:, l], beta, p) for l in range(P.shape[1])])


def _weighted_moments(Z: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance matrix (d, d) of the weighted points Z (n, d)."""
    w = np.full(len(Z), 1.0 / len(Z)) if w is None else np.asarray(w, dtype=float)
    mean = sum(wi * z for wi, z in zip(w, Z, strict=True))
    cov = sum(wi * np.outer(z - mean, z - mean) for wi, z in zip(w, Z, strict=True))
    return mean, cov


def control_variate_mean(values: np.ndarray, X: np.ndarray, Y: np.ndarray,
                         projections: np.ndarray, a: np.ndarray | None = None,
                         b: np.ndarray | None = None) -> float:
    r"""The leave-one-out control-variate estimate of the mean of ``values`` (W_2^2 on the
    columns of ``projections``): :math:`\frac1L \sum_l (f_l - c_{-l}^\top z_l)`, with
    :math:`z = ((\theta^\top \Delta)^2, \theta^\top \Sigma_x \theta, \theta^\top \Sigma_y
    \theta) - (\|\Delta\|^2, \mathrm{tr}\Sigma_x, \mathrm{tr}\Sigma_y)/d` and :math:`c_{-l}`
    the least-squares fit (with intercept) of f on z over the other directions (ridge 10 eps
    times :math:`\sum_j \|z_j\|^2`; the plain mean for L <= 2), each solved on its own."""
    X, Y, P = (np.asarray(t, dtype=float) for t in (X, Y, projections))
    f = np.asarray(values, dtype=float)
    d, L = P.shape
    if L < 3:
        return float(np.mean(f))
    mx, Sx = _weighted_moments(X, a)
    my, Sy = _weighted_moments(Y, b)
    gap = mx - my
    expected = np.array([gap @ gap, np.trace(Sx), np.trace(Sy)]) / d
    z = np.array([[(P[:, l] @ gap) ** 2, P[:, l] @ Sx @ P[:, l], P[:, l] @ Sy @ P[:, l]]
                  for l in range(L)]) - expected
    total = 0.0
    for l in range(L):
        others = [j for j in range(L) if j != l]
        f_mean, z_mean = np.mean(f[others]), np.mean(z[others], axis=0)
        A = sum(np.outer(z[j] - z_mean, z[j] - z_mean) for j in others)
        B = sum((z[j] - z_mean) * (f[j] - f_mean) for j in others)
        ridge = max(10 * np.finfo(float).eps * np.sum(z**2), np.finfo(float).tiny)
        c = np.linalg.solve(A + ridge * np.eye(3), B)
        total += f[l] - c @ z[l]
    return total / L


def _mean_over_slices(values: np.ndarray, slicing: str, X: np.ndarray, Y: np.ndarray,
                      projections: np.ndarray, a: np.ndarray | None = None,
                      b: np.ndarray | None = None) -> float:
    """The estimate of the mean over directions for ``slicing`` on given directions."""
    if slicing == "control-variate":
        return control_variate_mean(values, X, Y, projections, a, b)
    if slicing in ("mc", "orthogonal", "rqmc"):
        return float(np.mean(values))
    raise ValueError(f"slicing must be 'mc', 'orthogonal', 'rqmc' or 'control-variate', "
                     f"got {slicing!r}")


def sw(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, p: float = 2,
       a: np.ndarray | None = None, b: np.ndarray | None = None, slicing: str = "mc") -> float:
    """SW_p on the given directions: (mean over directions of W_p^p) ** (1/p), the mean
    estimated as ``slicing`` does (the plain mean but for ``"control-variate"``, p = 2)."""
    values = wp_per_slice(X, Y, projections, p, a, b)
    return float(max(_mean_over_slices(values, slicing, X, Y, projections, a, b), 0.0)
                 ** (1.0 / p))


def max_sw(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, p: float = 2,
           a: np.ndarray | None = None, b: np.ndarray | None = None) -> float:
    """max-SW_p over the given directions only: max over columns of W_p."""
    return float(np.max(wp_per_slice(X, Y, projections, p, a, b)) ** (1.0 / p))


def sfg(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, beta: float = 0.1,
        p: float = 2, slicing: str = "mc") -> float:
    """SFG on the given directions: the mean of FG_beta (no root), estimated as ``slicing``
    does (``"control-variate"`` for beta = 0, p = 2 only)."""
    return _mean_over_slices(fg_per_slice(X, Y, projections, beta, p), slicing, X, Y,
                             projections)


def max_sfg(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, beta: float = 0.1,
            p: float = 2) -> float:
    """max-SFG over the given directions only: the largest FG_beta."""
    return float(np.max(fg_per_slice(X, Y, projections, beta, p)))


def push_forward(projections: np.ndarray, weight: np.ndarray | None = None,
                 bias: np.ndarray | None = None) -> np.ndarray:
    """The base directions (columns of ``projections``, (d, L)) pushed forward by
    theta -> (W theta + c) / ||W theta + c|| (the identity when W and c are None), one column at
    a time: (d, L)."""
    P = np.asarray(projections, dtype=float)
    d, L = P.shape
    W = np.eye(d) if weight is None else np.asarray(weight, dtype=float)
    c = np.zeros(d) if bias is None else np.asarray(bias, dtype=float)
    columns = []
    for l in range(L):
        z = W @ P[:, l] + c
        columns.append(z / math.sqrt(sum(zi * zi for zi in z)))
    return np.stack(columns, axis=1)


def dsw(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, p: float = 2,
        a: np.ndarray | None = None, b: np.ndarray | None = None,
        weight: np.ndarray | None = None, bias: np.ndarray | None = None) -> float:
    """DSW_p for a given push-forward (W, c) of the base directions ``projections`` (d, L):
    SW_p on the pushed directions (:func:`push_forward`; the identity by default)."""
    return sw(X, Y, push_forward(projections, weight, bias), p, a, b)


def dsfg(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, beta: float = 0.1,
         p: float = 2, weight: np.ndarray | None = None,
         bias: np.ndarray | None = None) -> float:
    """DSFG for a given push-forward (W, c) of the base directions: SFG on the pushed
    directions (:func:`push_forward`; the identity by default)."""
    return sfg(X, Y, push_forward(projections, weight, bias), beta, p)


def _radial_density(t: np.ndarray | float, kappa: float, family: str) -> np.ndarray:
    """Density of theta with respect to the surface measure, as a function of t = <loc, theta>,
    up to a constant (shifted or scaled so that it stays finite for large kappa)."""
    t = np.asarray(t, dtype=float)
    if family == "vmf":
        return np.exp(kappa * (t - 1.0))
    if family == "power":
        return ((1.0 + t) / 2.0) ** kappa
    raise ValueError(f"family must be 'vmf' or 'power', got {family!r}")


def spherical_expectation(fn, loc: np.ndarray, kappa: float, family: str = "vmf",
                          n_grid: int = 200) -> float:
    r"""E[fn(theta)] for theta ~ vMF(loc, kappa) or PowerSpherical(loc, kappa), d in {2, 3}.

    By quadrature on the polar decomposition :math:`\theta = t\,\epsilon + \sqrt{1-t^2}\,\xi`
    the density of theta proportional to :math:`e^{\kappa t}` (vMF) or :math:`(1+t)^\kappa`
    (power spherical) with respect to the surface measure. In d = 2 the angle
    :math:`\phi \in [-\pi, \pi)` is integrated with the periodic midpoint rule; in d = 3,
    :math:`t` (midpoint rule) times the azimuth (periodic midpoint rule). ``fn`` maps a unit
    vector (d,) to a float. Accuracy is limited by the kinks of FG (sorting, min): use a fine
    grid for tight tolerances, and a moderate kappa (the t grid is uniform). Cost: ``n_grid``
    evaluations of ``fn`` in d = 2, ``n_grid ** 2`` in d = 3.
    """
    loc = np.asarray(loc, dtype=float)
    d = loc.shape[0]
    if d == 2:
        phis = -math.pi + (np.arange(n_grid) + 0.5) * (2 * math.pi / n_grid)
        ortho = np.array([-loc[1], loc[0]])
        points = [(math.cos(f), math.sin(f)) for f in phis]
        weights = np.array([_radial_density(c, kappa, family) for c, _ in points])
        values = [fn(c * loc + s * ortho) for c, s in points]
        return float(np.dot(weights, values) / weights.sum())
    if d == 3:
        e1 = np.eye(3)[int(np.argmin(np.abs(loc)))]
        u1 = e1 - np.dot(e1, loc) * loc
        u1 /= np.linalg.norm(u1)
        u2 = np.cross(loc, u1)
        ts = -1.0 + (np.arange(n_grid) + 0.5) * (2.0 / n_grid)
        psis = (np.arange(n_grid) + 0.5) * (2 * math.pi / n_grid)
        total, mass = 0.0, 0.0
        for t in ts:
            w = float(_radial_density(t, kappa, family))
            r = math.sqrt(1.0 - t * t)
            inner = np.mean([fn(t * loc + r * (math.cos(s) * u1 + math.sin(s) * u2))
                             for s in psis])
            total += w * inner
            mass += w
        return total / mass
    raise ValueError(f"quadrature is implemented for d in {{2, 3}}, got d={d}")


def ssfg_objective(X: np.ndarray, Y: np.ndarray, loc: np.ndarray, kappa: float,
                   beta: float = 0.1, p: float = 2, n_grid: int = 200) -> float:
    """E_{theta ~ vMF(loc, kappa)} FG_beta(theta): the SSFG objective at a given location."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    return spherical_expectation(lambda th: fg_1d(X @ th, Y @ th, beta, p), loc, kappa,
                                 "vmf", n_grid)


def mssfg_objective(X: np.ndarray, Y: np.ndarray, locs: np.ndarray, kappa: float,
                    beta: float = 0.1, p: float = 2, n_grid: int = 200) -> float:
    """E over the equal-weight mixture of vMF(locs[i], kappa): the MSSFG objective."""
    return float(np.mean([ssfg_objective(X, Y, loc, kappa, beta, p, n_grid)
                          for loc in np.asarray(locs, dtype=float)]))


def pssfg_objective(X: np.ndarray, Y: np.ndarray, loc: np.ndarray, kappa: float,
                    beta: float = 0.1, p: float = 2, n_grid: int = 200) -> float:
    """E_{theta ~ PowerSpherical(loc, kappa)} FG_beta(theta): the PSSFG objective."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    return spherical_expectation(lambda th: fg_1d(X @ th, Y @ th, beta, p), loc, kappa,
                                 "power", n_grid)


def energy_weights(costs: np.ndarray, energy: str = "exp", temperature: float = 2.0,
                   temperature_scale: str = "mean", rho: float = 2.0,
                   mean_cost: float | None = None) -> np.ndarray:
    r"""The normalised energy :math:`f(c_l) / \sum_k f(c_k)` of the costs (L,), written from
    the definition: :math:`f(c) = \exp(c / \tau)` with :math:`\tau` = ``temperature`` times
    ``mean_cost`` (the mean of ``costs`` when None) for ``temperature_scale="mean"``, or
    ``temperature`` itself for ``"absolute"``; :math:`f(c) = c`; :math:`f(c) = c^\rho`.
    Uniform where every f is zero. The exp energy is evaluated as exp(c / tau - max) so that
    it does not overflow (the constant cancels)."""
    c = np.asarray(costs, dtype=float)
    if energy == "exp":
        mean = float(np.mean(c)) if mean_cost is None else mean_cost
        if temperature_scale == "mean":
            tau = temperature * mean
        elif temperature_scale == "absolute":
            tau = temperature
        else:
            raise ValueError(f"temperature_scale must be 'mean' or 'absolute', "
                             f"got {temperature_scale!r}")
        z = np.zeros_like(c) if tau == 0 else c / tau
        f = np.array([math.exp(zl - z.max()) for zl in z])
    elif energy == "identity":
        f = c.copy()
    elif energy == "poly":
        f = np.array([cl**rho for cl in c])
    else:
        raise ValueError(f"energy must be 'exp', 'identity' or 'poly', got {energy!r}")
    total = float(np.sum(f))
    return f / total if total > 0 else np.full(len(c), 1.0 / len(c))


def ebsw(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, p: float = 2,
         a: np.ndarray | None = None, b: np.ndarray | None = None, energy: str = "exp",
         temperature: float = 2.0, temperature_scale: str = "mean",
         rho: float = 2.0) -> float:
    r"""IS-EBSW on the given directions: :math:`(\sum_l w_l W_p^p(\theta_l))^{1/p}` with the
    :func:`energy_weights` of the W_p^p (Nguyen & Ho, NeurIPS 2023)."""
    c = wp_per_slice(X, Y, projections, p, a, b)
    w = energy_weights(c, energy, temperature, temperature_scale, rho)
    return float(max(sum(wl * cl for wl, cl in zip(w, c, strict=True)), 0.0) ** (1.0 / p))


def ebsfg(X: np.ndarray, Y: np.ndarray, projections: np.ndarray, beta: float = 0.1,
          p: float = 2, energy: str = "exp", temperature: float = 2.0,
          temperature_scale: str = "mean", rho: float = 2.0) -> float:
    r"""IS-EBSFG on the given directions: :math:`\sum_l w_l FG_\beta(\theta_l)` with the
    :func:`energy_weights` of the FG_beta (no root)."""
    c = fg_per_slice(X, Y, projections, beta, p)
    w = energy_weights(c, energy, temperature, temperature_scale, rho)
    return float(sum(wl * cl for wl, cl in zip(w, c, strict=True)))


def sphere_grid(d: int, n_grid: int = 200) -> np.ndarray:
    """Quadrature nodes of equal weight for the uniform law on S^{d-1}, d in {2, 3}: (N, d).

    d = 2: the periodic midpoint rule in the angle (``n_grid`` nodes). d = 3: the midpoint
    rule in the height z, uniform on [-1, 1] under the uniform law (Archimedes), times the
    periodic midpoint rule in the azimuth (``n_grid ** 2`` nodes)."""
    if d == 2:
        phi = (np.arange(n_grid) + 0.5) * (2 * math.pi / n_grid)
        return np.stack([np.cos(phi), np.sin(phi)], axis=1)
    if d == 3:
        z = -1.0 + (np.arange(n_grid) + 0.5) * (2.0 / n_grid)
        psi = (np.arange(n_grid) + 0.5) * (2 * math.pi / n_grid)
        zz, pp = np.meshgrid(z, psi, indexing="ij")
        r = np.sqrt(1.0 - zz**2)
        return np.stack([r * np.cos(pp), r * np.sin(pp), zz], axis=-1).reshape(-1, 3)
    raise ValueError(f"quadrature is implemented for d in {{2, 3}}, got d={d}")


def energy_law_value(X: np.ndarray, Y: np.ndarray, p: float = 2,
                     a: np.ndarray | None = None, b: np.ndarray | None = None,
                     energy: str = "exp", temperature: float = 2.0,
                     temperature_scale: str = "mean", rho: float = 2.0,
                     beta: float | None = None, n_grid: int = 200) -> float:
    r"""The energy-based discrepancy itself, by quadrature (d = 2, 3): with c = W_p^p
    (``beta`` None) or FG_beta, :math:`\mathbb{E}_{\sigma_f} c = \int c f(c) / \int f(c)`
    over the uniform law on the sphere (:func:`sphere_grid`), its p-th root for W (EBSW), as
    it is for FG (EBSFG). The mean cost of the relative temperature is the uniform mean
    :math:`\int c` (SW_p^p or SFG). What every estimator of :mod:`discrepancies.energy`
    estimates (the oracle of the resampled ones). Accuracy is limited by the kinks of c in
    theta (sorting): use a fine grid for tight tolerances."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    nodes = sphere_grid(X.shape[1], n_grid).T
    c = (wp_per_slice(X, Y, nodes, p, a, b) if beta is None
         else fg_per_slice(X, Y, nodes, beta, p))
    value = float(np.dot(energy_weights(c, energy, temperature, temperature_scale, rho), c))
    return value ** (1.0 / p) if beta is None else value
