"""Random recurrent matrices W_r = I + M and input drives (research-code spec §2-§3)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import organics  # noqa: F401  (switches on float64)
from organics.connectivity import (
    ENSEMBLES,
    INPUT_KINDS,
    POWER_LAW_XMIN,
    input_drive,
    perturbation_matrix,
    recurrent_matrix,
)

N = 400


def spectral_radius(A) -> float:
    A = np.asarray(A)
    if np.array_equal(A, A.T):
        return float(np.abs(np.linalg.eigvalsh(A)).max())
    return float(np.abs(np.linalg.eigvals(A)).max())


# ------------------------------------------------------------------ spectra
@pytest.mark.parametrize("delta", [0.1, 1.0])
def test_goe_symmetric_spectral_radius_is_one_plus_sqrt2_delta(delta):
    radii = [spectral_radius(recurrent_matrix(seed, N, ensemble="goe_symmetric", delta=delta)) for seed in range(3)]
    expected = 1 + np.sqrt(2) * delta
    assert abs(np.mean(radii) - expected) / expected < 0.03, radii


@pytest.mark.parametrize("delta", [0.1, 1.0])
def test_goe_spectral_radius_is_one_plus_delta(delta):
    radius = spectral_radius(recurrent_matrix(0, N, ensemble="goe", delta=delta))
    expected = 1 + delta
    assert abs(radius - expected) / expected < 0.04, radius


def test_mean_adds_an_outlier_near_one_plus_mu():
    delta = 0.5
    # goe (non-Hermitian): outlier at mu
    ev = np.linalg.eigvals(np.asarray(recurrent_matrix(0, 200, ensemble="goe", delta=delta, mu=2.0)))
    outlier = ev[np.argmax(np.abs(ev - 1))]
    assert abs(outlier.imag) < 1e-9 and abs(outlier.real - 3.0) < 0.1
    # goe_symmetric: outlier at mu + delta^2/(2 mu) (BBP shift), for either sign of mu
    for mu in (2.0, -3.0):
        ev = np.linalg.eigvalsh(np.asarray(recurrent_matrix(0, N, ensemble="goe_symmetric", delta=delta, mu=mu)))
        outlier = ev[np.argmax(np.abs(ev - 1))]
        assert abs(outlier - (1 + mu + delta**2 / (2 * mu))) < 0.08, outlier
        bulk = np.sort(np.abs(ev - 1))[-2]
        assert bulk < np.sqrt(2) * delta * 1.1


def test_dale_bulk_radius_signs_and_exact_balance():
    n = 200
    n_e = round(0.8 * n)
    radii = []
    for seed in range(2):
        M = np.asarray(perturbation_matrix(seed, n, ensemble="dale", delta=1.0))
        assert np.all(M[:, :n_e] >= 0) and np.all(M[:, n_e:] <= 0)  # Dale's law by columns
        assert np.all(M[:, :n_e].sum(0) > 0) and np.all(M[:, n_e:].sum(0) < 0)
        np.testing.assert_allclose(M.sum(axis=1), 0.0, atol=1e-12)  # exact row balance
        radii.append(spectral_radius(M))
    assert abs(np.mean(radii) - 1.0) < 0.12, radii  # bulk radius ~ delta, no outlier
    M = np.asarray(perturbation_matrix(0, 10, ensemble="dale", delta=1.0, excitatory_fraction=0.5))
    assert np.all(M[:, :5] >= 0) and np.all(M[:, 5:] <= 0)


def test_power_law_entries_delta_scaling_and_perron_outlier():
    M1 = np.asarray(perturbation_matrix(3, N, ensemble="power_law", delta=1.0))
    M2 = np.asarray(perturbation_matrix(3, N, ensemble="power_law", delta=2.5))
    np.testing.assert_allclose(M2, 2.5 * M1, rtol=1e-15)  # delta scales the entries
    assert M1.min() >= POWER_LAW_XMIN
    # Pareto(alpha=3, xmin): median = xmin * sqrt(2)
    assert abs(np.median(M1) / (POWER_LAW_XMIN * np.sqrt(2)) - 1) < 0.02
    # Perron outlier of the positive matrix ~ n E[X] = 2 xmin n (power iteration: M1 > 0)
    v = np.ones(N)
    for _ in range(100):
        v = M1 @ v
        perron = np.linalg.norm(v)
        v /= perron
    assert abs(perron / (2 * POWER_LAW_XMIN * N) - 1) < 0.05, perron
    shifted = np.asarray(perturbation_matrix(3, N, ensemble="power_law", delta=1.0, mu=0.4))
    np.testing.assert_allclose(shifted, M1 + 0.4 / N, rtol=1e-13)


# ------------------------------------------------------------------ relations between ensembles
def test_ginibre_is_dense_goe_and_goe_symmetric_is_its_symmetric_part():
    key = jax.random.PRNGKey(11)
    goe = perturbation_matrix(key, N, ensemble="goe", delta=0.7, mu=0.3)
    np.testing.assert_array_equal(perturbation_matrix(key, N, ensemble="ginibre", delta=0.7, mu=0.3), goe)
    np.testing.assert_array_equal(perturbation_matrix(key, N, ensemble="goe", delta=0.7, mu=0.3, sparsity=N), goe)
    sym = perturbation_matrix(key, N, ensemble="goe_symmetric", delta=0.7, mu=0.3)
    np.testing.assert_allclose(sym, (goe + goe.T) / 2, rtol=0, atol=1e-15)
    W = recurrent_matrix(key, N, ensemble="goe", delta=0.7, mu=0.3)
    np.testing.assert_array_equal(W, jnp.eye(N) + goe)


# ------------------------------------------------------------------ sparsity
@pytest.mark.parametrize("ensemble", ["goe", "goe_symmetric", "power_law", "dale"])
def test_sparsity_controls_the_fraction_of_nonzeros(ensemble):
    s = 20
    M = np.asarray(perturbation_matrix(5, N, ensemble=ensemble, delta=1.0, sparsity=s))
    fraction = np.count_nonzero(M) / M.size
    assert abs(fraction - s / N) < 0.1 * s / N, fraction  # statistical error ~1%
    assert abs(np.count_nonzero(M, axis=1).mean() - s) < 0.1 * s
    if ensemble == "goe_symmetric":
        np.testing.assert_array_equal(M, M.T)
    dense = np.asarray(perturbation_matrix(5, N, ensemble=ensemble, delta=1.0))
    assert np.count_nonzero(dense) == dense.size


def test_sparse_goe_keeps_variance_and_spectral_radius():
    s, delta = 100, 1.0
    M = np.asarray(perturbation_matrix(2, N, ensemble="goe", delta=delta, sparsity=s))
    assert abs((M**2).sum() / N / delta**2 - 1) < 0.05  # summed entry variance per row = delta^2
    radius = spectral_radius(recurrent_matrix(2, N, ensemble="goe_symmetric", delta=delta, sparsity=s))
    assert abs(radius / (1 + np.sqrt(2) * delta) - 1) < 0.04


# ------------------------------------------------------------------ keys, reproducibility, transforms
def _small_kwargs(ensemble: str) -> dict:
    # One (n, sparsity) per ensemble so that every test below reuses the same compiled draw.
    return dict(ensemble=ensemble, sparsity=None if ensemble == "ginibre" else 10)


@pytest.mark.parametrize("ensemble", ENSEMBLES)
def test_same_key_same_matrix_and_int_seed(ensemble):
    kw = dict(_small_kwargs(ensemble), delta=0.5)
    a = recurrent_matrix(jax.random.PRNGKey(7), 30, **kw)
    b = recurrent_matrix(jax.random.PRNGKey(7), 30, **kw)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(recurrent_matrix(7, 30, **kw), a)  # int seed = PRNGKey(seed)
    assert not np.array_equal(recurrent_matrix(8, 30, **kw), a)
    assert a.shape == (30, 30) and a.dtype == jnp.float64


def test_typed_key_gives_the_same_matrix_as_raw_key():
    raw = recurrent_matrix(jax.random.PRNGKey(7), 30, **_small_kwargs("goe_symmetric"))
    np.testing.assert_array_equal(recurrent_matrix(jax.random.key(7), 30, **_small_kwargs("goe_symmetric")), raw)


@pytest.mark.parametrize("ensemble", ENSEMBLES)
def test_vmap_over_keys_and_deltas_equals_loop(ensemble):
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    deltas = jnp.array([0.0, 0.1, 1.0, 3.0])

    def make(key, delta):
        return recurrent_matrix(key, 30, delta=delta, **_small_kwargs(ensemble))

    batched = jax.vmap(make)(keys, deltas)
    loop = jnp.stack([make(k, d) for k, d in zip(keys, deltas)])
    np.testing.assert_allclose(batched, loop, rtol=1e-14, atol=1e-15)
    assert len({np.asarray(b).tobytes() for b in batched}) == 4


def test_delta_zero_gives_identity_plus_mean():
    for ensemble in ("goe_symmetric", "dale", "power_law"):
        np.testing.assert_array_equal(recurrent_matrix(0, 30, delta=0.0, **_small_kwargs(ensemble)), jnp.eye(30))
    np.testing.assert_allclose(
        recurrent_matrix(0, 30, delta=0.0, mu=1.0, **_small_kwargs("ginibre")), jnp.eye(30) + 1 / 30, rtol=1e-15
    )


# ------------------------------------------------------------------ input drives
@pytest.mark.parametrize("kind", INPUT_KINDS)
@pytest.mark.parametrize("n", [1, 7, 100])
@pytest.mark.parametrize("norm", [0.0, 0.3, 5.0])
def test_input_drive_norm_is_exact(kind, n, norm):
    z = input_drive(n, kind, norm, key=jax.random.PRNGKey(1))
    assert z.shape == (n,) and z.dtype == jnp.float64
    np.testing.assert_allclose(float(jnp.linalg.norm(z)), norm, rtol=1e-14, atol=0)


def test_input_drive_shapes_of_each_kind():
    n = 50
    np.testing.assert_array_equal(input_drive(n, "localized", 2.0), 2.0 * jnp.eye(n)[0])
    np.testing.assert_allclose(input_drive(n, "delocalized", 2.0), jnp.full(n, 2.0 / np.sqrt(n)), rtol=1e-15)
    g = np.asarray(input_drive(n, "gaussian", 1.0))
    v = np.exp(-np.arange(n) ** 2 / (2 * (n / 10) ** 2))
    np.testing.assert_allclose(g, v / np.linalg.norm(v), rtol=1e-14)
    assert np.argmax(g) == 0 and np.all(np.diff(g) <= 0)
    r1 = input_drive(n, "random", 1.0, key=3)
    np.testing.assert_array_equal(r1, input_drive(n, "random", 1.0, key=jax.random.PRNGKey(3)))
    assert not np.array_equal(r1, input_drive(n, "random", 1.0, key=4))


def test_input_drive_vmap_over_keys_and_norms():
    keys = jax.random.split(jax.random.PRNGKey(2), 3)
    norms = jnp.array([0.01, 0.5, 1.0])
    batched = jax.vmap(lambda k, s: input_drive(20, "random", s, key=k))(keys, norms)
    loop = jnp.stack([input_drive(20, "random", s, key=k) for k, s in zip(keys, norms)])
    np.testing.assert_allclose(batched, loop, rtol=1e-14)
    np.testing.assert_allclose(jnp.linalg.norm(batched, axis=1), norms, rtol=1e-14)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        (dict(n=0), r"n must be an integer >= 1"),
        (dict(n=2.5), r"n must be an integer >= 1"),
        (dict(ensemble="wigner"), r"ensemble must be one of 'goe', 'goe_symmetric', 'ginibre', 'power_law', 'dale'"),
        (dict(delta=-0.1), r"delta must be >= 0"),
        (dict(delta=np.nan), r"delta must be finite"),
        (dict(delta=np.ones(3)), r"delta must be a scalar"),
        (dict(mu=np.inf), r"mu must be finite"),
        (dict(sparsity=0), r"sparsity must be None \(dense\) or in \(0, n\] = \(0, 10\]"),
        (dict(sparsity=-2.0), r"sparsity must be None"),
        (dict(sparsity=11), r"sparsity must be None"),
        (dict(sparsity=np.inf), r"sparsity must be None"),
        (dict(ensemble="ginibre", sparsity=5), r"sparsity must be None or n = 10 for ensemble 'ginibre'"),
        (dict(ensemble="dale", mu=0.5), r"mu must be 0 for ensemble 'dale'"),
        (dict(ensemble="dale", excitatory_fraction=1.0), r"excitatory_fraction must be in \(0, 1\)"),
        (dict(ensemble="dale", n=1), r"n must be >= 2 for ensemble 'dale'"),
    ],
)
def test_matrix_validation(kwargs, pattern):
    kw = dict(n=10, ensemble="goe_symmetric", delta=1.0)
    kw.update(kwargs)
    n = kw.pop("n")
    with pytest.raises(ValueError, match=pattern):
        recurrent_matrix(0, n, **kw)


@pytest.mark.parametrize(
    "args,kwargs,pattern",
    [
        ((0, "localized", 1.0), {}, r"n must be an integer >= 1"),
        ((5, "uniform", 1.0), {}, r"kind must be one of 'localized', 'delocalized', 'random', 'gaussian'"),
        ((5, "localized", -1.0), {}, r"norm must be >= 0"),
        ((5, "localized", np.nan), {}, r"norm must be finite"),
        ((5, "random", 1.0), {}, r"key is required for kind='random'"),
    ],
)
def test_input_drive_validation(args, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        input_drive(*args, **kwargs)
