"""Non-normal amplification of random balanced E/I networks (organics.balanced): closed forms and simulation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import scipy.special

from organics.balanced import (
    balanced_amplification,
    balanced_ei_matrix,
    circular_law_amplification,
    normal_counterpart,
)
from organics.nonnormal import noise_amplification


@pytest.mark.parametrize("R", [0.2, 0.6, 0.95])
def test_circular_law_closed_forms_match_quadrature(R):
    """total = 2 int exp(-2t) I_0(2Rt) dt and normal = disc average of 1/(1 - Re z), by quadrature."""
    total = 2 * scipy.integrate.quad(lambda t: np.exp((2 * R - 2) * t) * scipy.special.i0e(2 * R * t), 0, np.inf)[0]
    normal = scipy.integrate.quad(lambda x: 2 * np.sqrt(R * R - x * x) / (np.pi * R * R * (1 - x)), -R, R)[0]
    split = circular_law_amplification(R)
    assert split.total == pytest.approx(total, rel=1e-8)
    assert split.normal == pytest.approx(normal, rel=1e-8)
    assert split.nonnormal == pytest.approx(total / normal, rel=1e-8)
    assert circular_law_amplification(1e-6).normal == pytest.approx(1.0, abs=1e-9)


def test_circular_law_matches_large_gaussian_matrices():
    """Lyapunov amplification of iid Gaussian matrices (variance R^2/n) approaches the large-n values."""
    rng = np.random.default_rng(1)
    n, R = 200, 0.6
    draws = [noise_amplification(R * rng.standard_normal((n, n)) / np.sqrt(n)) for _ in range(3)]
    expected = circular_law_amplification(R)
    assert np.mean([d.total for d in draws]) == pytest.approx(expected.total, rel=0.03)
    assert np.mean([d.normal for d in draws]) == pytest.approx(expected.normal, rel=0.03)


def test_feedforward_motif_split_from_lyapunov_and_normal_counterpart():
    """W = [[0, w], [0, 0]]: P solves B P + P B^T + 2I = 0 with B = W - I, so P = I + [[w^2/2, w/2], [w/2, 0]]
    and total = tr P / 2 = 1 + w^2/4; both eigenvalues are 0, so the normal counterpart is 0 and normal = 1."""
    for w in (0.5, 3.0):
        W = np.array([[0.0, w], [0.0, 0.0]])
        np.testing.assert_array_equal(normal_counterpart(W), np.zeros((2, 2)))
        split = noise_amplification(W)
        assert split.total == pytest.approx(1 + w**2 / 4, rel=1e-12)
        assert split.nonnormal == pytest.approx(1 + w**2 / 4, rel=1e-12)


def test_normal_counterpart_is_normal_with_the_same_spectrum():
    W = balanced_ei_matrix(3, 30, 0.8)
    D = normal_counterpart(W)
    np.testing.assert_allclose(D @ D.T, D.T @ D, atol=1e-12)
    key = lambda z: (np.round(z.real, 9), np.round(z.imag, 9))  # noqa: E731
    np.testing.assert_allclose(sorted(np.linalg.eigvals(D), key=key), sorted(np.linalg.eigvals(W), key=key), atol=1e-9)
    assert noise_amplification(D).total == pytest.approx(noise_amplification(W).normal, rel=1e-9)
    assert noise_amplification(D).nonnormal == pytest.approx(1.0, abs=1e-9)


def test_balanced_matrix_obeys_dale_balance_and_scaling():
    n, R = 400, 0.7
    W = balanced_ei_matrix(0, n, R)
    assert np.all(W[:, :200] >= 0) and np.all(W[:, 200:] <= 0)
    np.testing.assert_array_equal(W, R * balanced_ei_matrix(0, n, 1.0))
    np.testing.assert_array_equal(W, balanced_ei_matrix(0, n, R))
    assert not np.array_equal(W, balanced_ei_matrix(1, n, R))
    # mean input balanced: f_E w_E = f_I w_I, so E[row sum] = 0 (std of a row sum ~ R)
    assert abs(W.sum(axis=1).mean()) < 4 * R / np.sqrt(n)
    # bulk radius: summed entry variance per row = R^2
    assert np.mean(np.sum((W - W.mean(axis=0)) ** 2, axis=1)) == pytest.approx(R**2, rel=0.05)
    Z = balanced_ei_matrix(0, n, R, zero_row_sums=True)
    np.testing.assert_allclose(Z.sum(axis=1), 0.0, atol=1e-12)
    assert np.all(Z[:, :200] >= 0) and np.all(Z[:, 200:] <= 0)
    np.testing.assert_array_equal(Z[:, :200], W[:, :200])  # only inhibition is rescaled
    assert np.max(np.abs(np.linalg.eigvals(Z))) == pytest.approx(R, rel=0.1)  # no outliers


def test_simulated_amplification_matches_lyapunov_within_statistical_error():
    """Euler-Maruyama estimates of total and normal agree with the Lyapunov values of the same matrices.

    Tolerance: 4 standard errors (from 6 independent runs) plus the Euler bias, about dt/2 = 0.5 %.
    """
    result = balanced_amplification(
        [0.5], n=16, n_matrices=2, seed=4, zero_row_sums=True, n_simulated=2, runs=6, duration=200.0
    )
    for quantity in ("total", "normal", "nonnormal"):
        exact = getattr(result, quantity)[0]
        estimate = getattr(result, f"simulated_{quantity}")[0]
        error = getattr(result, f"simulated_{quantity}_error")[0]
        assert np.all(error > 0) and np.all(error < 0.1 * exact)
        assert np.all(np.abs(estimate - exact) < 4 * error + 0.005 * exact), (quantity, estimate, exact, error)
    theory, spread = result.theory("total")
    assert theory[0] == pytest.approx(result.total[0].mean()) and spread[0] > 0
    assert np.all(result.total[0] > circular_law_amplification(0.5).total)  # + the balanced mean structure


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: balanced_ei_matrix(0, 1), "n must be an integer >= 2"),
        (lambda: balanced_ei_matrix(0, 10, -1.0), "radius must be a finite number >= 0"),
        (lambda: balanced_ei_matrix(0, 10, connection_probability=1.0), r"connection_probability must be .* \(0, 1\)"),
        (lambda: balanced_ei_matrix(0, 10, excitatory_fraction=0.0), "excitatory_fraction"),
        (lambda: circular_law_amplification(1.0), r"radius must lie in \[0, 1\)"),
        (lambda: balanced_amplification([]), "radii must be a non-empty"),
        (lambda: balanced_amplification([0.5], n_matrices=2, n_simulated=3), "n_simulated must be <= n_matrices"),
        (lambda: balanced_amplification([0.5], runs=1), "runs must be an integer >= 2"),
        (lambda: balanced_amplification([0.5], duration=0.0), "duration must be a finite number > 0"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_unstable_matrices_are_excluded_not_hidden():
    result = balanced_amplification([0.5, 3.0], n=20, n_matrices=2, n_simulated=0)
    assert np.all(result.stable[0]) and not np.any(result.stable[1])
    assert np.all(np.isnan(result.total[1])) and np.isnan(result.theory("total")[0][1])
    with pytest.raises(ValueError, match="max Re λ < 1"):
        from organics.balanced import simulated_noise_amplification

        simulated_noise_amplification(3.0 * balanced_ei_matrix(0, 20, 1.0, zero_row_sums=True), key=0)
