"""Each default that ``sliced-bench validate`` defends, set wrong: its check must fail.

A default is defended only if its check fails for a wrong default (a mutation). Each test
here changes one keyword default of the functions in place (``__kwdefaults__``, which the
registry's entries call) and runs the validate check that defends it. Heavy (the checks'
problems are of RAE size): marked ``slow``, run with ``pytest -m slow``.
"""

from __future__ import annotations

import pytest

from discrepancies import REGISTRY
from validation import discrepancy_checks, spherical_checks
from validation.checks import Context


def wrong_default(monkeypatch, keyword: str, value: object, which) -> None:
    """``keyword``'s default set to ``value`` in every entry for which ``which(spec)``."""
    for spec in REGISTRY.values():
        if which(spec) and keyword in (spec.fn.__kwdefaults__ or {}):
            monkeypatch.setitem(spec.fn.__kwdefaults__, keyword, value)


def failed(results, name: str) -> bool:
    matching = [r for r in results if r.name == name]
    assert matching, f"no check named {name}"
    return not all(r.passed for r in matching)


@pytest.mark.slow
@pytest.mark.parametrize(("keyword", "value", "check"), [
    (None, None, "default_kappa_interpolates"),  # the defaults themselves pass
    ("kappa", 3.0, "default_kappa_interpolates"),
    ("kappa", 30.0, "default_kappa_interpolates"),
    ("n_iter", 0, "default_n_iter_converged"),
])
def test_spherical_defaults(monkeypatch, keyword, value, check):
    if keyword is not None:
        wrong_default(monkeypatch, keyword, value, lambda spec: spec.spherical)
    results = spherical_checks.defaults(Context(seed=0, quick=True))
    assert failed(results, check) == (keyword is not None), results


@pytest.mark.slow
@pytest.mark.parametrize(("keyword", "value", "check"), [
    (None, None, "max_sw_defaults_reach_random_best"),
    ("n_iter", 0, "max_sw_defaults_reach_random_best"),
    ("n_iter", 0, "max_sfg_defaults_reach_random_best"),
    ("n_projections", 10, "sw_default_projections"),
])
def test_directional_defaults(monkeypatch, keyword, value, check):
    if keyword is not None:
        wrong_default(monkeypatch, keyword, value, lambda spec: not spec.spherical)
    results = discrepancy_checks.default_parameters(Context(seed=0, quick=True))
    assert failed(results, check) == (keyword is not None), results
