"""Fixed points of the 2-D ORGaNICs circuit (NeurIPS 2024, Section 5, Appendices E and F.3).

The panel parameters are those of the captions of Fig. 1 (z = +1), Fig. 2 (z = -1) and Fig. 3.
The fixed-point counts of every panel are checked against an independent brute-force search
(``scipy.optimize.root`` from a dense grid of starting points on a NumPy re-implementation of
Eq. 15 / Eq. 101), and every fixed point against the n = 1 ``ORGaNICs`` model (vector field and
autodiff Jacobian).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import organics  # noqa: F401  (switches on float64)
from organics.models.organics import ORGaNICs
from organics.stability import jacobian
from organics.two_dimensional import (
    TwoDFixedPoint,
    quartic_coefficients,
    theorem_prediction,
    two_d_fixed_points,
    two_d_jacobian,
)

TAU = 2e-3
COMMON = dict(b=0.5, w=1.0, tau_y=TAU, tau_a=TAU)
PANEL_PARAMETERS = {
    "a": dict(w_r=0.5, b0=0.5, sigma=0.1, variant="main"),
    "b": dict(w_r=2.0, b0=0.5, sigma=0.1, variant="main"),
    "c": dict(w_r=2.0, b0=1.0, sigma=1.0, variant="main"),
    "d": dict(w_r=0.5, b0=0.5, sigma=0.1, variant="rectified"),
    "e": dict(w_r=2.0, b0=0.5, sigma=0.1, variant="rectified"),
    "f": dict(w_r=2.0, b0=1.0, sigma=1.0, variant="rectified"),
}
# Stability flags of the fixed points sorted by y_s (found by this module AND by brute force).
EXPECTED_STABILITY = {
    ("fig1", "a"): [True],
    ("fig1", "b"): [False, False, True],  # two extra fixed points with y_s < 0
    ("fig1", "c"): [True],
    ("fig1", "d"): [True],
    ("fig1", "e"): [True],  # the y_s < 0 roots of panel (b) are not fixed points when rectified
    ("fig1", "f"): [True],
    ("fig2", "a"): [True],
    ("fig2", "b"): [True, False, False],  # mirror image of Fig. 1(b)
    ("fig2", "c"): [True],
    ("fig2", "d"): [True],  # (b z, b0^2 sigma^2), Eq. 107
    ("fig2", "e"): [True, False, False],  # Eq. 107 point + the two y_s > 0 roots of the quartic
    ("fig2", "f"): [True],
}
PANELS = [(fig, panel) for fig in ("fig1", "fig2") for panel in "abcdef"]


def panel_kwargs(fig: str, panel: str) -> dict:
    return dict(COMMON, z=1.0 if fig == "fig1" else -1.0, **PANEL_PARAMETERS[panel])


def n1_model(kw: dict) -> ORGaNICs:
    return ORGaNICs(
        z=[kw["z"]],
        W_r=[[kw["w_r"]]],
        W=[[kw["w"]]],
        b=kw["b"],
        b0=kw["b0"],
        sigma=kw["sigma"],
        tau_y=kw.get("tau_y", TAU),
        tau_a=kw.get("tau_a", TAU),
        variant=kw.get("variant", "main"),
    )


# ------------------------------------------------------------------ independent brute force
def numpy_rhs(x, *, w_r, w, b, z, b0, sigma, variant, **_):
    """tau * f(y, a) of Eq. 15 (main) / Eq. 101 (rectified), written independently of the package."""
    y, a = x
    g = max(y, 0.0) if variant == "rectified" else y
    a_plus = max(a, 0.0)
    return np.array([-y + b * z + (1.0 - np.sqrt(a_plus)) * w_r * g, -a + (b0 * sigma) ** 2 + w * g * g * a_plus])


def brute_force_fixed_points(kw: dict) -> np.ndarray:
    """Roots of the vector field from a 25 x 25 grid of starts, y in [-3, 3], a in (0, 3]."""
    found: list[np.ndarray] = []
    for y0 in np.linspace(-3.0, 3.0, 25):
        for a0 in np.geomspace(1e-3, 3.0, 25):
            sol = scipy.optimize.root(lambda x: numpy_rhs(x, **kw), [y0, a0], method="hybr", tol=1e-14)
            x = sol.x
            if not (np.all(np.isfinite(x)) and x[1] > 0):
                continue
            if np.max(np.abs(numpy_rhs(x, **kw))) > 1e-12:
                continue
            if not any(np.max(np.abs(x - f)) < 1e-6 for f in found):
                found.append(x)
    return np.array(sorted(found, key=lambda v: (v[0], v[1])))


def assert_is_fixed_point_of_model(fp: TwoDFixedPoint, kw: dict, atol: float = 1e-10) -> None:
    model = n1_model(kw)
    f = np.asarray(model.vector_field(0.0, np.asarray(fp.state)))
    assert np.max(np.abs(f)) <= atol * max(1.0, np.max(np.abs(fp.state))), f


def assert_theorem(fps: list[TwoDFixedPoint], kw: dict) -> None:
    """Theorems 5.1/5.2 and F.3, checked component by component."""
    sign = np.sign(kw["z"])
    matching = [fp for fp in fps if np.sign(fp.y) == sign and fp.a > 0]
    others = [fp for fp in fps if not (np.sign(fp.y) == sign and fp.a > 0)]
    assert len(matching) == 1
    assert matching[0].stable
    assert all(fp.a > 0 for fp in fps)
    if kw["w_r"] <= 1:  # Theorem 5.1 / F.3.1: unique
        assert others == []
    elif kw["b0"] * kw["sigma"] > 1 - 1 / kw["w_r"]:  # Theorem 5.2: no additional fixed points
        assert others == []
    else:
        assert len(others) in (0, 2)
        assert all(np.sign(fp.y) == -sign for fp in others)
    prediction = theorem_prediction(w_r=kw["w_r"], b0=kw["b0"], sigma=kw["sigma"], z=kw["z"], variant=kw["variant"])
    assert prediction.holds_for(fps)


# ------------------------------------------------------------------ Figs. 1 and 2
@pytest.mark.parametrize("fig,panel", PANELS)
def test_panel_fixed_points_counts_stability_and_theorems(fig, panel):
    kw = panel_kwargs(fig, panel)
    fps = two_d_fixed_points(**kw)
    assert [fp.stable for fp in fps] == EXPECTED_STABILITY[(fig, panel)]
    assert_theorem(fps, kw)
    for fp in fps:
        assert_is_fixed_point_of_model(fp, kw)
        # Stability flag is the sign test on the eigenvalues.
        assert fp.stable == bool(np.all(fp.eigenvalues.real < 0))


@pytest.mark.parametrize("fig,panel", PANELS)
def test_panel_fixed_points_match_brute_force(fig, panel):
    kw = panel_kwargs(fig, panel)
    fps = two_d_fixed_points(**kw)
    brute = brute_force_fixed_points(kw)
    ours = np.array([fp.state for fp in fps])
    assert brute.shape == ours.shape, (brute, ours)
    np.testing.assert_allclose(ours, brute, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fig,panel", PANELS)
def test_jacobian_matches_autodiff_of_n1_model_and_eqs_81_82(fig, panel):
    kw = panel_kwargs(fig, panel)
    model = n1_model(kw)
    beta2 = (kw["b0"] * kw["sigma"]) ** 2
    for fp in two_d_fixed_points(**kw):
        J_auto = np.asarray(jacobian(model, np.asarray(fp.state)))
        np.testing.assert_allclose(fp.jacobian, J_auto, rtol=1e-10, atol=1e-8)
        if fp.branch == "quartic":  # Eqs. 81-82 closed forms of trace and determinant
            m, w_r = fp.m, kw["w_r"]
            trace = -((1 - w_r + w_r * m) / TAU + beta2 / (fp.a * TAU))
            det = ((1 - w_r) * beta2 / fp.a + w_r * m) / TAU**2
            np.testing.assert_allclose(fp.trace, trace, rtol=1e-9)
            np.testing.assert_allclose(fp.determinant, det, rtol=1e-9, atol=1e-6)
        else:  # rectified y_s < 0 branch, Eq. 107
            np.testing.assert_allclose(fp.state, [kw["b"] * kw["z"], beta2])
            np.testing.assert_allclose(fp.eigenvalues.real, [-1 / TAU, -1 / TAU])


def test_extra_fixed_points_of_panel_b_are_a_saddle_and_an_unstable_spiral():
    fps = two_d_fixed_points(**panel_kwargs("fig1", "b"))
    spiral, saddle, stable = fps
    assert saddle.determinant < 0 and np.all(saddle.eigenvalues.imag == 0)
    assert spiral.determinant > 0 and spiral.trace > 0 and spiral.complex_eigenvalues
    # the extra roots lie in (b0 sigma, 1 - 1/w_r) = (0.05, 0.5) (proof of Theorem 5.2)
    for fp in (spiral, saddle):
        assert 0.05 < fp.m < 0.5
    assert stable.m > 0.5 and stable.complex_eigenvalues


# ------------------------------------------------------------------ Fig. 3
FIG3 = dict(w_r=1.0, b0=0.5, b=0.5, sigma=0.1, w=1.0, z=1.0, variant="rectified")


@pytest.mark.parametrize("tau_a,tau_y", [(2e-3, 2e-3), (10e-3, 2e-3), (2e-3, 10e-3)])
def test_fig3_unique_stable_fixed_point(tau_a, tau_y):
    kw = dict(FIG3, tau_a=tau_a, tau_y=tau_y)
    (fp,) = two_d_fixed_points(**kw)
    assert fp.stable and fp.y > 0
    # Lemma E.4 with w_r = 1: a_s = b0^2 sigma^2 + w b^2 z^2, y_s = b z / sqrt(a_s)
    np.testing.assert_allclose(fp.a, 0.05**2 + 0.25, rtol=1e-12)
    np.testing.assert_allclose(fp.y, 0.5 / np.sqrt(0.2525), rtol=1e-12)
    assert_is_fixed_point_of_model(fp, kw)
    np.testing.assert_allclose(fp.jacobian, np.asarray(jacobian(n1_model(kw), np.asarray(fp.state))), rtol=1e-10)
    # All three panels of Fig. 3 are stable spirals (complex eigenvalues).
    assert fp.complex_eigenvalues


def test_fig3_time_constants_change_damping_and_can_make_eigenvalues_real():
    def eig(tau_a, tau_y):
        (fp,) = two_d_fixed_points(**FIG3, tau_a=tau_a, tau_y=tau_y)
        return fp

    a, b, c = eig(2e-3, 2e-3), eig(10e-3, 2e-3), eig(2e-3, 10e-3)
    q = lambda fp: abs(fp.eigenvalues.imag).max() / abs(fp.eigenvalues.real).max()  # noqa: E731
    # Slower a (b) damps the oscillation; slower y (c) makes it more oscillatory and slower to decay.
    assert q(b) < q(a) < q(c)
    assert abs(c.eigenvalues.real).max() < abs(a.eigenvalues.real).max()
    # With w_r = 1, tr = -(m/tau_y + b0^2 s^2/(a tau_a)) and det = m/(tau_y tau_a): the spiral turns
    # into a stable node once tau_a/tau_y is large enough (about 8 here).
    real = eig(20e-3, 2e-3)
    assert real.stable and not real.complex_eigenvalues
    assert np.all(real.eigenvalues.imag == 0) and np.all(real.eigenvalues.real < 0)
    m, a_s, beta2 = real.m, real.a, 0.05**2
    discriminant = (m / 2e-3 + beta2 / (a_s * 20e-3)) ** 2 - 4 * m / (2e-3 * 20e-3)
    assert discriminant > 0


# ------------------------------------------------------------------ z = 0 and near-degenerate input
def test_zero_input_closed_form_and_degenerate_denominator():
    kw = dict(COMMON, w_r=2.0, b0=0.5, sigma=0.1, z=0.0)
    m0 = 1 - 1 / 2.0
    y0 = np.sqrt(1 - 0.05**2 / m0**2)
    main = two_d_fixed_points(**kw, variant="main")
    np.testing.assert_allclose([fp.state for fp in main], [[-y0, m0**2], [0.0, 0.05**2], [y0, m0**2]], atol=1e-15)
    assert [fp.stable for fp in main] == [True, False, True]
    rect = two_d_fixed_points(**kw, variant="rectified")
    np.testing.assert_allclose([fp.state for fp in rect], [[0.0, 0.05**2], [y0, m0**2]], atol=1e-15)
    assert [fp.stable for fp in rect] == [False, True]  # kink point: w_r (1 - b0 sigma) > 1
    for fp in main:
        assert_is_fixed_point_of_model(fp, dict(kw, variant="main"))
        assert np.all(np.isfinite(fp.jacobian))
    for fp in rect:
        assert_is_fixed_point_of_model(fp, dict(kw, variant="rectified"))
    # Contractive recurrence, z = 0: only (0, b0^2 sigma^2), stable.
    (only,) = two_d_fixed_points(**dict(kw, w_r=0.5), variant="main")
    assert only.state.tolist() == [0.0, 0.05**2] and only.stable
    # Tiny z: the z = 0 structure persists continuously, no division blow-up.
    for z in (1e-12, 1e-9, -1e-6):
        fps = two_d_fixed_points(**dict(kw, z=z), variant="main")
        assert len(fps) == 3
        for fp in fps:
            assert_is_fixed_point_of_model(fp, dict(kw, z=z, variant="main"))


def test_quartic_coefficients_eq79():
    kw = dict(w_r=1.7, w=0.8, b=0.6, z=-0.9, b0=0.7, sigma=0.3)
    coeffs = quartic_coefficients(**kw)
    m = np.linspace(-2, 2, 9)
    beta2 = (0.7 * 0.3) ** 2
    factored = (1.7 * m + 1 - 1.7) ** 2 * (m**2 - beta2) - 0.8 * (0.6 * 0.9) ** 2 * m**2
    np.testing.assert_allclose(np.polyval(coeffs, m), factored, atol=1e-13)
    # w_r = 1: m^2 = b0^2 sigma^2 + w b^2 z^2 (Lemma E.4)
    roots = np.roots(quartic_coefficients(**dict(kw, w_r=1.0)))
    assert np.isclose(roots.real.max(), np.sqrt(beta2 + 0.8 * 0.54**2))


def test_theorem_prediction_regimes():
    p = theorem_prediction(w_r=0.5, b0=0.5, sigma=0.1, z=1.0)
    assert (p.regime, p.extra_excluded, p.possible_extra_counts) == ("contractive", True, (0,))
    p = theorem_prediction(w_r=2.0, b0=0.5, sigma=0.1, z=-1.0)
    assert (p.regime, p.extra_excluded, p.possible_extra_counts, p.extra_sign) == ("expansive", False, (0, 2), 1)
    assert p.threshold == 0.5 and np.isclose(p.b0_sigma, 0.05)
    assert theorem_prediction(w_r=2.0, b0=1.0, sigma=1.0, z=1.0).extra_excluded
    assert theorem_prediction(w_r=2.0, b0=0.5, sigma=0.1, z=1.0, variant="rectified").extra_excluded
    assert not theorem_prediction(w_r=2.0, b0=0.5, sigma=0.1, z=-1.0, variant="rectified").extra_excluded


def test_two_d_jacobian_rectified_negative_branch():
    J = two_d_jacobian(-0.3, 0.2, w_r=2.0, w=1.0, tau_y=1e-3, tau_a=4e-3, variant="rectified")
    np.testing.assert_array_equal(J, [[-1e3, 0.0], [0.0, -250.0]])
    with pytest.raises(ValueError, match="a must be > 0"):
        two_d_jacobian(0.3, 0.0, w_r=2.0, w=1.0)


# ------------------------------------------------------------------ validation
GOOD = dict(w_r=2.0, w=1.0, b=0.5, z=1.0, b0=0.5, sigma=0.1)


@pytest.mark.parametrize(
    "name,value,pattern",
    [
        ("w", 0.0, "w must be > 0"),
        ("w", -1.0, "w must be > 0"),
        ("b", 0.0, "b must be > 0"),
        ("b0", -0.5, "b0 must be > 0"),
        ("sigma", 0.0, "sigma must be > 0"),
        ("tau_y", 0.0, "tau_y must be > 0"),
        ("tau_a", -1e-3, "tau_a must be > 0"),
        ("w_r", np.nan, "w_r must be finite"),
        ("z", np.inf, "z must be finite"),
        ("sigma", np.inf, "sigma must be finite"),
        ("z", [1.0, 2.0], "z must be a real scalar"),
        ("variant", "rectified_recurrence", "variant must be one of 'main', 'rectified'"),
    ],
)
def test_invalid_parameters_raise(name, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        two_d_fixed_points(**dict(GOOD, **{name: value}))


def test_theorem_prediction_rejects_outside_hypotheses():
    with pytest.raises(ValueError, match="w_r must be > 0"):
        theorem_prediction(w_r=-1.0, b0=0.5, sigma=0.1, z=1.0)
    with pytest.raises(ValueError, match="z must be nonzero"):
        theorem_prediction(w_r=1.0, b0=0.5, sigma=0.1, z=0.0)
    with pytest.raises(ValueError, match="b0 must be > 0"):
        quartic_coefficients(**dict(GOOD, b0=0.0))


def test_any_real_w_r_is_allowed():
    # w_r <= 0 is outside the theorems but the fixed points are still found (y_s = b z / (1 - w_r + w_r m)).
    for w_r in (0.0, -1.5):
        kw = dict(GOOD, w_r=w_r, variant="main")
        fps = two_d_fixed_points(**kw)
        assert len(fps) >= 1
        for fp in fps:
            assert_is_fixed_point_of_model(fp, kw)


# ------------------------------------------------------------------ property tests (Theorems 5.1 / 5.2)
positive = st.floats(0.05, 3.0)
magnitude = st.floats(0.02, 3.0)
tau = st.floats(1e-3, 5e-2)


def check_random_circuit(w_r, w, b, zabs, zsign, b0, sigma, tau_y, tau_a, variant):
    kw = dict(w_r=w_r, w=w, b=b, z=zsign * zabs, b0=b0, sigma=sigma, tau_y=tau_y, tau_a=tau_a, variant=variant)
    fps = two_d_fixed_points(**kw)
    event(f"{variant}: {len(fps)} fixed point(s)")
    assert_theorem(fps, kw)
    if w_r <= 1:
        assert len(fps) == 1 and fps[0].stable
    for fp in fps:
        assert_is_fixed_point_of_model(fp, kw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    w_r=st.floats(0.01, 1.0),
    w=positive,
    b=positive,
    zabs=magnitude,
    zsign=st.sampled_from([-1.0, 1.0]),
    b0=positive,
    sigma=positive,
    tau_y=tau,
    tau_a=tau,
    variant=st.sampled_from(["main", "rectified"]),
)
def test_property_contractive_unique_stable_fixed_point(w_r, w, b, zabs, zsign, b0, sigma, tau_y, tau_a, variant):
    check_random_circuit(w_r, w, b, zabs, zsign, b0, sigma, tau_y, tau_a, variant)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    w_r=st.floats(1.0, 6.0, exclude_min=True),
    w=positive,
    b=positive,
    zabs=magnitude,
    zsign=st.sampled_from([-1.0, 1.0]),
    b0=st.floats(0.01, 2.0),
    sigma=st.floats(0.01, 1.0),
    tau_y=tau,
    tau_a=tau,
    variant=st.sampled_from(["main", "rectified"]),
)
def test_property_expansive_one_sign_matching_stable_fixed_point(
    w_r, w, b, zabs, zsign, b0, sigma, tau_y, tau_a, variant
):
    check_random_circuit(w_r, w, b, zabs, zsign, b0, sigma, tau_y, tau_a, variant)
