"""Fixed points: normalization point, first-order correction, Algorithms 1/2, Newton, simulation.

Random circuits are built with NumPy from fixed seeds, stacked into one batched model and
solved with a single ``eqx.filter_jit(eqx.filter_vmap(...))`` call per method (compiled once per
module through the cached solvers below).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import organics  # noqa: F401  (enables float64)
from organics.fixed_points import (
    algorithm1,
    algorithm2,
    first_order_fixed_point,
    iterative_fixed_point,
    newton_fixed_point,
    normalization_fixed_point,
    residual_norm,
    simulate_to_steady_state,
)
from organics.connectivity import random_circuit
from organics.models import ORGaNICs, ORGaNICsDynamicGains
from organics.stability import jacobian

# ----------------------------------------------------------------------------- random circuits


def stack(models):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *models)


@functools.cache
def batched(name: str):
    """One compiled, vmapped solver per name (shared by all tests of this module)."""
    solvers = {
        "algorithm1": algorithm1,
        "algorithm2": algorithm2,
        "newton": newton_fixed_point,
        "simulate": lambda m: simulate_to_steady_state(m, tol=1e-11),
        "simulate_from": lambda m, x0: simulate_to_steady_state(m, x0, tol=1e-11),
        "max_real": lambda m, x: jnp.max(jnp.real(jnp.linalg.eigvals(jacobian(m, x)))),
    }
    return eqx.filter_jit(eqx.filter_vmap(solvers[name]))


# ----------------------------------------------------------------------------- normalization point


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    variant=st.sampled_from(["main", "rectified", "rectified_recurrence"]),
    p=st.sampled_from([2.0, 1.5, 3.0]),
)
def test_normalization_point_zeroes_vector_field_for_identity_recurrence(seed, n, variant, p):
    rng = np.random.default_rng(seed)
    model = ORGaNICs(
        z=rng.uniform(-2.0, 2.0, n),  # either sign
        W_r=np.eye(n),
        W=rng.uniform(0.0, 2.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.7),
        b=rng.uniform(0.05, 2.0, n),
        b0=rng.uniform(0.05, 2.0, n),
        sigma=rng.uniform(0.01, 2.0, n),
        tau_y=rng.uniform(1e-3, 5e-2, n),
        tau_a=rng.uniform(1e-3, 5e-2, n),
        p=p,
        variant=variant,
    )
    fixed = normalization_fixed_point(model)
    y, a = model.split_state(fixed.state)
    scale = max(1.0, float(jnp.linalg.norm(fixed.state)))
    assert np.all(np.asarray(a) > 0)
    assert float(fixed.residual) < 1e-12 * scale
    assert bool(fixed.converged)
    # the residual is the norm of tau * f, recomputed here independently of FixedPoint
    assert float(jnp.linalg.norm(model.time_constants() * model.vector_field(0.0, fixed.state))) < 1e-12 * scale


# ----------------------------------------------------------------------------- first order


def _small_recurrence_model(rng, n, delta, G, **kw):
    z = rng.standard_normal(n)
    z *= 0.6 / np.linalg.norm(z)
    return ORGaNICs(z=z, W_r=np.eye(n) + delta * G, **kw)


def test_first_order_matches_closed_form_of_research_code():
    """x1 = -J0^-1 f(x0) equals the closed form (research_code_spec section 1) for W = ones."""
    rng = np.random.default_rng(0)
    n = 7
    z = rng.standard_normal(n)
    z *= 0.6 / np.linalg.norm(z)
    b, b0, sigma = 0.7, 0.5, 0.3
    K = 0.1 * rng.standard_normal((n, n)) / np.sqrt(n)
    model = ORGaNICs(
        z=z, W_r=np.eye(n) + K, b=b, b0=b0, sigma=sigma,
        tau_y=rng.uniform(1e-3, 1e-2, n), tau_a=rng.uniform(1e-3, 1e-2, n),
    )
    # independent closed-form reference
    W = np.ones((n, n))
    a0 = sigma**2 * b0**2 + W @ (b * z) ** 2
    y0 = b * z / np.sqrt(a0)
    D = np.diag
    y1 = (D(1 / np.sqrt(a0) - 1) - D(y0 / a0) @ W @ D(b * z * (1 - np.sqrt(a0)))) @ K @ y0
    a1 = W @ D(2 * b * z * (1 - np.sqrt(a0))) @ K @ y0

    first = first_order_fixed_point(model)
    expected = np.concatenate([y0 + y1, a0 + a1])
    np.testing.assert_allclose(np.asarray(first.state), expected, rtol=0, atol=1e-10)
    assert np.abs(y1).max() > 1e-3  # the correction is not trivially zero
    assert int(first.iterations) == 0


@pytest.mark.parametrize("variant", ["main", "rectified", "rectified_recurrence"])
def test_first_order_correction_equals_dense_solve(variant):
    """The n-dimensional elimination behind first_order_fixed_point gives the dense 2n-dimensional x1."""
    rng = np.random.default_rng(4)
    n = 6
    model = _small_recurrence_model(rng, n, 0.3, rng.standard_normal((n, n)) / np.sqrt(n), variant=variant,
                                    W=rng.uniform(0.2, 1.0, (n, n)), tau_y=rng.uniform(1e-3, 5e-3, n))  # fmt: skip
    x0 = np.asarray(normalization_fixed_point(model).state)
    J0 = np.asarray(jacobian(eqx.tree_at(lambda m: m.W_r, model, jnp.eye(n)), jnp.asarray(x0)))
    x1 = -np.linalg.solve(J0, np.asarray(model.vector_field(0.0, jnp.asarray(x0))))
    assert np.abs(x1).max() > 1e-3
    np.testing.assert_allclose(np.asarray(first_order_fixed_point(model).state), x0 + x1, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "kw",
    [dict(), dict(p=3.0), dict(variant="rectified", sigma=0.2), dict(b=0.5, b0=0.8, W=None)],
    ids=["main", "p3", "rectified", "gains"],
)
def test_first_order_residual_is_second_order(kw):
    """Halving K roughly quarters the residual of x0 + x1 (and only halves that of x0)."""
    rng = np.random.default_rng(1)
    n = 6
    G = rng.standard_normal((n, n)) / np.sqrt(n)
    kw = dict(kw)
    if "W" in kw:
        kw["W"] = rng.uniform(0.0, 1.0, (n, n))
    residuals, zeroth = [], []
    for delta in (0.08, 0.04, 0.02):
        model = _small_recurrence_model(np.random.default_rng(2), n, delta, G, **kw)
        if kw.get("variant") == "rectified":
            model = eqx.tree_at(lambda m: m.z, model, jnp.abs(model.z))  # stay off the kink
        residuals.append(float(first_order_fixed_point(model).residual))
        zeroth.append(float(normalization_fixed_point(model).residual))
    for big, small in zip(residuals, residuals[1:]):
        assert 3.2 < big / small < 4.8
    for big, small in zip(zeroth, zeroth[1:]):
        assert 1.7 < big / small < 2.3
    assert residuals[-1] < 0.1 * zeroth[-1]


# ----------------------------------------------------------------------------- Fig. 4


def test_fig4_algorithm1_matches_simulation():
    """Fig. 4: 20-dimensional circuits (n = 10), sigma_max(W_r) = 1, ||z|| < 1, random
    parameters: Algorithm 1 after <= 10 iterations is within 1e-6 of the fixed point found by
    simulation from a random initial condition in >= 99 % of 256 draws.

    Parameter ranges are those of :func:`random_circuit` (the paper does not give them). With a
    row-normalized pool W the claim holds in every draw; with stronger pools it degrades
    (W entries U(0, 1) unnormalized: about 98.5 %, W all ones: about 90 % within 1e-6 after
    10 iterations), because the iteration contracts more slowly when the pool saturates.
    """
    rng = np.random.default_rng(2024)
    draws, n = 256, 10
    batch = stack([random_circuit(rng, n) for _ in range(draws)])
    x0 = np.concatenate([rng.uniform(-1.0, 1.0, (draws, n)), rng.uniform(0.0, 1.0, (draws, n))], axis=1)
    truth = batched("simulate_from")(batch, jnp.asarray(x0))
    approx = batched("algorithm1")(batch)

    assert float(jnp.mean(truth.converged)) > 0.99
    assert int(jnp.max(approx.iterations)) <= 10
    error = np.linalg.norm(np.asarray(approx.state - truth.state), axis=1)
    ok = np.asarray(truth.converged)
    fraction = float(np.mean(error[ok] < 1e-6))
    assert fraction >= 0.99, f"only {fraction:.3f} within 1e-6 (mean error {error[ok].mean():.2e})"


# ----------------------------------------------------------------------------- agreement


@functools.cache
def agreement(recurrence: str, count: int = 96, n: int = 10):
    """A batch of random circuits and the Algorithm-2, Newton and simulation results."""
    rng = np.random.default_rng({"svd1": 11, "perturbed": 12}[recurrence])
    models = [random_circuit(rng, n, recurrence) for _ in range(count)]
    batch = stack(models)
    results = {name: batched(name)(batch) for name in ("algorithm2", "newton", "simulate")}
    return models, batch, results


def test_newton_algorithm2_and_simulation_agree_for_unit_singular_value():
    _, _, r = agreement("svd1")
    both = r["algorithm2"].converged & r["newton"].converged & r["simulate"].converged
    assert float(jnp.mean(both)) >= 0.95
    ref = r["newton"].state[both]
    assert float(jnp.max(jnp.abs(r["algorithm2"].state[both] - ref))) < 1e-8
    assert float(jnp.max(jnp.abs(r["simulate"].state[both] - ref))) < 1e-8
    assert float(jnp.max(r["newton"].residual)) < 1e-10


def test_agreement_beyond_unit_singular_value_at_stable_fixed_points():
    """rho(W_r) ~ 1.3: Algorithm 2 and Newton may converge to an *unstable* fixed point (the
    paper notes Algorithm 2 is meant for sigma_max(W_r) <= 1); wherever they converge to a
    linearly stable one, it is the point simulation reaches."""
    _, batch, r = agreement("perturbed")
    sim = r["simulate"]
    assert float(jnp.mean(sim.converged)) >= 0.8
    checked = 0
    for name in ("algorithm2", "newton"):
        both = np.asarray(r[name].converged & sim.converged)
        stable = np.asarray(batched("max_real")(batch, r[name].state)) < 0
        use = both & stable
        checked += int(use.sum())
        assert float(np.max(np.abs(np.asarray(r[name].state - sim.state))[use])) < 1e-8
    assert float(jnp.mean(r["newton"].converged)) >= 0.5
    assert checked >= 50


def test_newton_and_simulation_for_dynamic_gains():
    rng = np.random.default_rng(5)
    n, m = 4, 3
    model = ORGaNICsDynamicGains(
        x=rng.uniform(0.0, 1.0, m) / np.sqrt(m),
        W_zx=rng.standard_normal((n, m)) / np.sqrt(m),
        W_bx=rng.standard_normal((n, m)),
        W_b0x=rng.standard_normal((n, m)),
        W_by=0.3 * rng.standard_normal((n, n)),
        W_b0a=0.3 * rng.standard_normal((n, n)),
        W_r=(G := rng.standard_normal((n, n))) / np.linalg.norm(G, 2),
        W=rng.uniform(0.0, 1.0, (n, n)) / n,
    )
    newton = eqx.filter_jit(newton_fixed_point)(model)
    simulated = eqx.filter_jit(lambda mdl: simulate_to_steady_state(mdl, tol=1e-11))(model)
    assert bool(newton.converged) and bool(simulated.converged)
    assert newton.state.shape == (4 * n,)
    assert float(jnp.max(jnp.abs(newton.state - simulated.state))) < 1e-8


# ----------------------------------------------------------------------------- failures


@pytest.mark.parametrize("variant", ["rectified", "rectified_recurrence"])
def test_algorithms_reject_rectified_variants(variant):
    model = ORGaNICs(z=jnp.array([0.3, 0.2]), variant=variant)
    for solver in (algorithm1, algorithm2, functools.partial(iterative_fixed_point, init="algorithm1")):
        with pytest.raises(ValueError, match=variant):
            solver(model)
    if variant == "rectified":  # the general solvers do handle them
        assert bool(newton_fixed_point(model, max_steps=20).converged)


def test_algorithms_reject_custom_a_plus_and_bad_init():
    model = ORGaNICs(z=jnp.array([0.3, 0.2]), a_plus=lambda a: jnp.sqrt(jnp.abs(a)))
    with pytest.raises(ValueError, match="a_plus"):
        algorithm1(model)
    with pytest.raises(ValueError, match="init"):
        iterative_fixed_point(ORGaNICs(z=jnp.array([0.3])), init="algorithm3")


def test_divergent_and_degenerate_cases_report_failure_without_raising():
    """A saturated pool (W ~ U(0, 10), sigma b0 = 1e-3): Algorithm 1 diverges (residual ~1e8),
    Newton and simulation find no fixed point either; W_r = 0 gives Algorithm 2 a 0/0 start."""
    rng = np.random.default_rng(42)
    n = 4
    G = rng.standard_normal((n, n))
    divergent = ORGaNICs(z=rng.uniform(0.5, 1.0, n) / np.sqrt(n), W_r=G / np.linalg.norm(G, 2),
                         W=rng.uniform(0.0, 10.0, (n, n)), sigma=0.01, b0=0.1)
    zero_recurrence = ORGaNICs(z=rng.uniform(0.1, 0.5, n), W_r=np.zeros((n, n)))  # lambda_m = 0
    degenerate = algorithm2(zero_recurrence)
    assert not bool(degenerate.converged)
    assert int(degenerate.iterations) == 0
    assert not np.all(np.isfinite(np.asarray(degenerate.state)))
    diverged = algorithm1(divergent, max_iter=50)
    assert int(diverged.iterations) == 50 and float(diverged.residual) > 1.0
    x0 = normalization_fixed_point(divergent).state
    results = [
        diverged,
        newton_fixed_point(divergent, x0, max_steps=50),
        newton_fixed_point(divergent, jnp.full(2 * n, jnp.nan)),
        simulate_to_steady_state(divergent, x0, max_steps=500),
    ]
    for result in results:
        assert not bool(result.converged)
        assert result.state.shape == (2 * n,)


# ----------------------------------------------------------------------------- batching


def test_vmapped_results_equal_per_circuit_results():
    """Batch-size independence: circuit i of the vmapped batch gives the single-circuit answer."""
    models, _, together = agreement("svd1")
    single = {
        "first_order": eqx.filter_jit(first_order_fixed_point),
        "algorithm2": eqx.filter_jit(algorithm2),
        "newton": eqx.filter_jit(newton_fixed_point),
        "simulate": eqx.filter_jit(lambda m: simulate_to_steady_state(m, tol=1e-11)),
    }
    together = dict(together, first_order=eqx.filter_jit(eqx.filter_vmap(first_order_fixed_point))(stack(models)))
    for name, solve in single.items():
        for i in (0, 37, 95):
            alone = solve(models[i])
            np.testing.assert_allclose(
                np.asarray(together[name].state[i]), np.asarray(alone.state), rtol=1e-10, atol=1e-12
            )
            assert bool(together[name].converged[i]) == bool(alone.converged)
            # The adaptive integrator's accepted-step count may differ by one: the batched and the single-circuit
            # kernels round differently and the stopping event can fall one step later (seen with jaxlib 0.9.2).
            slack = 1 if name == "simulate" else 0
            assert abs(int(together[name].iterations[i]) - int(alone.iterations)) <= slack, (name, i)


def test_algorithm1_and_algorithm2_are_the_same_iteration():
    """For lambda_m = 1 (W_r = I + antisymmetric part) the two initializations coincide."""
    rng = np.random.default_rng(9)
    n = 5
    A = rng.standard_normal((n, n))
    model = ORGaNICs(z=rng.uniform(0.1, 0.3, n), W_r=np.eye(n) + 0.1 * (A - A.T))
    one, two = algorithm1(model, max_iter=3, tol=0.0), algorithm2(model, max_iter=3, tol=0.0)
    np.testing.assert_allclose(np.asarray(one.state), np.asarray(two.state), rtol=1e-12, atol=1e-14)
    assert int(one.iterations) == int(two.iterations) == 3
    # a given lambda_m replaces the eigendecomposition: lambda_m = 1 is Algorithm 1 exactly
    given = algorithm2(model, max_iter=3, tol=0.0, lambda_m=1.0)
    np.testing.assert_array_equal(np.asarray(given.state), np.asarray(one.state))
    shifted = algorithm2(model, max_iter=0, lambda_m=0.5)
    assert float(jnp.max(jnp.abs(shifted.state - algorithm1(model, max_iter=0).state))) > 1e-3
    # and more iterations reduce the residual
    assert float(algorithm1(model, max_iter=8).residual) < float(one.residual)
    assert float(residual_norm(model, algorithm1(model).state)) < 1e-9
