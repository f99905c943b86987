r"""Energy-based slicing: sliced discrepancies whose directions follow a law that weighs each
direction by the energy of its own cost.

With :math:`c(\theta)` a slice's cost (:math:`W_p^p(\theta)` for the W family,
:math:`FG_\beta(\theta)` for the FG family, per-sample means as everywhere in this suite) and
:math:`f` increasing, the energy-based law on :math:`S^{d-1}` has density proportional to
:math:`f(c(\theta))` with respect to the uniform measure, and

.. math::
    EBSW_p = \big(\mathbb{E}_{\theta \sim \sigma_f} c(\theta)\big)^{1/p}, \qquad
    EBSFG = \mathbb{E}_{\theta \sim \sigma_f} c(\theta), \qquad
    \sigma_f(\theta) \propto f(c(\theta)) .

Energies ``f``:

- ``"exp"`` (default): :math:`f(c) = \exp(c / \tau)`. With ``temperature_scale="mean"``
  (default) :math:`\tau` = ``temperature`` times :math:`\bar c`, the mean cost over uniform
  directions (estimated on the uniform base draws), so that the law does not depend on the
  units of the data (:math:`EBSW(sX, sY) = s\, EBSW(X, Y)`, as for SW); with
  ``"absolute"``, :math:`\tau` = ``temperature`` in the units of c. The default
  ``temperature=2`` (in units of :math:`\bar c`) weighs a direction of three times the mean
  cost :math:`e \approx 2.7` times more than one of the mean cost. It is the one of
  {0.25, 0.5, 1, 2, 4, 8} that, at the default L = 100 on three test problems (anisotropic
  clouds in d = 5, Gaussians in d = 10, translates in d = 50), both keeps the effective
  sample size of the weights at 25% of L or more (1 collapses it to 3% on the translates,
  where a few directions carry most of the cost) and moves the estimate at least 5% of the
  way from SW towards the largest slice (4 moves it 4% on the Gaussians): checked in
  ``sliced-bench validate``.
  The authors' code uses :math:`\exp` of the sample-summed cost :math:`n W_p^p`, i.e.
  ``temperature=1/n`` absolute: at their sizes the weights collapse onto the best of the
  drawn directions (see :func:`discrepancies.conventions.ebsw_in_convention`).
- ``"identity"``: :math:`f(c) = c`; ``"poly"``: :math:`f(c) = c^\rho`. Both are
  scale-free (the law is the same for sX, sY), so ``temperature`` does not apply.

Three estimators, each from uniform base draws (``slicing`` chooses them, ``projections``
gives them):

- :func:`ebsw` / :func:`ebsfg`, importance sampling: L uniform directions, self-normalised
  weights :math:`w_l = f(c_l) / \sum_k f(c_k)`, value :math:`(\sum_l w_l c_l)^{1/p}`
  (:func:`ebsw`) or :math:`\sum_l w_l c_l` (:func:`ebsfg`). With the same directions,
  :math:`SW \le IS\text{-}EBSW \le \max_l W_p(\theta_l)` (the weights are increasing in the
  cost, so they put more mass on the larger costs than the uniform weights do).
- :func:`sir_ebsw`, sampling-importance-resampling: L indices drawn with replacement from
  those weights, the value the plain mean of the cost over the resampled directions.
- :func:`mh_ebsw`, Metropolis-Hastings: L chains (each started at a uniform draw), each step
  a proposal (uniform, the independence sampler, or vMF centred at the chain's state, a
  random walk), accepted chain by chain with probability
  :math:`\min(1, f(c_{new}) / f(c_{old}))` (both proposals are symmetric). The value is the
  mean cost over the chains' states after ``burn_in`` steps.

SIR and MH estimate the same law's value (never a score-function surrogate): their gradients
treat the drawn directions as fixed. References: K. Nguyen, N. Ho. "Energy-Based Sliced
Wasserstein Distance", NeurIPS 2023.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from samplers import VonMisesFisher
from samplers.constraints import check_real

from ._directions import resolve_projections
from ._execution import distributable
from ._inputs import (
    Result,
    as_point_clouds,
    check_beta,
    check_bool,
    check_equal_size,
    check_p,
    check_positive_int,
    check_weights,
    describe,
    finish,
    fused_rescaling,
    make_generator,
    pth_root,
    range_rescaling,
    widest_float,
)
from ._slices import fg_per_slice, wp_per_slice, wp_roots_per_slice
from .slicing import SlicingScheme, slicing_scheme

__all__ = ["ENERGIES", "TEMPERATURE_SCALES", "ebsfg", "ebsw", "energy_weights", "mh_ebsw",
           "sir_ebsw"]

ENERGIES = ("exp", "identity", "poly")
TEMPERATURE_SCALES = ("mean", "absolute")
_GRADIENTS = ("detached", "full")
_PROPOSALS = ("uniform", "vmf")


def _check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {list(choices)}, "
                        f"got {name}={describe(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {name}={value!r}")
    return value


class Energy(NamedTuple):
    """A checked energy: ``f`` of :mod:`discrepancies.energy` with its parameters."""

    kind: str
    temperature: float
    scale: str
    rho: float

    @classmethod
    def checked(cls, energy: object, temperature: object, temperature_scale: object,
                rho: object) -> Energy:
        return cls(_check_choice(energy, "energy", ENERGIES),
                   check_real(temperature, "temperature", 0, strict=True),
                   _check_choice(temperature_scale, "temperature_scale", TEMPERATURE_SCALES),
                   check_real(rho, "rho", 0, strict=True))

    def log_f(self, log_costs: torch.Tensor, log_mean: float) -> torch.Tensor:
        """log f(c) up to an additive constant, from the log-costs in the caller's units
        (-inf for a zero cost) and the log of the mean uniform cost (for ``"mean"``)."""
        if self.kind == "exp":
            log_tau = math.log(self.temperature) + (log_mean if self.scale == "mean" else 0.0)
            if log_tau == -math.inf:  # every base cost is zero: the law is uniform
                return torch.zeros_like(log_costs)
            return torch.exp(log_costs - log_tau)
        return log_costs * (1.0 if self.kind == "identity" else self.rho)


def energy_weights(costs: torch.Tensor, energy: Energy, log_unit: float = 0.0) -> torch.Tensor:
    r"""The self-normalised importance weights :math:`f(c_l) / \sum_k f(c_k)` along the last
    dimension of ``costs`` (..., L), differentiable in ``costs``.

    ``costs`` may be in working units: the caller's costs are ``costs * exp(log_unit)``
    (only the absolute exp energy depends on the unit). The exp energy is a softmax; the
    others are powers of the costs divided by their largest (so that no power overflows).
    Where every f is zero (every cost zero), the weights are uniform.
    """
    if energy.kind == "exp":
        if energy.scale == "mean":
            mean = costs.mean(dim=-1, keepdim=True)
            positive = mean > 0
            z = torch.where(positive, costs / torch.where(positive, energy.temperature * mean,
                                                          1.0), 0.0)
        else:
            try:
                factor = math.exp(log_unit - math.log(energy.temperature))
            except OverflowError:
                factor = math.inf
            z = costs * factor
            if not bool(torch.isfinite(z.detach()).all()):
                raise ValueError(f"temperature={energy.temperature} is too small for these "
                                 f"costs (c / temperature overflows): use "
                                 f"temperature_scale='mean' or a larger temperature")
        return torch.softmax(z, dim=-1)
    top = costs.detach().amax(dim=-1, keepdim=True)
    ratio = costs / torch.where(top > 0, top, 1.0)
    powers = ratio if energy.kind == "identity" else ratio.pow(energy.rho)
    total = powers.sum(dim=-1, keepdim=True)
    uniform = torch.full_like(powers, 1.0 / powers.shape[-1])
    return torch.where(total > 0, powers / torch.where(total > 0, total, 1.0), uniform)


class _Evaluation(NamedTuple):
    """The costs on some directions, in working units (``exp(log_unit)`` times them are the
    caller's), ``finish`` mapping a weighted mean of them to the entry's value, and the
    caller's costs for the log."""

    costs: torch.Tensor
    log_unit: float
    finish: Callable[[torch.Tensor], torch.Tensor]
    per_slice: torch.Tensor

    def log_costs(self) -> torch.Tensor:
        """The natural logs of the caller's costs, float64 (-inf for zero)."""
        return torch.log(self.costs.detach().double()) + self.log_unit


class _Problem:
    """X, Y checked, and how to evaluate the slice cost on them: W_p^p through
    :func:`wp_per_slice` (:func:`wp_roots_per_slice` where SW would rescale) or FG_beta
    through :func:`fg_per_slice` (rescaled where SFG would), the value's root and the
    rescaling back. The same conventions as :func:`discrepancies.sw` and
    :func:`discrepancies.sfg`, so that ``ebsw`` at infinite temperature is ``sw``."""

    def __init__(self, name: str, X: torch.Tensor, Y: torch.Tensor, p: float,
                 beta: float | None, a: torch.Tensor | None, b: torch.Tensor | None,
                 count: int) -> None:
        self.name, self.p, self.beta, self.a, self.b = name, p, beta, a, b
        self.X, self.Y = X, Y
        if beta is None:
            self.rescaled = range_rescaling(X, Y, p, X.shape[0] + Y.shape[0] + count)
        else:
            self.rescaled = fused_rescaling(X, Y, beta, p, 2 * X.shape[0] + count)

    def evaluate(self, P: torch.Tensor, detached: bool = False) -> _Evaluation:
        """The costs on the columns of ``P`` (d, L), with gradients to X and Y unless
        ``detached``."""
        r, p = self.rescaled, self.p
        X, Y = (self.X, self.Y) if r is None else (r.X, r.Y)
        if detached:
            X, Y = X.detach(), Y.detach()
        P = P.to(X.dtype)
        if self.beta is not None:
            if r is None:
                costs = fg_per_slice(X, Y, P, self.beta, p)
                return _Evaluation(costs, 0.0, lambda m: m, costs)
            costs = fg_per_slice(X, Y, P, r.beta, p, r.transport_weight)
            return _Evaluation(costs, r.log2_factor * math.log(2),
                               lambda m: r.restore(m, self.name), r.restore(costs))
        if r is None:
            costs = wp_per_slice(X, Y, P, p, self.a, self.b)
            return _Evaluation(costs, 0.0, lambda m: pth_root(m, p), costs)
        # rescaled: the roots divided by their largest before the p-th power (as sw does)
        roots = wp_roots_per_slice(X, Y, P, p, r.cast(self.a), r.cast(self.b))
        top = roots.detach().max()
        top = torch.where(top > 0, top, 1.0)
        costs = (roots / top).pow(p)
        log_unit = p * (math.log(top.item()) + r.log2_factor * math.log(2))
        return _Evaluation(costs, log_unit, lambda m: r.restore(top * pth_root(m, p), self.name),
                           r.restore(roots, power=p))


def _setup(name: str, X: object, Y: object, p: object, beta: object | None, a: object,
           b: object, slicing: object, log: object, n_projections: int,
           ) -> tuple[_Problem, SlicingScheme, bool, bool]:
    """The checks every entry makes, and its :class:`_Problem`."""
    X, Y, numpy_out = as_point_clouds(X, Y)
    p, log = check_p(p), check_bool(log, "log")
    if beta is not None:
        check_equal_size(X, Y)
        beta = check_beta(beta)
    a, b = check_weights(a, X.shape[0], "a", X), check_weights(b, Y.shape[0], "b", Y)
    scheme = slicing_scheme(slicing, name)
    if scheme.control_variate:
        raise ValueError(f"slicing={slicing!r} estimates a mean over uniform directions with "
                         f"control variates; {name} weighs its directions by their energy: use "
                         f"'mc', 'orthogonal' or 'rqmc'")
    count = n_projections if isinstance(n_projections, int) else 1
    return _Problem(name, X, Y, p, beta, a, b, count), scheme, numpy_out, log


def _importance(name: str, X: object, Y: object, *, n_projections: int, p: float,
                beta: float | None, projections: object, seed: object, log: bool, a: object,
                b: object, slicing: str, energy: str, temperature: float,
                temperature_scale: str, rho: float, gradient: str) -> Result:
    problem, scheme, numpy_out, log = _setup(name, X, Y, p, beta, a, b, slicing, log,
                                             n_projections)
    law = Energy.checked(energy, temperature, temperature_scale, rho)
    full = _check_choice(gradient, "gradient", _GRADIENTS) == "full"
    P = resolve_projections(projections, n_projections, seed, problem.X, scheme.draw)
    ev = problem.evaluate(P)
    weights = energy_weights(ev.costs if full else ev.costs.detach(), law, ev.log_unit)
    value = ev.finish((weights * ev.costs).sum())
    return finish(value, numpy_out, log, {"projections": P, "per_slice": ev.per_slice,
                                          "weights": weights})


@distributable
def ebsw(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
         n_projections: int = 100, p: float = 2,
         projections: torch.Tensor | np.ndarray | None = None,
         seed: int | torch.Generator | None = None, log: bool = False,
         a: torch.Tensor | np.ndarray | None = None, b: torch.Tensor | np.ndarray | None = None,
         slicing: str = "mc", energy: str = "exp", temperature: float = 2.0,
         temperature_scale: str = "mean", rho: float = 2.0,
         gradient: str = "detached") -> Result:
    r"""Energy-based sliced Wasserstein distance, importance sampled (IS-EBSW).

    .. math::
        EBSW_p = \Big(\mathbb{E}_{\theta \sim \sigma_f} W_p^p(\theta)\Big)^{1/p}
        \approx \Big(\sum_{l=1}^L w_l W_p^p(\theta_l)\Big)^{1/p}, \quad
        w_l = \frac{f(W_p^p(\theta_l))}{\sum_k f(W_p^p(\theta_k))},
        \ \theta_l \sim \mathcal{U}(S^{d-1})

    (the law :math:`\sigma_f` and the energies in :mod:`discrepancies.energy`). With the same
    directions, ``sw <= ebsw <= max_l W_p(theta_l)``; ``temperature`` -> infinity gives
    ``sw`` and -> 0 the largest slice.

    Parameters
    ----------
    X, Y, n_projections, p, projections, seed, a, b
        As in :func:`discrepancies.sw`; the L directions are the uniform base draws.
    slicing : str, default "mc"
        How the base draws are made: ``"mc"``, ``"orthogonal"`` or ``"rqmc"``
        (:mod:`discrepancies.slicing`; control variates estimate a uniform mean and are
        refused).
    energy : {"exp", "identity", "poly"}, default "exp"
        f of the law (module docstring): ``exp(c / tau)``, ``c``, ``c ** rho``.
    temperature : float > 0, default 2.0
        tau of the exp energy, in units of the mean uniform cost (``temperature_scale=
        "mean"``) or of c (``"absolute"``); infinity gives ``sw``, 0 the largest slice.
    temperature_scale : {"mean", "absolute"}, default "mean"
        "mean": tau = temperature times the mean cost over the L uniform base draws (the
        value is then 1-homogeneous in (X, Y), as SW is); "absolute": tau = temperature.
    rho : float > 0, default 2.0
        Exponent of the poly energy (the authors' default).
    gradient : {"detached", "full"}, default "detached"
        "detached": the weights are held constant in the gradient (the authors'
        ``copy=True``); "full": differentiated too.
    log : bool
        Also return ``{"projections": (d, L), "per_slice": (L,) W_p^p, "weights": (L,)}``.

    Returns
    -------
    0-d tensor (differentiable in X and Y) or NumPy float64; ``(value, log)`` with ``log``.

    References
    ----------
    K. Nguyen, N. Ho. "Energy-Based Sliced Wasserstein Distance", NeurIPS 2023.
    """
    return _importance("ebsw", X, Y, n_projections=n_projections, p=p, beta=None,
                       projections=projections, seed=seed, log=log, a=a, b=b, slicing=slicing,
                       energy=energy, temperature=temperature,
                       temperature_scale=temperature_scale, rho=rho, gradient=gradient)


@distributable
def ebsfg(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
          n_projections: int = 100, beta: float = 0.1, p: float = 2,
          projections: torch.Tensor | np.ndarray | None = None,
          seed: int | torch.Generator | None = None, log: bool = False, slicing: str = "mc",
          energy: str = "exp", temperature: float = 2.0, temperature_scale: str = "mean",
          rho: float = 2.0, gradient: str = "detached") -> Result:
    r"""Energy-based sliced fused Gromov-Wasserstein, importance sampled (IS-EBSFG).

    .. math::
        EBSFG_\beta = \mathbb{E}_{\theta \sim \sigma_f} FG_\beta(\theta)
        \approx \sum_{l=1}^L w_l FG_\beta(\theta_l), \quad
        w_l = \frac{f(FG_\beta(\theta_l))}{\sum_k f(FG_\beta(\theta_k))}

    (FG convention: no root; FG_beta as in :func:`discrepancies.sfg`). With the same
    directions, ``sfg <= ebsfg <= max_l FG_beta(theta_l)``.

    Parameters
    ----------
    X, Y, n_projections, beta, p, projections, seed
        As in :func:`discrepancies.sfg`.
    slicing, energy, temperature, temperature_scale, rho, gradient
        As in :func:`ebsw`.
    log : bool
        Also return ``{"projections": (d, L), "per_slice": (L,) FG_beta, "weights": (L,)}``.

    Returns
    -------
    As in :func:`discrepancies.sfg`.
    """
    return _importance("ebsfg", X, Y, n_projections=n_projections, p=p, beta=beta,
                       projections=projections, seed=seed, log=log, a=None, b=None,
                       slicing=slicing, energy=energy, temperature=temperature,
                       temperature_scale=temperature_scale, rho=rho, gradient=gradient)


def _inverse_cdf_draws(weights: torch.Tensor, count: int,
                       generator: torch.Generator) -> torch.Tensor:
    """``count`` indices drawn with replacement with probabilities ``weights`` (L,), by the
    inverse CDF of float64 uniforms: the same generator state gives the same indices whatever
    the dtype of the weights."""
    cumulative = torch.cumsum(weights.detach().double(), dim=0)
    u = torch.rand(count, generator=generator, dtype=torch.float64, device=weights.device)
    index = torch.searchsorted(cumulative, u * cumulative[-1], right=True)
    return index.clamp_(max=weights.shape[0] - 1)


@distributable
def sir_ebsw(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
             n_projections: int = 100, p: float = 2,
             projections: torch.Tensor | np.ndarray | None = None,
             seed: int | torch.Generator | None = None, log: bool = False,
             a: torch.Tensor | np.ndarray | None = None,
             b: torch.Tensor | np.ndarray | None = None, slicing: str = "mc",
             energy: str = "exp", temperature: float = 2.0, temperature_scale: str = "mean",
             rho: float = 2.0) -> Result:
    r"""Energy-based sliced Wasserstein distance by sampling-importance-resampling (SIR-EBSW).

    L uniform base directions (the pool), their importance weights as in :func:`ebsw`, then L
    indices drawn from them with replacement:

    .. math::
        SIR\text{-}EBSW_p = \Big(\frac1L \sum_{j=1}^L W_p^p(\theta_{i_j})\Big)^{1/p},
        \quad P(i_j = l) = w_l .

    Its expectation over the resampling is IS-EBSW on the same pool; both converge to EBSW
    as L grows, the resampled directions following the law :math:`\sigma_f` in the limit.
    The gradient holds the drawn directions fixed.

    Parameters
    ----------
    X, Y, n_projections, p, projections, seed, a, b, slicing
        As in :func:`ebsw` (``projections``: the pool; the resampling still uses ``seed``).
    energy, temperature, temperature_scale, rho
        As in :func:`ebsw`.
    log : bool
        Also return ``{"projections": (d, L) the pool, "per_slice": (L,) W_p^p,
        "weights": (L,) importance weights, "resampled": (L,) how often each was drawn}``.

    Returns
    -------
    As in :func:`ebsw`.
    """
    problem, scheme, numpy_out, log = _setup("sir_ebsw", X, Y, p, None, a, b, slicing, log,
                                             n_projections)
    law = Energy.checked(energy, temperature, temperature_scale, rho)
    generator = make_generator(seed, problem.X.device)
    P = resolve_projections(projections, n_projections, generator, problem.X, scheme.draw)
    ev = problem.evaluate(P)
    weights = energy_weights(ev.costs.detach(), law, ev.log_unit)
    L = P.shape[1]
    counts = torch.bincount(_inverse_cdf_draws(weights, L, generator), minlength=L)
    value = ev.finish((counts.to(ev.costs.dtype) / L * ev.costs).sum())
    return finish(value, numpy_out, log, {"projections": P, "per_slice": ev.per_slice,
                                          "weights": weights, "resampled": counts})


def _accept(log_f_new: torch.Tensor, log_f_now: torch.Tensor,
            log_u: torch.Tensor) -> torch.Tensor:
    """The Metropolis decisions (L,), one per chain: log u < log f(new) - log f(now) (the
    authors' code takes one decision for all chains, which leaves the law). ``>=`` also
    accepts between two zero densities, where the difference is NaN."""
    return (log_f_new >= log_f_now) | (log_u < log_f_new - log_f_now)


@distributable
def mh_ebsw(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray, *,
            n_projections: int = 100, p: float = 2,
            projections: torch.Tensor | np.ndarray | None = None,
            seed: int | torch.Generator | None = None, log: bool = False,
            a: torch.Tensor | np.ndarray | None = None,
            b: torch.Tensor | np.ndarray | None = None, slicing: str = "mc",
            energy: str = "exp", temperature: float = 2.0, temperature_scale: str = "mean",
            rho: float = 2.0, n_steps: int = 10, burn_in: int = 0, proposal: str = "uniform",
            proposal_kappa: float = 10.0) -> Result:
    r"""Energy-based sliced Wasserstein distance by Metropolis-Hastings (MH-EBSW).

    L chains, each started at a uniform base direction; at each of ``n_steps`` steps every
    chain proposes :math:`\theta'` (``"uniform"``: an independent uniform direction, the
    independence sampler; ``"vmf"``: :math:`\mathrm{vMF}(\theta, \kappa)` around its state, a
    random walk) and moves there with probability
    :math:`\min(1, f(c(\theta')) / f(c(\theta)))`, its own decision (both proposals are
    symmetric, so this is the Metropolis-Hastings ratio of the law :math:`\sigma_f`):

    .. math::
        MH\text{-}EBSW_p = \Big(\frac{1}{L (T - B)} \sum_{l=1}^L \sum_{t=B+1}^{T}
        W_p^p(\theta_l^{(t)})\Big)^{1/p}

    (T = ``n_steps``, B = ``burn_in``). Each chain's states converge in law to
    :math:`\sigma_f`; at a finite T the estimate keeps a bias towards the uniform start,
    which shrinks as T grows. Cost: T + 1 evaluations of L directions without gradient, and
    one with gradient on the distinct states kept (at most L (T - B) directions).
    The exp energy with ``temperature_scale="mean"`` takes its mean cost from the L starting
    directions.

    Parameters
    ----------
    X, Y, n_projections, p, projections, seed, a, b, slicing
        As in :func:`ebsw`: ``n_projections`` chains, started at the base draws (or at the
        columns of ``projections``); uniform proposals come from the same scheme.
    energy, temperature, temperature_scale, rho
        As in :func:`ebsw`.
    n_steps : int >= 1, default 10
        Steps T per chain (the authors' T = 10).
    burn_in : int in [0, n_steps), default 0
        Steps whose states are left out of the estimate (the authors' M = 0).
    proposal : {"uniform", "vmf"}, default "uniform"
    proposal_kappa : float >= 0, default 10.0
        Concentration of the vMF random walk (the authors' kappa = 10).
    log : bool
        Also return ``{"projections": (d, K) the distinct states kept, "per_slice": (K,)
        W_p^p, "weights": (K,) their share of the L (T - B) states, "acceptance": (L,) each
        chain's acceptance rate, "states": (d, L) the final states}``.

    Returns
    -------
    As in :func:`ebsw`.
    """
    problem, scheme, numpy_out, log = _setup("mh_ebsw", X, Y, p, None, a, b, slicing, log,
                                             n_projections)
    law = Energy.checked(energy, temperature, temperature_scale, rho)
    T = check_positive_int(n_steps, "n_steps", 1)
    B = check_positive_int(burn_in, "burn_in", 0)
    if B >= T:
        raise ValueError(f"burn_in must be < n_steps, got burn_in={B} and n_steps={T}")
    walk = _check_choice(proposal, "proposal", _PROPOSALS) == "vmf"
    kappa = check_real(proposal_kappa, "proposal_kappa", 0)
    Xw = problem.X
    device, draw_dtype = Xw.device, widest_float(Xw.device)
    generator = make_generator(seed, device)
    start = resolve_projections(projections, n_projections, generator, Xw, scheme.draw)
    d, L = start.shape
    state = start.to(draw_dtype)
    first = problem.evaluate(state, detached=True).log_costs()
    log_mean = (torch.logsumexp(first, 0) - math.log(L)).item()
    energy_now = law.log_f(first, log_mean)
    pool, chosen = [state], []
    index = torch.arange(L, device=device)
    accepted = torch.zeros(L, dtype=torch.int64, device=device)
    for step in range(1, T + 1):
        if walk and d > 1:  # (in d = 1 both directions are the same slice, up to sign)
            concentration = torch.full((L,), kappa, dtype=draw_dtype, device=device)
            proposed = VonMisesFisher(state.T, concentration).sample(
                generator=generator).T.contiguous()
        else:
            proposed = scheme.draw(d, L, generator, draw_dtype, device)
        energy_new = law.log_f(problem.evaluate(proposed, detached=True).log_costs(),
                               log_mean)
        log_u = torch.log(torch.rand(L, generator=generator, dtype=torch.float64,
                                     device=device))
        accept = _accept(energy_new, energy_now, log_u)
        state = torch.where(accept, proposed, state)
        energy_now = torch.where(accept, energy_new, energy_now)
        index = torch.where(accept, step * L + torch.arange(L, device=device), index)
        accepted += accept
        pool.append(proposed)
        if step > B:
            chosen.append(index)
    counts = torch.bincount(torch.cat(chosen), minlength=L * (T + 1))
    kept = torch.nonzero(counts).view(-1)
    P = torch.cat(pool, dim=1)[:, kept].to(Xw.dtype)
    ev = problem.evaluate(P)
    weights = counts[kept].to(ev.costs.dtype) / (L * (T - B))
    value = ev.finish((weights * ev.costs).sum())
    return finish(value, numpy_out, log, {
        "projections": P, "per_slice": ev.per_slice, "weights": weights,
        "acceptance": accepted.double() / T, "states": state.to(Xw.dtype)})
