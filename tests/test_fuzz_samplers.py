"""Property-based fuzzing of the samplers (Hypothesis): every input has exactly two outcomes.

Over the dimension, the concentration (0 and a log-uniform range from 1e-300 to 1e308), the
dtype, batch and sample shapes, seeds and a corruption of one argument, each sampler either

- returns a valid result: draws of the right shape and dtype, finite, of unit norm to a few
  ulps; ``log_prob`` finite wherever the density is positive, never above its value at the
  mode; ``entropy`` finite and at most the log area of the sphere (the uniform law's), equal to
  it at kappa = 0; ``mean`` finite, along ``loc``, of norm at most 1; or
- raises ``ValueError`` / ``TypeError`` whose message names the corrupted argument,

and which one is fixed by the input: an error on a valid input fails, as does a result on an
invalid one. A second property checks the precision: ``log_prob`` in float32 (and in float16 /
bfloat16, which evaluate it in float32) agrees with float64 on the same points to 8 float32
ulps of the scale ``|log p(mu)| + |log p(x) - log p(mu)| + 1``.

Profiles (tests/conftest.py): ``default`` (50 examples a test, derandomised: deterministic in
CI), ``slow`` (``HYPOTHESIS_PROFILE=slow``, more examples, random).
"""

import math
import re

import pytest
import scipy.special
import torch
from hypothesis import given
from hypothesis import strategies as st

from samplers import MixtureVonMisesFisher, PowerSpherical, VonMisesFisher, uniform_sphere
from samplers.constraints import parameter_dtype

FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
NOT_FLOATS = (torch.int64, torch.bool, torch.complex64)
FAMILIES = {"vmf": VonMisesFisher, "power_spherical": PowerSpherical}
EPS32 = torch.finfo(torch.float32).eps

dims = st.one_of(st.integers(2, 8), st.sampled_from([16, 100, 1000]))
# the edges (0, tiny, float32's and float64's largest), and 10^e for e in [-300, 308]
EDGE_KAPPAS = (0.0, 1e-300, 1e-8, 1.0, 1e8, 1e17, 3.4e38, 1e155, 1e300, 1.79e308)
kappas = st.one_of(st.sampled_from(EDGE_KAPPAS), st.floats(-300, 308).map(lambda e: 10.0**e))
shapes = st.lists(st.integers(0, 3), max_size=2).map(tuple)
seeds = st.integers(0, 2**32 - 1)


def unit_tolerance(dtype: torch.dtype, d: int) -> float:
    """A draw's norm error: the Householder map runs a handful of rounded operations per
    coordinate in ``dtype``; the norm sums d of them (measured: below 4 eps up to d = 1000)."""
    return 8 * torch.finfo(dtype).eps * max(1.0, math.sqrt(d) / 8)


def log_area(d: int) -> float:
    """log |S^{d-1}| = log 2 + (d/2) log pi - lgamma(d/2)."""
    return math.log(2) + d / 2 * math.log(math.pi) - math.lgamma(d / 2)


def random_unit(shape, d, dtype, seed):
    x = torch.randn((*shape, d), generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64)
    return (x / x.norm(dim=-1, keepdim=True)).to(dtype)


def expect(fn, error_patterns):
    """Run ``fn``. With ``error_patterns`` (one regular expression per invalid argument of the
    input), it must raise ValueError/TypeError whose message matches one of them; without,
    it must return (and its result is returned)."""
    if error_patterns:
        with pytest.raises((ValueError, TypeError)) as info:
            fn()
        message = str(info.value)
        assert any(re.search(p, message) for p in error_patterns), (error_patterns, message)
        return None
    return fn()


def corrupt_loc(loc: torch.Tensor, how: str | None) -> torch.Tensor:
    if how == "scaled":
        return loc * 1.5
    if how == "zero":
        return torch.zeros_like(loc)
    if how == "nan":
        return torch.full_like(loc, math.nan)
    if how in ("int64", "bool", "complex64"):
        return loc.to(getattr(torch, how))
    return loc


CORRUPTIONS = st.one_of(st.none(), st.sampled_from([
    "loc:scaled", "loc:zero", "loc:nan", "loc:int64", "loc:bool", "loc:complex64",
    "concentration:negative", "concentration:nan", "concentration:inf",
    "sample_shape:negative", "sample_shape:float", "generator:str", "d:1",
]))


def check_draws(x, shape, dtype, d):
    assert x.shape == shape and x.dtype == dtype
    assert torch.isfinite(x).all()
    if x.numel():
        err = float((x.double().norm(dim=-1) - 1).abs().max())
        assert err <= unit_tolerance(dtype, d), err


def check_scalars(dist, loc, x, at_mode, d, out_dtype, family):
    """log_prob, entropy, mean of a valid distribution against the laws' own properties;
    ``at_mode`` bounds the log density (its value at the mode)."""
    lp = dist.log_prob(x)
    assert lp.dtype == at_mode.dtype == out_dtype
    assert torch.isfinite(at_mode).all()
    # density positive everywhere except the power spherical's antipode (kappa > 0)
    positive = torch.ones_like(lp, dtype=torch.bool)
    if family == "power_spherical":
        antipode = ((x.double() + loc.double()) ** 2).sum(-1) == 0
        positive = ~antipode | (dist.concentration == 0)
    assert torch.isfinite(lp[positive]).all()
    # nowhere above the mode (to a few float32 ulps of its scale)
    slack = 8 * EPS32 * (at_mode.double().abs() + 1)
    assert (lp.double() <= at_mode.double() + slack).all()
    if family != "mixture":
        entropy = dist.entropy()
        assert entropy.dtype == out_dtype and torch.isfinite(entropy).all()
        # the uniform law has the largest entropy, log |S^{d-1}|; kappa = 0 is that law
        uniform = log_area(d)
        assert (entropy.double() <= uniform + 8 * EPS32 * (abs(uniform) + 1)).all()
        at_zero = dist.concentration == 0
        torch.testing.assert_close(entropy.double()[at_zero],
                                   torch.full_like(entropy.double()[at_zero], uniform),
                                   rtol=8 * EPS32, atol=8 * EPS32)
    mean = dist.mean
    assert mean.dtype == loc.dtype and torch.isfinite(mean).all()
    assert (mean.double().norm(dim=-1) <= 1 + unit_tolerance(loc.dtype, d)).all()


def overflow_pattern(name):
    return name + r"=\S+ is beyond the range of torch\.float\d+ \(largest finite value"


@given(family=st.sampled_from(sorted(FAMILIES)), d=dims, kappa=kappas,
       dtype=st.sampled_from(FLOATS), batch=shapes, sample=shapes, seed=seeds,
       corruption=CORRUPTIONS, per_batch_kappa=st.booleans())
def test_vmf_and_power_spherical_valid_output_or_named_error(
        family, d, kappa, dtype, batch, sample, seed, corruption, per_batch_kappa):
    cls = FAMILIES[family]
    what, _, how = (corruption or "").partition(":")
    if what == "d":
        d = 1
    loc = corrupt_loc(random_unit(batch, d, dtype, seed), how if what == "loc" else None)
    if what == "concentration":
        kappa = {"negative": -kappa - 1.0, "nan": math.nan, "inf": math.inf}[how]
    kappa_arg = kappa
    if per_batch_kappa and batch:
        # one concentration per batch entry, spread over 1e-3..1 of kappa
        factors = torch.logspace(-3, 0, math.prod(batch), dtype=torch.float64).reshape(batch)
        kappa_arg = kappa * factors
    sample_shape = sample
    if what == "sample_shape":
        sample_shape = (*sample, -1) if how == "negative" else (*sample, 2.5)
    generator = "abc" if what == "generator" else torch.Generator().manual_seed(seed)
    largest = torch.as_tensor(kappa_arg, dtype=torch.float64)
    too_big = (largest.numel() > 0 and bool(torch.isfinite(largest).all())
               and float(largest.max()) > torch.finfo(parameter_dtype(dtype)).max)
    patterns = [p for p, bad in [
        # an empty batch has no value to be wrong, only a dtype
        ("loc", what == "loc" and (loc.numel() > 0 or not loc.is_floating_point())),
        (r"loc\.shape\[-1\]", what == "d"),
        ("concentration", what == "concentration" and largest.numel() > 0),
        ("sample_shape", what == "sample_shape"),
        ("generator", what == "generator"), (overflow_pattern("concentration"), too_big),
    ] if bad]

    def run():
        dist = cls(loc, kappa_arg)
        return dist, dist.sample(sample_shape, generator)

    out = expect(run, patterns)
    if out is not None:
        dist, x = out
        check_draws(x, (*sample, *batch, d), dtype, d)
        check_scalars(dist, loc, x, dist.log_prob(loc), d, parameter_dtype(dtype), family)


@given(k=st.integers(1, 4), d=dims, kappa=kappas, dtype=st.sampled_from(FLOATS),
       sample=shapes, seed=seeds, weights=st.one_of(st.none(), st.sampled_from([
           "uniform", "skewed", "negative", "nan", "sum", "shape", "int64"])),
       corruption=st.one_of(st.none(), st.sampled_from(
           ["locs:scaled", "locs:nan", "concentrations:negative", "sample_shape:negative",
            "generator:str"])))
def test_mixture_valid_output_or_named_error(k, d, kappa, dtype, sample, seed, weights,
                                             corruption):
    what, _, how = (corruption or "").partition(":")
    locs = corrupt_loc(random_unit((k,), d, dtype, seed), how if what == "locs" else None)
    kappas_ = torch.full((k,), -1.0 if what == "concentrations" else kappa,
                         dtype=torch.float64)
    w = {None: None, "uniform": torch.full((k,), 1 / k),
         "skewed": torch.softmax(torch.arange(k, dtype=torch.float64), 0),
         "negative": torch.tensor([2.0] + [-1.0 / max(k - 1, 1)] * (k - 1)),
         "nan": torch.full((k,), math.nan), "sum": torch.full((k,), 1.1 / k),
         "shape": torch.full((k + 1,), 1 / (k + 1)),
         "int64": torch.ones(k, dtype=torch.int64)}[weights]
    if weights == "negative" and k == 1:
        w = torch.tensor([-1.0])
    sample_shape = (*sample, -1) if what == "sample_shape" else sample
    generator = "abc" if what == "generator" else torch.Generator().manual_seed(seed)
    too_big = what != "concentrations" and kappa > torch.finfo(parameter_dtype(dtype)).max
    patterns = [p for p, bad in [
        ("locs", what == "locs"), ("concentrations", what == "concentrations"),
        ("sample_shape", what == "sample_shape"), ("generator", what == "generator"),
        ("weights", weights in ("negative", "nan", "sum", "shape", "int64")),
        (overflow_pattern("concentrations"), too_big),
    ] if bad]

    def run():
        mix = MixtureVonMisesFisher(locs, kappas_, w)
        return mix, mix.sample(sample_shape, generator)

    out = expect(run, patterns)
    if out is not None:
        mix, x = out
        check_draws(x, (*sample, d), dtype, d)
        # sum_i w_i p_i(x) <= max_i p_i(mu_i): one kappa for every component here
        bound = VonMisesFisher(locs[0], kappa).log_prob(locs[0])
        check_scalars(mix, locs[0], x, bound, d, parameter_dtype(dtype), "mixture")


@given(n=st.one_of(st.integers(1, 50), st.sampled_from([0, -3, 2**62])), d=st.one_of(
    st.integers(1, 8), st.sampled_from([100, 10**4])), dtype=st.sampled_from(
    (None, *FLOATS, *NOT_FLOATS)), seed=seeds, bad_generator=st.booleans())
def test_uniform_sphere_valid_output_or_named_error(n, d, dtype, seed, bad_generator):
    patterns = [p for p, bad in [
        ("n", n < 1 or n * d > 2**63 - 1), ("d", d < 2), ("dtype", dtype in NOT_FLOATS),
        ("generator", bad_generator)] if bad]
    generator = 0 if bad_generator else torch.Generator().manual_seed(seed)
    x = expect(lambda: uniform_sphere(n, d, generator=generator, dtype=dtype), patterns)
    if x is not None:
        check_draws(x, (n, d), dtype or torch.get_default_dtype(), d)


@given(family=st.sampled_from(sorted(FAMILIES)), d=dims,
       kappa=st.one_of(st.just(0.0), st.floats(-30, 38).map(lambda e: 10.0**e)),
       dtype=st.sampled_from(FLOATS[:3]), seed=seeds)
def test_low_precision_log_prob_agrees_with_float64_on_the_same_points(family, d, kappa, dtype,
                                                                      seed):
    # float32 (and float16 / bfloat16, evaluated in float32) against float64 on the very same
    # points, draws near the mode, uniform points and points near the antipode: 8 float32 ulps
    # of the scale of the two terms; entropy: 2 ulps (its scalar parts are computed in float64)
    cls = FAMILIES[family]
    loc = random_unit((), d, dtype, seed)
    g = torch.Generator().manual_seed(seed)
    low = cls(loc, kappa)
    near_antipode = -loc.double() + torch.logspace(-4, -1, 4, dtype=torch.float64)[:, None] * (
        torch.randn(4, d, generator=g, dtype=torch.float64))
    near_antipode = (near_antipode / near_antipode.norm(dim=-1, keepdim=True)).to(dtype)
    x = torch.cat([low.sample((16,), g), uniform_sphere(16, d, generator=g, dtype=dtype),
                   near_antipode])
    x = x[x.double().norm(dim=-1).sub(1).abs() <= math.sqrt(torch.finfo(dtype).eps)]
    got = low.log_prob(x).double()
    # the same inputs: loc's values, and kappa as the low-precision law holds it
    high = cls(loc.double(), low.concentration.double(), validate_args=False)
    ref = high.log_prob(x.double())
    mode = high.log_prob(loc.double())
    beyond = ref.abs() > torch.finfo(torch.float32).max  # -inf in float32 is the rounding
    assert (got[beyond] == -math.inf).all()
    finite = ~beyond & torch.isfinite(ref)
    assert (got[~finite & ~beyond] == ref[~finite & ~beyond]).all()  # the antipode: -inf
    scale = mode.abs() + (ref - mode).abs() + 1
    err = (got - ref).abs()
    assert (err[finite] <= 8 * EPS32 * scale[finite]).all(), float(err[finite].max())
    torch.testing.assert_close(low.entropy().double(), high.entropy(), rtol=2 * EPS32, atol=0)


def _hankel_log_mode(d: int, kappa: float) -> float:
    """vMF log p(mu) from Hankel's expansion of I_nu (DLMF 10.40.1), 4 terms: relative error
    below (d^2 / (8 kappa))^4 (1e-18 at kappa = 1e4 d^2)."""
    mu = (d - 2.0) ** 2
    term = total = 1.0
    for k in range(1, 4):
        term *= -(mu - (2 * k - 1) ** 2) / (8 * k) / kappa
        total += term
    return (d - 1) / 2 * math.log(kappa / (2 * math.pi)) - math.log(total)


@given(family=st.sampled_from(["vmf", "power_spherical", "mixture"]), d=dims,
       position=st.floats(0, 1), dtype=st.sampled_from([torch.float32, torch.float64]),
       seed=seeds)
def test_large_kappa_against_asymptotic_laws(family, d, position, dtype, seed):
    # kappa from 1e4 d^2 to the dtype's largest value, log-uniform. Independent references:
    # Hankel's expansion (vMF log p(mu); entropy -log p(mu) + (d-1)/2 - (d-1)(d-3)/(8 kappa);
    # mean length 1 - (d-1)/(2 kappa)), SciPy's betaln (power spherical log p(mu)) and, for
    # odd d, exact finite sums (power spherical entropy); draws: kappa s^2 / c, s^2 = 1 - t^2,
    # c = 2 (vMF) or 4 (power spherical), is Gamma((d-1)/2) in the limit, so no draw may sit
    # exactly at loc (s = 0) and none beyond a 1e-12 tail quantile.
    low = math.log10(1e4 * d * d)
    top = math.log10(torch.finfo(dtype).max) - 0.01
    kappa = 10.0 ** (low + position * (top - low))
    loc = torch.zeros(d, dtype=dtype)
    loc[-1] = 1
    g = torch.Generator().manual_seed(seed)
    if family == "mixture":
        dist = MixtureVonMisesFisher(torch.stack([loc, loc]), kappa)
    else:
        dist = FAMILIES[family](loc, kappa)
    x = dist.sample((16,), g)
    a = (d - 1) / 2
    stat = kappa * (x[:, :-1].double() ** 2).sum(-1) / (4 if family == "power_spherical" else 2)
    assert (stat > 0).all() and (stat < a + 12 * math.sqrt(a) + 40).all(), stat
    rtol = 1e-10 if dtype == torch.float64 else 2 * EPS32
    got = float(dist.log_prob(loc))
    if family == "power_spherical":
        b = (d - 1) / 2
        ref = -((d - 1) * math.log(2) + b * math.log(math.pi)
                + scipy.special.betaln(kappa + b, b) - scipy.special.gammaln(b))
        assert got == pytest.approx(ref, rel=max(rtol, 1e-9))
        if d % 2:  # digamma(a + b) - digamma(a) = sum_{j < b} 1 / (a + j), a = kappa + b
            exact = -ref + kappa * math.fsum(1 / (kappa + b + j) for j in range(d // 2))
            assert float(dist.entropy()) == pytest.approx(exact, rel=rtol, abs=rtol)
        return
    ref = _hankel_log_mode(d, kappa)  # the mixture's two components coincide: it is the vMF
    assert got == pytest.approx(ref, rel=rtol, abs=rtol)
    length = float(dist.mean.double().norm())
    one_m_a = (d - 1) / (2 * kappa) - (d - 1) * (d - 3) / (8 * kappa) / kappa
    assert 1 - length == pytest.approx(one_m_a, rel=1e-6, abs=torch.finfo(dtype).eps)
    if family == "vmf":
        entropy = -ref + (d - 1) / 2 - (d - 1) * (d - 3) / (8 * kappa)
        assert float(dist.entropy()) == pytest.approx(entropy, rel=rtol, abs=rtol)
