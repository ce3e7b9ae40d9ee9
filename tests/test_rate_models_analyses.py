"""Every analysis on every rate model: fixed points, Jacobian, spectrum, simulation, classification, noise spectra.

Models: :class:`LinearNetwork`, :class:`RateNetwork` with each nonlinearity, the Dayan-Abbott E-I
preset (stable focus at tau_I = 30 ms) and the stabilized supralinear network. Each analysis is
checked against an independent computation (finite differences, NumPy eigenvalues, a Kronecker
solve of the Lyapunov equation, the fixed point itself).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from organics.fixed_points import newton_fixed_point
from organics.models.rate import LinearNetwork, RateNetwork, dayan_abbott_ei, stabilized_supralinear_network
from organics.simulate import STABLE_FIXED_POINT, classify_trajectory, simulate
from organics.spectra import linear_noise_analysis
from organics.stability import jacobian, stability_report

M = np.array([[0.3, -0.6], [0.8, -0.2]])
H = np.array([1.0, 0.5])
TAU = np.array([0.010, 0.020])

MODELS = {
    "linear": lambda: LinearNetwork(M=M, h=H, tau=TAU),
    "relu": lambda: RateNetwork(M=M, h=H, tau=TAU, nonlinearity="relu"),
    "relu_power": lambda: RateNetwork(M=M, h=H, tau=TAU, nonlinearity="relu_power", power=2.0, gain=0.5),
    "sigmoid": lambda: RateNetwork(M=2.0 * M, h=H, tau=TAU, nonlinearity="sigmoid", gain=2.0),
    "tanh": lambda: RateNetwork(M=M, h=H, tau=TAU, nonlinearity="tanh"),
    "dayan_abbott_ei": lambda: dayan_abbott_ei(0.030),
    "ssn": lambda: stabilized_supralinear_network(10.0),
}


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    """The model, its stable fixed point and the classifier's verdict from ``v = 1`` (polished by Newton)."""
    model = MODELS[request.param]()
    verdict = classify_trajectory(model, np.ones(model.state_size), max_chunks=10, n_samples=200)
    point = newton_fixed_point(model, verdict.final_state)
    assert bool(point.converged), request.param
    return request.param, model, np.asarray(point.state), verdict


def test_fixed_point_solves_the_steady_state_equation(case):
    name, model, x, _ = case
    drive = np.asarray(model.drive(0.0))
    if name == "linear":
        expected = np.linalg.solve(np.eye(2) - M, H)
    else:
        expected = np.asarray(model.rate_function(jnp.asarray(drive + np.asarray(model.M) @ x)))
    np.testing.assert_allclose(x, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.asarray(model.residual(jnp.asarray(x))), 0.0, atol=1e-9)


def test_jacobian_matches_finite_differences(case):
    _, model, x, _ = case
    J = np.asarray(jacobian(model, jnp.asarray(x)))
    step = 1e-6 * max(1.0, float(np.max(np.abs(x))))
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = step
        plus = np.asarray(model.vector_field(0.0, jnp.asarray(x + e)))
        minus = np.asarray(model.vector_field(0.0, jnp.asarray(x - e)))
        columns.append((plus - minus) / (2 * step))
    np.testing.assert_allclose(J, np.stack(columns, axis=1), rtol=1e-6, atol=1e-6 * np.max(np.abs(J)))


def test_spectrum_summary_is_the_leading_numpy_eigenvalue(case):
    _, model, x, _ = case
    J = np.asarray(jacobian(model, jnp.asarray(x)))
    values = np.linalg.eigvals(J)
    summary = stability_report(model, jnp.asarray(x))
    assert float(summary.spectral_abscissa) == pytest.approx(np.max(values.real), rel=1e-10)
    assert bool(summary.stable) and np.max(values.real) < 0
    assert float(summary.frequency_hz) == pytest.approx(np.abs(values[np.argmax(values.real)].imag) / (2 * np.pi),
                                                        rel=1e-9, abs=1e-12)  # fmt: skip


def test_simulation_returns_to_the_fixed_point(case):
    _, model, x, _ = case
    kicked = x + 0.05 * np.maximum(1.0, np.abs(x))
    decay = -float(np.max(np.linalg.eigvals(np.asarray(jacobian(model, jnp.asarray(x)))).real))
    duration = 25.0 / decay  # e^-25 of the kick is left
    trajectory = simulate(model, kicked, duration, n_save=50, dtmax=float(np.min(np.asarray(model.time_constants()))))
    assert int(trajectory.status) == 0
    np.testing.assert_allclose(np.asarray(trajectory.states[-1]), x, rtol=1e-6, atol=1e-6)


def test_classification_finds_the_stable_fixed_point(case):
    _, model, x, verdict = case
    assert int(verdict.outcome) == STABLE_FIXED_POINT
    assert float(verdict.leading_real) == pytest.approx(
        np.max(np.linalg.eigvals(np.asarray(jacobian(model, jnp.asarray(x)))).real), rel=1e-6
    )
    np.testing.assert_allclose(np.asarray(verdict.final_state), x, rtol=1e-6, atol=1e-6)


def test_noise_spectra_solve_the_lyapunov_equation(case):
    _, model, x, _ = case
    analysis = linear_noise_analysis(model, x, eta=0.1, freqs_hz=np.linspace(0.0, 500.0, 2001))
    J, Q = analysis.J, analysis.Q
    np.testing.assert_allclose(Q, 0.01 * np.diag(1.0 / np.asarray(model.time_constants())), rtol=1e-12)
    d = J.shape[0]
    P = np.linalg.solve(np.kron(np.eye(d), J) + np.kron(J, np.eye(d)), -Q.reshape(-1)).reshape(d, d)  # vec form
    np.testing.assert_allclose(analysis.P, P, rtol=1e-9, atol=1e-12 * np.max(np.abs(P)))
    # S(f) is even in f for the auto-spectra and integrates (two-sided) to the variances
    auto = analysis.auto
    np.testing.assert_allclose(auto[0], np.diag(analysis.S0).real, rtol=1e-9)
    integral = 2 * np.trapezoid(auto, analysis.freqs, axis=0)
    tail = 2 * np.diag(Q) / (2 * np.pi) ** 2 / analysis.freqs[-1]  # int_{f_max}^inf Q/(2 pi f)^2 df, both sides
    np.testing.assert_allclose(integral + tail, np.diag(P), rtol=0.02)
