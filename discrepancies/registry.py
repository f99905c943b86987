"""The specs of the discrepancies: :class:`Spec` and :data:`REGISTRY`, name -> spec.

A spec is callable like its function (``REGISTRY["sw"](X, Y, ...)``, and
``inspect.signature`` sees the function's), and carries what the benchmarks, the validation,
the tests and the RAE harness read instead of branching on a name: the oracle in
:mod:`discrepancies.reference`, the keyword defaults, the law of the directions, whether the
value is a maximum found by ascent, and the number of components of the slicing law.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import reference
from .distributional import dsfg, dsw
from .energy import ebsfg, ebsw, mh_ebsw, sir_ebsw
from .fused import max_sfg, sfg
from .sliced import max_sw, sw
from .spherical import mssfg, pssfg, ssfg

__all__ = ["REGISTRY", "SLICING_LAWS", "Spec"]

# "max": one direction found by ascent; the others: the law of the directions averaged over
# ("energy": density proportional to an increasing function of each direction's own cost;
# "distributional": uniform draws pushed forward by a map that an ascent fits)
SLICING_LAWS = ("uniform", "vmf", "power_spherical", "max", "energy", "distributional")
# the laws whose ascent moves points of the sphere (logged as "locations")
_LOCATED = ("max", "vmf", "power_spherical")


def _keyword_defaults(fn: Callable) -> dict[str, object]:
    """The keyword-only settings of ``fn`` that have a default other than None (not ``log``,
    which changes the return, nor a private ``_variant``)."""
    return {name: param.default for name, param in inspect.signature(fn).parameters.items()
            if param.kind is param.KEYWORD_ONLY and param.default is not None
            and name != "log" and not name.startswith("_")}


@dataclass(frozen=True, eq=False)
class Spec:
    """One discrepancy of :data:`REGISTRY`.

    Attributes
    ----------
    name : str
        Its key.
    fn : callable
        The function; calling the spec calls it.
    oracle : callable or None
        Its NumPy float64 counterpart in :mod:`discrepancies.reference`: on given directions
        (``oracle(X, Y, projections, ...)``) for the uniform, maximised and
        importance-sampled energy-based ones; on given base draws and push-forward
        (``oracle(X, Y, projections, ..., weight=W, bias=c)``, the identity by default) for
        the distributional ones; the objective at given locations (``oracle(X, Y, loc, kappa,
        ...)``, ``loc`` as :meth:`loc` shapes it) for the spherical ones; for the
        ``resampled`` ones the value of the law they estimate (``oracle(X, Y, p, ...)``, by
        quadrature in d = 2 and 3); None where there is none.
    slicing_law : str
        One of :data:`SLICING_LAWS`.
    optimised : bool
        The value is a maximum over locations found by ascent; then ``log=True`` logs
        ``"locations"`` (k, d).
    fused : bool
        FG_beta per slice (takes ``beta``, needs n == m) rather than W_p^p.
    root : bool
        The value is the p-th root (SW's convention) rather than the cost itself.
    weighted : bool
        Takes the weights ``a`` and ``b``.
    resampled : bool
        The directions averaged over are drawn at random from the base directions
        (sampling-importance-resampling, Markov chains): on given ``projections`` the value
        still depends on ``seed``, and the oracle is the law's value, not a function of them.
    defaults : dict
        The keyword defaults of ``fn`` (read from its signature).
    """

    name: str
    fn: Callable
    oracle: Callable | None
    slicing_law: str
    optimised: bool
    fused: bool
    root: bool = False
    weighted: bool = False
    resampled: bool = False
    defaults: dict[str, object] = field(init=False)

    def __post_init__(self) -> None:
        if self.slicing_law not in SLICING_LAWS:
            raise ValueError(f"slicing_law must be one of {SLICING_LAWS}, "
                             f"got {self.slicing_law!r}")
        object.__setattr__(self, "defaults", _keyword_defaults(self.fn))
        # inspect.signature and help() see the function's
        object.__setattr__(self, "__wrapped__", self.fn)
        object.__setattr__(self, "__doc__", self.fn.__doc__)
        object.__setattr__(self, "__name__", getattr(self.fn, "__name__", self.name))

    def __call__(self, X: torch.Tensor | np.ndarray, Y: torch.Tensor | np.ndarray,
                 **kwargs: object) -> object:
        return self.fn(X, Y, **kwargs)

    @property
    def has_components(self) -> bool:
        """The slicing law is a mixture whose number of components is ``n_components``."""
        return "n_components" in self.defaults

    @property
    def expectation(self) -> bool:
        """The value is a mean over directions (under its law), not a single direction's."""
        return self.slicing_law != "max"

    @property
    def located(self) -> bool:
        """The ascent moves points of the sphere (one direction, or the locations of a
        concentrated law), which ``log=True`` logs as ``"locations"`` (k, d)."""
        return self.optimised and self.slicing_law in _LOCATED

    @property
    def placed(self) -> bool:
        """A mean over directions whose law an ascent places (spherical, distributional): no
        closed form on a translate, unlike the uniform and energy-based means and the
        maximum."""
        return self.optimised and self.expectation

    @property
    def spherical(self) -> bool:
        """The directions follow a law concentrated at locations that the ascent moves."""
        return self.slicing_law in ("vmf", "power_spherical")

    def n_components(self, kwargs: dict | None = None) -> int:
        """k, the number of locations for these keywords (1 without components); also the
        least ``n_projections`` these keywords allow (each component needs a draw)."""
        if not self.has_components:
            return 1
        return int((kwargs or {}).get("n_components", self.defaults["n_components"]))

    def with_components(self, k: int) -> dict[str, int]:
        """The keywords that ask for ``k`` components where the law has components, ``{}``
        (one location) where it has not: ``n_components(with_components(k))`` is k or 1."""
        return {"n_components": k} if self.has_components else {}

    def loc(self, locations: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """The ``loc=`` argument (and the oracle's) for the rows of ``locations`` (k, d):
        (k, d) with components, the one row (d,) without."""
        return locations if self.has_components else locations[0]


REGISTRY: dict[str, Spec] = {s.name: s for s in (
    Spec("sw", sw, reference.sw, "uniform", optimised=False, fused=False, root=True,
         weighted=True),
    Spec("max_sw", max_sw, reference.max_sw, "max", optimised=True, fused=False, root=True,
         weighted=True),
    Spec("sfg", sfg, reference.sfg, "uniform", optimised=False, fused=True),
    Spec("max_sfg", max_sfg, reference.max_sfg, "max", optimised=True, fused=True),
    Spec("ssfg", ssfg, reference.ssfg_objective, "vmf", optimised=True, fused=True),
    Spec("mssfg", mssfg, reference.mssfg_objective, "vmf", optimised=True, fused=True),
    Spec("pssfg", pssfg, reference.pssfg_objective, "power_spherical", optimised=True,
         fused=True),
    Spec("ebsw", ebsw, reference.ebsw, "energy", optimised=False, fused=False, root=True,
         weighted=True),
    Spec("ebsfg", ebsfg, reference.ebsfg, "energy", optimised=False, fused=True),
    Spec("sir_ebsw", sir_ebsw, reference.energy_law_value, "energy", optimised=False,
         fused=False, root=True, weighted=True, resampled=True),
    Spec("mh_ebsw", mh_ebsw, reference.energy_law_value, "energy", optimised=False,
         fused=False, root=True, weighted=True, resampled=True),
    Spec("dsw", dsw, reference.dsw, "distributional", optimised=True, fused=False, root=True,
         weighted=True),
    Spec("dsfg", dsfg, reference.dsfg, "distributional", optimised=True, fused=True),
)}
