"""Data too large or too small for the p-th powers in their dtype, and large p.

Oracles: the NumPy float64 reference at scale 1 with the exact homogeneities (SW_p(cX, cY) =
c SW_p(X, Y); FG_beta(cX, cY) = min over the two couplings of (1-beta) c^p T + beta c^4 S, each
term from :func:`discrepancies.reference._fg_cost`), and a log-sum-exp evaluation for p = 10^6.
Each test names the mutation it catches: without the rescaling of
:func:`discrepancies._inputs.range_rescaling` / :func:`~discrepancies._inputs.fused_rescaling`
these values were inf, NaN or 0.
"""

import numpy as np
import pytest
import scipy.special
import torch

from discrepancies import REGISTRY, _inputs, max_sw, reference, sfg, sw
from validation.discrepancy_checks import unit_columns

RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((20, 4)), RNG.standard_normal((20, 4)) * 1.5 + 0.4
P = unit_columns(RNG, 4, 9)
REL = {torch.float32: 1e-5, torch.float64: 1e-12}
FG_FAMILY = tuple(name for name, spec in REGISTRY.items() if spec.fused)


def _t(a: np.ndarray, dtype: torch.dtype, c: float = 1.0) -> torch.Tensor:
    return torch.tensor(a * c, dtype=dtype)


def _fg_scaled(X, Y, P, beta, p, c):
    """FG_beta per direction of (cX, cY), from the two terms at scale 1 (float64)."""
    out = []
    for j in range(P.shape[1]):
        u, v = np.sort(X @ P[:, j]), np.sort(Y @ P[:, j])
        out.append(min((1 - beta) * c**p * reference._fg_cost(u, w, 0.0, p)
                       + beta * c**4 * reference._fg_cost(u, w, 1.0, p) for w in (v, v[::-1])))
    return np.array(out)


# float32 overflowed from about 1e19 (p = 2) and flushed to 0 below 1e-19; float64 from 1e154
SW_SCALES = [(torch.float32, 1e20), (torch.float32, 1e30), (torch.float32, 1e-30),
             (torch.float64, 1e200), (torch.float64, 1e300), (torch.float64, 1e-300)]


@pytest.mark.parametrize(("dtype", "c"), SW_SCALES)
@pytest.mark.parametrize("p", [1, 2, 3.5])
def test_sw_and_max_sw_are_homogeneous_across_the_range(dtype, c, p):
    """Mutation caught: no rescaling (inf above, 0 below)."""
    got = sw(_t(X, dtype, c), _t(Y, dtype, c), projections=_t(P, dtype), p=p)
    assert got.dtype == dtype
    assert got.item() == pytest.approx(c * reference.sw(X, Y, P, p), rel=REL[dtype])
    got = max_sw(_t(X, dtype, c), _t(Y, dtype, c), projections=_t(P, dtype), p=p, n_iter=0)
    assert got.item() == pytest.approx(c * reference.max_sw(X, Y, P, p), rel=REL[dtype])


def test_weighted_sw_across_the_range():
    a, b = RNG.dirichlet(np.ones(20)), RNG.dirichlet(np.ones(15))
    c, f32 = 1e20, torch.float32
    got = sw(_t(X, f32, c), _t(Y[:15], f32, c), projections=_t(P, f32), a=_t(a, f32),
             b=_t(b, f32))
    assert got.item() == pytest.approx(c * reference.sw(X, Y[:15], P, 2, a, b), rel=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sw_with_large_p(dtype):
    """p = 100 in float32 (gaps of 3 to the 100th overflow) against the float64 reference, and
    p = 10^6 (overflows any dtype) against a log-sum-exp. Mutation caught: p-th powers of the
    gaps formed without dividing by their largest (inf)."""
    got = sw(_t(X, dtype), _t(Y, dtype), projections=_t(P, dtype), p=100)
    assert got.item() == pytest.approx(reference.sw(X, Y, P, 100), rel=REL[dtype])
    p = 1e6
    gaps = np.abs(np.sort(P.T @ X.T, axis=1) - np.sort(P.T @ Y.T, axis=1))
    expected = np.exp((scipy.special.logsumexp(p * np.log(gaps)) - np.log(gaps.size)) / p)
    got = sw(_t(X, dtype), _t(Y, dtype), projections=_t(P, dtype), p=p)
    assert got.item() == pytest.approx(expected, rel=REL[dtype])


def test_not_representable_value_raises_naming_the_dtype_range():
    """SW of float64 points 4e308 apart is above float64's largest value: an error, not inf."""
    Xb = torch.full((3, 2), 1.7e308, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"sw .* not representable in torch\.float64 "
                                         r"\(largest finite value 1\.798e\+308\)"):
        sw(Xb, -Xb, projections=torch.tensor([[1.0], [0.0]], dtype=torch.float64))


FG_SCALES = [(torch.float32, 2e9), (torch.float32, 1e-12), (torch.float64, 3e76),
             (torch.float64, 1e-80)]


def _fg_call(name, Xt, Yt, Pt, p, **kw):
    """The value and the directions it used, at a fixed location for the spherical family,
    and how many components share them out (or the weights of an energy-based entry)."""
    spec = REGISTRY[name]
    if not spec.spherical:
        extra = {"n_iter": 0} if spec.optimised else {}
        value, log = spec(Xt, Yt, projections=Pt, p=p, log=True, seed=0, **extra, **kw)
        return value, log["projections"], log.get("weights", 1)
    components = spec.with_components(2)
    k = spec.n_components(components)
    loc = spec.loc(torch.eye(4, dtype=Xt.dtype)[:k])
    value, log = spec(Xt, Yt, loc=loc, n_iter=0, n_projections=10, seed=0, p=p, log=True,
                      **components, **kw)
    return value, log["projections"], k


@pytest.mark.parametrize(("dtype", "c"), FG_SCALES)
@pytest.mark.parametrize("name", FG_FAMILY)
def test_fg_family_across_the_range(dtype, c, name):
    """FG_beta of (cX, cY) is not one power of c: the oracle combines the two terms at scale 1.
    Mutations caught: no rescaling (inf above, NaN when inf - inf, 0 below), and rescaling with
    beta kept instead of the adjusted weights (1-beta) s^p / c, beta s^4 / c (off by orders of
    magnitude)."""
    for p in (1.5, 3.0):
        value, used, k = _fg_call(name, _t(X, dtype, c), _t(Y, dtype, c), _t(P, dtype), p)
        used = used.double().numpy()
        per = _fg_scaled(X, Y, used / np.linalg.norm(used, axis=0), 0.1, p, c)
        if isinstance(k, int):
            expected = np.mean([per[j::k].mean() for j in range(k)])
        else:  # the energy-based weights (scale-free at the default temperature)
            expected = float(np.dot(k.double().numpy(), per))
        assert value.dtype == dtype
        assert value.item() == pytest.approx(expected, rel=1e-4 if dtype == torch.float32
                                             else 1e-11)


@pytest.mark.parametrize("name", FG_FAMILY)
def test_fg_family_raises_when_the_value_is_out_of_range(name):
    """FG of float32 data of size 1e20 is about 1e80: an error naming float32's range, where
    the code without rescaling returned NaN."""
    # the message names the entry called (a default name passed on by sfg, a wrong one, fails)
    with pytest.raises(ValueError, match=rf"^{name} of these X and Y is about 10\^[0-9.]+, "
                                         r"not representable in torch\.float32 \(largest "
                                         r"finite value 3\.403e\+38\)"):
        _fg_call(name, _t(X, torch.float32, 1e20), _t(Y, torch.float32, 1e20),
                 _t(P, torch.float32), 2.0)


def test_fg_family_refuses_a_p_too_large_to_rescale():
    with pytest.raises(ValueError, match=r"p must be <= 100 for the FG family .* got p=1000"):
        sfg(_t(X, torch.float32), _t(Y, torch.float32), projections=_t(P, torch.float32),
            p=1000)


def test_common_inputs_are_not_rescaled():
    """The range check leaves typical data alone, so their values are unchanged bit for bit:
    p = 2 and 3, float32 and float64, up to n = 10^6 points of size 10^3 in d = 10^3 (SW) and
    of size 10^2 (FG), and every size down to 10^-3."""
    for dtype in (torch.float32, torch.float64):
        for size in (1e-3, 1.0, 1e2):
            Z = torch.full((1, 1000), size, dtype=dtype)
            for p in (2, 3):
                assert _inputs._range_exponent(Z, Z, p, 10**6) is None, (dtype, size, p)
                assert _inputs._range_exponent(Z, Z, max(p, 4), 10**6) is None, (dtype, size)
        Z = torch.full((1, 1000), 1e3, dtype=dtype)
        assert _inputs._range_exponent(Z, Z, 2, 10**6) is None


def _forced(monkeypatch, exponent):
    monkeypatch.setattr(_inputs, "_range_exponent", lambda *args: exponent)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_rescaled_path_matches_the_plain_path_value_and_gradient(name, monkeypatch):
    """Forcing the rescaled computation on ordinary float64 data gives the plain value and
    gradient to rounding: the gradient flows through the rescaling. Mutation caught: a wrong
    factor back (2**(e+1)), or the structure weight not adjusted."""
    p = 3.0

    def run():
        Xg = torch.from_numpy(X).requires_grad_(True)
        value, _, _ = (_fg_call(name, Xg, torch.from_numpy(Y), torch.from_numpy(P), p)
                       if name in FG_FAMILY else
                       (REGISTRY[name](Xg, torch.from_numpy(Y), projections=torch.from_numpy(P),
                                       p=p, seed=0, **({"n_iter": 0} if REGISTRY[name].optimised
                                               else {})),
                        None, None))
        (grad,) = torch.autograd.grad(value, Xg)
        return value.detach(), grad

    plain = run()
    for exponent in (-7, 5):
        _forced(monkeypatch, exponent)
        forced = run()
        torch.testing.assert_close(forced[0], plain[0], rtol=1e-12, atol=0)
        torch.testing.assert_close(forced[1], plain[1], rtol=1e-10, atol=1e-12)


def test_gradient_at_huge_scale():
    """SW is 1-homogeneous, so its gradient is 0-homogeneous: the same at 1e200 as at 1.
    FG in float32 at 2e9 against float64 (no rescaling needed there)."""
    def grad(fn, Xt, Yt, Pt):
        Xg = Xt.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(fn(Xg, Yt, projections=Pt), Xg)
        return g

    plain = grad(sw, torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(P))
    huge = grad(sw, _t(X, torch.float64, 1e200), _t(Y, torch.float64, 1e200), torch.from_numpy(P))
    torch.testing.assert_close(huge, plain, rtol=1e-12, atol=1e-14)
    c = 2e9
    g64 = grad(sfg, _t(X, torch.float64, c), _t(Y, torch.float64, c), torch.from_numpy(P))
    g32 = grad(sfg, _t(X, torch.float32, c), _t(Y, torch.float32, c), _t(P, torch.float32))
    torch.testing.assert_close(g32.double(), g64, rtol=1e-4, atol=1e-4 * g64.abs().max().item())


def test_rescaled_sfg_passes_its_directions_and_clouds_to_the_slicing_scheme():
    """Float32 data of size 1e-15 is rescaled before FG (its 4th powers underflow): the
    control-variate estimate, which uses the directions and both clouds, must then equal the
    float64 one on the same data (where no rescaling is needed) to float32 accuracy. (A
    rescaled path that hands the scheme no directions or clouds fails; plain "mc" ignores
    them.)"""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(30, 4, generator=g, dtype=torch.float64) * 1e-15
    Y = (0.7 * torch.randn(30, 4, generator=g, dtype=torch.float64) + 0.2) * 1e-15
    kw = {"seed": 1, "beta": 0.0, "slicing": "control-variate", "n_projections": 20}
    low = sfg(X.float(), Y.float(), **kw)
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(sfg(X, Y, **kw).item(), rel=1e-5)


@pytest.mark.parametrize("name", ["sw", "max_sw"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rescaled_path_logs_what_the_plain_path_logs(name, dtype, monkeypatch):
    """Every logged quantity (the p-th powers per slice, the ascent's history, the direction)
    of a forced rescaled call equals the plain call's, in the same dtype. Mutations caught: the
    per-slice roots logged without their p-th power, a history or direction left in the
    working dtype (float64) or cast to the caller's."""
    Xt, Yt, Pt = _t(X, dtype), _t(Y, dtype), _t(P, dtype)
    extra = {"n_iter": 3} if name == "max_sw" else {}

    def logged():
        _, log = REGISTRY[name](Xt, Yt, projections=Pt, p=3.0, log=True, **extra)
        return log

    plain = logged()
    _forced(monkeypatch, 5)
    forced = logged()
    assert set(forced) == set(plain)
    for key, value in plain.items():
        if not isinstance(value, torch.Tensor):
            continue
        assert forced[key].dtype == value.dtype, key
        torch.testing.assert_close(forced[key], value, rtol=REL[value.dtype] * 10, atol=0, msg=key)


def test_max_sw_out_of_range_names_itself():
    Xb = torch.full((3, 2), 1.7e308, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^max_sw of these X and Y is .* not representable"):
        max_sw(Xb, -Xb, projections=torch.tensor([[1.0], [0.0]], dtype=torch.float64))


@pytest.mark.parametrize("name", [n for n in FG_FAMILY if REGISTRY[n].spherical])
def test_rescaled_spherical_ascent_follows_the_plain_path(name, monkeypatch):
    """A forced rescaled call of the spherical family, ascent included (5 steps), reaches the
    plain call's locations and value: on rescaled data the ascent's objective must carry the
    adjusted transport weight, not 1 - beta (p = 3, where the two differ)."""
    spec = REGISTRY[name]
    components = spec.with_components(2)
    k = spec.n_components(components)
    kw = {"loc": spec.loc(torch.eye(4, dtype=torch.float64)[:k]), "n_iter": 5,
          "n_projections": 10, "seed": 0, "p": 3.0, "log": True, **components}

    def call():
        return spec(torch.from_numpy(X), torch.from_numpy(Y), **kw)

    plain, plain_log = call()
    _forced(monkeypatch, 5)
    forced, forced_log = call()
    torch.testing.assert_close(forced, plain, rtol=1e-10, atol=0)
    torch.testing.assert_close(forced_log["locations"], plain_log["locations"], rtol=0,
                               atol=1e-10)


def test_rescaled_sw_of_a_cloud_with_itself_is_zero(monkeypatch):
    """Every per-slice root 0: the rescaled path's power mean divides by its largest root only
    where that is positive (0 / 0 would make the value NaN)."""
    Xt = torch.from_numpy(X)
    _forced(monkeypatch, 5)
    for p in (1.0, 2.0, 3.0):
        assert sw(Xt, Xt.clone(), n_projections=5, seed=0, p=p).item() == 0.0
