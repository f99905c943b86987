"""The registry of validation checks run by ``sliced-bench validate``.

A check is a function ``fn(ctx: Context) -> CheckResult | list[CheckResult]`` registered with
:func:`check`. Modules that hold checks are listed in :data:`CHECK_MODULES`; importing them fills
the registry. Tests may call the same functions at smaller sizes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

CHECK_MODULES = (
    "validation.sampler_checks",
    "validation.discrepancy_checks",
    "validation.spherical_checks",
    "validation.slicing_checks",
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
