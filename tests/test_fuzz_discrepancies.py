"""Property-based fuzz of every REGISTRY entry (Hypothesis): every input has exactly one outcome.

Each example draws shapes, a dtype, a scale, weights, keywords and a seed, and decides from
DESIGN's rules alone, before the call, whether an error is due (:func:`verdict`):

- p < 1, a seed that is not an int in [0, 2**64), weights whose sum misses 1 by more than
  twice the documented tolerance, or an exact value (:mod:`exact_values`, in mpmath) beyond the
  dtype's largest number: the call must raise ``ValueError`` / ``TypeError`` whose message
  names that argument (or says the value is not representable);
- otherwise it must return, and the value must satisfy the invariances below. An error is
  tolerated only where the rules leave the outcome open: a sum of weights or a value within a
  factor of 2 (resp. 1e-2 relative) of the limit, or p > 100 for the FG family (a documented
  limit of the rescaling).

So an entry that refuses a valid input fails, and so does one that returns on an invalid one.
The knobs come from the entry (its signature and spec), never from its name: explicit
``projections`` where it takes them, ``n_iter=0`` where it ascends, for the spherical family a
fixed ``loc`` with ``n_iter=0`` and the value recomputed from the draws it logged.

The value is compared with the exact one, and the invariances with each other, within the sum
of the two computations' rounding bounds (:class:`exact_values.Exact`: in terms of the data,
eps of the dtype times the magnitudes the computation actually sums), so that in float64 a
relative error of 1e-6 fails (a test below perturbs the value and checks it):

- the exact value, on the directions the call used (logged);
- symmetry D(X, Y) = D(Y, X) (weights swapped with the clouds); D(X, X) = 0 exactly;
- invariance under a permutation of the points (weights permuted alike);
- SW and max-SW: D(cX, cY) = |c| D(X, Y) for c = -1.5, and a common translation;
- FG with beta = 1 (the structure term alone) under two independent translations;
- float32 against float64 on the float32-rounded inputs and directions;
- max-SW and max-SFG after ascent steps are never below their start.

Sizes stay small (n, m <= 6, d <= 4, L <= 6) so that the "default" profile of
tests/conftest.py runs in seconds; ``sliced-bench validate`` runs the "slow" profile
(:func:`validation.discrepancy_checks.property_fuzz`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import re

import mpmath
import numpy as np
import pytest
import torch
from exact_values import Exact, upper_bound
from hypothesis import given, settings
from hypothesis import strategies as st

import discrepancies._directions as directions_module
from discrepancies import REGISTRY, reference, sfg
from samplers.constraints import weight_sum_tolerance

# log10 of the data's size where the FG family is rescaled and its value still representable
# (and where float32 SW starts to overflow), drawn more often than their share of the range
EDGES = {torch.float32: [-9.0, -8.0, 7.5, 8.5, 9.3, 19.0], torch.float64: [-80.0, 70.0, 76.0]}
NOT_REPRESENTABLE = r"^\w+ of these X and Y is .*not representable"
FG_P_LIMIT = r"^p must be <= 100 for the FG family"
# how the value combines the slices, for the slicing laws whose weights are known; any other
# law is taken as some convex combination of the slices (exact_values.Exact.combine)
COMBINED = {"uniform": "mean", "vmf": "mean", "power_spherical": "mean", "max": "max"}
# the rules' limits are sharp, the package's decision near them is not: a factor of 2 for the
# weights' sum, 1e-2 relative for the value's range
WEIGHT_BAND, RANGE_BAND = 2.0, 1e-2


def takes(name: str, keyword: str) -> bool:
    return keyword in inspect.signature(REGISTRY[name]).parameters


class Call:
    """One drawn problem: the clouds, weights and keywords, and the call on any variant."""

    def __init__(self, name: str, X: np.ndarray, Y: np.ndarray, a, b, kw: dict,
                 dtype: torch.dtype, weight_error: float = 0.0):
        self.name, self.X, self.Y, self.a, self.b, self.kw, self.dtype = (
            name, X, Y, a, b, kw, dtype)
        self.spec = REGISTRY[name]
        self.weight_error = weight_error  # |sum(a) - 1|: 0 for weights summing to 1 exactly

    @property
    def exact_weights(self) -> bool:
        return self.weight_error == 0

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
        for key in ("projections", "loc"):
            if key in kw:
                kw[key] = torch.as_tensor(kw[key]).to(dtype)
        weights = {} if not self.spec.weighted else {
            "a": None if a is None else torch.as_tensor(a).to(dtype),
            "b": None if b is None else torch.as_tensor(b).to(dtype)}
        return self.spec(torch.as_tensor(X).to(dtype), torch.as_tensor(Y).to(dtype),
                         log=log, **weights, **kw)

    def held(self, Z: np.ndarray, dtype: torch.dtype | None = None) -> np.ndarray:
        """``Z`` as the call holds it (rounded to its dtype), in float64."""
        return torch.as_tensor(Z).to(dtype or self.dtype).double().numpy()

    def exact(self, P, X=None, Y=None, a=None, b=None, dtype=None, swap=False):
        """The exact value (mpmath) and the rounding bound of this call (or a variant) on the
        directions ``P`` (d, L) as the call held them."""
        dtype = dtype or self.dtype
        X, Y = (self.X if X is None else X), (self.Y if Y is None else Y)
        a, b = (self.a if a is None else a), (self.b if b is None else b)
        if swap:
            X, Y, a, b = Y, X, b, a
        finfo = torch.finfo(dtype)
        exact = Exact(self.held(X, dtype), self.held(Y, dtype), P,
                      None if a is None else self.held(a, dtype),
                      None if b is None else self.held(b, dtype),
                      fused=self.spec.fused, root=self.spec.root, beta=self.kw.get("beta"),
                      p=self.kw["p"], eps=finfo.eps, tiny=finfo.tiny)
        return exact.combine(COMBINED.get(self.spec.slicing_law, "convex"),
                             self.spec.n_components(self.kw))

    def bound(self):
        """A bound on the value over every direction (:func:`exact_values.upper_bound`)."""
        return upper_bound(self.held(self.X), self.held(self.Y), fused=self.spec.fused,
                           root=self.spec.root, beta=self.kw.get("beta"), p=self.kw["p"])


def _dyadic(w: np.ndarray) -> np.ndarray:
    """Weights rounded to multiples of 2^-20 that sum to 1 exactly, in float32 as in float64:
    at large p, W_p is sensitive to the rounding of the weights (a shift of the merged
    cumulative weights by delta moves W_p by about delta / (p * length) of the interval that
    holds the largest gap), so the invariances compare problems with the very same weights."""
    q = np.floor(w * 2**20)
    q[np.argmax(q)] += 2**20 - q.sum()
    return q / 2**20


def weighted(draw, *choices):
    """One of the strategies, drawn with the given integer weights (``one_of`` draws its
    branches alike, which would make invalid seeds and p a third of the examples each)."""
    total = sum(w for w, _ in choices)
    k = draw(st.integers(0, total - 1))
    for w, strategy in choices:
        if k < w:
            return draw(strategy)
        k -= w
    raise AssertionError("unreachable")


@st.composite
def problems(draw, name: str) -> Call:
    spec = REGISTRY[name]
    n = draw(st.integers(1, 6))
    m = n if spec.fused else draw(st.integers(1, 6))
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
    # the seeds that must be refused with or without explicit directions, one example in 8
    seed = weighted(draw, (14, st.integers(0, 2**64 - 1)), (1, st.integers(2**64, 2**70)),
                    (1, st.sampled_from([-1, -3, 1.5, "x"])))
    p = weighted(draw, (4, st.sampled_from([1.0, 1.5, 2.0, 3.0])), (4, st.floats(1, 8)),
                 (1, st.sampled_from([0.5, 100.0, 1e6])))
    kw = {"p": p, "seed": seed}
    a = b = None
    weight_error = 0.0
    if spec.weighted:
        kind = draw(st.sampled_from(["uniform", "dirichlet", "zeros", "off"]))
        if kind != "uniform":
            a, b = _dyadic(rng.dirichlet(np.ones(n))), _dyadic(rng.dirichlet(np.ones(m)))
            if kind == "zeros" and n > 1:
                a[rng.integers(n)] = 0.0
                a = _dyadic(a / a.sum())
            if kind == "off":
                weight_error = 10.0 ** draw(st.floats(-9, -1))
                a = a * (1 + weight_error)
    if spec.fused:
        kw["beta"] = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    if spec.spherical:
        kw.update(spec.with_components(draw(st.integers(1, L)) if spec.has_components else 1))
        loc = rng.standard_normal((spec.n_components(kw), d))
        loc /= np.linalg.norm(loc, axis=1, keepdims=True)
        kw.update(n_projections=L, n_iter=0, kappa=draw(st.sampled_from([0.0, 1e-3, 10.0, 1e4])),
                  loc=spec.loc(loc))
    else:
        P = rng.standard_normal((d, L))
        kw["projections"] = P / np.linalg.norm(P, axis=0)
    if takes(name, "n_iter"):
        kw["n_iter"] = 0
    return Call(name, X, Y, a, b, kw, dtype, weight_error)


def valid_seed(seed: object) -> bool:
    return isinstance(seed, int) and 0 <= seed < 2**64


def verdict(call: Call) -> tuple[list[str], list[str]]:
    """The patterns of the errors that are due (at least one must be raised) and of those that
    are tolerated (near a limit of the rules), from the input alone."""
    due, open_ = [], []
    p = call.kw["p"]
    if p < 1:
        due.append(r"^p must be")
    if not valid_seed(call.kw["seed"]):
        due.append(r"^seed must be")
    if call.weight_error:
        tol = weight_sum_tolerance(call.dtype)
        if call.weight_error > WEIGHT_BAND * tol:
            due.append(r"^a must sum to 1")
        elif call.weight_error > tol / WEIGHT_BAND:
            open_.append(r"^a must sum to 1")
    if call.spec.fused and p > 100:
        open_.append(FG_P_LIMIT)
    if due:
        return due, open_
    largest = mpmath.mpf(float(torch.finfo(call.dtype).max))
    if "projections" in call.kw:  # the directions are known: the exact value decides
        value, _ = call.exact(call.held(call.kw["projections"]))
        low, high = value if isinstance(value, tuple) else (value, value)
        if low > largest * (1 + RANGE_BAND):
            due.append(NOT_REPRESENTABLE)
        elif high > largest * (1 - RANGE_BAND):
            open_.append(NOT_REPRESENTABLE)
    elif call.bound() > largest * (1 - RANGE_BAND):
        # drawn directions (which the package may draw differently on another path, so no
        # other call's draws stand in for them): a bound over every direction leaves the
        # error open; a returned value is then checked on its own logged draws
        open_.append(NOT_REPRESENTABLE)
    return due, open_


def run_property(call: Call) -> str:
    """Exactly the outcome :func:`verdict` decides; returns "error" or "value" (the latter
    after the invariances)."""
    due, open_ = verdict(call)
    try:
        value, log = call(log=True)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert due or open_, f"{type(err).__name__} on a valid input: {message}"
        assert any(re.search(p, message) for p in due + open_), (due + open_, message)
        return "error"
    assert not due, f"a value where an error is due ({due}): {value}"
    exact, _ = call.exact(log["projections"].double().numpy())
    low = exact[0] if isinstance(exact, tuple) else exact
    largest = mpmath.mpf(float(torch.finfo(call.dtype).max))
    assert low <= largest * (1 + RANGE_BAND), f"a value where an error is due: {value}"
    check_invariances(call, value, log)
    return "value"


def close(got, expected, tolerance) -> bool:
    """|got - expected| <= tolerance, computed exactly (mpmath)."""
    got = float(got)
    if isinstance(expected, torch.Tensor):
        expected = float(expected)
    return math.isfinite(got) and abs(mpmath.mpf(got) - mpmath.mpf(expected)) <= tolerance


def check_invariances(call: Call, value: torch.Tensor, log: dict) -> None:
    assert value.dtype == call.dtype and value.ndim == 0 and torch.isfinite(value)
    P = log["projections"].double().numpy()
    exact, err = call.exact(P)
    # weights off by up to the tolerated sum error are used as given (not renormalised), so
    # the value of either kind is compared only where the weights sum to 1 exactly
    if call.exact_weights:
        if isinstance(exact, tuple):  # a law of unknown weights: within the slices' range
            assert exact[0] - err <= float(value) <= exact[1] + err, ("range", float(value))
        else:
            assert close(value, exact, err), ("exact value", float(value), float(exact),
                                              float(err))

    def same(label: str, got: torch.Tensor, **variant) -> None:
        _, other = call.exact(P, **variant)
        assert close(got, value, err + other), (label, float(got), float(value))

    same("symmetry", call(swap=True), swap=True)
    assert float(call(Y=call.X, b=call.a, a=call.a)) == 0.0, "D(X, X) = 0"
    rng = np.random.default_rng(0)
    px, py = rng.permutation(call.X.shape[0]), rng.permutation(call.Y.shape[0])
    moved = {"X": call.X[px], "Y": call.Y[py], "a": None if call.a is None else call.a[px],
             "b": None if call.b is None else call.b[py]}
    same("permutation", call(**moved), **moved)
    scale = float(max(np.abs(call.X).max(), np.abs(call.Y).max()))
    if call.spec.root and call.exact_weights:  # SW's p-th root: 1-homogeneous
        moved = {"X": -1.5 * call.X, "Y": -1.5 * call.Y}
        _, other = call.exact(P, **moved)
        assert close(call(**moved), 1.5 * float(value), 1.5 * err + other), "homogeneity"
        shift = rng.standard_normal(call.X.shape[1]) * scale
        moved = {"X": call.X + shift, "Y": call.Y + shift}
        same("translation", call(**moved), **moved)
    if call.spec.fused and call.kw["beta"] == 1.0 and "projections" in call.kw:
        d = call.X.shape[1]
        moved = {"X": call.X + rng.standard_normal(d) * scale,
                 "Y": call.Y + rng.standard_normal(d) * scale}
        same("structure term under translations", call(**moved), **moved)
    check_float32_against_float64(call, value, P, err)
    if call.spec.slicing_law == "max" and "n_iter" in call.kw:
        try:
            ascended = float(call(n_iter=3))
        except ValueError as err_:  # the maximum may leave the dtype's range: said so
            assert re.match(NOT_REPRESENTABLE, str(err_)), str(err_)
            return
        assert ascended >= float(value) - float(err), "ascent below its start"


def check_float32_against_float64(call: Call, value: torch.Tensor, P: np.ndarray,
                                  err) -> None:
    if call.dtype != torch.float32 or not call.exact_weights:
        return  # float64 would refuse weights summing to 1 only within float32's tolerance
    rounded = {"X": call.held(call.X), "Y": call.held(call.Y)}
    P = P / np.linalg.norm(P, axis=0)  # unit in float64 (float32's are within its tolerance)
    exact64, err64 = call.exact(P, dtype=torch.float64, **rounded)
    # a resampled estimator's accept / resample decisions are discontinuous in the costs, so
    # float64 may take another path on the same seed: only the slices' range binds it
    if "projections" in call.kw and not call.spec.resampled:
        value64 = call(**rounded, dtype=torch.float64, projections=P)
        assert close(value, value64, err + err64), ("float32 vs float64", float(value),
                                                    float(value64))
    elif isinstance(exact64, tuple):  # a law of unknown weights: within the slices' range
        assert exact64[0] - err - err64 <= float(value) <= exact64[1] + err + err64, (
            "float32 vs float64 range", float(value))
    else:  # the float64 value on the float32 draws is the exact value's computation
        assert close(value, exact64, err + err64), ("float32 vs float64", float(value),
                                                    float(exact64))


@pytest.mark.parametrize("name", list(REGISTRY))
@given(data=st.data())
def test_finite_and_invariant_or_the_error_due(name, data):
    run_property(data.draw(problems(name)))


def refusing(fn):
    """A planted bug: ``fn`` raising "p must be >= 3" on every call (its signature kept)."""
    @functools.wraps(fn)
    def wrapper(X, Y, **kw):
        raise ValueError(f"p must be >= 3, got p={kw.get('p')}")
    return wrapper


@pytest.mark.parametrize("name", [n for n in REGISTRY if REGISTRY[n].fused][:1])
def test_the_fuzz_fails_an_entry_that_refuses_valid_input(name, monkeypatch):
    # mutation: an FG entry that refuses every input with an error naming p (the earlier
    # fuzz accepted any error naming an argument)
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(REGISTRY[name],
                                                           fn=refusing(REGISTRY[name].fn)))

    @settings(max_examples=20, database=None, report_multiple_bugs=False)
    @given(data=st.data())
    def fuzz(data):
        run_property(data.draw(problems(name)))

    # the refusal is caught on a valid input, or, where another error was due (a bad seed),
    # as the wrong one
    with pytest.raises(AssertionError, match=r"on a valid input|\['\^seed must be'\]"):
        fuzz()


@pytest.mark.parametrize("name", list(REGISTRY))
@settings(max_examples=15)
@given(data=st.data())
def test_a_relative_error_of_1e_6_fails_the_float64_comparisons(name, data):
    # mutation: the value off by 1e-6 relative; every float64 example that returns a value
    # away from underflow must then fail its comparisons
    call = data.draw(problems(name))
    call.dtype = torch.float64
    due, open_ = verdict(call)
    if due or open_:
        return
    value, log = call(log=True)
    if abs(float(value)) < 1e-250:
        return
    with pytest.raises(AssertionError):
        check_invariances(call, value * (1 + 1e-6), log)


@pytest.mark.parametrize("name", list(REGISTRY))
@given(log=st.one_of(st.text(max_size=3), st.integers(), st.none(), st.floats()),
       seed=st.one_of(st.floats(), st.booleans(), st.text(max_size=2)))
def test_bad_flags_and_seeds_raise_naming_them(name, log, seed):
    X = np.random.default_rng(0).standard_normal((5, 3))
    with pytest.raises(TypeError, match=r"^log must be True or False"):
        REGISTRY[name](X, X + 1, n_projections=5, log=log)
    with pytest.raises(TypeError, match=r"^seed must be None, an int or a torch\.Generator"):
        REGISTRY[name](X, X + 1, n_projections=5, seed=seed)


@pytest.mark.parametrize("name", list(REGISTRY))
@pytest.mark.parametrize("seed", ["x", 1.5, -1, 2**64, 2**70])
def test_seed_is_checked_with_explicit_directions(name, seed):
    # with projections= nothing is drawn, but a seed refused without them is refused with them
    check_seed_refused(name, seed)


def check_seed_refused(name: str, seed: object) -> None:
    X = np.random.default_rng(0).standard_normal((5, 3))
    kw = ({"projections": np.eye(3)} if takes(name, "projections")
          else {"n_projections": REGISTRY[name].n_components()})
    kw.update({"n_iter": 0} if takes(name, "n_iter") else {})
    with pytest.raises((TypeError, ValueError), match=r"^seed must be"):
        REGISTRY[name](X, X + 1, seed=seed, **kw)


def test_seed_check_skipped_with_explicit_directions_fails(monkeypatch):
    # mutation: the seed left unchecked where projections= are given (the earlier code)
    monkeypatch.setattr(directions_module, "check_seed", lambda seed, device: seed)
    takers = [name for name in REGISTRY if takes(name, "projections")]
    for seed in ("x", 1.5, -1, 2**70):
        with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
            check_seed_refused(takers[0], seed)


def test_fg_rescaling_keeps_the_transport_term():
    # two tight clouds 2e150 apart: FG_0.1 = 0.9 gap^2 = 7.056e300 (representable); the same
    # clouds scaled by 2^-400 give the right value, 2^800 times smaller
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 2)) * 1e-3 + 1e150
    Y = rng.standard_normal((4, 2)) * 1e-3 - 1e150
    P = np.array([[0.6], [0.8]])
    small = sfg(np.ldexp(X, -400), np.ldexp(Y, -400), projections=P, p=2)
    assert sfg(X, Y, projections=P, p=2) == pytest.approx(np.ldexp(small, 800), rel=1e-12)


def test_fg_rescaling_keeps_the_transport_term_in_float32():
    """float32 data of size 1e8 are rescaled (their fourth powers leave float32's range), and
    with p = 1 the transport term's scale factor is 2^80 times smaller than the structure
    term's: sfg, max_sfg and ssfg (no ascent) must match FG_0.1 computed in float64 on the
    same float32 values and directions, which needs no rescaling; and so must the gradient,
    to float32's precision. The code that weighted the terms by beta' and 1 - beta' dropped
    the transport term (half the value here, all of it for a single point pair)."""
    rng = np.random.default_rng(3)
    # clouds of spread 1e2 at 1e8 and -1e8: the two terms of the same order (about 1e8)
    X32 = torch.from_numpy(rng.standard_normal((6, 3)) * 1e2 + 1e8).float()
    Y32 = torch.from_numpy(rng.standard_normal((6, 3)) * 1e2 - 1e8).float()
    P = rng.standard_normal((3, 5))
    P32 = torch.from_numpy(P / np.linalg.norm(P, axis=0)).float()
    loc = torch.tensor([0.6, 0.8, 0.0], dtype=torch.float64)
    calls = {
        "sfg": lambda X, Y, P: sfg(X, Y, projections=P, beta=0.1, p=1),
        "max_sfg": lambda X, Y, P: REGISTRY["max_sfg"](X, Y, projections=P, beta=0.1, p=1,
                                                       n_iter=0),
        "ssfg": lambda X, Y, P: REGISTRY["ssfg"](X, Y, loc=loc.to(X.dtype), beta=0.1, p=1,
                                                 n_iter=0, n_projections=8, seed=0),
    }
    for name, call in calls.items():
        X = X32.clone().requires_grad_(True)
        value = call(X, Y32, P32)
        (grad,) = torch.autograd.grad(value, X)
        X64 = X32.double().requires_grad_(True)
        P64 = P32.double()  # the same directions, unit-norm to float64's precision
        expected = call(X64, Y32.double(), P64 / P64.norm(dim=0))
        (grad64,) = torch.autograd.grad(expected, X64)
        assert value.dtype == torch.float32
        assert value.item() == pytest.approx(expected.item(), rel=1e-4), name
        torch.testing.assert_close(grad.double(), grad64, rtol=1e-4,
                                   atol=1e-4 * grad64.abs().max().item(), msg=name)
    # a single point pair: no structure at all, FG_0.1 = 0.9 |theta^T (x - y)|
    x, y = torch.tensor([[1e8, 0.0]]), torch.tensor([[-5e7, 0.0]])
    direction = torch.tensor([[1.0], [0.0]])
    assert sfg(x, y, projections=direction, beta=0.1, p=1).item() == pytest.approx(0.9 * 1.5e8,
                                                                                  rel=1e-6)
    assert reference.sfg(x.double().numpy(), y.double().numpy(), direction.double().numpy(),
                         beta=0.1, p=1) == pytest.approx(0.9 * 1.5e8, rel=1e-12)
