"""Model equations, input validation and finite derivatives at the rectification kinks."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import organics
from organics import ORGaNICs, ORGaNICsDynamicGains
from organics.stability import jacobian


def reference_rates(model_kw: dict, y: np.ndarray, a: np.ndarray, variant: str, p: float = 2.0):
    """Plain NumPy transcription of Eqs. 14, 86 and the rectified-recurrence variant."""
    z, W_r, W = model_kw["z"], model_kw["W_r"], model_kw["W"]
    b, b0, sigma = model_kw["b"], model_kw["b0"], model_kw["sigma"]
    tau_y, tau_a = model_kw["tau_y"], model_kw["tau_a"]
    a_pos = np.maximum(a, 0.0)
    gate = a_pos ** (1.0 / p)
    if variant == "main":
        recurrent, pool = W_r @ y, np.abs(y) ** p
    elif variant == "rectified":
        recurrent, pool = W_r @ np.maximum(y, 0.0), np.maximum(y, 0.0) ** p
    else:
        recurrent, pool = np.maximum(W_r @ y, 0.0), np.maximum(y, 0.0) ** p
    dy = (-y + b * z + (1 - gate) * recurrent) / tau_y
    da = (-a + (b0 * sigma) ** p + W @ (pool * a_pos)) / tau_a
    return dy, da


def random_parameters(rng: np.random.Generator, n: int) -> dict:
    return dict(
        z=rng.normal(size=n),
        W_r=np.eye(n) + 0.5 * rng.normal(size=(n, n)) / np.sqrt(n),
        W=rng.uniform(0, 1, size=(n, n)),
        b=rng.uniform(0.2, 2, size=n),
        b0=rng.uniform(0.2, 2, size=n),
        sigma=rng.uniform(0.05, 1, size=n),
        tau_y=rng.uniform(1e-3, 1e-2, size=n),
        tau_a=rng.uniform(1e-3, 1e-2, size=n),
    )


@pytest.mark.parametrize("variant", organics.VARIANTS)
@pytest.mark.parametrize("p", [2.0, 1.5])
def test_vector_field_matches_equations(variant, p):
    rng = np.random.default_rng(0)
    kw = random_parameters(rng, 6)
    model = ORGaNICs(**kw, variant=variant, p=p)
    y, a = rng.normal(size=6), rng.normal(size=6)
    dy, da = reference_rates(kw, y, a, variant, p)
    f = np.asarray(model.vector_field(0.0, model.join_state(y, a)))
    np.testing.assert_allclose(f[:6], dy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f[6:], da, rtol=1e-12, atol=1e-12)


def test_default_a_plus_equals_explicit_power_law_form():
    """Eq. 34 with an explicit a+ = sqrt([a]+) equals Eq. 14 where a > 0."""
    rng = np.random.default_rng(1)
    kw = random_parameters(rng, 5)
    implicit = ORGaNICs(**kw)
    explicit = ORGaNICs(**kw, a_plus=lambda a: jnp.sqrt(jnp.maximum(a, 1e-300)))
    x = implicit.join_state(rng.normal(size=5), rng.uniform(0.1, 2, size=5))
    np.testing.assert_allclose(explicit.vector_field(0.0, x), implicit.vector_field(0.0, x), rtol=1e-12)


@pytest.mark.parametrize("variant", organics.VARIANTS)
@pytest.mark.parametrize("p", [2.0, 0.5, 3.0])
def test_jacobian_is_finite_at_kinks(variant, p):
    """No NaN or inf in the Jacobian at y = 0 and a = 0 (or at a < 0)."""
    model = ORGaNICs(z=jnp.array([0.5, 0.0, -0.3]), W_r=0.7 * jnp.ones((3, 3)), variant=variant, p=p)
    for state in (jnp.zeros(6), jnp.array([0.0, 0.2, -0.1, 0.0, -1.0, 0.5])):
        J = jacobian(model, state)
        assert bool(jnp.all(jnp.isfinite(J)))


def test_time_varying_input_and_freezing():
    model = ORGaNICs(z=lambda t: jnp.array([1.0, 2.0]) * jnp.sin(t + 1.0))
    assert model.time_varying
    x = jnp.array([0.1, 0.2, 0.3, 0.4])
    frozen = model.at_time(0.5)
    assert not frozen.time_varying
    np.testing.assert_allclose(frozen.vector_field(0.0, x), model.vector_field(0.5, x))


def test_from_stimulus_builds_drive():
    W_zx = np.arange(6.0).reshape(3, 2)
    model = ORGaNICs.from_stimulus(np.array([1.0, -1.0]), W_zx)
    np.testing.assert_allclose(model.z, W_zx @ np.array([1.0, -1.0]))


def test_batched_construction_with_vmap():
    zs = jnp.linspace(0.1, 1.0, 8)[:, None] * jnp.ones((8, 4))
    batch = jax.vmap(lambda z: ORGaNICs(z=z, sigma=0.2))(zs)
    assert batch.W_r.shape == (8, 4, 4)
    f = eqx.filter_vmap(lambda m: m.vector_field(0.0, jnp.ones(8)))(batch)
    single = ORGaNICs(z=zs[3], sigma=0.2).vector_field(0.0, jnp.ones(8))
    np.testing.assert_allclose(f[3], single)


def test_dynamic_gains_reduce_to_fixed_gains():
    """With db/dt = db0/dt = 0 the (y, a) equations are the circuit's."""
    rng = np.random.default_rng(2)
    n, m = 4, 3
    x = rng.normal(size=m)
    W_zx = rng.normal(size=(n, m))
    model = ORGaNICsDynamicGains(x=x, W_zx=W_zx, W_bx=rng.normal(size=(n, m)), W_b0x=rng.normal(size=(n, m)))
    y, a = rng.normal(size=n), rng.uniform(0.1, 1, size=n)
    b = jax.nn.sigmoid(model.W_bx @ x)
    b0 = jax.nn.sigmoid(model.W_b0x @ x)
    f = model.vector_field(0.0, model.join_state(y, a, b, b0))
    fixed = ORGaNICs(z=W_zx @ x, b=b, b0=b0)
    np.testing.assert_allclose(f[: 2 * n], fixed.vector_field(0.0, fixed.join_state(y, a)), rtol=1e-12)
    np.testing.assert_allclose(f[2 * n :], 0.0, atol=1e-12)


@pytest.mark.parametrize("variant", organics.VARIANTS)
@pytest.mark.parametrize("p", [2.0, 1.5])
def test_uniform_pool_vector_field_equals_the_dense_pool(variant, p):
    """``with_uniform_pool`` computes ``W @ v`` as ``w sum(v)``: the equations of the dense W = w 1 1^T."""
    rng = np.random.default_rng(3)
    kw = random_parameters(rng, 7) | dict(W=np.full((7, 7), 0.8))
    dense = ORGaNICs(**kw, variant=variant, p=p)
    pooled = dense.with_uniform_pool()
    assert pooled.uniform_pool and not dense.uniform_pool
    y, a = rng.normal(size=7), rng.normal(size=7)
    dy, da = reference_rates(kw, y, a, variant, p)
    f = np.asarray(jax.jit(lambda s: pooled.vector_field(0.0, s))(pooled.join_state(y, a)))
    np.testing.assert_allclose(f, np.concatenate([dy, da]), rtol=1e-12, atol=1e-12)
    x = pooled.join_state(y, np.abs(a))
    np.testing.assert_allclose(jax.jacfwd(lambda s: pooled.vector_field(0.0, s))(x), jacobian(dense, x), rtol=1e-12)
    custom = ORGaNICs(**kw, variant=variant, p=p, a_plus=lambda a: jnp.sqrt(jnp.maximum(a, 1e-300)))
    np.testing.assert_allclose(custom.with_uniform_pool().vector_field(0.0, x), custom.vector_field(0.0, x), rtol=1e-12)


def test_uniform_pool_in_batches_and_dynamic_gains():
    zs = jnp.linspace(0.1, 1.0, 4)[:, None] * jnp.ones((4, 5))
    batch = jax.vmap(lambda z: ORGaNICs(z=z, W_r=0.3 * jnp.ones((5, 5))))(zs)
    pooled = batch.with_uniform_pool()
    state = jnp.linspace(-1.0, 1.0, 10)
    f = eqx.filter_vmap(lambda m: m.vector_field(0.0, state))
    np.testing.assert_allclose(f(pooled), f(batch), rtol=1e-13)

    rng = np.random.default_rng(4)
    n, m = 4, 3
    gains = dict(x=rng.normal(size=m), W_zx=rng.normal(size=(n, m)), W_bx=rng.normal(size=(n, m)),
                 W_b0x=rng.normal(size=(n, m)), W_by=rng.normal(size=(n, n)))  # fmt: skip
    dynamic = ORGaNICsDynamicGains(**gains)
    fast = eqx.tree_at(lambda d: d.circuit, dynamic, dynamic.circuit.with_uniform_pool())
    x = jnp.concatenate([rng.normal(size=n), rng.uniform(0.1, 1, size=n), rng.uniform(0.2, 0.8, size=2 * n)])
    np.testing.assert_allclose(fast.vector_field(0.0, x), dynamic.vector_field(0.0, x), rtol=1e-13)


def test_uniform_pool_needs_a_concrete_uniform_W():
    W = np.ones((3, 3))
    W[0, 2] = 0.5
    with pytest.raises(ValueError, match="W = w 1 1\\^T"):
        ORGaNICs(z=np.ones(3), W=W).with_uniform_pool()
    with pytest.raises(ValueError, match="concrete"):
        jax.jit(lambda w: ORGaNICs(z=jnp.ones(3), W=w).with_uniform_pool().W)(jnp.ones((3, 3)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tau_y=0.0), "tau_y must be > 0"),
        (dict(tau_a=-1e-3), "tau_a must be > 0"),
        (dict(sigma=-0.1), "sigma must be > 0"),
        (dict(b=0.0), "b must be > 0"),
        (dict(b0=np.nan), "b0 must be finite"),
        (dict(W=-np.ones((3, 3))), "W must be >= 0"),
        (dict(W=np.ones((2, 3))), r"W must have shape \(3, 3\)"),
        (dict(W_r=np.ones((3, 2))), r"W_r must have shape \(3, 3\)"),
        (dict(W_r=np.full((3, 3), np.inf)), "W_r must be finite"),
        (dict(z=np.array([1.0, np.nan, 0.0])), "z must be finite"),
        (dict(z=np.ones((3, 1))), "z must be a vector"),
        (dict(tau_y=np.ones(2)), r"tau_y must be a scalar or have shape \(3,\)"),
        (dict(variant="bogus"), "variant must be one of"),
        (dict(p=0.0), "p must be > 0"),
    ],
)
def test_bad_parameters_are_rejected_at_construction(kwargs, match):
    params = dict(z=np.ones(3))
    params.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ORGaNICs(**params)
