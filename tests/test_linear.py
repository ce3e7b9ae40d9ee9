"""Closed-form linear network analysis (organics.linear) against simulation and the lecture notes."""

import numpy as np
import pytest

from organics.linear import (
    effective_time_constants,
    linear_modes,
    linear_solution,
    mode_amplification,
    steady_state,
)
from organics.models.rate import LinearNetwork
from organics.simulate import SOLVED, simulate

TAU = 0.010
SYMMETRIC = np.array([[0.5, 0.2, 0.0], [0.2, 0.1, -0.3], [0.0, -0.3, 0.4]])
NONSYMMETRIC = np.array([[0.2, -0.9, 0.1], [0.7, 0.3, 0.0], [0.1, 0.4, -0.5]])  # complex pair
H = np.array([1.0, -2.0, 0.5])
V0 = np.array([0.3, 1.0, -0.7])


@pytest.mark.parametrize("M", [SYMMETRIC, NONSYMMETRIC], ids=["symmetric", "nonsymmetric"])
def test_solution_matches_simulation_and_steady_state(M):
    times = np.linspace(0.0, 0.2, 41)
    exact = linear_solution(M, H, TAU, V0, times)
    traj = simulate(LinearNetwork(M, H, TAU), V0, 0.2, ts=times, rtol=1e-12, atol=1e-12)
    assert int(traj.status) == SOLVED
    np.testing.assert_allclose(exact, np.asarray(traj.states), rtol=0, atol=1e-7)
    np.testing.assert_allclose(exact[0], V0, atol=1e-12)
    # long-time limit is the steady state (I - M)^{-1} h
    v_inf = steady_state(M, H)
    np.testing.assert_allclose((np.eye(3) - M) @ v_inf, H, atol=1e-12)
    np.testing.assert_allclose(linear_solution(M, H, TAU, V0, 10.0), v_inf, atol=1e-9)


def test_symmetric_modes_orthonormal_and_steady_state_mode_sum():
    modes = linear_modes(SYMMETRIC)
    assert modes.symmetric
    np.testing.assert_allclose(modes.vectors.T @ modes.vectors, np.eye(3), atol=1e-12)
    expected = sum((H @ e) / (1 - lam) * e for lam, e in zip(modes.values, modes.vectors.T))
    np.testing.assert_allclose(steady_state(SYMMETRIC, H), expected, atol=1e-12)
    np.testing.assert_allclose(mode_amplification(SYMMETRIC), 1 / (1 - modes.values))
    np.testing.assert_allclose(effective_time_constants(SYMMETRIC, TAU), TAU / (1 - modes.values))
    assert np.all(np.diff(modes.values) <= 0)


def test_nonsymmetric_modes_reconstruct_M():
    modes = linear_modes(NONSYMMETRIC)
    assert not modes.symmetric
    np.testing.assert_allclose(modes.vectors @ np.diag(modes.values) @ modes.inverse, NONSYMMETRIC, atol=1e-12)


def test_eigenvalue_one_integrates_linearly():
    # M = e e^T with e = (1, 1)/sqrt(2): lambda = 1 along e, 0 along the orthogonal mode
    e = np.array([1.0, 1.0]) / np.sqrt(2)
    f = np.array([1.0, -1.0]) / np.sqrt(2)
    M = np.outer(e, e)
    h = 3.0 * e + 2.0 * f
    v0 = 0.5 * e
    times = np.array([0.0, 0.05, 0.1, 1.0, 10.0])
    v = linear_solution(M, h, TAU, v0, times)
    np.testing.assert_allclose(v @ e, 0.5 + 3.0 * times / TAU, rtol=1e-12)  # c(t) = c(0) + (h.e) t/tau
    np.testing.assert_allclose(v @ f, 2.0 * (1 - np.exp(-times / TAU)), atol=1e-12)
    # continuity: an eigenvalue just below 1 gives nearly the same trajectory
    near = linear_solution(M * (1 - 1e-9), h, TAU, v0, times[:3])
    np.testing.assert_allclose(near, v[:3], rtol=1e-6)
    assert np.isinf(effective_time_constants(M, TAU)[0])
    assert np.isinf(mode_amplification(M)[0])
    with pytest.raises(ValueError, match="no stable steady state"):
        steady_state(M, h)


def test_eigenvalue_above_one_explodes_and_has_no_steady_state():
    M = np.array([[1.5, 0.0], [0.0, 0.2]])
    v = linear_solution(M, [0.0, 0.0], TAU, [1.0, 1.0], [0.0, 0.1])
    np.testing.assert_allclose(v[1, 0], np.exp(0.5 * 0.1 / TAU), rtol=1e-12)
    tau_eff = effective_time_constants(M, TAU)
    assert tau_eff[0] == pytest.approx(-2 * TAU) and tau_eff[1] == pytest.approx(TAU / 0.8)
    with pytest.raises(ValueError, match=r"no stable steady state: max Re λ\(M\) = 1.5"):
        steady_state(M, [1.0, 1.0])


def test_validation():
    with pytest.raises(ValueError, match="square"):
        linear_solution(np.ones((2, 3)), 0.0, TAU, [0, 0], [0.0])
    with pytest.raises(ValueError, match="h must"):
        linear_solution(SYMMETRIC, [1.0, 2.0], TAU, V0, [0.0])
    with pytest.raises(ValueError, match="v0 must"):
        linear_solution(SYMMETRIC, H, TAU, [1.0], [0.0])
    with pytest.raises(ValueError, match="tau"):
        linear_solution(SYMMETRIC, H, -1.0, V0, [0.0])
    with pytest.raises(ValueError, match="tau"):
        effective_time_constants(SYMMETRIC, [TAU, TAU, TAU])
    with pytest.raises(ValueError, match="times"):
        linear_solution(SYMMETRIC, H, TAU, V0, [0.0, np.nan])
    with pytest.raises(ValueError, match="defective"):
        linear_modes(np.array([[1.0, 1.0], [0.0, 1.0]]))
