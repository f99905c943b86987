"""Wood's (1994) acceptance probability for the von Mises-Fisher rejection sampler, from Wood's
own formulas (not the package's): by quadrature, and by simulating his steps in NumPy."""

from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.stats


def wood_acceptance_by_simulation(d: int, kappa: float, n: int, seed: int) -> float:
    """Fraction of accepted proposals in Wood's algorithm, as written in Wood (1994), step 0-3."""
    rng = np.random.default_rng(seed)
    m = d - 1
    b = (-2 * kappa + np.sqrt(4 * kappa**2 + m**2)) / m
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + m * np.log(1 - x0**2)
    z = rng.beta(m / 2, m / 2, n)
    w = (1 - (1 + b) * z) / (1 - (1 - b) * z)
    u = rng.uniform(size=n)
    return float(np.mean(kappa * w + m * np.log(1 - x0 * w) - c >= np.log(u)))


def wood_acceptance_exact(d: int, kappa: float) -> float:
    """Wood's acceptance probability E_z[exp(kappa w + m log(1 - x0 w) - c)], z ~ Beta(m/2, m/2),
    by quadrature over the Beta density (Wood 1994's formulas, not the suite's), to about 1e-10.
    The range drops 2e-14 of the Beta mass, an upper bound on what it drops of the integrand."""
    m = d - 1
    b = (-2 * kappa + np.sqrt(4 * kappa**2 + m**2)) / m
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + m * np.log(1 - x0**2)
    beta = scipy.stats.beta(m / 2, m / 2)

    def integrand(z):
        w = (1 - (1 + b) * z) / (1 - (1 - b) * z)
        return np.exp(beta.logpdf(z) + kappa * w + m * np.log(1 - x0 * w) - c)

    value, _ = scipy.integrate.quad(integrand, beta.ppf(1e-14), beta.isf(1e-14), points=[0.5],
                                    epsabs=1e-12, epsrel=1e-10, limit=200)
    return value
