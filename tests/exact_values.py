"""Exact values of the registry's discrepancies on given directions, and bounds on the rounding
error of the computation the package does, for the fuzz (tests/test_fuzz_discrepancies.py).

Everything here is computed in mpmath (30 significant digits, an exponent range without
overflow or underflow) from DESIGN's definitions by plain loops: the quantile coupling of two
weighted 1-D measures for W_p^p, both monotone couplings and all pairs for FG_beta. Nothing
calls the package, so a value that leaves the dtype's range, or one that is wrong, is seen as
such.

The rounding bounds follow the computation the package does, in the dtype's machine epsilon
eps, and are in terms of the data:

- every projected value (centred or not) is within delta = (2d + n + m + 8) eps M of its exact
  value, M = sum_k |theta_k| 2 max_i |x_ik| over both clouds (the product, the centring, the
  directions' own rounding); for the structure term, which a common shift of a cloud leaves
  alone, the centred projections' differences are within 2 delta_c, delta_c = (2d + 8) eps
  sum_k |theta_k| max_i |x_ik - mean_k| (the error of the mean is such a shift);
- W_p (the p-th root, one slice or SW over slices) is 1-Lipschitz in the support points for
  the sup norm, so its error is at most 2 delta, plus (n + m + L + 8) eps G for the powers,
  sums and roots (G the largest gap, which bounds the value);
- FG_beta, per coupling sigma: the transport mean moves by at most
  mean_i[(|g_i|(1 + eps) + 3 delta)^p - |g_i|^p] + (n + 4) eps T, and the structure mean by
  (1/n^2) sum_ij [(|ds_ij| + 4 delta_c)^2 (|dt_ij| + 4 delta_c)^2 - ds_ij^2 dt_ij^2] plus
  (n + 16) eps times the sum of the absolute values of the moment expansion the package
  evaluates (2 mean(s^2 t^2) + 2 mean(s^2)(mean(s^2) + mean(t^2)) + 4 est^2 +
  8 |est|(mean(a^2) + mean(b^2)), est = mean(a^2) - mean(b^2), the one subtraction that can
  cancel); the minimum over the two couplings is 1-Lipschitz, so a slice's bound is the larger
  of the two, or the smaller coupling's own where the two intervals value +- bound do not meet
  (the rounding cannot change which coupling is the smaller; at large p the other coupling's
  value, and its bound, can be 10^17 times larger);
- means over slices add (L + 2) eps of the mean of |values|, maxima nothing; every value adds
  8 eps of itself (the power-of-two rescaling and its factor c, the final cast) and, for
  values near underflow, 16 (n + m + 4) times the dtype's smallest normal number.
"""

from __future__ import annotations

import mpmath
import numpy as np

mpmath.mp.dps = 30
mpf = mpmath.mpf


def quantile_coupling(u, a, v, b):
    """(mass, u value, v value) on each interval of the merged cumulative weights of two
    weighted 1-D measures (the monotone coupling), by walking both sorted supports."""
    iu, iv = np.argsort(u, kind="stable"), np.argsort(v, kind="stable")
    us, vs = [u[i] for i in iu], [v[i] for i in iv]
    wa, wb = [a[i] for i in iu], [b[i] for i in iv]
    i = j = 0
    left_a, left_b, out = wa[0], wb[0], []
    while i < len(us) and j < len(vs):
        mass = min(left_a, left_b)
        out.append((mass, us[i], vs[j]))
        left_a, left_b = left_a - mass, left_b - mass
        if left_a <= 0 and i + 1 < len(us):
            i += 1
            left_a = wa[i]
        elif left_a <= 0:
            i += 1
        if left_b <= 0 and j + 1 < len(vs):
            j += 1
            left_b = wb[j]
        elif left_b <= 0:
            j += 1
    return out


def _project(Z, theta):
    return [mpmath.fsum(mpf(float(z)) * t for z, t in zip(row, theta, strict=True)) for row in Z]


class Exact:
    """Per-slice exact values and rounding bounds of one call.

    X, Y : float64 arrays holding the values the call computes on (already rounded to its
        dtype); P : (d, L) directions as the call holds them; a, b : weights or None;
    fused, root : the entry's kind; beta, p; eps, tiny : the call dtype's.
    """

    def __init__(self, X, Y, P, a, b, *, fused: bool, root: bool, beta: float | None,
                 p: float, eps: float, tiny: float):
        n, d = X.shape
        m, L = Y.shape[0], P.shape[1]
        self.p, self.eps = mpf(p), mpf(eps)
        self.floor = 16 * (n + m + 4) * mpf(tiny)
        self.n_slices = L
        top = np.maximum(np.abs(X).max(axis=0), np.abs(Y).max(axis=0))
        # the package centres each cloud before projecting it for FG: an error of the mean is
        # one shift of the whole cloud, which the structure term does not see, so its points
        # move only by the rounding of the centred values and of their projection
        spread = np.maximum(np.abs(X - X.mean(axis=0)).max(axis=0),
                            np.abs(Y - Y.mean(axis=0)).max(axis=0)) * (1 + 1e-12)
        self.values, self.errors = [], []
        for theta in P.T:
            thetam = [mpf(float(t)) for t in theta]
            M = 2 * mpmath.fsum(abs(t) * mpf(float(z)) for t, z in zip(thetam, top, strict=True))
            delta = (2 * d + n + m + 8) * self.eps * M
            u, v = _project(X, thetam), _project(Y, thetam)
            if fused:
                centred = mpmath.fsum(abs(t) * mpf(float(z))
                                      for t, z in zip(thetam, spread, strict=True))
                value, error = self._fg(u, v, mpf(beta), delta,
                                        (2 * d + 8) * self.eps * centred)
            else:
                aw = [mpf(1) / n] * n if a is None else [mpf(float(w)) for w in a]
                bw = [mpf(1) / m] * m if b is None else [mpf(float(w)) for w in b]
                value, error = self._wp(quantile_coupling(u, aw, v, bw), delta, n + m + L,
                                        root)
            self.values.append(value)
            self.errors.append(error)
        self.root = root and not fused

    def _wp(self, coupling, delta, count, root):
        p = self.p
        wpp = mpmath.fsum(mass * abs(x - y) ** p for mass, x, y in coupling)
        top = max(abs(x - y) for mass, x, y in coupling if mass > 0)
        if root:  # the slice's W_p: 1-Lipschitz in the support points
            return wpp ** (1 / p), 2 * delta + (count + 8) * self.eps * top
        error = mpmath.fsum(mass * ((abs(x - y) + 2 * delta) ** p - abs(x - y) ** p)
                            for mass, x, y in coupling)
        return wpp, error + (count + 4) * self.eps * wpp

    def _fg(self, u, v, beta, delta, delta_centred):
        p, eps, n = self.p, self.eps, len(u)
        us, vs = sorted(u), sorted(v)
        ubar, vbar = mpmath.fsum(us) / n, mpmath.fsum(vs) / n
        a_c = [x - ubar for x in us]
        ma2 = mpmath.fsum(x * x for x in a_c) / n
        mb2 = mpmath.fsum((y - vbar) ** 2 for y in vs) / n
        est = ma2 - mb2
        couplings = []
        for w in (vs, vs[::-1]):
            gaps = [x - y for x, y in zip(us, w, strict=True)]
            T = mpmath.fsum(abs(g) ** p for g in gaps) / n
            T_err = mpmath.fsum((abs(g) * (1 + eps) + 3 * delta) ** p - abs(g) ** p
                                for g in gaps) / n + (n + 4) * eps * T
            S = S_err = mpf(0)
            if beta > 0:
                pairs = [((us[i] - us[j]) - (w[i] - w[j]), (us[i] - us[j]) + (w[i] - w[j]))
                         for i in range(n) for j in range(n)]
                S = mpmath.fsum((ds * dt) ** 2 for ds, dt in pairs) / n**2
                s_c = [x - (y - vbar) for x, y in zip(a_c, w, strict=True)]  # centred s = a - w
                t_c = [x + (y - vbar) for x, y in zip(a_c, w, strict=True)]
                mst2 = mpmath.fsum((s * t) ** 2 for s, t in zip(s_c, t_c, strict=True)) / n
                es2 = mpmath.fsum(s * s for s in s_c) / n
                absolute = (2 * mst2 + 2 * es2 * (2 * (ma2 + mb2) + es2) + 4 * est**2
                            + 8 * abs(est) * (ma2 + mb2))
                shift = 4 * delta_centred
                S_err = mpmath.fsum((abs(ds) + shift) ** 2 * (abs(dt) + shift) ** 2
                                    - (ds * dt) ** 2 for ds, dt in pairs) / n**2
                S_err += (n + 16) * eps * absolute
            couplings.append(((1 - beta) * T + beta * S, (1 - beta) * T_err + beta * S_err))
        (low, low_err), (high, high_err) = sorted(couplings)
        if low + low_err < high - high_err:  # the rounding cannot change which is the smaller
            return low, low_err
        return low, max(low_err, high_err)

    def combine(self, law: str, components: int = 1):
        """The call's value and its rounding bound: ``law`` "mean" (the mean of each
        component's slices l = c mod k, then over components), or "max"; the p-th root of
        the mean of p-th powers for SW's convention. Any other law (one whose weights over the
        slices are not known here, such as importance sampling) gives the range of the
        values (smallest, largest) instead of a value, since any convex combination of the
        slices lies within it, and a bound that holds for every convex combination."""
        eps, values, errors = self.eps, self.values, self.errors
        if law not in ("mean", "max"):
            error = max(errors) + (self.n_slices + 8) * eps * max(values) + self.floor
            return (min(values), max(values)), error
        if law == "max":
            value, error = max(values), max(errors)
        elif self.root:  # (mean_l W_l^p)^(1/p): a p-norm, 1-Lipschitz in the W_l
            value = (mpmath.fsum(w**self.p for w in values) / len(values)) ** (1 / self.p)
            error = max(errors)
        else:
            k = components
            value = mpmath.fsum(mpmath.fsum(values[c::k]) / len(values[c::k])
                                for c in range(k)) / k
            error = mpmath.fsum(mpmath.fsum(errors[c::k]) / len(errors[c::k])
                                for c in range(k)) / k
            error += (self.n_slices + 2) * eps * value
        return value, error + 8 * eps * value + self.floor


def upper_bound(X, Y, *, fused: bool, root: bool, beta: float | None, p: float):
    """A bound on the value over every direction (so over every law of directions): a slice's
    gap |theta^T (x_i - y_j)| is at most ||x_i - y_j|| and a difference of squared projected
    distances at most the larger squared diameter, so W_p <= max ||x_i - y_j|| and
    FG_beta <= (1 - beta) max ||x_i - y_j||^p + beta max(diam X, diam Y)^4."""
    def largest_distance(A, B):
        return max(mpmath.sqrt(mpmath.fsum((mpf(float(x)) - mpf(float(y))) ** 2
                                           for x, y in zip(a, b, strict=True)))
                   for a in A for b in B)

    across = largest_distance(X, Y)
    if not fused:
        return across if root else across ** mpf(p)
    diameter = max(largest_distance(X, X), largest_distance(Y, Y))
    return (1 - mpf(beta)) * across ** mpf(p) + mpf(beta) * diameter**4
