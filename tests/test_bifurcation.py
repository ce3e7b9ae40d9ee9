"""Fixed-point continuation and the Hopf point of the Dayan-Abbott E-I pair (organics.bifurcation)."""

import numpy as np
import pytest

from organics.bifurcation import follow_fixed_point, leading_eigenvalue_of, locate_crossing
from organics.models.rate import DAYAN_ABBOTT_EI, LinearNetwork, dayan_abbott_ei
from organics.stability import jacobian

P = DAYAN_ABBOTT_EI
V_STAR = np.array([80.0 / 3.0, 50.0 / 3.0])
X0 = np.array([20.0, 10.0])


def test_hopf_point_of_dayan_abbott_matches_closed_form():
    # trace J = (M_EE - 1)/tau_E + (M_II - 1)/tau_I = 0  ->  tau_I* = tau_E (1 - M_II)/(M_EE - 1)
    tau_star = P["tau_E"] * (1 - P["M_II"]) / (P["M_EE"] - 1)
    assert tau_star == pytest.approx(0.040, rel=1e-14)
    crossing = locate_crossing(dayan_abbott_ei, 0.030, 0.050, X0)
    assert crossing.parameter == pytest.approx(tau_star, rel=1e-8)
    assert crossing.hopf
    J = np.asarray(jacobian(dayan_abbott_ei(tau_star), V_STAR))
    np.testing.assert_allclose(np.trace(J), 0.0, atol=1e-9)
    omega = np.sqrt(np.linalg.det(J))
    assert abs(crossing.eigenvalue.real) < 1e-6
    assert crossing.eigenvalue.imag == pytest.approx(omega, rel=1e-8)
    assert crossing.frequency == pytest.approx(omega / (2 * np.pi), rel=1e-8)
    np.testing.assert_allclose(crossing.state, V_STAR, rtol=1e-10)


def test_follow_fixed_point_over_tau_i():
    values = np.linspace(0.030, 0.050, 9)
    branch = follow_fixed_point(dayan_abbott_ei, values, X0)
    assert branch.converged.all()
    np.testing.assert_allclose(branch.states, np.broadcast_to(V_STAR, (9, 2)), rtol=1e-10)
    re = branch.leading.real
    assert np.all(re[values < 0.040 - 1e-12] < 0) and np.all(re[values > 0.040 + 1e-12] > 0)
    assert abs(re[4]) < 1e-9  # tau_I = 40 ms
    off = np.abs(values - 0.040) > 1e-12  # at 40 ms Re λ* is 0 up to rounding
    np.testing.assert_array_equal(branch.stable[off], (values < 0.040)[off])
    assert np.all(branch.leading.imag > 0)
    # closed form of the leading eigenvalue: trace/2 + i sqrt(det - trace^2/4)
    for tau_i, lam in zip(values, branch.leading):
        J = np.array([[(P["M_EE"] - 1) / P["tau_E"], P["M_EI"] / P["tau_E"]], [P["M_IE"] / tau_i, (P["M_II"] - 1) / tau_i]])
        tr, det = np.trace(J), np.linalg.det(J)
        assert lam == pytest.approx(complex(tr / 2, np.sqrt(det - tr**2 / 4)), rel=1e-10)


def test_real_crossing_is_not_hopf():
    # linear network with M = diag(s, 0.2): eigenvalue (s - 1)/tau crosses 0 at s = 1, real
    def build(s):
        return LinearNetwork(np.diag([s, 0.2]), [0.0, 0.0], 0.01)

    crossing = locate_crossing(build, 0.5, 1.7, [0.0, 0.0])
    assert crossing.parameter == pytest.approx(1.0, rel=1e-9)
    assert not crossing.hopf and crossing.frequency == 0.0


def test_no_sign_change_raises_with_values():
    with pytest.raises(ValueError, match=r"does not change sign.*Re λ\*\(lo\) = -4.16667.*Re λ\*\(hi\) = -1.78571"):
        locate_crossing(dayan_abbott_ei, 0.030, 0.035, X0)
    with pytest.raises(ValueError, match="lo < hi"):
        locate_crossing(dayan_abbott_ei, 0.05, 0.03, X0)
    with pytest.raises(ValueError, match="values"):
        follow_fixed_point(dayan_abbott_ei, [], X0)


def test_leading_eigenvalue_of_prefers_positive_imaginary():
    assert leading_eigenvalue_of([1 - 2j, 1 + 2j, -3]) == 1 + 2j
    assert leading_eigenvalue_of([-1.0, 0.5]) == 0.5
