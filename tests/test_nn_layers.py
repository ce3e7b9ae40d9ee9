"""ORGaNICs layers (Eqs. 133-134), baselines and the shared classifier interface of ``organics.nn``."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import organics  # noqa: F401  (enables float64)
from organics.fixed_points import algorithm1
from organics.models import ORGaNICs
from organics.nn import layers
from organics.nn.layers import BATCHINGS, CHUNK, ORGaNICsCell, ORGaNICsFixedPoint, ORGaNICsRNN
from organics.nn.models import (
    MODELS,
    RNN_W_R_NOISE,
    SEQUENCE_MODELS,
    build_classifier,
    fixed_point_leading_eigenvalues,
    stability_diagnostics,
)

M, N = 4, 6


def perturbed_layer(seed: int, scale: float = 0.3, **options) -> ORGaNICsFixedPoint:
    """Static layer whose ``W_r`` is moved away from the identity, with non-uniform ``W``."""
    key = jax.random.key(seed)
    layer = ORGaNICsFixedPoint(M, N, key=key, **options)
    k_r, k_w = jax.random.split(jax.random.fold_in(key, 1))
    V_r = layer.V_r + scale * jax.random.normal(k_r, (N, N))
    V = 0.5 + jax.random.uniform(k_w, (N, N))
    return eqx.tree_at(lambda m: (m.V_r, m.V), layer, (V_r, V))


INPUTS = jax.random.normal(jax.random.key(7), (3, M))


@eqx.filter_jit
def solve_batch(layer: ORGaNICsFixedPoint, xs: jax.Array):
    """Fixed points and outputs of a batch (jitted: eager optimistix loops are slow to run)."""
    return jax.vmap(layer.solve)(xs), jax.vmap(layer)(xs)


def test_fixed_point_solves_eq133_and_matches_the_circuit_model():
    layer = perturbed_layer(0, max_iter=60, tol=1e-12)
    solutions, outputs = solve_batch(layer, INPUTS)
    assert bool(jnp.all(solutions.converged))
    for i, x in enumerate(INPUTS):
        y, a = np.asarray(solutions.y[i]), np.asarray(solutions.a[i])
        z, b = (np.asarray(v) for v in layer.drive(x))
        W_r, W, b0, sigma = (np.asarray(v) for v in (layer.W_r, layer.W, layer.b0, layer.sigma))
        # Eq. 133 at rest, written out in NumPy
        np.testing.assert_allclose(y, b * z + (1 - np.sqrt(a)) * (W_r @ y), atol=1e-11)
        np.testing.assert_allclose(a, (b0 * sigma) ** 2 + W @ (y**2 * a), atol=1e-11)
        # the same circuit as a package model: zero residual, and the package's Algorithm 1 agrees
        circuit = ORGaNICs(z=z, W_r=W_r, W=W, b=b, b0=b0, sigma=sigma, tau_y=1.0, tau_a=1.0)
        state = np.concatenate([y, a])
        assert float(jnp.linalg.norm(circuit.residual(jnp.asarray(state)))) < 1e-11 * np.linalg.norm(state)
        if i == 0:
            reference = eqx.filter_jit(algorithm1)(circuit, max_iter=60, tol=1e-13).state
            np.testing.assert_allclose(reference, state, rtol=1e-10)
    expected = np.maximum(np.asarray(solutions.y), 0) ** 2
    np.testing.assert_allclose(outputs, expected, atol=1e-14)


def test_linear_gate_option_solves_its_own_equations_and_reports_nonconvergence():
    layer = perturbed_layer(1, max_iter=80, tol=1e-12, gate="linear", output="potential")
    x = 0.3 * INPUTS[:1]
    solution, output = solve_batch(layer, x)
    assert bool(solution.converged[0])
    y, a = np.asarray(solution.y[0]), np.asarray(solution.a[0])
    z, b = (np.asarray(v) for v in layer.drive(x[0]))
    np.testing.assert_allclose(y, b * z + (1 - a) * (np.asarray(layer.W_r) @ y), atol=1e-11)
    np.testing.assert_allclose(output[0], y, atol=1e-14)
    solution, _ = solve_batch(perturbed_layer(1, max_iter=1, tol=1e-12), x)
    assert not bool(solution.converged[0]) and bool(jnp.all(jnp.isfinite(solution.y)))
    assert int(solution.iterations[0]) == 1 and float(solution.residual[0]) > 1e-12


def test_implicit_gradient_equals_unrolled_gradient():
    weights = jnp.sin(jnp.arange(N) + 1.0)

    def loss(layer):
        return jnp.sum(weights * jax.vmap(layer)(INPUTS[:2]))

    grad = eqx.filter_jit(eqx.filter_grad(loss))
    implicit = grad(perturbed_layer(2, max_iter=80, tol=1e-13, learn_sigma=True))
    unrolled = grad(perturbed_layer(2, max_iter=80, tol=1e-13, learn_sigma=True, gradient="unrolled"))
    leaves_i, leaves_u = jax.tree.leaves(implicit), jax.tree.leaves(unrolled)
    assert len(leaves_i) == 6
    for g_i, g_u in zip(leaves_i, leaves_u):
        scale = float(jnp.max(jnp.abs(g_u)))
        assert scale > 0
        assert float(jnp.max(jnp.abs(g_i - g_u))) <= 1e-6 * scale


# 37 inputs (more than a chunk, not a multiple of it) of very different sizes: 9 to 30 updates
SPREAD = jax.random.normal(jax.random.key(20), (37, M)) * jnp.linspace(0.2, 3.0, 37)[:, None]
WEIGHTS = jnp.sin(jnp.arange(N) + 1.0)


@pytest.mark.parametrize("batching", BATCHINGS)
def test_batched_solve_and_gradient_match_example_by_example(batching):
    layer = perturbed_layer(2, max_iter=30, tol=1e-12, learn_sigma=True, batching=batching)
    batched = eqx.filter_jit(lambda lay, xs: jax.vmap(lay.solve)(xs))(layer, SPREAD)
    single = eqx.filter_jit(lambda lay, xs: jax.lax.map(lay.solve, xs))(layer, SPREAD)  # no batching rule
    iterations = np.asarray(single.iterations)
    assert SPREAD.shape[0] > CHUNK and iterations.min() < 15 and iterations.max() == 30
    assert 0 < int(np.sum(~np.asarray(single.converged))) < 10  # a few examples stop at the cap
    np.testing.assert_array_equal(batched.iterations, iterations)
    np.testing.assert_array_equal(batched.converged, single.converged)
    np.testing.assert_allclose(batched.y, single.y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(batched.a, single.a, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(batched.residual, single.residual, atol=1e-10)  # rounding-level residuals differ
    nested = eqx.filter_jit(lambda lay, xs: jax.vmap(jax.vmap(lay.solve))(xs))(layer, SPREAD[:36].reshape(2, 18, M))
    np.testing.assert_array_equal(nested.iterations.reshape(-1), iterations[:36])
    np.testing.assert_allclose(nested.y.reshape(36, N), single.y[:36], rtol=1e-12, atol=1e-15)

    grads_batched, grads_single = (
        jax.tree.leaves(eqx.filter_jit(eqx.filter_grad(lambda lay: jnp.sum(WEIGHTS * apply(lay, SPREAD))))(layer))
        for apply in (lambda lay, xs: jax.vmap(lay)(xs), lambda lay, xs: jax.lax.map(lay, xs))
    )
    assert len(grads_batched) == 6
    for g_b, g_s in zip(grads_batched, grads_single):
        assert float(jnp.max(jnp.abs(g_s))) > 0
        np.testing.assert_allclose(g_b, g_s, rtol=1e-10, atol=1e-12 * float(jnp.max(jnp.abs(g_s))))


def test_implicit_gradient_matches_finite_differences():
    layer = perturbed_layer(2, max_iter=100, tol=1e-13, learn_sigma=True)
    assert bool(jnp.all(eqx.filter_jit(lambda lay: jax.vmap(lay.solve)(SPREAD).converged)(layer)))
    params, static = eqx.partition(layer, eqx.is_inexact_array)
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(21), len(leaves))
    direction = jax.tree.unflatten(treedef, [jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves)])

    @eqx.filter_jit
    def loss(p):
        return jnp.sum(WEIGHTS * jax.vmap(eqx.combine(p, static))(SPREAD))

    grad = eqx.filter_jit(jax.grad(loss))(params)
    directional = sum(float(jnp.sum(g * d)) for g, d in zip(jax.tree.leaves(grad), jax.tree.leaves(direction)))
    h = 1e-5
    shifted = [jax.tree.map(lambda p, d, t=t: p + t * d, params, direction) for t in (h, -h)]
    central = (float(loss(shifted[0])) - float(loss(shifted[1]))) / (2 * h)
    assert abs(directional) > 1e-3
    assert directional == pytest.approx(central, rel=1e-6)


@pytest.mark.parametrize("gate", ["sqrt", "linear"])
def test_explicit_update_vjp_equals_autodiff(gate):
    # the backward's hand-written transpose of Algorithm 1's update against JAX's vjp of the update itself,
    # with some a <= 0 (the kinks of [a]+ and sqrt([a]+))
    rng = np.random.default_rng(3)
    W_r, W = jnp.asarray(np.eye(N) + 0.4 * rng.normal(size=(N, N))), jnp.asarray(rng.uniform(0.1, 1.0, (N, N)))
    theta = (W_r, W, *(jnp.asarray(rng.uniform(0.5, 1.5, N)) for _ in range(2)), jnp.asarray(rng.normal(size=N)),
             jnp.asarray(rng.uniform(0.0, 1.0, N)))  # fmt: skip
    a = np.r_[rng.uniform(0.1, 2.0, N - 2), -0.3, 0.0]
    state, w = jnp.asarray(np.r_[rng.normal(size=N), a]), jnp.asarray(rng.normal(size=2 * N))
    new, pull = jax.vjp(lambda s, t: layers._algorithm1_update(s, t, gate), state, theta)
    state_bar, theta_bar = pull(w)
    lin = layers._linearize_update(state, theta, gate)
    np.testing.assert_allclose(lin.y, new[:N], rtol=1e-13)
    np.testing.assert_allclose(layers._state_vjp(w, lin, W), state_bar, rtol=1e-12, atol=1e-14)
    for mine, reference in zip(layers._parameter_vjp(w, lin, theta), theta_bar, strict=True):
        assert float(jnp.max(jnp.abs(reference))) > 0
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-14)


def test_line7_solve_pivots_and_differentiates_like_a_plain_solve():
    rng = np.random.default_rng(4)
    matrix = rng.normal(size=(7, 7))
    matrix[0, 0] = 1e-14  # needs a row exchange
    matrix, rhs = jnp.asarray(matrix), jnp.asarray(rng.normal(size=7))
    np.testing.assert_allclose(layers._line7_solve(matrix, rhs), np.linalg.solve(matrix, rhs), rtol=1e-12)
    tangents = (jnp.asarray(rng.normal(size=(7, 7))), jnp.asarray(rng.normal(size=7)))
    _, mine = jax.jvp(layers._line7_solve, (matrix, rhs), tangents)
    _, reference = jax.jvp(jnp.linalg.solve, (matrix, rhs), tangents)
    np.testing.assert_allclose(mine, reference, rtol=1e-11)


@pytest.mark.parametrize("size", [1, 5, CHUNK, 37])
def test_compacted_loop_updates_each_example_until_it_stops(size):
    # x_i <- x_i / d (d shared) until x_i < t_i (t_i per example), at most 9 times: k_i = min(9, ceil(log_d(x_i/t_i)))
    rng = np.random.default_rng(size)
    x0, thresholds, divisor = rng.uniform(1.0, 1e4, size), rng.uniform(0.5, 2.0, size), 3.0
    already = np.arange(size) % 7 == 3  # some examples start finished
    expected_k = np.where(already, 0, np.minimum(9, np.ceil(np.log(x0 / thresholds) / np.log(divisor)))).astype(int)

    def step(x, data):
        t, d = data
        return x / d, x[:, 0] / d < t

    run = jax.jit(lambda x, done, t: layers._compacted_loop(step, x, done, (t, divisor), (True, False), 9))
    x, k, done = run(jnp.asarray(x0)[:, None], jnp.asarray(already), jnp.asarray(thresholds))
    np.testing.assert_array_equal(k, expected_k)
    np.testing.assert_allclose(x[:, 0], x0 / divisor**expected_k, rtol=1e-14)
    np.testing.assert_array_equal(done, already | (x0 / divisor**expected_k < thresholds))


def test_identity_recurrence_start_is_exact_and_W_init_scales_the_pool():
    # W_r = I: y* = b z / sqrt(a*), a* = b0**2 sigma**2 + W (b z)**2 (closed form), so Algorithm 1's start
    # (lines 3-4) is already the fixed point and the implicit loop does no update
    layer = ORGaNICsFixedPoint(M, N, key=jax.random.key(11), W_init=0.25, tol=1e-12)
    solutions, _ = solve_batch(layer, INPUTS)
    assert bool(jnp.all(solutions.converged)) and int(jnp.max(solutions.iterations)) == 0
    np.testing.assert_allclose(np.asarray(layer.W), 0.25)
    for i, x in enumerate(INPUTS):
        z, b = (np.asarray(v) for v in layer.drive(x))
        a = np.asarray(layer.b0 * layer.sigma) ** 2 + 0.25 * np.sum((b * z) ** 2)
        np.testing.assert_allclose(solutions.a[i], a, rtol=1e-13)
        np.testing.assert_allclose(solutions.y[i], b * z / np.sqrt(a), rtol=1e-13)
    classifier = build_classifier("organics-fp", input_size=M, n_classes=3, hidden=N, key=jax.random.key(3))
    np.testing.assert_allclose(np.asarray(classifier.layers[0].W), 1.0 / N)
    with pytest.raises(ValueError, match="W_init"):
        ORGaNICsFixedPoint(M, N, key=jax.random.key(0), W_init=0.0)


def test_fixed_point_classifier_layer_widths():
    # Table 5's cascade of layers of different widths: each layer reads the previous one's rates
    classifier = build_classifier("organics-fp", input_size=M, n_classes=3, hidden=6, key=jax.random.key(3),
                                  widths=[6, 4])  # fmt: skip
    assert [layer.W_r.shape for layer in classifier.layers] == [(6, 6), (4, 4)]
    assert classifier.layers[1].W_zx.shape == (4, 6) and classifier.readout.weight.shape == (3, 4)
    np.testing.assert_allclose(np.asarray(classifier.layers[0].W), 1.0 / 6)  # default W_init: 1 / width
    np.testing.assert_allclose(np.asarray(classifier.layers[1].W), 1.0 / 4)
    x = INPUTS[0]
    rates = classifier.layers[0](x)
    np.testing.assert_allclose(classifier(x), classifier.readout(classifier.layers[1](rates)), rtol=1e-13)
    leading, converged = fixed_point_leading_eigenvalues(classifier, INPUTS)
    assert leading.shape == converged.shape == (2, len(INPUTS)) and np.all(leading < 0)
    same = build_classifier("organics-fp", input_size=M, n_classes=3, hidden=6, key=jax.random.key(3), depth=2)
    assert [layer.W_r.shape for layer in same.layers] == [(6, 6), (6, 6)]
    for bad, match in (([4, 6], "widths\\[0\\] must equal hidden"), ([6, 0], "widths must be"), ([], "widths must be")):
        with pytest.raises(ValueError, match=match):
            build_classifier("organics-fp", input_size=M, n_classes=3, hidden=6, key=jax.random.key(3), widths=bad)
    with pytest.raises(ValueError, match="depth must equal len"):
        build_classifier("organics-fp", input_size=M, n_classes=3, hidden=6, key=jax.random.key(3), depth=3,
                         widths=[6, 4])  # fmt: skip


def test_gradients_finite_at_rectification_kinks():
    # x = 0: z = 0, so y* = 0 exactly (the kink of [y]+**2) in the static layer
    classifier = build_classifier("organics-fp", input_size=M, n_classes=3, hidden=N, key=jax.random.key(3), depth=2)
    grads = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(jnp.zeros(M)) ** 2)))(classifier)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
    assert float(jnp.max(jnp.abs(solve_batch(classifier.layers[0], jnp.zeros((1, M)))[0].y))) == 0.0
    # RNN started at y = a = 0 (kinks of [y]+ and sqrt([a]+)) with a zero input
    rnn = build_classifier("organics-rnn", input_size=2, n_classes=3, hidden=N, key=jax.random.key(4))
    rnn = eqx.tree_at(lambda m: m.rnn.initial_state, rnn, jnp.zeros(4 * N), is_leaf=lambda v: v is None)
    grads = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(jnp.zeros((5, 2))) ** 2)))(rnn)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))


def test_recurrent_weights_have_unit_largest_singular_value():
    for seed in range(3):
        layer = perturbed_layer(seed, scale=2.0)
        singular_values = np.linalg.svd(np.asarray(layer.W_r), compute_uv=False)
        assert singular_values[0] == pytest.approx(1.0, abs=1e-12)
        assert np.all(np.asarray(layer.W) >= 0)
        assert np.all(np.asarray(layer.b0) > 0)


def test_euler_step_is_eq134():
    cell = ORGaNICsCell(3, 5, key=jax.random.key(5))
    rng = np.random.default_rng(0)
    cell = eqx.tree_at(
        lambda c: (c.W_r, c.V, c.p),
        cell,
        (
            jnp.asarray(rng.normal(size=(5, 5))),
            jnp.asarray(rng.normal(size=(5, 5))),
            jnp.asarray(rng.normal(size=(4, 5))),
        ),
    )
    state = rng.normal(size=20)
    x = rng.normal(size=3)
    y, a, b, b0 = np.split(state, 4)
    P = {name: np.asarray(getattr(cell, name)) for name in ("W_zx", "W_bx", "W_by", "W_ba", "W_b0x", "W_b0y", "W_b0a")}
    W_r, W, sigma = np.asarray(cell.W_r), np.abs(np.asarray(cell.V)), np.asarray(cell.sigma)
    k = np.array([0.05, 0.01, 0.1, 0.1])[:, None] / (1 + np.exp(-np.asarray(cell.p)))
    f = lambda u: 1 / (1 + np.exp(-u))  # noqa: E731
    yp, ap = np.maximum(y, 0), np.maximum(a, 0)
    expected = np.concatenate(
        [
            y + k[0] * (-y + b * (P["W_zx"] @ x) + (1 - np.sqrt(ap)) * (W_r @ yp)),
            a + k[1] * (-a + b0**2 * sigma**2 + W @ (yp**2 * ap)),
            b + k[2] * (-b + f(P["W_bx"] @ x + P["W_by"] @ y + P["W_ba"] @ a)),
            b0 + k[3] * (-b0 + f(P["W_b0x"] @ x + P["W_b0y"] @ y + P["W_b0a"] @ a)),
        ]
    )
    np.testing.assert_allclose(
        eqx.filter_jit(cell)(jnp.asarray(state), jnp.asarray(x)), expected, rtol=1e-13, atol=1e-14
    )


@pytest.mark.parametrize("variant", ["rectified", "main", "rectified_recurrence"])
def test_semi_implicit_step_divides_by_the_diagonal_stiffness(variant):
    cell = ORGaNICsCell(2, 5, key=jax.random.key(3), variant=variant, stepper="semi-implicit")
    rng = np.random.default_rng(1)
    cell = eqx.tree_at(lambda c: c.W_r, cell, jnp.asarray(np.eye(5) + 0.3 * rng.normal(size=(5, 5))))
    state, x = jnp.asarray(rng.normal(size=20) + np.r_[0, 0, 0, 0, 0, 2.0 * np.ones(5), np.zeros(10)]), jnp.ones(2)
    # D is max(0, -diag dF/ds), the diagonal of the Jacobian of the brackets by automatic differentiation
    diagonal = np.diagonal(np.asarray(jax.jacfwd(cell.rates)(state, x)))
    np.testing.assert_allclose(cell.stiffness(state), np.maximum(-diagonal, 0.0), rtol=1e-12, atol=1e-14)
    h = np.asarray(cell.dt_over_tau()).reshape(-1)
    expected = state + h * cell.rates(state, x) / (1 + h * np.maximum(-diagonal, 0.0))
    np.testing.assert_allclose(cell(state, x), expected, rtol=1e-12, atol=1e-14)


def test_semi_implicit_step_contracts_a_stiff_neuron_that_euler_blows_up():
    # W_r = I and a = 100: each y decays at rate sqrt(a) = 10; Euler with dt/tau_y = 0.4 multiplies y by
    # 1 - 0.4 * 10 = -3 per step (|y| grows), the semi-implicit step by 1 - 4 / (1 + 4) = 0.2
    n = 3
    kwargs = dict(key=jax.random.key(4), dt_tau_max=(0.8, 1e-9, 1e-9, 1e-9), W_init=1e-12)
    euler, semi = (ORGaNICsCell(1, n, stepper=name, **kwargs) for name in ("euler", "semi-implicit"))
    state = jnp.concatenate([jnp.ones(n), 100.0 * jnp.ones(n), jnp.zeros(2 * n)])
    x = jnp.zeros(1)
    assert float(euler.dt_over_tau()[0, 0]) == pytest.approx(0.4)
    np.testing.assert_allclose(euler(state, x)[:n], -3.0, rtol=1e-6)
    np.testing.assert_allclose(semi(state, x)[:n], 0.2, rtol=1e-6)
    with pytest.raises(ValueError, match="stepper must be one of"):
        ORGaNICsCell(1, n, key=jax.random.key(4), stepper="rk4")


def test_recurrent_bound_caps_the_largest_singular_value_once_per_sequence():
    key, xs = jax.random.key(15), jax.random.normal(jax.random.key(16), (5, 1))
    rnn = ORGaNICsRNN(1, 6, key=key, W_r_noise=3.0, W_r_bound=2.0)
    raw = np.asarray(rnn.cell.W_r)
    assert np.linalg.norm(raw, 2) > 2.0
    capped = np.asarray(rnn.cell.bounded().W_r)
    np.testing.assert_allclose(capped, raw * 2.0 / np.linalg.norm(raw, 2), rtol=1e-12)
    free = ORGaNICsRNN(1, 6, key=key, W_r_noise=3.0)
    manual = eqx.tree_at(lambda r: r.cell.W_r, free, jnp.asarray(capped))
    np.testing.assert_allclose(rnn(xs), manual(xs), rtol=1e-12)
    below = ORGaNICsRNN(1, 6, key=key, W_r_bound=2.0)  # the identity start is below the bound: unchanged
    np.testing.assert_array_equal(np.asarray(below.cell.bounded().W_r), np.eye(6))
    grad = jax.grad(lambda r: jnp.sum(r(xs)))(rnn)
    assert np.all(np.isfinite(np.asarray(grad.cell.W_r)))
    with pytest.raises(ValueError, match="W_r_bound"):
        ORGaNICsRNN(1, 6, key=key, W_r_bound=0.0)


def test_rnn_classifier_reports_an_overflowed_state_as_nan_logits():
    model = build_classifier("organics-rnn", input_size=1, n_classes=3, hidden=4, key=jax.random.key(17))
    xs = jnp.ones((3, 1))
    assert bool(jnp.all(jnp.isfinite(model(xs))))
    # a NaN a (an overflow, inf - inf) is read as 0 by the rectified gate and pool, so one step later y is
    # still finite (the gains see it only a step after): the last steps of an input that overflowed
    start = model.rnn.initial_state.at[4:8].set(jnp.nan)
    broken = eqx.tree_at(lambda m: m.rnn.initial_state, model, start)
    xs = jnp.ones((1, 1))
    y, a, _, _ = broken.rnn.cell.split_state(broken.rnn(xs))
    assert bool(jnp.all(jnp.isfinite(y))) and not bool(jnp.all(jnp.isfinite(a)))
    assert bool(jnp.all(jnp.isnan(broken(xs))))


def test_substeps_hold_each_input_for_several_cell_steps():
    key = jax.random.key(13)
    xs = jax.random.normal(jax.random.key(14), (6, 2))
    rnn = ORGaNICsRNN(2, 4, key=key, substeps=3, dt_tau_max=(0.3, 0.1, 0.3, 0.3))
    state, expected = rnn.start(), []
    for x in xs:
        for _ in range(3):
            state = rnn.cell(state, x)
        expected.append(state)
    final, states = rnn(xs, trajectory=True)
    np.testing.assert_allclose(states, np.stack(expected), rtol=1e-12)
    np.testing.assert_allclose(final, expected[-1], rtol=1e-12)
    with pytest.raises(ValueError, match="substeps must be an integer >= 1"):
        ORGaNICsRNN(2, 4, key=key, substeps=0)


def test_time_constants_are_bounded_and_validated():
    cell = ORGaNICsCell(1, 4, key=jax.random.key(6), dt_tau_max=(0.5, 1.0, 0.2, 0.1))
    extreme = jnp.array([[-1e3, -5.0, 0.0, 1e3]] * 4)
    ratios = np.asarray(eqx.tree_at(lambda c: c.p, cell, extreme).dt_over_tau())
    bounds = np.array([0.5, 1.0, 0.2, 0.1])[:, None]
    assert np.all(ratios >= 0) and np.all(ratios <= bounds) and np.all(ratios <= 1.0)
    np.testing.assert_allclose(ratios[:, 2], bounds[:, 0] / 2)
    frozen = ORGaNICsCell(1, 4, key=jax.random.key(6), learn_time_constants=False)
    grad = jax.grad(lambda p: jnp.sum(eqx.tree_at(lambda c: c.p, frozen, p).dt_over_tau()))(frozen.p)
    assert float(jnp.max(jnp.abs(grad))) == 0.0
    for bad in [(0.05, 0.01, 0.1), (0.05, 0.0, 0.1, 0.1), (1.5, 0.01, 0.1, 0.1)]:
        with pytest.raises(ValueError, match="dt_tau_max"):
            ORGaNICsCell(1, 4, key=jax.random.key(6), dt_tau_max=bad)


def test_time_constant_spread_is_seeded_and_bounded():
    key = jax.random.key(11)
    plain = ORGaNICsCell(1, 50, key=key, p_init=(1.0, -1.0, 0.0, 2.0))
    np.testing.assert_array_equal(np.asarray(plain.p), np.repeat([[1.0], [-1.0], [0.0], [2.0]], 50, axis=1))
    spread = ORGaNICsCell(1, 50, key=key, p_init=(1.0, -1.0, 0.0, 2.0), p_spread=3.0)
    offsets = np.asarray(spread.p) - np.asarray(plain.p)
    assert np.all(np.abs(offsets) <= 3.0) and np.ptp(offsets, axis=1).min() > 3.0  # 50 draws cover U(-3, 3)
    np.testing.assert_array_equal(np.asarray(spread.W_zx), np.asarray(plain.W_zx))  # other draws unchanged
    again = ORGaNICsCell(1, 50, key=key, p_init=(1.0, -1.0, 0.0, 2.0), p_spread=3.0)
    np.testing.assert_array_equal(np.asarray(again.p), np.asarray(spread.p))
    with pytest.raises(ValueError, match="p_spread"):
        ORGaNICsCell(1, 4, key=key, p_spread=-1.0)


def test_recurrent_noise_perturbs_the_identity_only():
    key, n = jax.random.key(12), 200
    plain = ORGaNICsCell(1, n, key=key)
    np.testing.assert_array_equal(np.asarray(plain.W_r), np.eye(n))  # Table 7
    noisy = ORGaNICsCell(1, n, key=key, W_r_noise=0.5)
    deviation = np.asarray(noisy.W_r) - np.eye(n)
    assert abs(deviation.mean()) < 3 * 0.5 / n  # N(0, 0.25/n) entries: mean 0 within 3 standard errors
    np.testing.assert_allclose(deviation.std() * np.sqrt(n), 0.5, rtol=0.02)
    np.testing.assert_array_equal(np.asarray(noisy.W_bx), np.asarray(plain.W_bx))
    np.testing.assert_array_equal(np.asarray(noisy.p), np.asarray(plain.p))
    with pytest.raises(ValueError, match="W_r_noise"):
        ORGaNICsCell(1, 4, key=key, W_r_noise=-0.1)
    model = build_classifier("organics-rnn", input_size=1, n_classes=2, hidden=n, key=key)
    default = np.asarray(model.rnn.cell.W_r) - np.eye(n)
    np.testing.assert_allclose(default.std() * np.sqrt(n), RNN_W_R_NOISE, rtol=0.02)


def test_rnn_stays_bounded_with_expansive_recurrence():
    n, steps = 16, 1000
    key_rnn, key_w, key_x = jax.random.split(jax.random.key(8), 3)
    rnn = ORGaNICsRNN(1, n, key=key_rnn)  # the paper's bounds: dt/tau_y <= 0.05, dt/tau_a <= 0.01
    W_r = 3.0 * jax.random.normal(key_w, (n, n)) / np.sqrt(n)
    radius = float(np.max(np.abs(np.linalg.eigvals(np.asarray(W_r)))))
    assert radius > 2.0
    rnn = eqx.tree_at(lambda r: r.cell.W_r, rnn, W_r)
    xs = 3.0 * jax.random.normal(key_x, (4, steps, 1))
    _, states = eqx.filter_jit(lambda r, s: jax.vmap(lambda xi: r(xi, trajectory=True))(s))(rnn, xs)
    states = np.asarray(states)
    assert np.all(np.isfinite(states))
    y, a, b, b0 = np.split(states, 4, axis=-1)
    assert np.max(np.abs(y)) < 10 and np.max(np.abs(a)) < 10
    assert np.all((b > 0) & (b < 1) & (b0 > 0) & (b0 < 1))
    # the same recurrence without the normalization gate explodes: rho(I + (dt/tau_y) (W_r - I)) > 1
    dt_tau_y = float(rnn.cell.dt_over_tau()[0, 0])
    assert np.max(np.abs(np.linalg.eigvals(np.eye(n) + dt_tau_y * (np.asarray(W_r) - np.eye(n))))) > 1.02


@pytest.mark.parametrize("name", MODELS)
def test_build_classifier_shapes_and_diagnostics(name):
    model = build_classifier(name, input_size=2, n_classes=3, hidden=5, key=jax.random.key(9))
    shape = (4, 7, 2) if name in SEQUENCE_MODELS else (4, 2)
    x = jax.random.normal(jax.random.key(10), shape)
    logits = eqx.filter_jit(jax.vmap(model))(x)
    assert logits.shape == (4, 3) and bool(jnp.all(jnp.isfinite(logits)))
    diagnostics = stability_diagnostics(model, x)
    assert all(isinstance(v, float) for v in diagnostics.values())
    assert diagnostics["all_finite" if name != "organics-fp" else "converged_fraction"] == 1.0
    if name == "organics-fp":
        assert diagnostics["leading_eigenvalue"] < 0  # stable fixed points (Section 6.1)
    if name == "organics-rnn":
        assert diagnostics["step_spectral_radius"] < 1.5 and diagnostics["max_abs_y"] > 0


def test_bad_input_is_rejected():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="name must be one of"):
        build_classifier("transformer", input_size=1, n_classes=2, hidden=4, key=key)
    with pytest.raises(ValueError, match="hidden must be an integer >= 1"):
        build_classifier("lstm", input_size=1, n_classes=2, hidden=0, key=key)
    with pytest.raises(ValueError, match="unknown option"):
        build_classifier("mlp", input_size=1, n_classes=2, hidden=4, key=key, gate="sqrt")
    with pytest.raises(ValueError, match="gate must be one of"):
        build_classifier("organics-fp", input_size=1, n_classes=2, hidden=4, key=key, gate="cube")
    with pytest.raises(ValueError, match="batching must be one of"):
        build_classifier("organics-fp", input_size=1, n_classes=2, hidden=4, key=key, batching="loop")
    with pytest.raises(ValueError, match="readout must be one of"):
        build_classifier("organics-rnn", input_size=1, n_classes=2, hidden=4, key=key, readout="logit")
    with pytest.raises(ValueError, match="variant must be one of"):
        build_classifier("organics-rnn", input_size=1, n_classes=2, hidden=4, key=key, variant="spiking")
    with pytest.raises(ValueError, match="model must be a classifier"):
        stability_diagnostics(eqx.nn.Linear(2, 2, key=key), jnp.zeros((1, 2)))


def test_matched_mlp_width_gives_the_closest_parameter_count():
    from organics.nn.models import matched_mlp_width, parameter_count

    key = jax.random.key(0)
    width = matched_mlp_width("organics-fp", input_size=40, n_classes=10, hidden=80)
    target = parameter_count(build_classifier("organics-fp", input_size=40, n_classes=10, hidden=80, key=key))
    counts = {h: parameter_count(build_classifier("mlp", input_size=40, n_classes=10, hidden=h, key=key))
              for h in (width - 1, width, width + 1)}  # fmt: skip
    assert counts[width] == 51 * width + 10  # (40 + 1) h + 10 (h + 1)
    assert abs(counts[width] - target) == min(abs(c - target) for c in counts.values())


def test_lstm_forget_gate_bias_initialization():
    """The forget-gate rows of the LSTM bias start at ``forget_bias`` (default 1); the other gates, the weights
    and the GRU keep Equinox's draw; ``forget_bias=None`` is Equinox's cell unchanged."""
    hidden, key = 6, jax.random.key(4)
    default = build_classifier("lstm", input_size=2, n_classes=3, hidden=hidden, key=key)
    plain = build_classifier("lstm", input_size=2, n_classes=3, hidden=hidden, key=key, forget_bias=None)
    shifted = build_classifier("lstm", input_size=2, n_classes=3, hidden=hidden, key=key, forget_bias=2.5)
    forget = slice(hidden, 2 * hidden)
    np.testing.assert_array_equal(np.asarray(default.cell.bias[forget]), 1.0)
    np.testing.assert_array_equal(np.asarray(shifted.cell.bias[forget]), 2.5)
    bound = 1.0 / np.sqrt(hidden)
    assert np.all(np.abs(np.asarray(plain.cell.bias[forget])) <= bound)
    others = np.r_[0:hidden, 2 * hidden : 4 * hidden]
    np.testing.assert_array_equal(np.asarray(default.cell.bias[others]), np.asarray(plain.cell.bias[others]))
    np.testing.assert_array_equal(np.asarray(default.cell.weight_hh), np.asarray(plain.cell.weight_hh))
    # zero input, h_0 = 0, c_0 = 1: the first step gives c_1 = sigmoid(b_f) + sigmoid(b_i) tanh(b_g)
    h, c = default.cell(jnp.zeros(2), (jnp.zeros(hidden), jnp.ones(hidden)))
    i, f, g, o = np.split(np.asarray(default.cell.bias), 4)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(np.asarray(c), sig(f) * 1.0 + sig(i) * np.tanh(g), rtol=1e-12)
    with pytest.raises(ValueError, match="forget_bias must be a finite number"):
        build_classifier("lstm", input_size=2, n_classes=3, hidden=hidden, key=key, forget_bias=float("nan"))
    with pytest.raises(ValueError, match="unknown option"):
        build_classifier("gru", input_size=2, n_classes=3, hidden=hidden, key=key, forget_bias=1.0)
