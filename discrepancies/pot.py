r"""Drop-in replacements for POT's sliced Wasserstein functions.

``from discrepancies.pot import sliced_wasserstein_distance, max_sliced_wasserstein_distance``
in place of the same names from ``ot`` (POT 0.9.7): the same signatures, argument order and
defaults, the same random directions for the same ``seed`` (an int or a
``numpy.random.RandomState``, with NumPy or torch inputs), the same return types (a NumPy
scalar of POT's dtype for NumPy inputs, a 0-d tensor differentiable in ``X_s`` and ``X_t`` for
torch inputs), the same log keys (``projections``, ``projected_emds``), ``scaler`` and POT's
errors (a ``ValueError`` when ``X_s`` and ``X_t`` differ in dimension). Inputs of dimension
d = 1 give the 1-D Wasserstein distance (the directions are +1 and -1), as in POT.

The work is done by :func:`discrepancies.sw` and :func:`discrepancies.max_sw` on the directions
drawn here. :func:`max_sliced_wasserstein_distance` is POT's: the largest slice among the
drawn directions; :func:`discrepancies.max_sw` continues from there with an ascent on the
sphere and returns a larger (better) estimate of the max-sliced distance.

Differences, all where POT would compute something meaningless or fail:

- ``projections`` must have unit-norm columns, weights ``a`` and ``b`` must be non-negative and
  sum to one, ``p >= 1``, ``n_projections >= 1``, the inputs finite and non-empty: otherwise
  a ``ValueError`` names the argument (POT computes on, or raises an ``IndexError`` or a
  ``ZeroDivisionError``). Messages of these checks call ``X_s`` and ``X_t`` X and Y.
- NumPy and torch arguments may be mixed (NumPy ones are converted to the tensor's dtype and
  device), and a ``RandomState`` seed also works with torch inputs (its Gaussian draws,
  converted); POT raises a ``ValueError`` for both. A ``torch.Generator`` seed works with torch
  inputs on its device, as in POT.
- ``seed=None`` draws fresh directions; for torch inputs they follow ``torch.manual_seed``.
- The gradient at ``X_s == X_t`` is zero instead of NaN, and the log's tensors are detached.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ._inputs import check_n_projections, check_positive_int, describe, make_generator
from .sliced import max_sw, sw

__all__ = ["max_sliced_wasserstein_distance", "sliced_wasserstein_distance"]

Array = np.ndarray | torch.Tensor
Seed = int | np.random.RandomState | torch.Generator | None
Scaler = Callable | object | None


def _apply_scaler(X_s: object, X_t: object, scaler: Scaler) -> tuple[object, object]:
    """POT's ``scaler``: ``scaler.transform`` when it has one, else ``scaler`` itself, applied
    to each cloud separately (a fitted ``ot.utils.DataScaler``, a function, a torch module)."""
    if scaler is None:
        return X_s, X_t
    transform = getattr(scaler, "transform", None)
    if callable(transform):
        return transform(X_s), transform(X_t)
    if callable(scaler):
        return scaler(X_s), scaler(X_t)
    raise ValueError(f"scaler must be None, an object with a .transform() method or a callable, "
                     f"got {describe(scaler)}")


def _clouds(X_s: object, X_t: object, scaler: Scaler) -> tuple[Array, Array]:
    """Lists made arrays, the scaler applied, and POT's shape checks under POT's names."""
    X_s, X_t = (np.asarray(x) if isinstance(x, list | tuple) else x for x in (X_s, X_t))
    X_s, X_t = _apply_scaler(X_s, X_t, scaler)
    for x, name in ((X_s, "X_s"), (X_t, "X_t")):
        if not isinstance(x, np.ndarray | torch.Tensor):
            raise TypeError(f"{name} must be a NumPy array or a torch tensor, got {describe(x)}")
        if x.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, dim), got {describe(x)}")
    if X_s.shape[1] != X_t.shape[1]:
        raise ValueError(f"X_s and X_t must have the same number of dimensions, got "
                         f"{X_s.shape[1]} and {X_t.shape[1]} (shapes {tuple(X_s.shape)} and "
                         f"{tuple(X_t.shape)})")
    return X_s, X_t


def _numpy_random_state(seed: object) -> np.random.RandomState:
    if isinstance(seed, np.random.RandomState):
        return seed
    if seed is None:
        return np.random.RandomState()
    seed = check_positive_int(
        seed, "seed", 0, kind="None, an int or a numpy.random.RandomState for NumPy inputs")
    if seed >= 2**32:
        raise ValueError(f"seed must be <= 2**32 - 1 for NumPy inputs, got seed={seed}")
    return np.random.RandomState(seed)


def _pot_projections(d: int, n_projections: object, seed: Seed, like: Array) -> Array:
    r"""POT's ``get_random_projections``, draw for draw: a (d, L) standard Gaussian matrix,
    each column divided by its norm (uniform on :math:`S^{d-1}`; the signs +-1 for d = 1).

    NumPy inputs: float64 draws of ``RandomState(seed).randn(d, L)`` (of ``seed`` itself when
    it is a ``RandomState``, whose state advances). Torch inputs: ``torch.randn((d, L))`` in the
    dtype and on the device of ``like``, from a generator seeded with ``seed`` (or ``seed``
    itself when it is a ``torch.Generator``). The normalisation runs in that dtype, as in POT.
    """
    L = check_n_projections(n_projections)
    if isinstance(like, torch.Tensor):
        if isinstance(seed, np.random.RandomState):
            G = torch.from_numpy(seed.randn(d, L)).to(dtype=like.dtype, device=like.device)
        else:
            generator = make_generator(seed, like.device)
            G = torch.randn((d, L), generator=generator, dtype=like.dtype, device=like.device)
        return G / torch.sqrt(torch.sum(G**2, 0, keepdim=True))
    if isinstance(seed, torch.Generator):
        raise TypeError(f"seed must be None, an int or a numpy.random.RandomState for NumPy "
                        f"inputs, got {describe(seed)}")
    G = _numpy_random_state(seed).randn(d, L)
    return G / np.sqrt(np.sum(G**2, 0, keepdims=True))


def _directions(X_s: Array, projections: object, n_projections: object, seed: Seed) -> Array:
    """The (d, L) directions of a call: ``projections`` as given (lists made arrays), else
    POT's draw."""
    if projections is None:
        return _pot_projections(X_s.shape[1], n_projections, seed, X_s)
    return np.asarray(projections) if isinstance(projections, list | tuple) else projections


def _numpy_dtype(*arrays: object) -> np.dtype | None:
    """The dtype of POT's result for NumPy inputs (the promotion of the NumPy arguments), or
    None when an input is a tensor (the result is then a tensor)."""
    if any(isinstance(x, torch.Tensor) for x in arrays):
        return None
    dtype = np.result_type(*(np.asarray(x).dtype for x in arrays if x is not None))
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _pot_result(value: object, per_slice: object, projections: Array, log: bool,
                dtype: np.dtype | None) -> object:
    """POT's return convention: ``value`` or ``(value, {"projections", "projected_emds"})``,
    NumPy scalars and arrays of POT's dtype for NumPy inputs."""
    if dtype is not None:
        value, per_slice = dtype.type(value), np.asarray(per_slice).astype(dtype, copy=False)
    if not log:
        return value
    return value, {"projections": projections, "projected_emds": per_slice}


def _detach(x: Array) -> Array:
    return x.detach() if isinstance(x, torch.Tensor) else x


def sliced_wasserstein_distance(X_s: Array, X_t: Array, a: Array | None = None,
                                b: Array | None = None, n_projections: int = 50, p: float = 2,
                                projections: Array | None = None, seed: Seed = None,
                                log: bool = False, scaler: Scaler = None) -> object:
    r"""Monte Carlo p-sliced Wasserstein distance, as POT's ``ot.sliced_wasserstein_distance``.

    .. math::
        SW_p(\mu, \nu) = \Big(\mathbb{E}_{\theta \sim \mathcal{U}(S^{d-1})}
        W_p^p(\theta_\# \mu, \theta_\# \nu)\Big)^{1/p}
        \approx \Big(\frac1L \sum_{l=1}^L W_p^p(\theta_{l\#} \mu, \theta_{l\#} \nu)\Big)^{1/p}

    with :math:`\mu = \sum_i a_i \delta_{x_i}` (rows of ``X_s``), :math:`\nu = \sum_j b_j
    \delta_{y_j}` (rows of ``X_t``). Computed by :func:`discrepancies.sw` on the directions
    POT draws for the same ``seed``.

    Parameters
    ----------
    X_s : ndarray or tensor, shape (n, d)
        Source samples (d = 1 gives W_p between the samples themselves).
    X_t : ndarray or tensor, shape (m, d)
        Target samples.
    a, b : shapes (n,) and (m,), optional
        Sample weights (non-negative, summing to one); uniform when None.
    n_projections : int, default 50
        Number L of random directions (unused when ``projections`` is given).
    p : float >= 1, default 2
    projections : shape (d, L), optional
        Unit directions as columns; ``n_projections`` and ``seed`` are then unused.
    seed : None, int, numpy.random.RandomState or torch.Generator
        The same int gives the directions POT draws for it; a ``RandomState`` gives its next
        ``randn(d, L)`` and advances. A ``torch.Generator`` needs torch inputs on its device.
    log : bool, default False
        Also return ``{"projections": (d, L), "projected_emds": (L,) W_p^p per direction}``.
    scaler : None, object with ``.transform()``, or callable
        Applied to ``X_s`` and to ``X_t`` before anything else (e.g. a fitted
        ``ot.utils.DataScaler``; a function or a torch module, through which gradients flow).

    Returns
    -------
    cost : NumPy scalar (POT's dtype: the promotion of the NumPy arguments and of the drawn
        float64 directions) or 0-d tensor (dtype and device of ``X_s``, differentiable in
        ``X_s`` and ``X_t``).
    log : dict, only when ``log=True``.

    Raises
    ------
    ValueError
        ``X_s`` or ``X_t`` not 2-D, different dimensions, or any check of
        :func:`discrepancies.sw` (see the module docstring); an invalid ``scaler``.
    TypeError
        An input that is not an array, or a ``seed`` of the wrong kind.

    References
    ----------
    N. Bonneel, J. Rabin, G. Peyre, H. Pfister. "Sliced and Radon Wasserstein barycenters of
    measures", Journal of Mathematical Imaging and Vision, 2015.
    """
    X_s, X_t = _clouds(X_s, X_t, scaler)
    P = _directions(X_s, projections, n_projections, seed)
    value, record = sw(X_s, X_t, p=p, projections=P, a=a, b=b, log=True)
    return _pot_result(value, record["per_slice"], P, log, _numpy_dtype(X_s, X_t, P, a, b))


def max_sliced_wasserstein_distance(X_s: Array, X_t: Array, a: Array | None = None,
                                    b: Array | None = None, n_projections: int = 50,
                                    p: float = 2, projections: Array | None = None,
                                    seed: Seed = None, log: bool = False,
                                    scaler: Scaler = None) -> object:
    r"""The largest W_p over random directions, as ``ot.max_sliced_wasserstein_distance``.

    .. math::
        \max_{l = 1, \dots, L} W_p(\theta_{l\#} \mu, \theta_{l\#} \nu)

    on the directions POT draws for the same ``seed`` (or ``projections``): a lower bound of
    the max-sliced Wasserstein distance :math:`\max_{\theta \in S^{d-1}} W_p(\theta_\# \mu,
    \theta_\# \nu)`, which :func:`discrepancies.max_sw` estimates far better by continuing
    from the best of these directions with a gradient ascent on the sphere.

    Parameters
    ----------
    X_s, X_t, a, b, n_projections, p, projections, seed, scaler
        As in :func:`sliced_wasserstein_distance`.
    log : bool, default False
        Also return ``{"projections": (d, L), "projected_emds": (L,) W_p^p per direction}``.

    Returns
    -------
    As in :func:`sliced_wasserstein_distance`; the gradient flows through the best direction.

    References
    ----------
    I. Deshpande, Y.-T. Hu, R. Sun, A. Pyrros, N. Siddiqui, S. Koyejo, Z. Zhao, D. Forsyth,
    A. Schwing. "Max-Sliced Wasserstein Distance and its use for GANs", CVPR 2019.
    """
    X_s, X_t = _clouds(X_s, X_t, scaler)
    P = _directions(X_s, projections, n_projections, seed)
    # every slice once without gradients (the log needs them all), then the best one again
    # with gradients to X_s and X_t: no ascent beyond the drawn directions
    _, record = sw(_detach(X_s), _detach(X_t), p=p, projections=_detach(P), a=a, b=b, log=True)
    per_slice = record["per_slice"]
    best = int(per_slice.argmax())
    value = max_sw(X_s, X_t, p=p, projections=P[:, best:best + 1], a=a, b=b, n_iter=0)
    return _pot_result(value, per_slice, P, log, _numpy_dtype(X_s, X_t, P, a, b))
