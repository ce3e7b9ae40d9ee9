"""Tests of organics.nonnormal: Schur split, Henrici departure, transient and noise amplification."""

import numpy as np
import pytest
import scipy.linalg

from organics.nonnormal import (
    NoiseAmplification,
    henrici_departure,
    noise_amplification,
    numerical_abscissa,
    pseudospectrum,
    schur_decomposition,
    transient_amplification,
)


def _random(n, seed, radius=0.8):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) / np.sqrt(n)
    return W * radius / np.max(np.abs(np.linalg.eigvals(W)))


def _symmetric(n, seed):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    S = 0.5 * (B + B.T)
    return 0.9 * S / np.max(np.abs(np.linalg.eigvalsh(S)))


def _feedforward(w):
    return np.array([[0.0, w], [0.0, 0.0]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_schur_reconstructs_and_is_triangular(seed):
    W = _random(12, seed)
    U, Lambda, T = schur_decomposition(W)
    np.testing.assert_allclose(U @ (Lambda + T) @ U.conj().T, W, atol=1e-12)
    np.testing.assert_allclose(U.conj().T @ U, np.eye(12), atol=1e-12)
    assert np.all(np.tril(T) == 0)  # strictly upper triangular
    assert np.all(Lambda == np.diag(np.diag(Lambda)))
    eig_schur, eig_np = np.diag(Lambda), np.linalg.eigvals(W)
    assert np.max(np.min(np.abs(eig_schur[:, None] - eig_np[None, :]), axis=1)) < 1e-10
    assert np.max(np.min(np.abs(eig_np[:, None] - eig_schur[None, :]), axis=1)) < 1e-10
    # departure = ||T||_F = sqrt(||W||_F^2 - sum |lambda|^2)
    lam = np.linalg.eigvals(W)
    expected = np.sqrt(np.linalg.norm(W) ** 2 - np.sum(np.abs(lam) ** 2))
    assert henrici_departure(W) == pytest.approx(expected, rel=1e-8)
    assert henrici_departure(W, normalized=True) == pytest.approx(expected / np.linalg.norm(W), rel=1e-8)
    assert 0.0 < henrici_departure(W, normalized=True) < 1.0


def test_normal_matrix_has_no_nonnormal_effects():
    W = _symmetric(8, 3)
    assert henrici_departure(W) < 1e-12
    assert henrici_departure(W, normalized=True) < 1e-12
    assert numerical_abscissa(W) == pytest.approx(np.max(np.linalg.eigvalsh(W)), abs=1e-12)
    amp = noise_amplification(W)
    assert isinstance(amp, NoiseAmplification)
    assert amp.nonnormal == pytest.approx(1.0, abs=1e-10)
    assert amp.total == pytest.approx(np.mean(1.0 / (1.0 - np.linalg.eigvalsh(W))), rel=1e-10)
    times, gains, peak, peak_time = transient_amplification(W, tau=0.5)
    assert gains[0] == pytest.approx(1.0, abs=1e-12)
    assert np.all(gains <= 1.0 + 1e-12)
    assert np.all(np.diff(gains) <= 1e-12)  # monotone decay
    assert peak == pytest.approx(1.0, abs=1e-12) and peak_time == pytest.approx(0.0, abs=1e-6)
    # normal: g(t) = exp((max lambda - 1) t / tau)
    np.testing.assert_allclose(gains, np.exp((np.max(np.linalg.eigvalsh(W)) - 1.0) * times / 0.5), rtol=1e-9)


@pytest.mark.parametrize("w", [0.5, 2.0, 7.0])
@pytest.mark.parametrize("tau", [1.0, 0.02])
def test_feedforward_motif_closed_forms(w, tau):
    r"""Two-neuron feed-forward motif ``W = [[0, w], [0, 0]]``.

    Schur: W is already upper triangular with eigenvalues 0, 0, so Λ = 0, T = W and the
    departure is ``||T||_F = w``; ``(W + W^T)/2 = [[0, w/2], [w/2, 0]]`` has eigenvalues
    ``±w/2`` so the numerical abscissa is ``w/2``.

    Noise: ``A = (W - I)/τ = (1/τ) B``, ``B = [[-1, w], [0, -1]]``, ``Q = (2/τ) I``. Multiplying
    the Lyapunov equation by τ: ``B P + P B^T + 2 I = 0``. With ``P = [[a, b], [b, c]]``,
    ``B P = [[-a + w b, -b + w c], [-b, -c]]`` and the entries of ``B P + (B P)^T + 2I = 0`` are
        (2,2): ``-2c + 2 = 0``          → ``c = 1``
        (1,2): ``-2b + w c = 0``        → ``b = w/2``
        (1,1): ``-2a + 2 w b + 2 = 0``  → ``a = 1 + w²/2``
    so ``P = I + [[w²/2, w/2], [w/2, 0]]``, ``tr P = 2 + w²/2``; the unconnected network has
    ``P_0 = I`` (tr 2): ``total = 1 + w²/4``. Eigenvalues are 0, so ``normal = 1`` and
    ``nonnormal = 1 + w²/4``, all independent of τ.
    """
    W = _feedforward(w)
    assert henrici_departure(W) == pytest.approx(w, rel=1e-12)
    assert henrici_departure(W, normalized=True) == pytest.approx(1.0, rel=1e-12)
    assert numerical_abscissa(W) == pytest.approx(w / 2, rel=1e-12)
    amp = noise_amplification(W, tau=tau)
    assert amp.total == pytest.approx(1.0 + w**2 / 4, rel=1e-10)
    assert amp.normal == pytest.approx(1.0, rel=1e-12)
    assert amp.nonnormal == pytest.approx(1.0 + w**2 / 4, rel=1e-10)


def _independent_feedforward_peak(w):
    """max_t sqrt(λ_max(M^T M)), M = e^{-t} [[1, w t], [0, 1]], on a fine grid (numpy only)."""
    t = np.linspace(0.0, 20.0, 200_001)
    M = np.zeros((t.size, 2, 2))
    M[:, 0, 0] = M[:, 1, 1] = np.exp(-t)
    M[:, 0, 1] = w * t * np.exp(-t)
    g = np.sqrt(np.linalg.eigvalsh(np.swapaxes(M, 1, 2) @ M)[:, -1])
    k = np.argmax(g)
    return g[k], t[k]


@pytest.mark.parametrize("w", [0.5, 3.0, 20.0])
def test_feedforward_transient_peak(w):
    times, gains, peak, peak_time = transient_amplification(_feedforward(w))
    ref_peak, ref_time = _independent_feedforward_peak(w)
    assert peak == pytest.approx(ref_peak, rel=1e-8)
    assert peak_time == pytest.approx(ref_time, abs=2e-3)
    assert peak >= gains.max() - 1e-14
    # the whole curve matches the closed form e^{-t} (s + sqrt(1 + s²)), s = w t / 2
    s = w * times / 2
    np.testing.assert_allclose(gains, np.exp(-times) * (s + np.sqrt(1 + s**2)), rtol=1e-10)
    # transient growth iff numerical abscissa of W - I > 0, i.e. w/2 > 1
    assert (peak > 1.0 + 1e-9) == (w > 2.0)


def test_feedforward_peak_grows_linearly_and_scales_with_tau():
    peaks = np.array([transient_amplification(_feedforward(w))[2] for w in (50.0, 100.0, 200.0)])
    np.testing.assert_allclose(peaks[1:] / peaks[:-1], 2.0, rtol=1e-2)
    assert peaks[-1] / 200.0 == pytest.approx(np.exp(-1.0), rel=1e-2)  # peak ≈ w/e at t ≈ τ
    _, _, p1, t1 = transient_amplification(_feedforward(5.0), tau=1.0)
    _, _, p2, t2 = transient_amplification(_feedforward(5.0), tau=0.01)
    assert p2 == pytest.approx(p1, rel=1e-8)
    assert t2 == pytest.approx(0.01 * t1, rel=1e-5)


def test_transient_explicit_horizon_allows_unstable():
    W = np.array([[1.5, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="t_max"):
        transient_amplification(W)
    times, gains, peak, peak_time = transient_amplification(W, t_max=2.0, n_times=11)
    assert times.shape == gains.shape == (11,)
    np.testing.assert_allclose(gains, np.exp(0.5 * times), rtol=1e-12)
    assert peak_time == pytest.approx(2.0)


def test_pseudospectrum():
    W = _feedforward(3.0)
    re = np.array([0.0, 100.0])
    im = np.array([0.0, 0.5])
    sigma = pseudospectrum(W, re, im)
    assert sigma.shape == (2, 2)
    assert sigma[0, 0] < 1e-12  # at the eigenvalue 0
    # far away sigma_min(zI - W) ≈ |z| (distance to the spectrum): Weyl, |σ_min - |z|| <= ||W||_2 = 3
    assert sigma[0, 1] == pytest.approx(100.0, rel=0.04)
    assert abs(sigma[1, 1] - abs(100.0 + 0.5j)) <= 3.0
    # nonnormal: pseudospectrum is smaller than the distance to the spectrum
    assert sigma[1, 0] < 0.5
    # normal matrix: exactly the distance to the spectrum
    S = _symmetric(5, 4)
    lam = np.linalg.eigvalsh(S)
    re = np.linspace(-2, 2, 7)
    im = np.linspace(-1, 1, 5)
    sig = pseudospectrum(S, re, im)
    z = re[None, :] + 1j * im[:, None]
    dist = np.min(np.abs(z[..., None] - lam), axis=-1)
    np.testing.assert_allclose(sig, dist, atol=1e-12)
    assert pseudospectrum(S, [lam[0]], [0.0])[0, 0] < 1e-12


def test_noise_amplification_random_matches_schur_split():
    W = _random(10, 7, radius=0.9)
    amp = noise_amplification(W, tau=0.3)
    U, Lambda, _ = schur_decomposition(W)
    lam = np.diag(Lambda)
    assert amp.normal == pytest.approx(np.mean(1.0 / (1.0 - lam.real)), rel=1e-12)
    # normal part via the Lyapunov equation of the normal matrix U Λ U* (complex, done by hand)
    A_n = (U @ Lambda @ U.conj().T - np.eye(10)) / 0.3
    P_n = scipy.linalg.solve_continuous_lyapunov(A_n, -(2 / 0.3) * np.eye(10))
    assert amp.normal == pytest.approx(np.trace(P_n).real / 10, rel=1e-9)
    assert amp.nonnormal > 1.0
    assert amp.nonnormal == pytest.approx(amp.total / amp.normal, rel=1e-14)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: schur_decomposition(np.ones((2, 3))), "W must be a square"),
        (lambda: henrici_departure(np.ones(3)), "W must be a square"),
        (lambda: numerical_abscissa(np.array([[np.nan, 0], [0, 0]])), "W must be finite"),
        (lambda: noise_amplification(np.array([[np.inf, 0], [0, 0]])), "W must be finite"),
        (lambda: schur_decomposition(np.eye(2) * 1j), "W must be a real"),
        (lambda: noise_amplification(np.eye(2) * 0.1, tau=0.0), "tau"),
        (lambda: noise_amplification(np.eye(2) * 0.1, tau=-1.0), "tau"),
        (lambda: transient_amplification(np.eye(2) * 0.1, tau=np.nan), "tau"),
        (lambda: noise_amplification(np.eye(2) * 1.0), "Re λ < 1"),
        (lambda: noise_amplification(np.array([[1.2, 2.0], [-2.0, 1.0]])), "Re λ < 1"),
        (lambda: transient_amplification(np.eye(2), t_max=None), "t_max"),
        (lambda: transient_amplification(np.eye(2) * 0.1, t_max=-1.0), "t_max"),
        (lambda: transient_amplification(np.eye(2) * 0.1, n_times=1), "n_times"),
        (lambda: pseudospectrum(np.eye(2), [np.nan], [0.0]), "re_grid"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
