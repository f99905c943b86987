"""Property-based fuzz of every REGISTRY entry (Hypothesis).

Each example draws shapes, a dtype, a scale, weights, keywords and a seed, calls the entry, and
accepts exactly one of two outcomes:

- a finite value of the inputs' dtype that satisfies the invariances below, all on the same
  directions (explicit ``projections``, ``n_iter=0`` for max-SW / max-SFG and the
  distributional ones (then at the identity push-forward); for the spherical
  family draws at a fixed ``loc`` with ``n_iter=0`` and the same seed);
- a ``ValueError`` or ``TypeError`` whose message starts by naming an argument of the call
  (``"p must ..."``, ``"X and Y must ..."``, ``"sfg of these X and Y is ..."``).

Invariances, with ``tol`` = 1e-4 in float32 and 1e-9 in float64 (the rounding of these small
problems is below 1e-6 and 1e-13; the errors they catch are O(1)), plus float32's smallest
normal number (a value below it may underflow to 0); weights are multiples of 2^-20 summing to
1 exactly, except those drawn off by up to 10% (which must raise, or pass within the tolerance
and then skip the comparisons that need exact weights):

- symmetry D(X, Y) = D(Y, X) (weights swapped with the clouds);
- D(X, X) = 0 exactly;
- invariance under a permutation of the points (weights permuted alike);
- SW and max-SW: D(cX, cY) = |c| D(X, Y) for c = -1.5;
- translations: SW under one vector added to both clouds, FG with beta = 1 (the structure
  term alone) under two independent ones;
- float32 against float64 on the float32-rounded inputs, within tol times the discrepancy's
  size at the data's scale R = sqrt(d) max |x| (R for SW and max-SW, (1-beta)(2R)^p +
  beta(4R)^4 for the FG family); for the spherical family the float64 value is recomputed on
  the draws the float32 call logged;
- max-SW and max-SFG after ascent steps are never below their start.

Sizes stay small (n, m <= 6, d <= 4, L <= 6) so that the "default" profile of
tests/conftest.py runs in seconds; ``sliced-bench validate`` runs the "slow" profile
(:func:`validation.discrepancy_checks.property_fuzz`).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from discrepancies import REGISTRY, sfg

SPHERICAL = tuple(name for name, spec in REGISTRY.items() if spec.spherical)
FUSED = tuple(name for name, spec in REGISTRY.items() if spec.fused)
ARGUMENTS = ("X", "Y", "p", "beta", "kappa", "a", "b", "seed", "n_projections", "projections",
             "n_iter", "lr", "n_components", "loc", "log", "lam", "state")
CLEAR = re.compile(rf"^(?:\w+ of these )?(?:{'|'.join(ARGUMENTS)})\b")
TOL = {torch.float32: 1e-4, torch.float64: 1e-9}
# log10 of the data's size where the FG family is rescaled and its value still representable
# (and where float32 SW starts to overflow), drawn more often than their share of the range
EDGES = {torch.float32: [-9.0, -8.0, 7.5, 8.5, 9.3, 19.0], torch.float64: [-80.0, 70.0, 76.0]}


class Call:
    """One drawn problem: the clouds, weights and keywords, and the call on any variant."""

    def __init__(self, name: str, X: np.ndarray, Y: np.ndarray, a, b, kw: dict,
                 dtype: torch.dtype, exact_weights: bool = True):
        self.name, self.X, self.Y, self.a, self.b, self.kw, self.dtype = (
            name, X, Y, a, b, kw, dtype)
        self.exact_weights = exact_weights  # summing to 1 to rounding, not just within tol

    def __repr__(self) -> str:
        with np.printoptions(precision=17, threshold=100):
            return (f"{self.name}(X={self.X!r}, Y={self.Y!r}, a={self.a!r}, b={self.b!r}, "
                    f"dtype={self.dtype}, **{self.kw!r})")

    def __call__(self, X=None, Y=None, a=None, b=None, dtype=None, swap=False, log=False,
                 **extra):
        dtype = dtype or self.dtype
        X, Y = (self.X if X is None else X), (self.Y if Y is None else Y)
        a, b = (self.a if a is None else a), (self.b if b is None else b)
        if swap:
            X, Y, a, b = Y, X, b, a
        kw = {**self.kw, **extra}
        if "projections" in kw:
            kw["projections"] = torch.as_tensor(kw["projections"]).to(dtype)
        if "loc" in kw:
            kw["loc"] = torch.as_tensor(kw["loc"]).to(dtype)
        weights = {} if not REGISTRY[self.name].weighted else {
            "a": None if a is None else torch.as_tensor(a).to(dtype),
            "b": None if b is None else torch.as_tensor(b).to(dtype)}
        return REGISTRY[self.name](torch.as_tensor(X).to(dtype), torch.as_tensor(Y).to(dtype),
                                   log=log, **weights, **kw)


def _dyadic(w: np.ndarray) -> np.ndarray:
    """Weights rounded to multiples of 2^-20 that sum to 1 exactly, in float32 as in float64:
    at large p, W_p is sensitive to the rounding of the weights (a shift of the merged
    cumulative weights by delta moves W_p by about delta / (p * length) of the interval that
    holds the largest gap), so the invariances compare problems with the very same weights."""
    q = np.floor(w * 2**20)
    q[np.argmax(q)] += 2**20 - q.sum()
    return q / 2**20


@st.composite
def problems(draw, name: str) -> Call:
    n = draw(st.integers(1, 6))
    m = n if name in FUSED else draw(st.integers(1, 6))
    d = draw(st.integers(2, 4))
    L = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    top = 30 if dtype == torch.float32 else 200
    scale = 10.0 ** draw(st.one_of(st.floats(-3, 3), st.floats(-top, top),
                                   st.sampled_from(EDGES[dtype])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.standard_normal((n, d)) * scale
    Y = (rng.standard_normal((m, d)) * draw(st.floats(0.1, 3)) + draw(st.floats(-2, 2))) * scale
    if draw(st.booleans()):  # ties
        X, Y = np.round(X / scale) * scale, np.round(Y / scale) * scale
    seed = draw(st.one_of(st.integers(0, 2**64 - 1), st.integers(2**64, 2**70),
                          st.integers(-3, -1)))
    p = draw(st.one_of(st.sampled_from([1.0, 1.5, 2.0, 3.0]), st.floats(1, 8),
                       st.sampled_from([0.5, 100.0, 1e6])))
    kw = {"p": p, "seed": seed}
    a = b = None
    kind = "uniform"
    if REGISTRY[name].weighted:
        kind = draw(st.sampled_from(["uniform", "dirichlet", "zeros", "off"]))
        if kind != "uniform":
            a, b = _dyadic(rng.dirichlet(np.ones(n))), _dyadic(rng.dirichlet(np.ones(m)))
            if kind == "zeros" and n > 1:
                a[rng.integers(n)] = 0.0
                a = _dyadic(a / a.sum())
            if kind == "off":
                a = a * (1 + 10.0 ** draw(st.floats(-9, -1)))
    if name in FUSED:
        kw["beta"] = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    if name in SPHERICAL:
        spec = REGISTRY[name]
        kw.update(spec.with_components(draw(st.integers(1, L)) if spec.has_components else 1))
        loc = rng.standard_normal((spec.n_components(kw), d))
        loc /= np.linalg.norm(loc, axis=1, keepdims=True)
        kw.update(n_projections=L, n_iter=0, kappa=draw(st.sampled_from([0.0, 1e-3, 10.0, 1e4])),
                  loc=spec.loc(loc))
    else:
        P = rng.standard_normal((d, L))
        kw["projections"] = P / np.linalg.norm(P, axis=0)
        if REGISTRY[name].optimised:
            kw["n_iter"] = 0
    return Call(name, X, Y, a, b, kw, dtype, exact_weights=kind != "off")


def _close(got: torch.Tensor, expected: torch.Tensor | float, size: float, tol: float) -> bool:
    """Within tol of the expected value and the size, or both below float32's smallest normal
    number (a float32 value may underflow to 0 there)."""
    got, expected = float(got), float(expected)
    return math.isfinite(got) and abs(got - expected) <= (tol * (abs(expected) + size)
                                                          + torch.finfo(torch.float32).tiny)


def _scale(call: Call) -> float:
    """R = sqrt(d) max |x|, a bound on the projections."""
    return math.sqrt(call.X.shape[1]) * float(max(np.abs(call.X).max(), np.abs(call.Y).max()))


def _size(call: Call) -> float:
    """The discrepancy's size at the data's scale (see the module docstring); inf where that
    is beyond float64 (the comparisons then only ask for finite values)."""
    R = _scale(call)
    if call.name not in FUSED:
        return R
    beta, p = call.kw["beta"], call.kw["p"]
    terms = [(1 - beta, 2 * R, p), (beta, 4 * R, 4)]
    try:
        return sum(weight * base**power for weight, base, power in terms if weight > 0)
    except OverflowError:
        return math.inf


def check_invariances(call: Call, value: torch.Tensor) -> None:
    tol = TOL[call.dtype]
    size = _size(call)
    assert value.dtype == call.dtype and value.ndim == 0 and torch.isfinite(value)
    assert _close(call(swap=True), value, size, tol), "symmetry"
    assert float(call(Y=call.X, b=call.a, a=call.a)) == 0.0, "D(X, X) = 0"
    rng = np.random.default_rng(0)
    px, py = rng.permutation(call.X.shape[0]), rng.permutation(call.Y.shape[0])
    permuted = call(X=call.X[px], Y=call.Y[py], a=None if call.a is None else call.a[px],
                    b=None if call.b is None else call.b[py])
    assert _close(permuted, value, size, tol), "permutation"
    if REGISTRY[call.name].root and call.exact_weights:  # SW's p-th root: 1-homogeneous
        assert _close(call(X=-1.5 * call.X, Y=-1.5 * call.Y), 1.5 * value, 1.5 * size, tol)
        shift = rng.standard_normal(call.X.shape[1]) * size
        assert _close(call(X=call.X + shift, Y=call.Y + shift), value, size, tol), "translation"
    if call.name in FUSED and call.kw["beta"] == 1.0:
        d = call.X.shape[1]
        moved = call(X=call.X + rng.standard_normal(d) * _scale(call),
                     Y=call.Y + rng.standard_normal(d) * _scale(call))
        assert _close(moved, value, size, tol), "structure term under translations"
    check_float32_against_float64(call, value, size)
    if REGISTRY[call.name].slicing_law == "max":
        try:
            ascended = float(call(n_iter=3))
        except ValueError as err:  # the maximum may leave the dtype's range: said so
            assert re.match(r"^max_s\w+ of these X and Y .* not representable", str(err))
            return
        assert ascended >= float(value) - tol * size, "ascent below its start"


def check_float32_against_float64(call: Call, value: torch.Tensor, size: float) -> None:
    if call.dtype != torch.float32 or not call.exact_weights:
        return  # float64 would refuse weights summing to 1 only within float32's tolerance
    rounded = {"X": torch.as_tensor(call.X).float().double().numpy(),
               "Y": torch.as_tensor(call.Y).float().double().numpy()}
    if call.name in SPHERICAL:
        value32, log = call(log=True)
        P = log["projections"].double()
        per = sfg(torch.from_numpy(rounded["X"]), torch.from_numpy(rounded["Y"]),
                  projections=P / P.norm(dim=0), beta=call.kw["beta"], p=call.kw["p"],
                  log=True)[1]["per_slice"]
        k = call.kw.get("n_components", 1)
        expected = torch.stack([per[c::k].mean() for c in range(k)]).mean()
        assert _close(value32, expected, size, TOL[torch.float32]), "float32 vs float64"
        return
    P = torch.as_tensor(call.kw["projections"]).float().double()
    value64 = call(**rounded, dtype=torch.float64, projections=P / P.norm(dim=0))
    assert _close(value, value64, size, TOL[torch.float32]), "float32 vs float64"


def run_property(call: Call) -> None:
    """Exactly one of the two outcomes of the module docstring."""
    try:
        value = call()
    except (ValueError, TypeError) as err:
        assert CLEAR.match(str(err)), f"{type(err).__name__} naming no argument: {err}"
        return
    check_invariances(call, value)


@pytest.mark.parametrize("name", list(REGISTRY))
@given(data=st.data())
def test_finite_and_invariant_or_a_clear_error(name, data):
    run_property(data.draw(problems(name)))


@pytest.mark.parametrize("name", list(REGISTRY))
@given(log=st.one_of(st.text(max_size=3), st.integers(), st.none(), st.floats()),
       seed=st.one_of(st.floats(), st.booleans(), st.text(max_size=2)))
def test_bad_flags_and_seeds_raise_naming_them(name, log, seed):
    X = np.random.default_rng(0).standard_normal((5, 3))
    with pytest.raises(TypeError, match=r"^log must be True or False"):
        REGISTRY[name](X, X + 1, n_projections=5, log=log)
    with pytest.raises(TypeError, match=r"^seed must be None, an int or a torch\.Generator"):
        REGISTRY[name](X, X + 1, n_projections=5, seed=seed)
