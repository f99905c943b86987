"""Checks of the distributional entries (group ``distributional``), each paired with a mutation
that it catches.

- ``dsw_authors_code``: :func:`discrepancies.conventions.dsw_in_convention` reproduces the
  values and final push-forwards that the authors' own function returned (the fixture
  ``tests/data/family_code_values.json``, read its ``source``) to 1e-8 relative; the same
  reproduction with the diagonal left out of the cosine term, or with this suite's scaling of
  the discrepancy, misses them.
- ``distributional_laws``: exact laws of the objective (see
  :mod:`discrepancies.distributional`): ``n_iter=0`` is SW / SFG on the base draws; DSW is never
  above the exact W_p; ``dsw(cX, cY) = |c| dsw(X, Y)`` (the discrepancy divided by its start
  value; broken by the authors' unnormalised scaling); for lam -> infinity the push-forward's
  path no longer depends on the data (Adam is invariant to a factor on the objective; broken
  by a penalty that ignores lam).
- ``distributional_defaults``: at its defaults a cold DSW call in d = 10 covers at least 40 % of
  the way from SW to max-SW on the same data while its directions stay spread (mean |cos| at
  most 0.75); the authors' lr, no step, a 4x larger lr, and lam = 10 each fail it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import ot
import torch

from discrepancies import dsfg, dsw, max_sw, sfg, sw
from discrepancies._slices import wp_per_slice
from discrepancies.conventions import dsw_in_convention
from discrepancies.distributional import ADAM_BETAS, Objective, ascend
from validation.checks import CheckResult, Context, check

GROUP = "distributional"
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "family_code_values.json"


def fixture_errors(objective: Objective | None = None) -> list[dict[str, float]]:
    """For each DSW entry of the fixture, the relative errors of the value and of the final
    weights and bias (largest entry error over the largest entry) of our reproduction: through
    :func:`dsw_in_convention`, or with ``objective`` in its place (a mutation)."""
    entries = json.loads(FIXTURE.read_text())["DSW"]
    errors = []
    for e in entries:
        if tuple(e["adam_betas"]) != ADAM_BETAS:
            raise ValueError(f"the fixture's Adam betas {e['adam_betas']} are not {ADAM_BETAS}")
        X, Y = np.array(e["X"]), np.array(e["Y"])
        P = np.array(e["initial_directions_rows"]).T
        W0, c0 = np.array(e["linear_weight_out_by_in"]), np.array(e["linear_bias"])
        if objective is None:
            value, state = dsw_in_convention(X, Y, P, W0, c0, n_iter=e["max_iter"],
                                             lam=e["lam"], p=e["p"], lr=e["adam_lr"])
        else:
            value, state = _mutated_convention(X, Y, P, W0, c0, e, objective)
        W1, c1 = np.array(e["final_linear_weight_out_by_in"]), np.array(e["final_linear_bias"])
        expected = e["distributional_sliced_wasserstein_distance"]
        errors.append({
            "value": abs(float(value) - expected) / expected,
            "weight": float(np.abs(np.asarray(state["weight"]) - W1).max() / np.abs(W1).max()),
            "bias": float(np.abs(np.asarray(state["bias"]) - c1).max() / np.abs(c1).max())})
    return errors


def _mutated_convention(X: np.ndarray, Y: np.ndarray, P: np.ndarray, W0: np.ndarray,
                        c0: np.ndarray, e: dict, objective: Objective):
    """:func:`dsw_in_convention` with another objective (the authors' value, n^{1/p} SW on the
    final directions, kept)."""
    Xt, Yt, Pt = (torch.from_numpy(a) for a in (X, Y, P))
    p = float(e["p"])

    def value(Xw: torch.Tensor, Yw: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        return wp_per_slice(Xw, Yw, Q, p).mean() ** (1 / p)

    pushed, state, _ = ascend(value, p, Xt, Yt, Pt, {"weight": W0, "bias": c0}, e["max_iter"],
                              e["adam_lr"], e["lam"], objective)
    return X.shape[0] ** (1 / p) * value(Xt, Yt, pushed).item(), state


TOLERANCE = 1e-8
MUTATIONS = {"diagonal_left_out": Objective(scale="samples", diagonal=False),
             "our_scaling": Objective(scale="start", diagonal=True)}


@check(GROUP)
def dsw_authors_code(ctx: Context) -> CheckResult:
    """The fixture reproduced to 1e-8 relative; each mutation misses it by more."""
    worst = max(max(e.values()) for e in fixture_errors())
    missed = {name: max(max(e.values()) for e in fixture_errors(obj))
              for name, obj in MUTATIONS.items()}
    ok = worst <= TOLERANCE and all(v > TOLERANCE for v in missed.values())
    return CheckResult(GROUP, "dsw_authors_code", ok,
                       f"largest relative error {worst:.1e}; mutations "
                       + ", ".join(f"{k} {v:.1e}" for k, v in missed.items()),
                       f"<= {TOLERANCE:g}, each mutation > {TOLERANCE:g}",
                       "5 fixture entries (value, final weight and bias); float64",
                       {"errors": fixture_errors(), "mutations": missed})


def _problem(seed: int, n: int = 40, d: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Y = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.linspace(0.5, 2.0, d,
                                                                               dtype=torch.float64)
    return X, Y + 0.3


def scale_error(fn: Callable = dsw, c: float = 1e3, seed: int = 0, degree: float = 1,
                **kwargs: object) -> float:
    """|fn(cX, cY) - c^degree fn(X, Y)| / (c^degree fn(X, Y)) (same base draws)."""
    X, Y = _problem(seed)
    expected = c**degree * float(fn(X, Y, seed=seed, **kwargs))
    return abs(float(fn(c * X, c * Y, seed=seed, **kwargs)) - expected) / expected


def _unnormalised_dsw(X: torch.Tensor, Y: torch.Tensor, seed: int) -> float:
    """DSW with the authors' scaling of the discrepancy (no division by its start value): the
    mutation :func:`scale_error` catches."""
    P = torch.as_tensor(np.random.default_rng(seed).standard_normal((X.shape[1], 100)))
    P = P / P.norm(dim=0)

    def value(Xw: torch.Tensor, Yw: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        return wp_per_slice(Xw, Yw, Q, 2.0).mean().sqrt()

    pushed, _, _ = ascend(value, 2.0, X, Y, P, None, 10, 0.05, 1.0, Objective(scale="samples"))
    return value(X, Y, pushed).item()


def large_lam_gap(lam: float = 1e12, seed: int = 0, **kwargs: object) -> float:
    """The largest difference between the push-forwards that DSW reaches from the same base
    draws on two unrelated problems with the cosine weight ``lam``: 0 to rounding for lam ->
    infinity (only the penalty, which ignores the data, steers Adam). ``kwargs`` go to
    :func:`dsw`."""
    states = []
    for problem in (seed, seed + 1):
        X, Y = _problem(problem)
        states.append(dsw(X, Y, seed=seed, lam=lam, log=True, **kwargs)[1]["state"]["weight"])
    return float((states[0] - states[1]).abs().max())


@check(GROUP)
def distributional_laws(ctx: Context) -> CheckResult:
    """The exact laws of the module docstring, each with the mutation it catches."""
    X, Y = _problem(ctx.seed + 1)
    P = sw(X, Y, seed=ctx.seed, log=True)[1]["projections"]
    measured = {
        "dsw_n_iter0_vs_sw": abs(dsw(X, Y, projections=P, n_iter=0).item()
                                 - sw(X, Y, projections=P).item()) / sw(X, Y, projections=P).item(),
        "dsfg_n_iter0_vs_sfg": abs(dsfg(X, Y, projections=P, n_iter=0).item()
                                   - sfg(X, Y, projections=P).item()) / sfg(X, Y,
                                                                            projections=P).item(),
        "scale_dsw": scale_error(dsw, seed=ctx.seed),
        # FG_0 = W_2^2 is 2-homogeneous (beta > 0 mixes degrees 2 and 4: no such law)
        "scale_dsfg_beta0": scale_error(dsfg, c=1e-2, seed=ctx.seed, degree=2, beta=0.0),
        "large_lam_gap": large_lam_gap(seed=ctx.seed),
    }
    exact = ot.emd2([], [], ot.dist(X.numpy(), Y.numpy())) ** 0.5
    lam0 = dsw(X, Y, seed=ctx.seed, lam=0.0, lr=0.2, n_iter=30).item()
    measured["dsw_lam0_over_exact_w2"] = lam0 / exact
    c = 1e3
    unscaled = c * _unnormalised_dsw(X, Y, ctx.seed)
    mutated_scale = abs(_unnormalised_dsw(c * X, c * Y, ctx.seed) - unscaled) / unscaled
    mutated_lam = large_lam_gap(lam=1.0, seed=ctx.seed)
    measured.update({"mutation_unnormalised_scale": mutated_scale,
                     "mutation_lam_ignored_gap": mutated_lam})
    ok = (measured["dsw_n_iter0_vs_sw"] <= 1e-14 and measured["dsfg_n_iter0_vs_sfg"] <= 1e-14
          and measured["scale_dsw"] <= 1e-10 and measured["scale_dsfg_beta0"] <= 1e-10
          and measured["large_lam_gap"] <= 1e-6 and measured["dsw_lam0_over_exact_w2"] <= 1
          and mutated_scale > 1e-6 and mutated_lam > 1e-3)
    return CheckResult(GROUP, "distributional_laws", ok,
                       ", ".join(f"{k} {v:.1e}" for k, v in measured.items()),
                       "n_iter=0 <= 1e-14; scale <= 1e-10; large-lam gap <= 1e-6; DSW <= W_2; "
                       "mutations > 1e-6 / 1e-3", "float64, n = 40, d = 5, L = 100", measured)


def default_coverage(**kwargs: object) -> tuple[float, float]:
    """(fraction of the way from SW to max-SW that DSW covers, mean |cos| of its directions),
    medians over 5 problems in d = 10 (n = 200; Y stretched along one axis and shifted), for
    ``dsw``'s defaults updated by ``kwargs``."""
    fractions, cosines = [], []
    rng = np.random.default_rng(0)
    for seed in range(5):
        d = 10
        X = torch.as_tensor(rng.standard_normal((200, d)))
        Y = torch.as_tensor(rng.standard_normal((200, d)) * np.r_[2.0, np.ones(d - 1)]
                            + np.r_[0.5, np.zeros(d - 1)])
        s, m = sw(X, Y, seed=seed).item(), max_sw(X, Y, seed=seed).item()
        value, log = dsw(X, Y, seed=seed, log=True, **kwargs)
        fractions.append((value.item() - s) / (m - s))
        cosines.append(log["cosine"].item())
    return float(np.median(fractions)), float(np.median(cosines))


COVERAGE, SPREAD = 0.4, 0.75
WRONG_DEFAULTS = {"authors_lr": {"lr": 5e-4}, "no_step": {"n_iter": 0}, "lr_x4": {"lr": 0.2},
                  "lam_10": {"lam": 10.0}}


@check(GROUP)
def distributional_defaults(ctx: Context) -> CheckResult:
    """DSW's defaults pass (coverage >= 0.4, mean |cos| <= 0.75); each wrong default fails."""
    def passes(result: tuple[float, float]) -> bool:
        return result[0] >= COVERAGE and result[1] <= SPREAD

    ours = default_coverage()
    wrong = {name: default_coverage(**kw) for name, kw in WRONG_DEFAULTS.items()}
    ok = passes(ours) and not any(passes(r) for r in wrong.values())
    return CheckResult(GROUP, "distributional_defaults", ok,
                       f"defaults: coverage {ours[0]:.2f}, cos {ours[1]:.2f}; "
                       + ", ".join(f"{k}: {v[0]:.2f}/{v[1]:.2f}" for k, v in wrong.items()),
                       f"coverage >= {COVERAGE}, mean |cos| <= {SPREAD}; every wrong default "
                       "fails", "d = 10, n = 200, medians of 5 problems",
                       {"defaults": ours, **wrong})
