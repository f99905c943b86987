"""The registry of validation checks run by ``sliced-bench validate``.

A check is a function ``fn(ctx: Context) -> CheckResult | list[CheckResult]`` registered with
:func:`check`. Modules that hold checks are listed in :data:`CHECK_MODULES`; importing them fills
the registry. Tests may call the same functions at smaller sizes.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

CHECK_MODULES = (
    "validation.sampler_checks",
    "validation.discrepancy_checks",
    "validation.spherical_checks",
    "validation.slicing_checks",
    "validation.distributional_checks",
    "validation.energy_checks",
)


@dataclass
class Context:
    """What every check receives: a base seed, a device, and whether to run the quick grid."""

    seed: int = 0
    device: str = "cpu"
    quick: bool = False

    def generator(self, offset: int = 0) -> torch.Generator:
        """A fresh generator on ``device`` seeded with ``seed + offset``."""
        return torch.Generator(device=self.device).manual_seed(self.seed + offset)


@dataclass
class CheckResult:
    """One line of the validation table."""

    group: str
    name: str
    passed: bool
    measured: str
    criterion: str
    detail: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


CheckFn = Callable[[Context], "CheckResult | list[CheckResult]"]
REGISTRY: dict[str, list[tuple[str, CheckFn]]] = {}


def check(group: str) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` under ``group``; the function name is its identifier."""

    def register(fn: CheckFn) -> CheckFn:
        REGISTRY.setdefault(group, []).append((fn.__name__, fn))
        return fn

    return register


def load_all() -> dict[str, list[tuple[str, CheckFn]]]:
    """Import every module of :data:`CHECK_MODULES` that exists and return the registry."""
    for name in CHECK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
    return REGISTRY


def property_tests(group: str, tests: Path, ctx: Context, criterion: str) -> CheckResult:
    """The check ``property_fuzz`` of ``group``: the Hypothesis module ``tests`` run by pytest
    in a subprocess under the "slow" profile ("default" with ``--quick``; the profiles are in
    tests/conftest.py), seeded with the run's seed. It passes on pytest's success alone, so
    a failing property (named in the detail) or a missing module (run from a source checkout,
    with the ``test`` extra) fails it. CPU only."""
    profile = "default" if ctx.quick else "slow"
    if not tests.exists():
        return CheckResult(group, "property_fuzz", False, "not run", criterion,
                           f"{tests} is missing: run from a source checkout")
    root = tests.parents[1]
    env = {**os.environ, "HYPOTHESIS_PROFILE": profile,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tests), f"--hypothesis-seed={ctx.seed}"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=3600)
    lines = proc.stdout.strip().splitlines() or ["no output"]
    failures = [line for line in lines if line.startswith("FAILED")]
    detail = f"profile {profile}, seed {ctx.seed}" + (f"; {'; '.join(failures)}" if failures
                                                      else "")
    if proc.returncode != 0 and not failures:
        detail += f"; {proc.stderr.strip()[-300:] or lines[-1]}"
    return CheckResult(group, "property_fuzz", proc.returncode == 0, lines[-1], criterion, detail)
