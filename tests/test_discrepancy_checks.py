"""The `sliced-bench validate` discrepancy checks pass, and fail on deliberately wrong code."""

import dataclasses
import functools

import pytest
import torch

import validation.discrepancy_checks as checks
from validation.checks import Context
from validation.spherical_checks import literal_fg

FAST = ["sw_and_max_sw_vs_pot", "wasserstein_1d_vs_pot", "fg_vs_reference_and_pot",
        "torch_vs_reference", "properties", "gradients"]


def _results(name):
    out = getattr(checks, name)(Context(seed=0, quick=True))
    return out if isinstance(out, list) else [out]


@pytest.mark.parametrize("name", FAST)
def test_fast_checks_pass(name):
    for result in _results(name):
        assert result.passed, (result.name, result.measured)


def _identity_only(X, Y, projections, beta, p):
    """A mutation: forgets the anti-identity coupling."""
    identity, _ = literal_fg(torch.as_tensor(X), torch.as_tensor(Y),
                             torch.as_tensor(projections), beta, p)
    return identity


def test_fg_check_fails_on_a_wrong_fused_term(monkeypatch):
    monkeypatch.setattr(checks, "fg_per_slice", _identity_only)
    assert not _results("fg_vs_reference_and_pot")[0].passed


def test_sw_check_fails_on_a_wrong_scaling(monkeypatch):
    true_sw = checks.sw
    monkeypatch.setattr(checks, "sw", lambda *a, **k: true_sw(*a, **k) * (1 + 1e-8))
    assert not _results("sw_and_max_sw_vs_pot")[0].passed


def test_wasserstein_check_fails_on_a_quantile_bug(monkeypatch):
    true_wp = checks.wp_per_slice
    monkeypatch.setattr(checks, "wp_per_slice",
                        lambda X, Y, P, p, a=None, b=None: true_wp(X, Y, P, p) if a is not None
                        else true_wp(X, Y, P, p, a, b))
    assert not _results("wasserstein_1d_vs_pot")[0].passed


def test_gap_study_detects_the_known_gap_and_rejects_a_wrong_exact():
    study = checks.gap_study((4, 7), 3, 0.1, 2.0, seed=0)
    assert study["random_n4"]["fraction_above"] == 0.0
    assert study["clustered_n7"]["min_two_minus_exact_relative"] >= -1e-12
    costs = checks.brute_force_fg(checks.KNOWN_GAP["u"], checks.KNOWN_GAP["v"], 0.1, 2.0)
    assert (min(costs[0], costs[-1]) - costs.min()) / costs.min() > 0.02


def test_translation_check_fails_on_a_biased_sw(monkeypatch):
    true_sw = checks.sw
    monkeypatch.setattr(checks, "sw", lambda *a, **k: true_sw(*a, **k) * 1.05)
    assert not checks.translation_closed_form(Context(seed=0)).passed
    monkeypatch.undo()
    assert checks.translation_closed_form(Context(seed=0)).passed


def _flipped_gradient(fn):
    """A mutation: the same value with the gradient of the opposite sign."""
    def wrong(*args, **kwargs):
        value = fn(*args, **kwargs)
        return 2 * value.detach() - value
    return wrong


@pytest.mark.parametrize("name", ["sw", "max_sfg"])
def test_gradients_check_fails_on_a_wrong_gradient(monkeypatch, name):
    monkeypatch.setitem(checks.DIRECTIONAL, name, _flipped_gradient(checks.DIRECTIONAL[name]))
    result = checks.gradients(Context(seed=0))
    assert not result.passed, result.measured


def test_property_fuzz_check_fails_when_a_property_fails_or_the_tests_are_missing(
        monkeypatch, tmp_path):
    """The check is the fuzz module's pytest verdict: a failing test file (the mutation) gives
    a failed check that names it, a missing one a failed check, never a silent pass."""
    failing = tmp_path / "tests" / "test_fuzz_discrepancies.py"
    failing.parent.mkdir()
    failing.write_text("def test_property():\n    assert 1 == 2\n")
    monkeypatch.setattr(checks, "FUZZ_TESTS", failing)
    result = checks.property_fuzz(Context(seed=0, quick=True))
    assert not result.passed and "FAILED" in result.detail and "test_property" in result.detail
    monkeypatch.setattr(checks, "FUZZ_TESTS", tmp_path / "missing.py")
    result = checks.property_fuzz(Context(seed=0, quick=True))
    assert not result.passed and "missing" in result.detail


@pytest.mark.slow
def test_property_fuzz_check_passes():
    result = checks.property_fuzz(Context(seed=0, quick=True))
    assert result.passed, result.detail


@pytest.mark.parametrize("name", list(checks.DIRECTIONAL))
def test_reference_check_covers_every_directional_entry(monkeypatch, name):
    """torch_vs_reference compares each entry of the registry on uniform directions or their
    maximum with its oracle: any one of them off by a relative 1e-9 fails it (float64
    tolerance 1e-12). Mutation caught: an entry left out of the comparison."""
    spec = checks.DIRECTIONAL[name]

    @functools.wraps(spec.fn)
    def off(*args, **kwargs):
        return spec.fn(*args, **kwargs) * (1 + 1e-9)

    monkeypatch.setitem(checks.DIRECTIONAL, name, dataclasses.replace(spec, fn=off))
    result = _results("torch_vs_reference")[0]
    assert not result.passed, result.measured
