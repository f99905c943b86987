r"""The von Mises-Fisher distribution on S^{d-1}: Wood's rejection sampler, reparameterised in loc.

Density with respect to the surface measure of S^{d-1}:

.. math:: p(x) = C_d(\kappa) \exp(\kappa\, \mu^T x),\qquad
          C_d(\kappa) = \frac{\kappa^{d/2-1}}{(2\pi)^{d/2} I_{d/2-1}(\kappa)},

and ``t = mu^T x`` has density proportional to ``exp(kappa t) (1 - t^2)^((d-3)/2)`` on [-1, 1].

References: A. T. A. Wood, "Simulation of the von Mises Fisher distribution", Communications in
Statistics - Simulation and Computation 23(1), 1994; K. V. Mardia & P. E. Jupp, *Directional
Statistics* (2000), 9.3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from samplers.base import LocConcentration
from samplers.bessel import iv_ratio, iv_ratio_complement, log_ive
from samplers.constraints import check_dimension, check_positive_int, check_real
from samplers.sphere import one_minus_cosine

MAX_ROUNDS = 100
"""Rounds of the rejection loop before giving up. Wood's envelope accepts with probability above
0.65 for every (d, kappa) (exactly, by quadrature: 0.658 at worst, d = 2 and kappa >> 1; 0.680
at d = 3; near 1 for kappa << d; see :func:`wood_acceptance_rate`), and each round after the
first makes enough proposals per pending draw that it stays pending with probability below
1e-3, so reaching the bound means the inputs broke the arithmetic (NaN): it raises instead of
looping forever."""

MIN_ACCEPTANCE = 0.1
"""An acceptance rate below this over :data:`MIN_PROPOSALS` or more proposals stops the rejection
loop at once. Wood's envelope accepts above 0.65 (and the biased envelopes the statistical checks
plant, above 0.55), so a correct loop meets it with probability below 1e-100; a broken acceptance
test would otherwise spend all :data:`MAX_ROUNDS` rounds on pools up to 22 times the missing
draws, thousands of times a correct call's work, before raising."""

MIN_PROPOSALS = 1000


def _hopeless(proposed: int, accepted: int) -> bool:
    """Whether ``accepted`` of ``proposed`` is an acceptance rate no working envelope gives."""
    return proposed >= MIN_PROPOSALS and accepted < MIN_ACCEPTANCE * proposed


def _ops(x):
    """``math`` for a Python float, ``torch`` for a tensor: the Wood constants serve both."""
    return math if isinstance(x, float) else torch


def wood_envelope(kappa: torch.Tensor | float, d: int) -> torch.Tensor | float:
    r"""Wood's envelope parameter :math:`b = (d-1) / (2\kappa + \sqrt{4\kappa^2 + (d-1)^2})`.

    Algebraically equal to Wood's ``(-2 kappa + sqrt(4 kappa^2 + (d-1)^2)) / (d-1)`` but free of
    its cancellation at ``kappa >> d``, and of overflow: with ``r = (d-1) / (2 kappa)`` it is
    ``r / (1 + hypot(1, r))`` for ``kappa >= (d-1)/2`` (``b ~ (d-1) / (4 kappa)``, right up to
    kappa = 1.8e308, where ``4 kappa^2`` and even ``2 kappa`` overflow), and
    ``1 / (1/r + hypot(1/r, 1))`` below; ``b = 1`` at ``kappa = 0`` (then every proposal is
    accepted and ``t = 1 - 2 Beta((d-1)/2, (d-1)/2)`` is exactly the uniform marginal).
    """
    half = (d - 1) / 2
    if isinstance(kappa, float):
        if kappa >= half:
            r = half / kappa
            return r / (1 + math.hypot(1.0, r))
        c = kappa / half
        return 1 / (c + math.hypot(c, 1.0))
    large = kappa >= half
    r = half / torch.where(large, kappa, half)
    c = torch.where(large, half, kappa) / half
    one = torch.ones_like(kappa)
    return torch.where(large, r / (1 + torch.hypot(one, r)), 1 / (c + torch.hypot(c, one)))


def _wood_constants(kappa, d: int, b=None):
    """``(2 b, b, 1 - x0, x0, c0)`` of Wood's test, floats or tensors like ``kappa``.

    ``x0 = (1 - b) / (1 + b)``, ``1 - x0 = 2 b / (1 + b)`` kept exact, and
    ``c0 = kappa (1 - x0) - (d-1) log(1 - x0^2)`` with ``1 - x0^2 = 4 b / (1 + b)^2``.
    """
    ops = _ops(kappa)
    b = wood_envelope(kappa, d) if b is None else b
    one_m_x0 = 2 * b / (1 + b)
    c0 = kappa * one_m_x0 - (d - 1) * (ops.log(4 * b) - 2 * ops.log1p(b))
    return 2 * b, b, one_m_x0, 1 - one_m_x0, c0


def _affine(c, a, x: torch.Tensor) -> torch.Tensor:
    """``c + a x`` with ``c``, ``a`` floats or tensors broadcastable with ``x``, few kernels."""
    if isinstance(a, float):
        return torch.mul(x, a).add_(c)
    return torch.addcmul(c, a, x)


def _symmetric_beta_odds(a: float, shape, generator, like: torch.Tensor):
    """``(P, Q)`` with ``P / (P + Q) ~ Beta(a, a)``: a Beta draw as unnormalised odds.

    ``Z = (1 + N / r) / 2`` with ``r = sqrt(N^2 + 2 G)``, ``N ~ N(0, 1)``, ``G ~ Gamma(a)`` (the
    Student-t representation of a symmetric Beta), so ``Z : 1 - Z = (r + |N|)^2 : 2 G`` when
    ``N >= 0`` and the reverse otherwise. One Gamma draw instead of two, and no subtraction:
    both sides keep full relative accuracy when ``Z`` is within 1e-20 of 0 or 1.
    """
    g2 = 2 * torch._standard_gamma(
        torch.full(shape, a, dtype=like.dtype, device=like.device), generator=generator
    )
    n = torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)
    big = (torch.sqrt(torch.addcmul(g2, n, n)) + n.abs()).square()
    negative = n < 0
    return torch.where(negative, g2, big), torch.where(negative, big, g2)


@dataclass
class _Tally:
    """Proposals made and accepted by :func:`_wood` (accepted ones it did not keep included)."""

    proposed: int = 0
    accepted: int = 0


@dataclass(frozen=True)
class _WoodTest:
    """The constants of Wood's proposal and acceptance test (:func:`_wood_constants`), floats
    for one shared kappa or (count, 1) columns for one kappa per draw."""

    two_b: torch.Tensor | float
    b: torch.Tensor | float
    one_minus_x0: torch.Tensor | float
    x0: torch.Tensor | float
    c0: torch.Tensor | float
    minus_kappa: torch.Tensor | float

    def rows(self, index: torch.Tensor) -> _WoodTest:
        """The constants of the draws ``index`` (one kappa per draw)."""
        return _WoodTest(*(c[index] for c in vars(self).values()))


def _wood_proposals(test: _WoodTest, m: int, shape: tuple[int, int], generator,
                    like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``shape`` proposals of Wood's sampler: ``(1 - w, 1 + w, accepted)``.

    ``w = (1 - (1 + b) z) / (1 - (1 - b) z)`` with ``z ~ Beta(m/2, m/2)`` (as odds, so that
    ``1 - w`` and ``1 + w`` keep their relative accuracy), accepted iff
    ``kappa (w - x0) + m log((1 - x0 w) / (1 - x0^2)) >= log u``, evaluated as
    ``c0 - kappa (1 - w) + m log(1 - x0 + x0 (1 - w)) >= log u``: cancellation-free.
    """
    z_odds, complement_odds = _symmetric_beta_odds(m / 2, shape, generator, like)
    denom = _affine(complement_odds, test.b, z_odds)  # proportional to 1 - (1 - b) z
    one_minus_w = torch.div(z_odds, denom).mul_(test.two_b)
    log_u = torch.rand(one_minus_w.shape, generator=generator, dtype=like.dtype,
                       device=like.device).log_()
    lhs = _affine(test.c0, test.minus_kappa, one_minus_w).add_(
        _affine(test.one_minus_x0, test.x0, one_minus_w).log_(), alpha=m)
    return one_minus_w, torch.div(complement_odds, denom).mul_(2), lhs >= log_u


def _wood_shared_kappa(kappa: torch.Tensor, n_draws: int, d: int, generator,
                       envelope: torch.Tensor | None, tally: _Tally | None):
    """Wood's sampler for one concentration shared by every draw (``kappa`` of shape (1,)).

    The constants are Python floats and the accepted proposals of a flat pool are i.i.d.
    draws, so each round proposes ``need / rate`` with a margin (Wood's acceptance rate is
    above 0.65 for every (d, kappa)) and keeps the first ``need`` accepted: one round almost
    always. Returns ``(1 - t, 1 + t)`` of shape (n_draws,), or ``(None, pending)`` after
    :data:`MAX_ROUNDS` rounds or at a hopeless acceptance rate (:data:`MIN_ACCEPTANCE`).
    """
    k = float(kappa[0])
    test = _WoodTest(*_wood_constants(k, d, None if envelope is None else float(envelope[0])),
                     -k)
    # a guess of the acceptance rate (exact: 0.658 to 0.70 when kappa >> d, -> 1 when
    # kappa << d), within the pool's 10% margin; a low guess costs a few spare proposals, a
    # high one a round
    rate = 0.66 + 0.34 * math.exp(-k / d)
    one_minus_t, one_plus_t, need = [], [], n_draws
    proposed = accepted_total = 0
    for _ in range(MAX_ROUNDS):
        if need == 0:
            if len(one_minus_t) == 1:
                return one_minus_t[0], one_plus_t[0]
            return torch.cat(one_minus_t), torch.cat(one_plus_t)
        # need <= n_draws and rate >= 0.05, so the pool is at most the cap; the cap keeps every
        # round bounded even if that arithmetic breaks (a pool that grew each round would take
        # the loop's time to 2^MAX_ROUNDS instead of MAX_ROUNDS rounds)
        count = min(math.ceil(1.1 * need / rate), 22 * n_draws) + 16
        one_minus_w, one_plus_w, accept = _wood_proposals(test, d - 1, (count, 1), generator,
                                                          kappa)
        accepted = torch.nonzero(accept[:, 0]).squeeze(1)
        n_accepted = accepted.shape[0]
        if tally is not None:
            tally.proposed += count
            tally.accepted += n_accepted
        accepted = accepted[:need]
        one_minus_t.append(one_minus_w[:, 0].index_select(0, accepted))
        one_plus_t.append(one_plus_w[:, 0].index_select(0, accepted))
        need -= accepted.shape[0]
        rate = max(0.05, n_accepted / count)
        proposed, accepted_total = proposed + count, accepted_total + n_accepted
        if need and _hopeless(proposed, accepted_total):
            break
    return None, need


def _wood_per_draw_kappa(kappa: torch.Tensor, n_draws: int, d: int, generator,
                         envelope: torch.Tensor | None, tally: _Tally | None):
    """Wood's sampler for one concentration per draw (``kappa`` of shape (n_draws,)).

    One proposal per draw first; then each pending draw gets ``R`` proposals per round, ``R``
    chosen from the first round's acceptance rate so that a draw stays pending with
    probability below 1e-3, and keeps its first accepted one. Returns ``(1 - t, 1 + t)`` of
    shape (n_draws,), or ``(None, pending)`` after :data:`MAX_ROUNDS` rounds or at a hopeless
    acceptance rate (:data:`MIN_ACCEPTANCE`).
    """
    test = _WoodTest(*(c.unsqueeze(1) for c in (*_wood_constants(kappa, d, envelope), -kappa)))
    one_minus_w, one_plus_w, accept = _wood_proposals(test, d - 1, (n_draws, 1), generator,
                                                      kappa)
    one_minus_t, one_plus_t = one_minus_w[:, 0], one_plus_w[:, 0]
    pending = torch.nonzero(~accept[:, 0]).squeeze(1)
    proposed, accepted = n_draws, n_draws - pending.shape[0]
    if tally is not None:
        tally.proposed += proposed
        tally.accepted += accepted
    rate = max(1 - pending.shape[0] / max(n_draws, 1), 0.05)
    proposals = min(64, max(1, math.ceil(math.log(1e-3) / math.log1p(-min(rate, 0.999)))))
    for _ in range(MAX_ROUNDS - 1):
        if pending.shape[0] == 0:
            return one_minus_t, one_plus_t
        if _hopeless(proposed, accepted):
            break
        one_minus_w, one_plus_w, accept = _wood_proposals(
            test.rows(pending), d - 1, (pending.shape[0], proposals), generator, kappa)
        n_accepted = int(accept.sum())
        proposed, accepted = proposed + accept.numel(), accepted + n_accepted
        if tally is not None:
            tally.proposed += accept.numel()
            tally.accepted += n_accepted
        first = accept.to(torch.uint8).argmax(dim=1, keepdim=True)
        row_ok = accept.any(dim=1)
        done = pending[row_ok]
        one_minus_t[done] = one_minus_w.gather(1, first)[row_ok, 0]
        one_plus_t[done] = one_plus_w.gather(1, first)[row_ok, 0]
        pending = pending[~row_ok]
    if pending.shape[0] == 0:
        return one_minus_t, one_plus_t
    return None, pending.shape[0]


def _wood(
    kappa: torch.Tensor,
    n_draws: int,
    d: int,
    generator,
    b: torch.Tensor | None,
    tally: _Tally | None = None,
):
    """Wood's rejection sampler of ``(1 - t, 1 + t)``, shape (n_draws,).

    ``kappa`` has shape (1,) (one shared value, the common case: :func:`_wood_shared_kappa`)
    or (n_draws,) (:func:`_wood_per_draw_kappa`); ``b`` overrides Wood's envelope parameter
    (same shape). No Python-level loop over draws, everything on the device, at most
    :data:`MAX_ROUNDS` rounds; it raises as soon as the acceptance rate shows the envelope or
    the test broken (:data:`MIN_ACCEPTANCE`).

    ``tally``, when given, counts every proposal and every accepted one, so that
    ``accepted / proposed`` estimates the acceptance probability (the surplus accepted
    proposals of the last pool count too, or the margin of the pool size would bias it low).
    Counting costs nothing with a shared kappa and one reduction per later round otherwise.
    """
    sampler = _wood_shared_kappa if kappa.shape[0] == 1 else _wood_per_draw_kappa
    one_minus_t, one_plus_t = sampler(kappa, n_draws, d, generator, b, tally)
    if one_minus_t is not None:
        return one_minus_t, one_plus_t
    raise RuntimeError(
        f"von Mises-Fisher rejection sampler: {one_plus_t} of {n_draws} draws still "
        f"rejected after {MAX_ROUNDS} rounds or at an acceptance rate below "
        f"{MIN_ACCEPTANCE} (d={d}, concentration in "
        f"[{kappa.min().item():.3g}, {kappa.max().item():.3g}]); the envelope is broken"
    )


def wood_acceptance_rate(
    kappa: float,
    d: int,
    n: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    *,
    per_draw: bool = False,
) -> float:
    r"""Observed acceptance rate of Wood's rejection loop drawing ``n`` values of ``t``.

    Runs the sampler's own loop (:func:`_wood`, the one behind ``VonMisesFisher.rsample``) and
    returns accepted / proposed. Its expectation is Wood's acceptance probability

    .. math:: p(\kappa, d) = \mathbb{E}_{z \sim \mathrm{Beta}(m/2, m/2)}\Big[
              e^{\kappa (w - x_0)} \Big(\frac{1 - x_0 w}{1 - x_0^2}\Big)^m\Big],\qquad
              w = \frac{1 - (1+b) z}{1 - (1-b) z},\ x_0 = \frac{1-b}{1+b},\ m = d - 1,

    with ``b`` = :func:`wood_envelope`; ``p = 1`` at ``kappa = 0``. ``rsample`` itself uses the
    exact inverse CDF at d = 3; this helper runs Wood's loop for every ``d >= 2``.

    Parameters
    ----------
    kappa : float
        Concentration, finite and >= 0.
    d : int
        Ambient dimension, ``d >= 2``.
    n : int
        Draws to make, ``n >= 1`` (about ``n / p`` proposals).
    generator : torch.Generator, optional
        Source of randomness; its device is used.
    dtype : torch.dtype
        Floating dtype of the loop (float32 is what a float32 ``VonMisesFisher`` runs).
    per_draw : bool
        Run the branch for one concentration per draw (``kappa`` repeated ``n`` times) instead
        of the shared-concentration pool.

    Returns
    -------
    float
        accepted / proposed, in (0, 1].
    """
    d, n, kappa = check_dimension(d), check_positive_int(n, "n"), check_real(kappa, "kappa", 0)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got dtype={dtype}")
    device = None if generator is None else generator.device
    flat = torch.full((n if per_draw else 1,), float(kappa), dtype=dtype, device=device)
    tally = _Tally()
    _wood(flat, n, d, generator, None, tally)
    return tally.accepted / tally.proposed


def _inverse_cdf_d3(kappa: torch.Tensor, generator):
    r"""Exact inverse CDF for d = 3: ``1 - t = -log(1 - r (1 - e^{-2 kappa})) / kappa``.

    With ``r`` uniform in [0, 1); written with ``log1p``/``expm1`` so that it is accurate for
    ``kappa`` from 1e-300 to 1e300, and ``1 - t = 2 r`` (uniform) at ``kappa = 0``.
    """
    r = torch.rand(kappa.shape, generator=generator, dtype=kappa.dtype, device=kappa.device)
    safe = torch.where(kappa > 0, kappa, torch.ones_like(kappa))
    omt = -torch.log1p(r * torch.expm1(-2 * safe)) / safe
    omt = torch.where(kappa > 0, omt, 2 * r).clamp(0, 2)
    return omt, 2 - omt


def sample_vmf_t(
    kappa: torch.Tensor,
    d: int,
    generator: torch.Generator | None = None,
    envelope: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Draw ``t = mu^T x`` under vMF(mu, kappa) on S^{d-1}, one per entry of ``kappa``.

    Returns ``(1 - t, 1 + t)`` (computed separately so that ``sqrt(1 - t^2)`` keeps its relative
    accuracy when ``t`` is within 1e-12 of +-1). d = 3 uses the exact inverse CDF; other d use
    Wood's vectorised rejection sampler, on ``kappa``'s device, bounded by :data:`MAX_ROUNDS`.
    An expanded ``kappa`` (one value broadcast to every draw) is recognised and not copied.

    ``envelope`` overrides Wood's ``b`` (a scalar or the shape of ``kappa``); it exists so that
    the tests can show that the statistical checks catch a wrong envelope. Not differentiable.
    """
    shape = kappa.shape
    kappa = kappa.detach()
    n_draws = kappa.numel()
    shared = n_draws > 0 and all(st == 0 for st in kappa.stride())
    flat = kappa.reshape(-1)[:1] if shared else kappa.reshape(-1)
    if d == 3 and envelope is None:
        omt, opt = _inverse_cdf_d3(flat.expand(n_draws), generator)
    else:
        b = None if envelope is None else torch.as_tensor(envelope).to(flat).expand_as(flat)
        omt, opt = _wood(flat, n_draws, d, generator, b)
    return omt.reshape(shape), opt.reshape(shape)


def _log_density_at_mode64(kappa: torch.Tensor, d: int) -> torch.Tensor:
    """``log C_d(kappa) + kappa`` in float64 (see :func:`log_density_at_mode`)."""
    nu = d / 2 - 1
    k64 = kappa.to(torch.float64)
    positive = k64 > 0
    safe = torch.where(positive, k64, torch.ones_like(k64))
    value = nu * torch.log(safe) - (d / 2) * math.log(2 * math.pi) - log_ive(nu, safe)
    uniform = math.lgamma(d / 2) - math.log(2) - (d / 2) * math.log(math.pi)
    return torch.where(positive, value, torch.full_like(value, uniform))


def log_density_at_mode(kappa: torch.Tensor, d: int,
                        dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""``log p(mu) = log C_d(kappa) + kappa``, computed without forming either term.

    .. math:: \log C_d(\kappa) + \kappa = \nu \log\kappa - \tfrac d2 \log(2\pi)
              - \log\big(I_\nu(\kappa) e^{-\kappa}\big),\qquad \nu = \tfrac d2 - 1,

    with :func:`samplers.bessel.log_ive`, in float64, cast to ``dtype`` (default: ``kappa``'s;
    a wider one keeps the float64 value's accuracy, which rounding to ``kappa``'s first would
    lose). It grows like ``(d-1)/2 log(kappa / (2 pi))`` (Hankel's expansion of ``I_nu``),
    while ``log C_d`` and ``kappa`` are each of size ``kappa``: formed separately, their sum is
    off by nats in float32 from kappa ~ 1e7 (an ulp of 1e8 is 8) and in float64 from
    kappa ~ 1e16.
    """
    return _log_density_at_mode64(kappa, d).to(kappa.dtype if dtype is None else dtype)


def log_normalizer(kappa: torch.Tensor, d: int) -> torch.Tensor:
    r"""``log C_d(kappa)`` (so that ``log p(x) = log C_d + kappa mu^T x``); ``kappa >= 0``.

    At ``kappa = 0`` it is minus the log surface area of S^{d-1},
    ``lgamma(d/2) - log 2 - (d/2) log pi``. For a density, prefer
    :func:`log_density_at_mode` plus ``kappa (mu^T x - 1)``: this value is of size ``kappa``.
    """
    return (_log_density_at_mode64(kappa, d) - kappa.to(torch.float64)).to(kappa.dtype)


def mean_resultant_length(kappa: torch.Tensor, d: int) -> torch.Tensor:
    r"""``A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa) = E[mu^T x]`` (see :func:`iv_ratio`)."""
    return iv_ratio(d / 2 - 1, kappa)


class VonMisesFisher(LocConcentration):
    r"""von Mises-Fisher distribution on the unit sphere S^{d-1} of R^d.

    Parameters
    ----------
    loc : torch.Tensor, shape batch_shape + (d,)
        Mean directions, unit norm along the last axis, ``d >= 2``.
    concentration : float or torch.Tensor broadcastable to batch_shape
        kappa >= 0; ``kappa = 0`` is the uniform distribution.
    validate_args : bool, optional
        As in torch.distributions (default on): check unit norm, finiteness, kappa >= 0, and the
        support of values given to :meth:`log_prob`.

    Notes
    -----
    ``rsample`` is reparameterised in ``loc`` (kappa is held fixed: ``t = loc^T x`` comes from a
    rejection sampler and carries no gradient); ``x = Q(loc) (t e1 + sqrt(1 - t^2) v)`` with the
    Householder map of :func:`samplers.sphere.householder_place`.

    Examples
    --------
    >>> loc = torch.tensor([0.0, 0.0, 1.0])
    >>> x = VonMisesFisher(loc, 10.0).rsample((5,), generator=torch.Generator().manual_seed(0))
    >>> x.shape
    torch.Size([5, 3])
    """

    sample_t = staticmethod(sample_vmf_t)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """``log C_d(kappa) + kappa mu^T x``, evaluated as
        ``log_density_at_mode(kappa) - kappa (1 - mu^T x)`` with ``1 - mu^T x = ||x - mu||^2 / 2``
        (equal on the sphere): no cancellation between two terms of size kappa, and none in
        ``1 - mu^T x`` near the mode, so a float32 value keeps float32's relative accuracy at
        any kappa. In the dtype of ``concentration`` and ``value`` promoted."""
        if self._validate_args:
            self._validate_sample(value)
        kappa = self.concentration
        dtype = torch.promote_types(kappa.dtype, value.dtype)
        return (log_density_at_mode(kappa, self.dim, dtype)
                - kappa * one_minus_cosine(value.to(dtype), self.loc.to(dtype)))

    @property
    def mean(self) -> torch.Tensor:
        a = mean_resultant_length(self.concentration, self.dim)
        return a.to(self.loc.dtype).unsqueeze(-1) * self.loc

    @property
    def mode(self) -> torch.Tensor:
        return self.loc

    def entropy(self) -> torch.Tensor:
        """``-log C_d - kappa A_d = -log p(mu) + kappa (1 - A_d)``, both terms O(d log kappa) and
        computed in float64 (``1 - A_d`` by :func:`samplers.bessel.iv_ratio_complement`)."""
        kappa = self.concentration
        k64 = kappa.to(torch.float64)
        value = (-_log_density_at_mode64(kappa, self.dim)
                 + k64 * iv_ratio_complement(self.dim / 2 - 1, k64))
        return value.to(kappa.dtype)
