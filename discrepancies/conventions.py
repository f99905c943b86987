r"""Adapters from this suite's convention to the scalings of published code.

Each convention evaluates, exactly, what one published file computes on the directions that
code drew (pass them as ``directions``, shape (d, L)). With :math:`u = \theta_l^\top x` and
:math:`v = \theta_l^\top y` sorted, :math:`W_p^p(\theta_l) = \frac1n\sum_i |u_{(i)} -
v_{(i)}|^p` and :math:`FG_\beta(\theta_l)` the per-slice fused cost of :func:`discrepancies.sfg`
(a mean over samples in the transport term, over pairs in the structure term):

- ``"design"``: this suite, and POT's ``ot.sliced_wasserstein_distance`` (ot/sliced.py): unit
  directions, :math:`SW = (\frac1L\sum_l W_p^p(\theta_l))^{1/p}` and
  :math:`SFG = \frac1L\sum_l FG_\beta(\theta_l)`.
- ``"swae"``: the SWAE code of Kolouri et al. (github.com/skolouri/swae, the Keras notebook
  ``MNIST_SlicedWassersteinAutoEncoder_Circle.ipynb``, without its loss weight): unit
  directions, the mean of :math:`(u_{(i)} - v_{(i)})^2` over samples and directions, no root,
  i.e. :math:`\frac1L\sum_l W_2^2(\theta_l) = SW_2^2`. The formula was read from that
  notebook; no value computed by that code is tested here. It has p = 2 only (other p here
  take :math:`|\cdot|^p`) and no fused term: the ``"swae"`` SFG is the ``"design"`` one.
- ``"rae"``: Methods/drae.py of HongtengXu/Relational-AutoEncoders, p = 2 only (for other p
  that code is not a distance: no absolute value in the transport term, a different structure
  term). Raw Gaussian directions
  :math:`g_l \sim N(0, I_d)`, not normalised, *summed*:

  .. math::
      SW = \sum_l \sum_i (u_{(i)} - v_{(i)})^2 = L\, n\, \frac1L\sum_l W_2^2(g_l),

      SFG = \sum_l \min_\sigma \Big[(1-\beta)\sum_i (u_i - v_{\sigma(i)})^2
      + \beta\frac1{n^2}\sum_{i,j}\big((u_i-u_j)^2 - (v_{\sigma(i)}-v_{\sigma(j)})^2\big)^2\Big]
      = L\, c\, \frac1L\sum_l FG_{\beta/c}(g_l), \qquad c = (1-\beta)\, n + \beta,

  with :math:`\sigma \in \{\mathrm{id}, \mathrm{anti\text{-}id}\}`, one coupling per direction
  for the fused cost: a sum over samples in the transport term but a mean over pairs in the
  structure term, so next to the transport term the structure term weighs n times less than
  in :math:`FG_\beta`, and the chosen coupling can differ.

- ``"ebsw"``: GradientFlow/utils.py of khainb/EBSW (its ``SW`` and ``ISEBSW``): unit
  directions, each slice *summed* over the samples, :math:`n W_p^p(\theta_l)`, averaged over
  directions, p-th root: its SW is :math:`n^{1/p} SW_p`. Its ``ISEBSW`` splits the L
  directions into G groups of T (group-major) and returns
  :math:`\big(\frac1G\sum_g \sum_{l \in g} w_l\, n W_p^p(\theta_l)\big)^{1/p}`, the
  weights normalised within each group: ``"exp"`` a softmax of :math:`n W_p^p` itself (an
  absolute temperature of 1/n in this suite's units), ``"identity"`` and ``"poly"``
  (:math:`(n W_p^p)^\rho`, which the sum's factor n does not change once normalised), with
  its ``eps = 0`` (:func:`ebsw_in_convention`).

A cost that sums over samples (weight :math:`a`: n for a sum, 1 for a mean) and over pairs
(weight :math:`b`: :math:`n^2` or 1) is :math:`c\, FG_{\beta'}` with
:math:`c = (1-\beta) a + \beta b` and :math:`\beta' = \beta b / c`: a positive multiple of the
same objective, so the same coupling is chosen on every slice. To compare a published number
with ours in expectation (:math:`E\|g\|^2 = d`): ``"rae"`` SW ~ ``L * n * d * sw(X, Y) ** 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._inputs import (
    as_point_clouds,
    check_beta,
    check_equal_size,
    check_finite,
    check_lr,
    check_n_iter,
    check_p,
    check_positive_int,
    check_projections,
    describe,
    pth_root,
    to_output,
    to_tensor,
)
from ._slices import fg_per_slice, wp_per_slice
from .energy import Energy, energy_weights

__all__ = ["CONVENTIONS", "Convention", "dsw_in_convention", "ebsw_in_convention",
           "sfg_in_convention", "sw_in_convention"]


@dataclass(frozen=True)
class Convention:
    r"""What an implementation computes, term by term.

    source : the published file it mirrors.
    directions : ``"unit"`` (uniform on the sphere) or ``"gaussian"`` (raw N(0, I_d) vectors).
    over_directions : ``"mean"`` or ``"sum"`` of the per-direction costs.
    transport : ``"mean"`` or ``"sum"`` over the n samples of :math:`|u_i - v_{\sigma(i)}|^p`.
    structure : ``"mean"`` or ``"sum"`` over the :math:`n^2` pairs of the structure term.
    root : whether SW takes the p-th root.
    only_p : the one order p the code is defined for, or None for any p >= 1.
    fused : whether the code has a fused cost (:func:`sfg_in_convention` refuses it if not).
    """

    source: str
    directions: str
    over_directions: str
    transport: str
    structure: str
    root: bool
    only_p: float | None
    fused: bool = True


CONVENTIONS: dict[str, Convention] = {
    "design": Convention("POT, ot/sliced.py: sliced_wasserstein_distance",
                         "unit", "mean", "mean", "mean", True, None),
    "swae": Convention("skolouri/swae: MNIST_SlicedWassersteinAutoEncoder_Circle.ipynb",
                       "unit", "mean", "mean", "mean", False, None),
    "rae": Convention("HongtengXu/Relational-AutoEncoders: Methods/drae.py",
                      "gaussian", "sum", "sum", "mean", False, 2.0),
    "ebsw": Convention("khainb/EBSW: GradientFlow/utils.py (SW, ISEBSW)",
                       "unit", "mean", "sum", "sum", True, None, fused=False),
}

# the exp energy's temperature in the conventions that define an energy-based SW: this suite's
# default (in units of the mean slice cost), and the authors' exp of the convention's own cost
_EXP_TEMPERATURE = {"design": (2.0, "mean"), "ebsw": (1.0, "absolute")}


def _convention(name: object) -> Convention:
    if name not in CONVENTIONS:
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}, got {name!r}")
    return CONVENTIONS[name]


def _check_p(p: object, name: str, conv: Convention) -> float:
    p = check_p(p)
    if conv.only_p is not None and p != conv.only_p:
        raise ValueError(f"p must be {conv.only_p:g} for convention {name!r} (the code it "
                         f"mirrors, {conv.source}, is not a distance for other p), got p={p:g}")
    return p


def _weight(reduction: str, count: int) -> int:
    """The factor a sum carries over the mean of ``count`` terms."""
    return count if reduction == "sum" else 1


def _directions(directions: object, conv: Convention, like: torch.Tensor) -> torch.Tensor:
    if conv.directions == "unit":
        return check_projections(directions, like.shape[1], like)
    t, _ = to_tensor(directions, "directions")
    t = t.to(dtype=like.dtype, device=like.device)
    if t.ndim != 2 or t.shape[0] != like.shape[1] or t.shape[1] == 0:
        raise ValueError(f"directions must have shape (d, L) = ({like.shape[1]}, L), "
                         f"got {describe(t)}")
    check_finite(t, "directions")
    return t


def sw_in_convention(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray,
                     directions: torch.Tensor | np.ndarray, p: float = 2, *,
                     convention: str = "design") -> torch.Tensor | np.float64:
    r"""SW as the implementation following ``convention`` computes it on ``directions``.

    .. math::
        w_L\, w_n\, \frac1L\sum_l W_p^p(\theta_l) \quad (\text{then the p-th root if the
        convention takes it}),

    with :math:`w_L = L` if the convention sums over directions (else 1) and :math:`w_n = n`
    if it sums over samples (else 1); ``"rae"`` (p = 2 only) is
    :math:`\sum_l\sum_i (u_{(i)} - v_{(i)})^2` on raw Gaussian directions.

    Parameters
    ----------
    X, Y : array-like, shape (n, d) and (m, d)
        Torch tensors or NumPy arrays; conventions that sum over samples need n == m.
    directions : array-like, shape (d, L)
        Unit columns for ``"design"`` and ``"swae"``, raw Gaussian vectors for ``"rae"``.
    p : float
        ``"rae"`` accepts p = 2 only.
    convention : ``"design"``, ``"swae"`` or ``"rae"``

    Returns
    -------
    value
        Same types as :func:`discrepancies.sw`; ``"design"`` equals
        ``sw(X, Y, projections=directions, p=p)``.
    """
    conv = _convention(convention)
    X, Y, numpy_out = as_point_clouds(X, Y)
    p = _check_p(p, convention, conv)
    if conv.transport == "sum":
        check_equal_size(X, Y)
    P = _directions(directions, conv, X)
    scale = _weight(conv.over_directions, P.shape[1]) * _weight(conv.transport, X.shape[0])
    value = scale * wp_per_slice(X, Y, P, p).mean()
    return to_output(pth_root(value, p) if conv.root else value, numpy_out)


def sfg_in_convention(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray,
                      directions: torch.Tensor | np.ndarray, beta: float = 0.1, p: float = 2, *,
                      convention: str = "design") -> torch.Tensor | np.float64:
    r"""SFG as the implementation following ``convention`` computes it on ``directions``.

    .. math::
        w_L\, c\, \frac1L\sum_l FG_{\beta'}(\theta_l), \qquad c = (1-\beta)\, w_n + \beta\, w_{n^2},
        \quad \beta' = \beta\, w_{n^2} / c,

    with :math:`w_L`, :math:`w_n`, :math:`w_{n^2}` the count of directions, samples and pairs
    where the convention sums over them (else 1). ``"rae"`` (p = 2 only) sums over directions
    and samples but averages over pairs: :math:`L\, c\, \frac1L\sum_l FG_{\beta/c}` with
    :math:`c = (1-\beta) n + \beta`.

    Parameters
    ----------
    X, Y : array-like, shape (n, d)
    directions : array-like, shape (d, L)
        Unit columns for ``"design"`` and ``"swae"``, raw Gaussian vectors for ``"rae"``.
    beta : float in [0, 1]
    p : float
        ``"rae"`` accepts p = 2 only.
    convention : ``"design"``, ``"swae"`` or ``"rae"``

    Returns
    -------
    value
        Same types as :func:`discrepancies.sfg`; ``"design"`` and ``"swae"`` equal
        ``sfg(X, Y, projections=directions, beta=beta, p=p)``.
    """
    conv = _convention(convention)
    if not conv.fused:
        raise ValueError(f"convention {convention!r} ({conv.source}) has no fused cost")
    X, Y, numpy_out = as_point_clouds(X, Y)
    check_equal_size(X, Y)
    beta, p = check_beta(beta), _check_p(p, convention, conv)
    P = _directions(directions, conv, X)
    n = X.shape[0]
    a, b = _weight(conv.transport, n), _weight(conv.structure, n * n)
    c = a - beta * (a - b)  # (1 - beta) a + beta b, exactly 1 when a == b == 1
    value = _weight(conv.over_directions, P.shape[1]) * c * fg_per_slice(
        X, Y, P, beta * b / c, p).mean()
    return to_output(value, numpy_out)


def ebsw_in_convention(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray,
                       directions: torch.Tensor | np.ndarray, p: float = 2, *,
                       energy: str = "exp", rho: float = 2.0, groups: int = 1,
                       convention: str = "design") -> torch.Tensor | np.float64:
    r"""IS-EBSW as the implementation following ``convention`` computes it on ``directions``.

    With :math:`w_n c_l` the convention's cost of slice l (:math:`c_l = W_p^p(\theta_l)`,
    :math:`w_n = n` where it sums over samples) and the L directions in ``groups`` groups of
    L / groups (group-major), the weights :math:`\omega_l` normalised within each group:

    .. math::
        \Big(\frac1G \sum_g \sum_{l \in g} \omega_l\, w_n c_l\Big)^{1/p}, \qquad
        \omega_l \propto f(w_n c_l),

    with ``"exp"`` at this suite's default (temperature 2 in units of the group's mean
    cost) for ``"design"`` and the authors' :math:`f(c) = \exp(c)` on their own cost for
    ``"ebsw"`` (mirroring ``ISEBSW(X, Y, L=groups, T=L/groups, p, f_type=energy, eps=0,
    copy=True, rho)`` of khainb/EBSW, GradientFlow/utils.py, on these directions).

    Parameters
    ----------
    X, Y : array-like, shape (n, d)
    directions : array-like, shape (d, L), unit columns
    p : float >= 1
    energy : {"exp", "identity", "poly"}
    rho : float > 0, the exponent of ``"poly"``
    groups : int >= 1 dividing L
    convention : ``"design"`` or ``"ebsw"``

    Returns
    -------
    Same types as :func:`discrepancies.ebsw`; ``"design"`` with ``groups=1`` equals
    ``ebsw(X, Y, projections=directions, p=p, energy=energy, rho=rho)``.
    """
    conv = _convention(convention)
    if convention not in _EXP_TEMPERATURE:
        raise ValueError(f"convention must be one of {sorted(_EXP_TEMPERATURE)} for the "
                         f"energy-based SW, got {convention!r}")
    X, Y, numpy_out = as_point_clouds(X, Y)
    p = _check_p(p, convention, conv)
    check_equal_size(X, Y)
    law = Energy.checked(energy, *_EXP_TEMPERATURE[convention], rho)
    P = _directions(directions, conv, X)
    L = P.shape[1]
    G = check_positive_int(groups, "groups", 1)
    if L % G:
        raise ValueError(f"groups must divide the number of directions L={L}, got groups={G}")
    costs = _weight(conv.transport, X.shape[0]) * wp_per_slice(X, Y, P, p).view(G, L // G)
    weights = energy_weights(costs.detach(), law)
    value = (weights * costs).sum(dim=1).mean()
    return to_output(pth_root(value, p) if conv.root else value, numpy_out)


def dsw_in_convention(X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray,
                      directions: torch.Tensor | np.ndarray, weight: torch.Tensor | np.ndarray,
                      bias: torch.Tensor | np.ndarray, *, n_iter: int, lam: float,
                      p: float = 2, lr: float = 5e-4,
                      ) -> tuple[torch.Tensor | np.float64, dict]:
    r"""DSW as the authors' code computes it: ``distributional_sliced_wasserstein_distance``
    of VinAIResearch/DSW, ``utils.py``, with its ``TransformNet`` (one ``Linear(d, d)``, rows
    normalised) started at ``weight`` (d, d, out by in) and ``bias`` (d,), a fresh Adam
    (``lr``, betas (0.5, 0.999)) and ``directions`` (d, L) as its base draws.

    Each of the ``n_iter`` Adam steps maximises

    .. math:: n^{1/p}\, SW_p(f_\phi(\theta_{1..L})) - \lambda \frac{1}{L^2}\sum_{l, l'}
              |f_\phi(\theta_l)^\top f_\phi(\theta_{l'})|

    (each slice summed over the n samples under the root, the mean of :math:`|\cos|` over all
    :math:`L^2` pairs, diagonal included), where :func:`discrepancies.dsw` divides SW by its
    value on the base draws and leaves the diagonal out; the value returned is
    :math:`n^{1/p}` SW on the final pushed directions. The steps run through the same code as
    :func:`discrepancies.dsw` (:func:`discrepancies.distributional.ascend`).

    Parameters
    ----------
    X, Y : array-like, shape (n, d), the same n.
    directions : (d, L) unit columns.
    weight, bias : the push-forward's start.
    n_iter : the authors' ``max_iter``.
    lam, p, lr : their ``lam``, ``p`` and the optimiser's ``lr``.

    Returns
    -------
    ``(value, state)``: the value (types as in :func:`discrepancies.sw`) and the final
    push-forward and Adam moments (:func:`discrepancies.dsw`'s ``log["state"]``).
    """
    from .distributional import Objective, ascend, check_lam

    X, Y, numpy_out = as_point_clouds(X, Y)
    check_equal_size(X, Y)
    p = check_p(p)
    P = check_projections(directions, X.shape[1], X)
    state = {"weight": weight, "bias": bias}
    scale = float(X.shape[0]) ** (1 / p)

    def value(Xw: torch.Tensor, Yw: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        return pth_root(wp_per_slice(Xw, Yw, Q, p).mean(), p)

    pushed, state_out, _ = ascend(value, p, X, Y, P, state, check_n_iter(n_iter), check_lr(lr),
                                  check_lam(lam), Objective(scale="samples", diagonal=True))
    result = scale * value(X, Y, pushed)
    if numpy_out:
        state_out = {k: v.cpu().numpy() for k, v in state_out.items()}
    return to_output(result, numpy_out), state_out
