"""Tests of organics.sde: noise model, seeded Brownian motion, batching, divergence status."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import organics  # noqa: F401  (float64)
from organics.models import LinearNetwork, ORGaNICs
from organics.sde import noise_covariance, noise_matrix, simulate_sde
from organics.simulate import DIVERGED, SOLVED

STABLE = LinearNetwork(M=[[0.5, -0.8], [0.6, 0.2]], h=0.0, tau=0.01)
X0 = jnp.zeros(2)


def test_noise_matrix_additive_and_multiplicative():
    model = ORGaNICs(z=jnp.array([0.5]), tau_y=2e-3, tau_a=4e-3)
    g = np.asarray(noise_matrix(model, 0.02))
    np.testing.assert_allclose(g, np.diag(0.02 * np.sqrt(1 / np.array([2e-3, 4e-3]))), rtol=1e-14)
    Q = np.asarray(noise_covariance(model, 0.02))
    np.testing.assert_allclose(Q, np.diag(0.02**2 / np.array([2e-3, 4e-3])), rtol=1e-14)
    x = jnp.array([-0.3, 0.5])
    Qm = np.asarray(noise_covariance(model, 0.1, noise="multiplicative", state=x))
    np.testing.assert_allclose(Qm, np.diag(0.01 * np.array([0.3 / 2e-3, 0.5 / 4e-3])), rtol=1e-14)
    with pytest.raises(ValueError, match="state"):
        noise_matrix(model, 0.1, noise="multiplicative")
    with pytest.raises(ValueError, match="noise"):
        noise_matrix(model, 0.1, noise="poisson")
    with pytest.raises(ValueError, match="eta"):
        noise_matrix(model, -0.1)


def test_validation():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="dt"):
        simulate_sde(STABLE, X0, 1.0, key=key, dt=0.0)
    with pytest.raises(ValueError, match="dt"):
        simulate_sde(STABLE, X0, 1.0, key=key, dt=-1e-3)
    with pytest.raises(ValueError, match="t1"):
        simulate_sde(STABLE, X0, 0.0, key=key, dt=1e-3)
    with pytest.raises(ValueError, match="burn_in"):
        simulate_sde(STABLE, X0, 1.0, key=key, dt=1e-3, burn_in=1.0)
    with pytest.raises(ValueError, match="noise"):
        simulate_sde(STABLE, X0, 1.0, key=key, dt=1e-3, noise="colored")
    with pytest.raises(ValueError, match="n_save"):
        simulate_sde(STABLE, X0, 1.0, key=key, dt=1e-3, n_save=1)
    with pytest.raises(ValueError, match="x0"):
        simulate_sde(STABLE, jnp.zeros((2, 2)), 1.0, key=key, dt=1e-3)


def test_reproducible_and_saves_only_n_save_points():
    kwargs = dict(dt=1e-4, n_save=101, burn_in=0.1, eta=0.02)
    a = simulate_sde(STABLE, X0, 0.6, key=jax.random.key(3), **kwargs)
    b = simulate_sde(STABLE, X0, 0.6, key=jax.random.key(3), **kwargs)
    c = simulate_sde(STABLE, X0, 0.6, key=jax.random.key(4), **kwargs)
    assert a.states.shape == (101, 2)
    assert int(a.status) == SOLVED and int(a.num_steps) == 6000
    np.testing.assert_allclose(np.asarray(a.ts)[[0, -1]], [0.1, 0.6], rtol=1e-14)
    np.testing.assert_array_equal(np.asarray(a.states), np.asarray(b.states))
    assert not np.allclose(np.asarray(a.states), np.asarray(c.states))
    # independent keys: the two paths are essentially uncorrelated
    r = np.corrcoef(np.asarray(a.states[:, 0]), np.asarray(c.states[:, 0]))[0, 1]
    assert abs(r) < 0.5


def test_vmap_over_keys_equals_loop():
    keys = jax.random.split(jax.random.key(7), 3)
    # same static configuration as above, so the single runs reuse its compilation
    run = lambda k: simulate_sde(STABLE, X0, 0.6, key=k, dt=1e-4, n_save=101, burn_in=0.1)  # noqa: E731
    batch = eqx.filter_vmap(run)(keys)
    for i in range(3):
        single = run(keys[i])
        np.testing.assert_allclose(np.asarray(batch.states[i]), np.asarray(single.states), rtol=1e-12, atol=1e-15)


def test_batched_models_equal_loop_and_divergence_does_not_poison():
    # circuit 0 stable, circuit 1 unstable (growth rate (2 - 1)/tau = 100/s): it diverges
    models = [LinearNetwork(M=[[0.5, 0.0], [0.0, 0.5]], tau=0.01), LinearNetwork(M=[[2.0, 0.0], [0.0, 2.0]], tau=0.01)]
    batched = jax.tree.map(lambda *leaves: jnp.stack(leaves), *models)
    keys = jax.random.split(jax.random.key(11), 2)
    x0 = jnp.ones((2, 2))
    kwargs = dict(dt=1e-4, n_save=101, bound=1e3, eta=0.05)
    out = eqx.filter_vmap(
        lambda m, x, k: simulate_sde(m, x, 0.6, key=k, **kwargs), in_axes=(eqx.if_array(0), 0, 0)
    )(batched, x0, keys)
    assert out.status.tolist() == [SOLVED, DIVERGED]
    assert np.all(np.isfinite(np.asarray(out.states[0])))
    assert float(out.t_final[1]) < 0.6
    assert np.isnan(np.asarray(out.states[1, -1])).all()
    for i, model in enumerate(models):
        single = simulate_sde(model, x0[i], 0.6, key=keys[i], **kwargs)
        assert int(single.status) == int(out.status[i])
        np.testing.assert_allclose(np.asarray(out.states[i]), np.asarray(single.states), rtol=1e-12, atol=1e-15)


def test_multiplicative_noise_variance_matches_linearization():
    # tau dv/dt = -v + 1: fixed point v* = 1, J = -1/tau, Q = eta^2 |v*| / tau, P = Q tau / 2
    model = LinearNetwork(M=[[0.0]], h=1.0, tau=0.01)
    eta = 0.02
    keys = jax.random.split(jax.random.key(5), 4)
    out = eqx.filter_vmap(
        lambda k: simulate_sde(
            model, jnp.ones(1), 10.1, key=k, dt=1e-4, n_save=20001, burn_in=0.1, eta=eta, noise="multiplicative"
        )
    )(keys)
    assert out.status.tolist() == [SOLVED] * 4
    x = np.asarray(out.states[..., 0])
    expected = eta**2 / 2
    assert abs(x.var(axis=1).mean() / expected - 1) < 0.1
    assert abs(x.mean() - 1) < 0.01
