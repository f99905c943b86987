"""Energy-based slicing (discrepancies.energy): the authors' values through the conventions
adapter, the oracles, the bounds and limits, the law of the resampled draws, and bad input.

Each statistical or bound check runs once on the implementation and once on a deliberately
wrong one (a mutation, monkeypatched into discrepancies.energy), which it must reject.
"""

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

import discrepancies.energy as energy
from discrepancies import REGISTRY, Spec, ebsfg, ebsw, mh_ebsw, reference, sfg, sir_ebsw, sw
from discrepancies.conventions import ebsw_in_convention, sfg_in_convention, sw_in_convention
from validation import energy_checks as checks

FIXTURE = Path(__file__).parent / "data" / "family_code_values.json"
WEIGHTED = checks.WEIGHTED
ALPHA = 1e-3  # level of every chi-square test below


def _clouds(d=3, n=15, seed=0):
    return checks.test_clouds(d, seed, n)


@pytest.mark.parametrize("case", range(8))
def test_authors_isebsw_values_through_the_adapter(case):
    """ISEBSW of khainb/EBSW (GradientFlow/utils.py), float64, on the fixture's directions
    (L groups of T, group-major): reproduced to 1e-10 relative (observed <= 5e-16)."""
    entry = json.loads(FIXTURE.read_text())["ISEBSW"][case]
    assert entry["eps"] == 0
    value = ebsw_in_convention(np.array(entry["X"]), np.array(entry["Y"]),
                               np.array(entry["directions_rows"]).T, entry["p"],
                               energy=entry["f_type"], rho=entry["rho"],
                               groups=entry["groups_L"], convention="ebsw")
    assert value == pytest.approx(entry["ISEBSW"], rel=1e-10)


def test_adapter_design_convention_is_ebsw_and_the_authors_exp_is_a_temperature():
    X, Y = _clouds()
    rng = np.random.default_rng(1)
    P = rng.standard_normal((3, 12))
    P /= np.linalg.norm(P, axis=0)
    for kind in energy.ENERGIES:
        assert ebsw_in_convention(X, Y, P, energy=kind) == pytest.approx(
            ebsw(X, Y, projections=P, energy=kind), rel=1e-12)
    # exp of the sample-summed cost n W_2^2 = our absolute temperature 1/n, times n^(1/2)
    n = X.shape[0]
    assert ebsw_in_convention(X, Y, P, convention="ebsw") == pytest.approx(
        n**0.5 * ebsw(X, Y, projections=P, temperature=1 / n, temperature_scale="absolute"),
        rel=1e-12)
    with pytest.raises(ValueError, match=r"^convention must be one of \['design', 'ebsw'\]"):
        ebsw_in_convention(X, Y, P, convention="rae")
    with pytest.raises(ValueError, match=r"^groups must divide"):
        ebsw_in_convention(X, Y, P, groups=5)
    with pytest.raises(ValueError, match=r"^convention 'ebsw' \(khainb/EBSW.*no fused cost"):
        sfg_in_convention(X, Y, P, convention="ebsw")
    # the authors' SW: their slices summed over samples, n^(1/p) SW_p
    assert sw_in_convention(X, Y, P, 3.0, convention="ebsw") == pytest.approx(
        n ** (1 / 3) * sw(X, Y, projections=P, p=3), rel=1e-12)


@pytest.mark.parametrize("kind", energy.ENERGIES)
@pytest.mark.parametrize("scale", energy.TEMPERATURE_SCALES)
def test_importance_sampled_entries_match_their_oracles(kind, scale):
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((9, 4)), rng.standard_normal((13, 4)) + 0.5
    a, b = rng.dirichlet(np.ones(9)), rng.dirichlet(np.ones(13))
    P = rng.standard_normal((4, 7))
    P /= np.linalg.norm(P, axis=0)
    kw = {"energy": kind, "temperature": 0.7, "temperature_scale": scale, "rho": 3.0}
    for p in (1.0, 2.0, 3.0):
        assert ebsw(X, Y, projections=P, p=p, a=a, b=b, **kw) == pytest.approx(
            reference.ebsw(X, Y, P, p, a, b, **kw), rel=1e-12)
    Yf = Y[:9]
    assert ebsfg(X, Yf, projections=P, beta=0.3, p=1.5, **kw) == pytest.approx(
        reference.ebsfg(X, Yf, P, 0.3, 1.5, **kw), rel=1e-12)
    value32 = ebsw(torch.from_numpy(X).float(), torch.from_numpy(Y).float(),
                   projections=torch.from_numpy(P).float(), **kw)
    assert value32.dtype == torch.float32
    assert value32.item() == pytest.approx(reference.ebsw(X, Y, P, **kw), rel=1e-5)


@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_bounds_with_shared_directions_and_a_wrong_normalisation(name, monkeypatch):
    """sw <= ebsw <= largest slice (sfg <= ebsfg likewise). Mutation caught: the weights
    normalised by L instead of by their sum (the value leaves the bounds)."""
    spec = REGISTRY[name]
    found = checks.bounds(spec, 20)
    assert found["worst_violation"] <= 1e-12 and found["moved"] >= 0.9
    X, Y = _clouds(4)
    P = torch.nn.functional.normalize(torch.randn(4, 30, generator=torch.Generator()
                                                  .manual_seed(3), dtype=torch.float64), dim=0)
    peer = (sfg if spec.fused else sw)(X, Y, projections=P.numpy())
    assert peer <= spec(X, Y, projections=P.numpy()) * (1 + 1e-12)
    monkeypatch.setattr(energy, "energy_weights",
                        lambda c, law, log_unit=0.0: torch.exp(c / c.mean()) / c.shape[-1])
    assert checks.bounds(spec, 20)["worst_violation"] > 1e-3


@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_temperature_limits_and_a_missing_temperature(name, monkeypatch):
    """temperature -> infinity gives SW / SFG, -> 0 the largest slice, to 1e-10. Mutation
    caught: the temperature left out of the exp energy."""
    spec = REGISTRY[name]
    assert max(checks.temperature_limits(spec).values()) <= 1e-10
    weights = energy.energy_weights
    monkeypatch.setattr(energy, "energy_weights",
                        lambda c, law, log_unit=0.0: weights(c, law._replace(temperature=1.0),
                                                             log_unit))
    assert max(checks.temperature_limits(spec).values()) > 1e-3


def _shared_decision(log_f_new, log_f_now, log_u):
    """Mutation: the authors' single decision for all chains (accept every proposal when
    log u is below the smallest log ratio)."""
    ratio = torch.clamp(log_f_new - log_f_now, max=0.0).nan_to_num(0.0)
    return torch.full_like(log_u, bool(log_u[0] < ratio.min()), dtype=torch.bool)


def test_mh_chains_follow_the_law_and_a_shared_decision_does_not(monkeypatch):
    """Final states of 2000 chains (60 uniform-proposal steps) against the density
    proportional to exp(c / tau) by quadrature, d = 2, chi-square at ALPHA. Mutation caught:
    one acceptance decision shared by all chains."""
    spec = REGISTRY["mh_ebsw"]
    kw = [{"n_steps": 60}]
    assert min(checks.law_pvalues(spec, kw, 2000, dims=(2,)).values()) >= ALPHA
    monkeypatch.setattr(energy, "_accept", _shared_decision)
    assert max(checks.law_pvalues(spec, kw, 2000, dims=(2,)).values()) < ALPHA


def test_sir_draws_follow_the_law_and_uniform_resampling_does_not(monkeypatch):
    """SIR's resampled directions against the law by quadrature, d = 2, chi-square at ALPHA.
    Mutation caught: resampling with uniform weights (the energy ignored)."""
    spec = REGISTRY["sir_ebsw"]
    assert min(checks.law_pvalues(spec, [{}], 2000, dims=(2,)).values()) >= ALPHA
    draws = energy._inverse_cdf_draws
    monkeypatch.setattr(energy, "_inverse_cdf_draws",
                        lambda w, count, g: draws(torch.ones_like(w), count, g))
    assert max(checks.law_pvalues(spec, [{}], 2000, dims=(2,)).values()) < ALPHA


def test_sir_is_unbiased_for_importance_sampling_on_its_pool(monkeypatch):
    """On a fixed pool, the mean of SIR_p^p over the resampling is IS-EBSW_p^p (|z| <= 4 over
    400 seeds). Mutation caught: uniform resampling (its mean is SW_p^p)."""
    X, Y = _clouds(3)
    rng = np.random.default_rng(4)
    P = rng.standard_normal((3, 40))
    P /= np.linalg.norm(P, axis=0)
    target = ebsw(X, Y, projections=P) ** 2

    def z():
        values = np.array([sir_ebsw(X, Y, projections=P, seed=s) ** 2 for s in range(400)])
        return (values.mean() - target) / (values.std() / np.sqrt(len(values)))

    assert abs(z()) <= 4
    draws = energy._inverse_cdf_draws
    monkeypatch.setattr(energy, "_inverse_cdf_draws",
                        lambda w, count, g: draws(torch.ones_like(w), count, g))
    assert abs(z()) > 4


# the fused oracle's quadrature and MH's chains are slower: run from validate (and -m slow)
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow)
                                  if REGISTRY[n].fused or "n_steps" in REGISTRY[n].defaults
                                  else n for n in sorted(checks.ENERGY)])
def test_estimators_converge_to_the_law_value(name):
    """RMS relative error against the quadrature value at L = 100 and 3000 (5 seeds): it
    falls by at least 2 and ends below 1.5%."""
    errors = checks.convergence(REGISTRY[name], (100, 3000), 5)
    assert errors[1] <= errors[0] / 2 and errors[1] <= 0.015


def test_convergence_check_rejects_resampling_that_ignores_the_energy(monkeypatch):
    """Mutation caught: SIR resampling uniformly converges to SW, 3.9% below EBSW here."""
    draws = energy._inverse_cdf_draws
    monkeypatch.setattr(energy, "_inverse_cdf_draws",
                        lambda w, count, g: draws(torch.ones_like(w), count, g))
    assert checks.convergence(REGISTRY["sir_ebsw"], (100, 3000), 5)[1] > 0.03


@pytest.mark.parametrize("name", sorted(WEIGHTED))
@pytest.mark.parametrize("wrong", [1.0, 4.0])
def test_default_temperature_check_and_wrong_defaults(name, wrong):
    """The validate check passes at the default (2) and fails at 1 (weights collapse on the
    translates) and 4 (the value hardly moves off SW on the Gaussians)."""
    spec = REGISTRY[name]

    def passes(s):
        r = checks.default_temperature(s)
        return (r["min_ess_fraction"] >= 0.25 and r["min_move"] >= 0.05
                and r["max_homogeneity_error"] <= 1e-10)

    assert spec.defaults["temperature"] == 2.0 and passes(spec)
    mutated = Spec(name, partial(spec.fn, temperature=wrong), spec.oracle, spec.slicing_law,
                   optimised=False, fused=spec.fused, root=spec.root)
    assert not passes(mutated)


def test_gradients_detached_and_full():
    """"detached": the gradient of sum_l w_l c_l with w held fixed; "full": through the
    softmax too (autograd of the formula, written here from the logged pieces)."""
    X, Y = (torch.from_numpy(a) for a in _clouds(3, 8))
    P = torch.nn.functional.normalize(torch.randn(3, 6, generator=torch.Generator()
                                                  .manual_seed(5), dtype=torch.float64), dim=0)
    for mode in ("detached", "full"):
        Xg = X.clone().requires_grad_()
        value = ebsw(Xg, Y, projections=P, gradient=mode)
        (got,) = torch.autograd.grad(value, Xg)
        Xh = X.clone().requires_grad_()
        c = energy.wp_per_slice(Xh, Y, P, 2.0)
        z = c / (2.0 * c.mean())
        w = torch.softmax(z if mode == "full" else z.detach(), 0)
        (expected,) = torch.autograd.grad((w * c).sum().sqrt(), Xh)
        assert torch.allclose(got, expected, rtol=1e-12, atol=1e-14), mode
    assert torch.autograd.gradcheck(
        lambda x: ebsfg(x, Y, projections=P, gradient="full", beta=0.3),
        (X.clone().requires_grad_(),))


def test_logs_and_numpy_out():
    X, Y = _clouds(3, 10)
    value, log = ebsw(X, Y, n_projections=7, seed=0, log=True)
    assert isinstance(value, np.float64) and log["weights"].shape == (7,)
    assert log["weights"].sum() == pytest.approx(1, abs=1e-12)
    value, log = sir_ebsw(X, Y, n_projections=7, seed=0, log=True)
    assert log["resampled"].sum() == 7 and log["projections"].shape == (3, 7)
    value, log = mh_ebsw(X, Y, n_projections=5, n_steps=4, burn_in=1, seed=0, log=True)
    assert log["weights"].sum() == pytest.approx(1, abs=1e-12)
    assert log["states"].shape == (3, 5) and log["acceptance"].shape == (5,)
    assert value == pytest.approx(float(np.dot(log["weights"], log["per_slice"])) ** 0.5,
                                  rel=1e-12)
    # the same seed gives the same value, with either proposal
    for kw in ({}, {"proposal": "vmf"}):
        assert mh_ebsw(X, Y, seed=3, **kw) == mh_ebsw(X, Y, seed=3, **kw)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"energy": "linear"}, ValueError, r"^energy must be one of \['exp', 'identity', 'poly'\], "
                                       r"got energy='linear'"),
    ({"energy": 2}, TypeError, r"^energy must be a string"),
    ({"temperature": 0.0}, ValueError, r"^temperature must be > 0, got temperature=0.0"),
    ({"temperature": -1}, ValueError, r"^temperature must be > 0"),
    ({"temperature": float("inf")}, ValueError, r"^temperature must be finite"),
    ({"temperature": "hot"}, TypeError, r"^temperature must be a real number"),
    ({"temperature_scale": "max"}, ValueError, r"^temperature_scale must be one of"),
    ({"rho": 0}, ValueError, r"^rho must be > 0, got rho=0"),
    ({"rho": None}, TypeError, r"^rho must be a real number"),
    ({"gradient": "none"}, ValueError, r"^gradient must be one of \['detached', 'full'\]"),
    ({"slicing": "control-variate"}, ValueError, r"^slicing='control-variate' estimates"),
])
def test_bad_energy_arguments_name_themselves(kwargs, error, match):
    X, Y = _clouds(3, 6)
    with pytest.raises(error, match=match):
        ebsw(X, Y, n_projections=5, **kwargs)
    if "gradient" not in kwargs:
        for fn in (sir_ebsw, mh_ebsw):
            with pytest.raises(error, match=match):
                fn(X, Y, n_projections=5, **kwargs)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n_steps": 0}, ValueError, r"^n_steps must be >= 1"),
    ({"burn_in": 3, "n_steps": 3}, ValueError, r"^burn_in must be < n_steps, got burn_in=3"),
    ({"burn_in": -1}, ValueError, r"^burn_in must be >= 0"),
    ({"proposal": "gauss"}, ValueError, r"^proposal must be one of \['uniform', 'vmf'\]"),
    ({"proposal_kappa": -1.0}, ValueError, r"^proposal_kappa must be >= 0"),
])
def test_bad_chain_arguments_name_themselves(kwargs, error, match):
    X, Y = _clouds(3, 6)
    with pytest.raises(error, match=match):
        mh_ebsw(X, Y, n_projections=5, **kwargs)


def test_absolute_temperature_too_small_for_the_costs_raises():
    X, Y = _clouds(3, 6)
    with pytest.raises(ValueError, match=r"^temperature=1e-320 is too small"):
        ebsw(X * 1e10, Y * 1e10, n_projections=5, temperature=1e-320,
             temperature_scale="absolute")


@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_asv_translate_closed_form_matches_the_quadrature_oracle(name):
    """The benchmarks' exact value for a translate under the energy law (a 1-D integral in
    t = theta^T m / |m|) against the oracle's quadrature on the sphere, d = 3, to 1e-3 (the
    grid's error; the uniform law's value, SW_2^2, is 30% lower here).
    A translate's slice cost is (1 - beta) (theta^T m)^2: the structure term vanishes."""
    from asv_bench.benchmarks.bench_discrepancies import translate_cost
    spec = REGISTRY[name]
    rng = np.random.default_rng(6)
    X, m = rng.standard_normal((10, 3)), rng.standard_normal(3)
    beta = 0.1 if spec.fused else None
    quadrature = reference.energy_law_value(X, X + m, beta=beta, n_grid=60)
    quadrature = quadrature if spec.fused else quadrature**2
    assert translate_cost(spec, float(m @ m), 3, beta or 0.0) == pytest.approx(quadrature,
                                                                               rel=1e-3)
