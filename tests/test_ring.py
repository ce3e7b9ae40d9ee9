"""Ring models (two- and three-type ORGaNICs rings), their weights and Poisson spike trains.

Steady-state checks compare ``y**2`` with the normalization equation
``y**2 = z**2 / (sigma**2 + W z**2)`` (``z = W_zx x``; with the research gain ``g = b0/(1+b0)``
used for both the drive and the semi-saturation, ``(b z)**2/(sigma**2 b0**2 + W (b z)**2)`` reduces
to this), as the maximum absolute difference relative to ``max(z**2/(sigma**2 + W z**2))``:

* ``W_yy = I``: exact, measured <= 4e-15, asserted < 1e-12;
* ring ``W_yy``: the fixed point satisfies ``sqrt(a) y = g z + (1 - sqrt(a)) (W_yy - I) y``. The
  tuning curves contain only the harmonics that ``W_yy`` maps to themselves (eigenvalue 1), so
  the correction comes only from the part of ``y`` pushed off that subspace by the non-uniform
  pool: measured 2e-8 .. 2e-7 (n = 36, norm_band 0.25-0.5, c in 0.05-1), asserted < 1e-5 and
  below 10x ``||(W_yy - I) y_norm|| / ||y_norm||`` (the size of the first-order term).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import organics  # noqa: F401  (float64)
from organics.fixed_points import newton_fixed_point, simulate_to_steady_state
from organics.models.ring import (
    RING_KERNEL,
    ThreeTypeRing,
    grating_stimulus,
    poisson_spike_trains,
    preferred_orientations,
    ring_input_weights,
    ring_normalization_pool,
    ring_recurrent_weights,
    ring_tuning_exponent,
    three_type_ring,
    two_type_ring,
)
from organics.stability import jacobian

N = 36
SIGMA = 0.1


def normalization_prediction(z, W, sigma=SIGMA):
    z = np.asarray(z)
    return z**2 / (sigma**2 + np.asarray(W) @ z**2)


def max_real_eigenvalue(model, state):
    return float(np.max(np.linalg.eigvals(np.asarray(jacobian(model, state))).real))


# ------------------------------------------------------------------------------------ weights


@pytest.mark.parametrize("n", [16, 36])
def test_recurrent_weights_circulant_symmetric_contractive(n):
    W = ring_recurrent_weights(n)
    assert W.shape == (n, n)
    np.testing.assert_allclose(W, W.T, atol=1e-14)
    for k in range(1, n):  # circulant: every row is the first one rotated
        np.testing.assert_allclose(W[k], np.roll(W[0], k), atol=1e-12)
    assert np.linalg.svd(W, compute_uv=False).max() <= 1 + 1e-12
    # the clipping acted: the raw kernel has gain sum(kernel) = 1.414 > 1 at zero frequency
    assert sum(RING_KERNEL) > 1.4
    d, p = ring_tuning_exponent(W)
    assert d == n // 2 + 1 and p == d - 1


def test_input_weights_shifted_tuning_curves():
    W_zx = ring_input_weights(N, N)
    assert W_zx.shape == (N, N) and np.all(W_zx >= 0)
    for k in range(1, N):
        np.testing.assert_allclose(W_zx[k], np.roll(W_zx[0], k), atol=1e-12)
    assert np.argmax(W_zx[0]) == 0
    # the tuning curves live in the eigenvalue-1 subspace of W_yy: W_yy z = z for any stimulus
    W_yy = ring_recurrent_weights(N)
    np.testing.assert_allclose(W_yy @ W_zx, W_zx, atol=1e-6 * W_zx.max())
    assert ring_input_weights(N, 72).shape == (N, 72)


def test_normalization_pool():
    W = ring_normalization_pool(N, 0.25)
    np.testing.assert_allclose(np.diag(W), 1.0)
    assert W.max() == 1.0
    np.testing.assert_allclose(W, W.T)
    for k in range(1, N):
        np.testing.assert_allclose(W[k], np.roll(W[0], k))
    np.testing.assert_allclose(W[0, 1:], W[0, 1:][::-1])  # circular symmetry around neuron 0
    assert W[0, 9] == pytest.approx(np.exp(-(9**2) / (2 * 9.0**2)))


def test_grating_and_validation():
    x = grating_stimulus(N, 45.0, 0.3)
    assert x.sum() == pytest.approx(0.3) and x[9] == 0.3
    assert grating_stimulus(N, 179.9, 1.0)[35] == 1.0
    with pytest.raises(ValueError, match="contrast"):
        grating_stimulus(N, 45.0, 1.5)
    with pytest.raises(ValueError, match="theta_deg"):
        grating_stimulus(N, 180.0, 0.5)
    with pytest.raises(ValueError, match="norm_band"):
        ring_normalization_pool(N, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        two_type_ring(sigma=-1.0)
    with pytest.raises(ValueError, match="tau_u"):
        three_type_ring(tau_u=0.0)
    with pytest.raises(ValueError, match="W_yy"):
        ThreeTypeRing(z=np.ones(3), W_yy=np.eye(4))
    with pytest.raises(ValueError, match="n"):
        ring_recurrent_weights(0)


# ------------------------------------------------------------------------------ steady states


@pytest.mark.parametrize("contrast", [0.05, 1.0])
def test_two_type_ring_normalization_steady_state(contrast):
    predictions = {}
    for identity in (True, False):
        model = two_type_ring(N, N, contrast=contrast, theta_deg=45.0, norm_band=0.25, identity_recurrence=identity)
        fp = newton_fixed_point(model)
        assert bool(fp.converged)
        assert max_real_eigenvalue(model, fp.state) < 0  # stable
        y, _ = model.split_state(fp.state)
        pred = normalization_prediction(model.z, model.W)
        error = np.max(np.abs(np.asarray(y) ** 2 - pred)) / pred.max()
        predictions[identity] = error
        if identity:
            assert error < 1e-12
        else:
            y_norm = np.sqrt(pred)
            first_order = np.linalg.norm((np.asarray(model.W_r) - np.eye(N)) @ y_norm) / np.linalg.norm(y_norm)
            assert error < 1e-5
            assert error < 10 * first_order + 1e-12
    # the simulated circuit settles at the same state
    sim = simulate_to_steady_state(model)
    assert bool(sim.converged)
    np.testing.assert_allclose(sim.state, fp.state, atol=1e-7)


@pytest.mark.parametrize("identity", [True, False])
def test_three_type_ring_steady_state(identity):
    model = three_type_ring(N, N, contrast=0.5, theta_deg=45.0, norm_band=0.25, alpha=0.5, identity_recurrence=identity)
    fp = newton_fixed_point(model, model.normalization_state())
    assert bool(fp.converged)
    J = np.asarray(jacobian(model, fp.state))
    assert np.all(np.isfinite(J))
    assert max_real_eigenvalue(model, fp.state) < 0
    y, a, u = model.split_state(fp.state)
    pred = normalization_prediction(model.z, model.W_uy)
    error = np.max(np.abs(np.asarray(y) ** 2 - pred)) / pred.max()
    assert error < (1e-12 if identity else 1e-5)
    f = np.sqrt(np.asarray(u))
    np.testing.assert_allclose(a, f / (1 - f), rtol=1e-9)  # 1/(1+a) = 1 - sqrt(u)
    # same principal-neuron steady state as the two-type ring (a -> u)
    two = two_type_ring(N, N, contrast=0.5, theta_deg=45.0, norm_band=0.25, identity_recurrence=identity)
    y2, _ = two.split_state(newton_fixed_point(two).state)
    np.testing.assert_allclose(y, y2, atol=1e-10)


def test_three_type_jacobian_finite_at_kinks():
    model = three_type_ring(12, 12, alpha=1.0)
    x = model.join_state(jnp.zeros(12), jnp.zeros(12), jnp.zeros(12))
    assert np.all(np.isfinite(np.asarray(jacobian(model, x))))


@pytest.mark.parametrize("theta", [30.0, 120.0])
def test_orientation_tuning_peaks_at_preferred_neuron(theta):
    model = two_type_ring(N, N, contrast=0.5, theta_deg=theta)
    y, _ = model.split_state(newton_fixed_point(model).state)
    peak = int(np.argmax(np.asarray(y)))
    assert preferred_orientations(N)[peak] == pytest.approx(theta)
    # tuning is symmetric around the preferred neuron
    np.testing.assert_allclose(np.roll(np.asarray(y), -peak)[1:], np.roll(np.asarray(y), -peak)[1:][::-1], atol=1e-9)


def test_contrast_response_grows_and_saturates():
    base = two_type_ring(N, N, contrast=1.0, theta_deg=90.0)
    W_zx = ring_input_weights(N, N)
    contrasts = np.geomspace(0.005, 1.0, 12)
    Z = jnp.asarray(np.stack([W_zx @ grating_stimulus(N, 90.0, c) for c in contrasts]))
    solve = jax.jit(jax.vmap(lambda z: newton_fixed_point(eqx.tree_at(lambda m: m.z, base, z)).state))
    states = np.asarray(solve(Z))
    r = states[:, 18]  # neuron preferring 90 degrees
    assert np.all(np.diff(r) > 0)  # monotone
    assert r[1] / r[0] == pytest.approx(contrasts[1] / contrasts[0], rel=0.02)  # linear at low contrast
    assert r[-1] / r[-2] < 0.2 * contrasts[-1] / contrasts[-2] + 0.8  # compressive at high contrast
    saturation = np.sqrt(W_zx[18, 18] ** 2 / (base.W[18] @ W_zx[:, 18] ** 2))  # c -> infinity
    assert r[-1] < saturation and r[-1] > 0.9 * saturation
    pred = np.array([np.sqrt(normalization_prediction(z, base.W))[18] for z in np.asarray(Z)])
    np.testing.assert_allclose(r, pred, rtol=1e-5)


# ------------------------------------------------------------------------------- spike trains


def test_poisson_spike_trains():
    key = jax.random.PRNGKey(0)
    rates = jnp.array([5.0, 50.0, 200.0])
    dt, steps = 1e-3, 20000
    spikes = poisson_spike_trains(rates, dt, key, n_steps=steps)
    assert spikes.shape == (steps, 3) and spikes.dtype == jnp.bool_
    np.testing.assert_array_equal(spikes, poisson_spike_trains(rates, dt, key, n_steps=steps))
    assert not np.array_equal(spikes, poisson_spike_trains(rates, dt, jax.random.PRNGKey(1), n_steps=steps))
    empirical = np.asarray(spikes).mean(axis=0) / dt
    p = np.asarray(rates) * dt
    stderr = np.sqrt(p * (1 - p) / steps) / dt
    assert np.all(np.abs(empirical - np.asarray(rates)) < 5 * stderr)
    # time-varying rates: one rate per step
    trains = poisson_spike_trains(jnp.zeros((100, 2)).at[50:].set(1000.0), dt, key)
    assert not np.any(trains[:50]) and np.all(trains[50:])
    with pytest.raises(ValueError, match="r\\*dt"):
        poisson_spike_trains(rates, 1e-2, key, n_steps=10)
    with pytest.raises(ValueError, match="rates_hz"):
        poisson_spike_trains(jnp.array([-1.0]), dt, key, n_steps=10)
