"""Tests of organics.spectra: Lyapunov covariance, linear-noise spectra, Welch estimates vs theory."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import organics  # noqa: F401  (float64)
from organics.fixed_points import normalization_fixed_point
from organics.models import LinearNetwork, ORGaNICs
from organics.sde import noise_covariance, simulate_sde
from organics.spectra import (
    auto_spectra,
    coherence,
    cross_spectrum,
    linear_noise_analysis,
    power_spectral_density,
    sample_covariance,
    stationary_covariance,
    welch_spectra,
    zero_frequency_spectrum,
)
from organics.stability import jacobian


def _random_stable(d, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    J = A - (np.max(np.linalg.eigvals(A).real) + 1.0) * np.eye(d)
    g = rng.normal(size=(d, d))
    return J, g @ g.T


def test_lyapunov_residual_symmetric_psd_and_batch():
    J, Q = _random_stable(6, 0)
    P, res = stationary_covariance(J, Q)
    assert res < 1e-10
    np.testing.assert_allclose(P, P.T, atol=0)
    assert np.min(np.linalg.eigvalsh(P)) > 0
    np.testing.assert_allclose(J @ P + P @ J.T + Q, 0, atol=1e-10 * np.abs(Q).max())
    J2, Q2 = _random_stable(6, 1)
    Pb, resb = stationary_covariance(np.stack([J, J2]), np.stack([Q, Q2]))
    assert resb.shape == (2,)
    np.testing.assert_allclose(Pb[0], P, rtol=1e-12)
    np.testing.assert_allclose(Pb[1], stationary_covariance(J2, Q2)[0], rtol=1e-12)


def test_spectrum_integrates_to_covariance():
    J, Q = _random_stable(4, 2)
    P, _ = stationary_covariance(J, Q)
    pos = np.logspace(-4, 6, 20000)
    f = np.concatenate([-pos[::-1], [0.0], pos])
    S = power_spectral_density(J, Q, f)
    integral = np.trapezoid(S, f, axis=0)
    np.testing.assert_allclose(integral.imag, 0, atol=1e-6 * np.abs(P).max())
    np.testing.assert_allclose(integral.real, P, rtol=1e-3, atol=1e-3 * np.abs(P).max())


def test_ou_lorentzian_and_symmetries():
    k, q = 37.0, 2.5
    f = np.linspace(-200, 200, 41)
    S = power_spectral_density([[-k]], [[q]], f)
    np.testing.assert_allclose(S[:, 0, 0].real, q / (k**2 + (2 * np.pi * f) ** 2), rtol=1e-13)
    np.testing.assert_allclose(S[:, 0, 0].imag, 0, atol=1e-18)
    J, Q = _random_stable(3, 3)
    f = np.array([0.0, 0.7, 5.0, 40.0])
    S = power_spectral_density(J, Q, f)
    np.testing.assert_allclose(S[0].real, zero_frequency_spectrum(J, Q), rtol=1e-12)
    np.testing.assert_allclose(S, np.swapaxes(S, -1, -2).conj(), atol=1e-15)  # Hermitian
    np.testing.assert_allclose(power_spectral_density(J, Q, -f), S.conj(), rtol=1e-12, atol=1e-18)
    # the research code's (J + i w)^-1 Q (J + i w)^-H is conj(S): same autospectra, opposite phase
    A = J[None] + 1j * 2 * np.pi * f[:, None, None] * np.eye(3)
    research = np.linalg.inv(A) @ Q @ np.swapaxes(np.linalg.inv(A), -1, -2).conj()
    np.testing.assert_allclose(research, S.conj(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(auto_spectra(S), np.real(np.diagonal(S, axis1=1, axis2=2)))
    np.testing.assert_array_equal(cross_spectrum(S, 0, 2), S[:, 0, 2])
    C = coherence(S)
    assert np.all((C >= 0) & (C <= 1))
    np.testing.assert_allclose(np.diagonal(C, axis1=1, axis2=2), 1.0, rtol=1e-12)


def test_validation_errors():
    Q = np.eye(2)
    with pytest.raises(ValueError, match="stable Jacobian.*max Re"):
        stationary_covariance(np.diag([-1.0, 0.5]), Q)
    with pytest.raises(ValueError, match="stable Jacobian"):
        power_spectral_density(np.diag([-1.0, 0.0]), Q, [1.0])
    with pytest.raises(ValueError, match="stable Jacobian"):
        zero_frequency_spectrum([[0.0, 1.0], [-1.0, 0.0]], Q)
    with pytest.raises(ValueError, match="Q must be symmetric positive semidefinite; min eigenvalue"):
        stationary_covariance(-np.eye(2), np.diag([1.0, -0.1]))
    with pytest.raises(ValueError, match="Q must be symmetric"):
        power_spectral_density(-np.eye(2), [[1.0, 0.5], [0.0, 1.0]], [1.0])
    with pytest.raises(ValueError, match="J must be a square"):
        stationary_covariance(np.ones((2, 3)), Q)
    with pytest.raises(ValueError, match="freqs_hz"):
        power_spectral_density(-np.eye(2), Q, [[1.0]])
    with pytest.raises(ValueError, match="nperseg"):
        welch_spectra(np.zeros((10, 2)), 1e-3, nperseg=20)


# ---------------------------------------------------------------------------------------------
# theory vs simulation (one shared simulation: 16 runs x 10 s of a 2-D focus, tau = 10 ms)

RUNS, T_RUN, BURN, DT, SAVE_EVERY = 16, 10.0, 0.1, 1e-4, 5


@pytest.fixture(scope="module")
def focus():
    model = LinearNetwork(M=[[0.5, -0.8], [0.6, 0.2]], h=0.0, tau=0.01)  # eigenvalues -65 ± 68i 1/s
    x0 = jnp.zeros(2)
    n_save = int(round(T_RUN / (DT * SAVE_EVERY))) + 1
    keys = jax.random.split(jax.random.key(2024), RUNS)
    out = eqx.filter_vmap(
        lambda k: simulate_sde(model, x0, BURN + T_RUN, key=k, dt=DT, n_save=n_save, burn_in=BURN, eta=0.02)
    )(keys)
    assert out.status.tolist() == [0] * RUNS
    J = np.asarray(jacobian(model, x0))
    Q = np.asarray(noise_covariance(model, 0.02))
    return J, Q, np.asarray(out.states), DT * SAVE_EVERY


def test_sample_covariance_matches_lyapunov(focus):
    J, Q, X, _ = focus
    P, _ = stationary_covariance(J, Q)
    mean, stderr = sample_covariance(X, return_stderr=True)
    # Euler-Maruyama bias is O(|J| dt) ~ 1 %; allow it on top of 3 standard errors
    assert np.all(np.abs(mean - P) <= 3 * stderr + 0.01 * np.sqrt(np.outer(np.diag(P), np.diag(P))))
    assert np.all(np.abs(mean - P) / np.diag(P).max() < 0.05)


def test_welch_matches_theory(focus):
    J, Q, X, dt_save = focus
    w = welch_spectra(X, dt_save, nperseg=2000)
    assert w.S.shape == (w.freqs.size, 2, 2) and w.freqs[0] == 0
    S = power_spectral_density(J, Q, w.freqs)
    C = w.coherence
    assert np.all((C >= 0) & (C <= 1))
    rel = 1.0 / np.sqrt(w.n_segments)  # per-bin relative standard error of the Welch estimate
    for f0 in (5.0, 10.0, 20.0, 40.0, 80.0):
        band = np.abs(w.freqs - f0) <= 2.0  # 5 neighbouring bins (1 Hz resolution)
        est = w.S[band].mean(axis=0)
        theory = S[band].mean(axis=0)
        ratio = np.diag(est).real / np.diag(theory).real
        assert np.all(np.abs(ratio - 1) < 3 * rel + 0.02), (f0, ratio)
        # cross-spectrum phase: ours matches simulation, the research code's conj(S) does not
        phase_err = np.angle(est[0, 1] / theory[0, 1])
        assert abs(phase_err) < 0.3, (f0, phase_err)
    band = np.abs(w.freqs - 10.0) <= 2.0
    est, theory = w.S[band].mean(axis=0)[0, 1], S[band].mean(axis=0)[0, 1]
    assert abs(np.angle(est / theory.conj())) > 0.5  # the opposite sign convention is rejected
    # Welch's two-sided density integrates to the variance like the theory
    df = w.freqs[1] - w.freqs[0]
    total = 2 * w.S[1:].real.sum(axis=0) * df + w.S[0].real * df
    P, _ = stationary_covariance(J, Q)
    np.testing.assert_allclose(np.diag(total), np.diag(P), rtol=0.05)


def test_linear_noise_analysis_organics():
    model = ORGaNICs(z=jnp.array([0.5]), sigma=0.1, tau_y=2e-3, tau_a=2e-3)
    fp = normalization_fixed_point(model).state
    analysis = linear_noise_analysis(model, fp, eta=0.02, freqs_hz=np.logspace(0, 3, 50))
    assert analysis.residual < 1e-10
    assert np.max(analysis.eigenvalues.real) < 0
    assert analysis.S.shape == (50, 2, 2)
    np.testing.assert_allclose(analysis.Q, np.diag([0.02**2 / 2e-3] * 2))
    np.testing.assert_allclose(analysis.S0, zero_frequency_spectrum(analysis.J, analysis.Q))
    assert np.all((analysis.coherence >= 0) & (analysis.coherence <= 1))


def test_organics_circuit_theory_matches_simulation():
    # n = 1 ORGaNICs at its exact normalization fixed point (W_r = I); eigenvalues -198 ± 171i 1/s
    model = ORGaNICs(z=jnp.array([0.5]), sigma=0.1, tau_y=2e-3, tau_a=2e-3)
    fp = normalization_fixed_point(model).state
    assert float(jnp.max(jnp.abs(model.residual(fp)))) < 1e-12
    analysis = linear_noise_analysis(model, fp, eta=0.02, freqs_hz=[10.0, 30.0, 60.0])
    keys = jax.random.split(jax.random.key(1), 8)
    out = eqx.filter_vmap(
        lambda k: simulate_sde(model, fp, 2.02, key=k, dt=2e-5, n_save=10001, burn_in=0.02, eta=0.02)
    )(keys)
    assert out.status.tolist() == [0] * 8
    X = np.asarray(out.states)
    mean, stderr = sample_covariance(X, return_stderr=True)
    P = analysis.P
    assert np.all(np.abs(mean - P) <= 3 * stderr + 0.01 * np.sqrt(np.outer(np.diag(P), np.diag(P))))
    w = welch_spectra(X, 2e-4)  # nperseg = n // 15 (research default): 666 samples, 7.5 Hz bins
    S = power_spectral_density(analysis.J, analysis.Q, w.freqs)
    rel = 1.0 / np.sqrt(w.n_segments)
    band = (w.freqs > 5.0) & (w.freqs < 80.0)
    ratio = auto_spectra(w.S[band]).mean(axis=0) / auto_spectra(S[band]).mean(axis=0)
    assert np.all(np.abs(ratio - 1) < 3 * rel + 0.02), ratio
