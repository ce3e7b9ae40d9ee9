"""Tests of organics.stability: Jacobians, spectra, quadratic form, certificates, energies.

Every JAX computation that is repeated goes through a jitted helper, and most tests share the
circuit size n = 6, so that the file compiles few graphs (compile time dominates on CPU).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import organics  # noqa: F401  (float64)
from organics._safe import sqrt_relu
from organics.fixed_points import normalization_fixed_point
from organics.models import ORGaNICs
from organics.stability import (
    LDSResult,
    SpectrumSummary,
    companion_matrix,
    eigenvalues,
    energy,
    has_uniform_pool,
    energy_2d,
    jacobian,
    jacobian_closed_form,
    lyapunov_diagonal_stability,
    quadratic_eigenvalue_form,
    spectrum_summary,
    splitting_certificate,
    splitting_matrix,
    stability_report,
    uniform_pool_eigenvalues,
    uniform_pool_solve,
)

VARIANTS = ("main", "rectified", "rectified_recurrence")
N = 6  # the common circuit size


def matched_error(computed, reference) -> float:
    """Largest distance between two spectra after optimal one-to-one matching, relative to max |lambda|.

    (A sorted comparison that is robust to ties in the real part of conjugate pairs.)
    """
    computed, reference = np.asarray(computed), np.asarray(reference)
    cost = np.abs(computed[:, None] - reference[None, :])
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max() / np.abs(reference).max())


def random_circuit(rng, n=N, *, variant="main", p=2.0, W_r=None, W=None, z=None) -> ORGaNICs:
    return ORGaNICs(
        z=rng.normal(size=n) if z is None else z,
        W_r=W_r,
        W=rng.uniform(0.0, 1.5, size=(n, n)) if W is None else W,
        b=10 ** rng.uniform(-0.5, 0.5, n),
        b0=10 ** rng.uniform(-0.5, 0.5, n),
        sigma=10 ** rng.uniform(-1, 0, n),
        tau_y=10 ** rng.uniform(-3, -1, n),
        tau_a=10 ** rng.uniform(-3, -1, n),
        p=p,
        variant=variant,
    )


def _eig(matrix) -> np.ndarray:
    return np.linalg.eigvals(np.asarray(matrix))


# Jitted helpers (one compilation per model structure and size, shared by the tests).
_fixed_point = eqx.filter_jit(normalization_fixed_point)
_splitting_certificate = eqx.filter_jit(splitting_certificate)
_splitting_matrix = eqx.filter_jit(splitting_matrix)
_quadratic_eigenvalue_form = eqx.filter_jit(quadratic_eigenvalue_form)
_stability_report = eqx.filter_jit(stability_report)


@eqx.filter_jit
def _jacobians(model, states):
    closed = jax.vmap(lambda x: jacobian_closed_form(model, x))(states)
    auto = jax.vmap(jax.jacfwd(lambda x: model.vector_field(0.0, x)))(states)
    return closed, auto


@eqx.filter_jit
def _companion_and_jacobian(model, state):
    B, K = quadratic_eigenvalue_form(model, state)
    return companion_matrix(B, K), jacobian(model, state)


# ----------------------------------------------------------------------------- closed-form Jacobian


def _states_with_kinks(rng, n):
    """Random states (y of both signs, a < 0 and a > 0) plus states on every kink."""
    states = rng.normal(scale=2.0, size=(8, 2 * n))
    states[:4, n] = -np.abs(states[:4, n])
    states[4:, n] = np.abs(states[4:, n])
    kinks = np.zeros((4, 2 * n))  # row 0: y = 0, a = 0 and W_r y = 0
    kinks[1, n:] = rng.uniform(0.1, 1.0, n)  # y = 0, a > 0
    kinks[2, :n] = rng.normal(size=n)  # a = 0
    kinks[3] = rng.normal(size=2 * n)
    kinks[3, ::3] = 0.0  # mixed zeros in y and a
    return jnp.asarray(np.concatenate([states, kinks]))


@pytest.mark.parametrize("p", [2.0, 1.5, 3.0])
@pytest.mark.parametrize("variant", VARIANTS)
def test_closed_form_jacobian_matches_autodiff(variant, p):
    """Analytic == autodiff Jacobian (1e-10) for random W_r, random states and states at the kinks
    (y = 0, a = 0, W_r y = 0), where both must be finite."""
    rng = np.random.default_rng(100 * VARIANTS.index(variant) + int(10 * p))
    for _ in range(3):
        model = random_circuit(rng, variant=variant, p=p, W_r=rng.normal(scale=1.5, size=(N, N)))
        closed, auto = _jacobians(model, _states_with_kinks(rng, N))
        assert bool(jnp.all(jnp.isfinite(closed))) and bool(jnp.all(jnp.isfinite(auto)))
        np.testing.assert_allclose(closed, auto, rtol=1e-10, atol=1e-10 * float(jnp.max(jnp.abs(auto))))


def test_closed_form_jacobian_single_neuron():
    rng = np.random.default_rng(5)
    for variant in VARIANTS:
        model = random_circuit(rng, 1, variant=variant, W_r=[[1.7]])
        closed, auto = _jacobians(model, _states_with_kinks(rng, 1))
        np.testing.assert_allclose(closed, auto, rtol=1e-10, atol=1e-10 * float(jnp.max(jnp.abs(auto))))


@pytest.mark.parametrize("variant,p", [("main", 2.0), ("main", 0.8), ("rectified", 2.0), ("rectified_recurrence", 1.5)])
def test_gradients_through_closed_form_jacobian_are_finite_at_kinks(variant, p):
    rng = np.random.default_rng(9)
    model = random_circuit(rng, variant=variant, p=p, W_r=rng.normal(size=(N, N)))
    grads = eqx.filter_jit(jax.vmap(jax.grad(lambda x: jnp.sum(jacobian_closed_form(model, x) ** 2))))(
        _states_with_kinks(rng, N)
    )
    assert bool(jnp.all(jnp.isfinite(grads)))


def test_closed_form_jacobian_is_eq6_at_fixed_point():
    """Main model, W_r = I, at Eq. 4: the blocks of Eq. 6."""
    rng = np.random.default_rng(3)
    model = random_circuit(rng)
    state = _fixed_point(model).state
    y, a = (np.asarray(v) for v in model.split_state(state))
    ty, ta, W = np.asarray(model.tau_y), np.asarray(model.tau_a), np.asarray(model.W)
    eq6 = np.block(
        [
            [-np.diag(np.sqrt(a) / ty), -np.diag(y / (2 * np.sqrt(a) * ty))],
            [np.diag(2 / ta) @ W @ np.diag(a * y), np.diag(1 / ta) @ (-np.eye(N) + W @ np.diag(y**2))],
        ]
    )
    closed, _ = _jacobians(model, state[None])
    np.testing.assert_allclose(closed[0], eq6, rtol=1e-12, atol=1e-12 * np.abs(eq6).max())


def test_closed_form_jacobian_rejects_custom_a_plus():
    model = ORGaNICs(z=jnp.ones(2), a_plus=lambda a: jnp.tanh(a))
    with pytest.raises(ValueError, match="a_plus"):
        jacobian_closed_form(model, jnp.ones(4))


# ----------------------------------------------------------------------------- spectrum summary


@pytest.mark.parametrize("n", [1, 2, 7])
@pytest.mark.parametrize("p", [2.0, 1.5])
@pytest.mark.parametrize("variant", VARIANTS)
def test_uniform_pool_spectrum_equals_dense_spectrum(variant, p, n):
    """The (n+1)-dimensional reduction gives the dense 2n x 2n spectrum at any state, for W = w 1 1^T."""
    rng = np.random.default_rng(11)
    model = random_circuit(rng, n, variant=variant, p=p, W_r=np.eye(n) + 0.8 * rng.normal(size=(n, n)),
                           W=np.full((n, n), 0.7))  # fmt: skip
    model = eqx.tree_at(lambda m: m.tau_a, model, jnp.full(n, 3e-3))
    assert has_uniform_pool(model)
    for state in _states_with_kinks(rng, n)[:8]:
        J = jacobian(model, state)
        reduced = np.asarray(uniform_pool_eigenvalues(J))
        assert reduced.shape == (2 * n,)
        assert matched_error(reduced, _eig(J)) < 1e-10


@pytest.mark.parametrize("n", [1, 2, 7])
@pytest.mark.parametrize("variant", VARIANTS)
def test_uniform_pool_solve_equals_dense_solve(variant, n):
    """The bordered (n+1)-dimensional solve gives the dense 2n x 2n solution at any state, for W = w 1 1^T."""
    rng = np.random.default_rng(13)
    model = random_circuit(rng, n, variant=variant, W_r=np.eye(n) + 0.8 * rng.normal(size=(n, n)),
                           W=np.full((n, n), 0.7))  # fmt: skip
    model = eqx.tree_at(lambda m: m.tau_a, model, jnp.full(n, 3e-3))
    for state in _states_with_kinks(rng, n)[:8]:
        J = np.asarray(jacobian(model, state))
        if np.linalg.cond(J) > 1e10:
            continue
        rhs = rng.normal(size=2 * n)
        np.testing.assert_allclose(np.asarray(uniform_pool_solve(J, rhs)), np.linalg.solve(J, rhs), rtol=1e-9,
                                   atol=1e-12 * np.abs(np.linalg.solve(J, rhs)).max())  # fmt: skip


def test_jacobian_uses_closed_form_for_organics_and_autodiff_otherwise():
    rng = np.random.default_rng(14)
    model = random_circuit(rng, 5, variant="rectified")
    state = jnp.asarray(rng.normal(size=10))
    np.testing.assert_array_equal(np.asarray(jacobian(model, state)), np.asarray(jacobian_closed_form(model, state)))
    custom_gate = ORGaNICs(z=np.ones(4), a_plus=lambda a: sqrt_relu(a))
    x = jnp.linspace(0.1, 0.8, 8)
    np.testing.assert_allclose(
        np.asarray(jacobian(custom_gate, x)), np.asarray(jax.jacfwd(lambda v: custom_gate.vector_field(0.0, v))(x))
    )


def test_uniform_pool_requires_constant_pool_and_tau_a():
    rng = np.random.default_rng(12)
    uniform = random_circuit(rng, 4, W=np.ones((4, 4)))
    assert not has_uniform_pool(uniform)  # tau_a differs between neurons
    uniform = eqx.tree_at(lambda m: m.tau_a, uniform, jnp.full(4, 2e-3))
    assert has_uniform_pool(uniform)
    assert has_uniform_pool(eqx.filter_vmap(lambda _: uniform)(jnp.arange(3)))  # a batch
    assert not has_uniform_pool(eqx.tree_at(lambda m: m.W, uniform, uniform.W.at[0, 1].set(0.5)))
    custom_gate = ORGaNICs(z=np.ones(4), a_plus=lambda a: sqrt_relu(a))
    assert not has_uniform_pool(custom_gate)


def test_spectrum_summary_values():
    s = spectrum_summary(jnp.array([-5.0 + 0j, -1.0 - 2.0j, -1.0 + 2.0j]), tau=0.1)
    assert isinstance(s, SpectrumSummary)
    assert complex(s.leading_eigenvalue) == pytest.approx(-1.0 + 2.0j)  # Im >= 0 member of the pair
    assert float(s.spectral_abscissa) == pytest.approx(-1.0)
    assert float(s.leading_real_times_tau) == pytest.approx(-0.1)
    assert float(s.relaxation_time) == pytest.approx(1.0)
    assert float(s.frequency_hz) == pytest.approx(2.0 / (2 * math.pi))
    assert float(s.quality_factor) == pytest.approx(math.sqrt(5.0) / 2.0)
    assert bool(s.stable)

    real = spectrum_summary(jnp.array([-3.0, -0.5]))
    assert real.leading_real_times_tau is None
    assert float(real.quality_factor) == pytest.approx(0.5) and float(real.frequency_hz) == 0.0
    assert float(real.relaxation_time) == pytest.approx(2.0)

    marginal = spectrum_summary(jnp.array([0.0 + 3.0j, 0.0 - 3.0j, -1.0]))
    assert math.isinf(float(marginal.quality_factor)) and math.isinf(float(marginal.relaxation_time))
    assert not bool(marginal.stable)
    unstable = spectrum_summary(jnp.array([0.2, -1.0]))
    assert math.isinf(float(unstable.relaxation_time)) and not bool(unstable.stable)


def test_spectrum_summary_vmaps():
    eigs = jnp.array([[-1.0 + 1.0j, -1.0 - 1.0j], [-2.0 + 0j, 0.5 + 0j]])
    s = jax.vmap(lambda e: spectrum_summary(e, tau=2e-3))(eigs)
    np.testing.assert_allclose(s.spectral_abscissa, [-1.0, 0.5])
    np.testing.assert_array_equal(s.stable, [True, False])
    np.testing.assert_allclose(s.leading_real_times_tau, [-2e-3, 1e-3])


def test_stability_report_matches_numeric_spectrum():
    rng = np.random.default_rng(11)
    model = random_circuit(rng)
    fp = _fixed_point(model)
    report = _stability_report(model, fp, tau=model.tau_y[0])
    eigs = _eig(_jacobians(model, fp.state[None])[1][0])
    lead = eigs[np.argmax(eigs.real)]
    assert float(report.spectral_abscissa) == pytest.approx(lead.real, rel=1e-10)
    assert float(report.leading_real_times_tau) == pytest.approx(lead.real * float(model.tau_y[0]), rel=1e-10)
    assert float(report.frequency_hz) == pytest.approx(abs(lead.imag) / (2 * math.pi), rel=1e-8, abs=1e-8)
    assert bool(report.stable)
    # the autodiff path (a custom a_plus equal to the default) gives the same answer
    custom = ORGaNICs(z=model.z, W=model.W, b=model.b, b0=model.b0, sigma=model.sigma, tau_y=model.tau_y,
                      tau_a=model.tau_a, a_plus=sqrt_relu)  # fmt: skip
    assert float(_stability_report(custom, fp.state).spectral_abscissa) == pytest.approx(lead.real, rel=1e-10)


# ----------------------------------------------------------------------------- quadratic eigenvalue form


@pytest.mark.parametrize("variant", VARIANTS)
def test_companion_form_has_jacobian_spectrum(variant):
    """Eigenvalues of [[0, I], [-K, -B]] == eigenvalues of J (Eq. 6 / Eq. 90) at the fixed point (1e-9)."""
    rng = np.random.default_rng(17)
    for n in (1, N, N, N, N):
        model = random_circuit(rng, n, variant=variant)  # z of both signs
        companion, J = _companion_and_jacobian(model, _fixed_point(model).state)
        assert matched_error(_eig(companion), _eig(J)) < 1e-9


@pytest.mark.parametrize("variant,p", [("main", 2.0), ("rectified", 2.0), ("rectified_recurrence", 2.0), ("main", 1.5)])
def test_companion_form_holds_at_any_state(variant, p):
    """The factorization det(J - lambda I) = det(lambda^2 I + lambda B + K) is pointwise for W_r = I (any p)."""
    rng = np.random.default_rng(19)
    model = random_circuit(rng, variant=variant, p=p)
    for _ in range(4):
        companion, J = _companion_and_jacobian(model, jnp.asarray(rng.normal(size=2 * N)))
        assert matched_error(_eig(companion), _eig(J)) < 1e-9


def test_quadratic_form_matches_paper_expressions():
    """B and K are Eqs. 10-11 (main) and Eqs. 93-94 (rectified); S is Eq. 12 / Eq. 95."""
    rng = np.random.default_rng(23)
    z = rng.normal(size=N)
    for variant in ("main", "rectified"):
        m = random_circuit(rng, variant=variant, z=z)
        state = _fixed_point(m).state
        B, K = _quadratic_eigenvalue_form(m, state)
        S = _splitting_matrix(m, state)
        b, b0, sigma, ty, ta, W = (np.asarray(v) for v in (m.b, m.b0, m.sigma, m.tau_y, m.tau_a, m.W))
        u = (b * z) ** 2 if variant == "main" else np.maximum(b * z, 0.0) ** 2
        a_s = b0**2 * sigma**2 + W @ u
        c = np.sqrt(a_s) if variant == "main" else np.where(z >= 0, np.sqrt(a_s), 1.0)
        K_paper = np.diag(c / (ty * ta))
        B_paper = np.diag(1 / ta) + np.diag(c / ty) - np.diag(1 / ta) @ W @ np.diag(u / a_s)
        S_paper = np.diag(1 / (1 + (ta / ty) * c)) @ W @ np.diag(u / a_s)
        np.testing.assert_allclose(K, K_paper, rtol=1e-12)
        np.testing.assert_allclose(B, B_paper, rtol=1e-12, atol=1e-12 * np.abs(B_paper).max())
        np.testing.assert_allclose(S, S_paper, rtol=1e-12, atol=1e-15)


def test_quadratic_form_requires_identity_recurrence():
    rng = np.random.default_rng(1)
    model = random_circuit(rng, 3, W_r=np.eye(3) + 0.1 * rng.normal(size=(3, 3)))
    state = jnp.ones(6)
    for fn in (quadratic_eigenvalue_form, splitting_matrix, splitting_certificate):
        with pytest.raises(ValueError, match="W_r = I"):
            fn(model, state)


# ----------------------------------------------------------------------------- splitting and LDS


def test_splitting_certificate_and_theorem_bound():
    """rho(S) (Eq. 12 / 95) <= Theorem D.1 bound < 1, and the certificate is issued."""
    rng = np.random.default_rng(29)
    for variant in ("main", "rectified"):
        for n in (1, N, N, N):
            model = random_circuit(rng, n, variant=variant)
            state = _fixed_point(model).state
            cert = _splitting_certificate(model, state)
            S = _splitting_matrix(model, state)
            assert float(cert.spectral_radius) == pytest.approx(np.max(np.abs(_eig(S))), rel=1e-10, abs=1e-300)
            assert float(cert.spectral_radius) <= float(cert.theorem_bound) * (1 + 1e-12)
            assert float(cert.theorem_bound) < 1.0
            assert bool(cert.certified)


def test_lds_certificate_for_m_matrix():
    """T = D(B^-T 1 / B^-1 1) certifies a nonsingular M-matrix; a Z-matrix that is not one gets no certificate."""
    rng = np.random.default_rng(31)
    n = 10
    off = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.5)
    np.fill_diagonal(off, 0.0)
    # nonsymmetric, strictly diagonally dominant Z-matrix with rows scaled over decades: a nonsingular M-matrix
    B = 10 ** rng.uniform(-2, 3, n)[:, None] * (np.diag(off.sum(1) + 0.1) - off)
    result = lyapunov_diagonal_stability(jnp.asarray(B))
    assert isinstance(result, LDSResult)
    assert bool(result.certified)
    T = np.asarray(result.T)
    assert np.all(T > 0) and T.max() == pytest.approx(1.0)
    sym = np.diag(T) @ B + B.T @ np.diag(T)
    assert np.linalg.eigvalsh(sym)[0] == pytest.approx(float(result.min_eigenvalue), rel=1e-6)
    assert float(result.min_eigenvalue) > 0 and 0 < float(result.min_scaled_eigenvalue) <= 1
    # B 1 < 0 for a Z-matrix: not an M-matrix, hence not LDS
    not_m = jnp.asarray(np.diag(0.5 * off.sum(1)) - off)
    assert not bool(lyapunov_diagonal_stability(not_m).certified)


def test_lds_false_means_no_certificate_found():
    # Stable upper-triangular non-Z matrix: it IS LDS (T = diag(1, 5)), but neither the M-matrix
    # construction (not a Z-matrix) nor T = I (B + B^T indefinite) certifies it.
    B = jnp.array([[1.0, 4.0], [0.0, 1.0]])
    T = np.diag([1.0, 5.0])
    assert np.linalg.eigvalsh(T @ B + B.T @ T)[0] > 0
    assert not bool(lyapunov_diagonal_stability(B).certified)
    # Non-Z but B + B^T > 0: certified with T = I.
    rotation = lyapunov_diagonal_stability(jnp.array([[1.0, 3.0], [-3.0, 1.0]]))
    assert bool(rotation.certified)
    np.testing.assert_allclose(rotation.T, [1.0, 1.0])
    # Unstable and singular M-matrix: never certified, and no NaN leaks into T.
    for B in (-jnp.eye(3), jnp.array([[1.0, -1.0], [-1.0, 1.0]])):
        result = lyapunov_diagonal_stability(B)
        assert not bool(result.certified)
        assert bool(jnp.all(jnp.isfinite(result.T)))


# ----------------------------------------------------------------------------- headline: unconditional stability


N_MAX = 30
DRAWS = 1000  # each checked for the main and the rectified model: 2000 circuits


def _draw_parameters(rng, batch, n_max=N_MAX):
    """Random W_r = I circuits of random size n in 1..n_max, embedded in n_max neurons.

    Parameters: tau 1e-3..1e-1 s, b, b0 over 4 decades, sigma over 4 decades, |z| over 4 decades
    with both signs (5% exact zeros), W nonnegative with a scale over 4 decades, half sparse
    (density 5-40%) and half dense. Neurons n..n_max-1 are padding: zero input, zero rows and columns
    of W, b0 = sigma = 1 and tau = 1 us. They are disconnected from the circuit, so J, B and S are
    block diagonal: the padding adds the eigenvalues -1e6 to the spectrum of J, zero rows/columns to S
    and a positive diagonal block to B. Every check below is therefore equivalent to the same check on
    the n-neuron circuit, and all sizes share one compiled graph.
    """
    log_uniform = lambda lo, hi, shape: 10 ** rng.uniform(lo, hi, shape)  # noqa: E731
    sizes = rng.integers(1, n_max + 1, batch)
    active = np.arange(n_max)[None, :] < sizes[:, None]
    pair = active[:, :, None] & active[:, None, :]
    density = np.where(rng.uniform(size=batch) < 0.5, rng.uniform(0.05, 0.4, batch), 1.0)
    mask = rng.uniform(size=(batch, n_max, n_max)) < density[:, None, None]
    W = log_uniform(-2, 2, (batch, 1, 1)) * rng.exponential(size=(batch, n_max, n_max)) * mask * pair
    z = rng.choice([-1.0, 1.0], (batch, n_max)) * log_uniform(-3, 1, (batch, n_max))
    z[rng.uniform(size=(batch, n_max)) < 0.05] = 0.0
    pad = lambda x, value: np.where(active, x, value)  # noqa: E731
    shape = (batch, n_max)
    params = dict(
        z=pad(z, 0.0),
        W=W,
        b=log_uniform(-2, 2, shape),
        b0=pad(log_uniform(-2, 2, shape), 1.0),
        sigma=pad(log_uniform(-3, 1, shape), 1.0),
        tau_y=pad(log_uniform(-3, -1, shape), 1e-6),
        tau_a=pad(log_uniform(-3, -1, shape), 1e-6),
    )
    return sizes, {k: jnp.asarray(v) for k, v in params.items()}


@eqx.filter_jit
def _circuits(params, variant):
    def one(params):
        model = ORGaNICs(**params, variant=variant)
        fp = normalization_fixed_point(model)
        J = jacobian(model, fp.state)  # autodiff: independent of the closed forms
        B, _ = quadratic_eigenvalue_form(model, fp.state)
        return model, fp, J, B

    return jax.vmap(one)(params)


_max_real = jax.jit(jax.vmap(lambda J: jnp.max(eigenvalues(J).real)))
_certificates = eqx.filter_jit(eqx.filter_vmap(splitting_certificate))
_lds = jax.jit(jax.vmap(lyapunov_diagonal_stability))


def test_unconditional_stability_identity_recurrence():
    """Theorems 4.1-4.3 / F.1: every random W_r = I circuit (main and rectified) is stable at Eq. 4 / Eq. 88.

    1000 parameter draws of random size n in 1..30, each for both models (2000 circuits), vmapped
    (see _draw_parameters for the exact embedding into 30 neurons): max Re(lambda) < 0, rho(S) < 1
    (Eq. 12 / 95) and below the Theorem D bound, and a verified Lyapunov-diagonal-stability certificate of B.
    """
    rng = np.random.default_rng(2024)
    sizes, params = _draw_parameters(rng, DRAWS)
    assert set(sizes.tolist()) == set(range(1, N_MAX + 1))
    for variant in ("main", "rectified"):
        models, fp, J, B = _circuits(params, variant)
        max_real = np.asarray(_max_real(J))
        cert = _certificates(models, fp.state)
        rho, bound = np.asarray(cert.spectral_radius), np.asarray(cert.theorem_bound)
        lds = np.asarray(_lds(B).certified)
        bad = lambda ok: sorted(set(sizes[~np.asarray(ok)].tolist()))  # noqa: E731  (sizes of failing draws)
        assert np.asarray(fp.converged).all(), (variant, bad(fp.converged))
        assert (max_real < 0).all(), (variant, max_real.max(), bad(max_real < 0))
        assert (rho < 1).all(), (variant, rho.max(), bad(rho < 1))
        assert (rho <= bound * (1 + 1e-12)).all(), variant
        assert (bound <= 1).all(), variant  # < 1 exactly; rounds to 1.0 when v << W u
        assert np.asarray(cert.certified).all(), (variant, bad(cert.certified))
        assert lds.all(), (variant, bad(lds))


# ----------------------------------------------------------------------------- energy (Appendix H)


@eqx.filter_jit
def _energy_checks(model, fp, points):
    J = jacobian(model, fp)
    V = lambda x: energy(model, x, fp)  # noqa: E731
    grads = jax.vmap(jax.grad(V))(points)
    flows = (points - fp) @ J.T
    rates = jnp.sum(grads * flows, axis=1)
    scale = jnp.linalg.norm(grads, axis=1) * jnp.linalg.norm(flows, axis=1)
    return V(fp), jax.vmap(V)(points), rates, scale


def test_energy_is_lyapunov_function_of_linearization():
    """Eq. 125: V(x_s) = 0, V > 0 elsewhere, dV/dt = grad V . J (x - x_s) <= 0 (1e-12 relative) at random points."""
    rng = np.random.default_rng(37)
    for n in (1, N, N, N):
        z = rng.choice([-1.0, 1.0], n) * 10 ** rng.uniform(-2, 1, n)
        model = random_circuit(rng, n, z=z, W=rng.uniform(0, 2, (n, n)) * (rng.uniform(size=(n, n)) < 0.6))
        fp = _fixed_point(model).state
        steps = jnp.asarray(rng.normal(size=(200, 2 * n))) * jnp.abs(fp) * 10 ** rng.uniform(-3, 0.5, (200, 1))
        at_fp, values, rates, scale = _energy_checks(model, fp, fp + steps)
        assert float(at_fp) == 0.0
        assert bool(jnp.all(values > 0))
        assert bool(jnp.all(rates <= 1e-12 * scale)), float(jnp.max(rates / scale))
        assert bool(jnp.all(rates < 0))  # strictly, for these generic points


def test_energy_rejects_zero_input_and_other_models():
    model = ORGaNICs(z=jnp.array([1.0, 0.0]))
    fp = normalization_fixed_point(model).state
    with pytest.raises(ValueError, match="y_s != 0"):
        energy(model, fp, fp)
    rect = ORGaNICs(z=jnp.array([1.0, 2.0]), variant="rectified")
    with pytest.raises(ValueError, match="main model"):
        energy(rect, normalization_fixed_point(rect).state, normalization_fixed_point(rect).state)


def _eq131(y, a, *, y_s, a_s, w, tau_y, tau_a):
    return (
        -((2 * y * a_s - 3 * a_s * y_s + a * y_s) ** 2)
        * (jnp.sqrt(a_s) * tau_a - w * y_s**2 * tau_y + tau_y)
        / (2 * a_s * tau_a * tau_y)
    )


TWO_D = [
    dict(b=0.5, z=1.0, b0=0.5, sigma=0.1, w=1.0, tau_y=2e-3, tau_a=2e-3),  # Fig. 1 parameters
    dict(b=1.3, z=-0.7, b0=0.2, sigma=0.5, w=2.0, tau_y=1e-3, tau_a=5e-3),
    dict(b=2.0, z=0.05, b0=1.0, sigma=0.3, w=0.5, tau_y=5e-3, tau_a=1e-3),
]


@eqx.filter_jit
def _two_d_rates(par, points):
    """Energies and their rates for the two-neuron circuit (Eq. 15 with w_r = 1) at ``points``."""
    model = ORGaNICs(z=par["z"][None], W=par["w"][None, None], b=par["b"], b0=par["b0"], sigma=par["sigma"],
                     tau_y=par["tau_y"], tau_a=par["tau_a"])  # fmt: skip
    fp = normalization_fixed_point(model).state
    y_s, a_s = fp[0], fp[1]
    J = jacobian(model, fp)
    quadratic = lambda x: energy(model, x, fp, T=(y_s**2 / a_s)[None])  # noqa: E731  (Eq. 125 scaled to Eq. 129)
    eq130 = lambda x: energy_2d(x[0], x[1], **par)  # noqa: E731
    hessian = jax.hessian(eq130)(fp)
    grads = jax.vmap(jax.grad(eq130))(points)
    flows = jax.vmap(lambda x: model.vector_field(0.0, x))(points)
    return dict(
        fixed_point=fp,
        eq130_at_fixed_point=eq130(fp),
        quadratic=jax.vmap(quadratic)(points),
        taylor=0.5 * jnp.einsum("bi,ij,bj->b", points - fp, hessian, points - fp),
        linear_rate=jax.vmap(lambda x: jax.grad(quadratic)(x) @ (J @ (x - fp)))(points),
        nonlinear_rate=jnp.sum(grads * flows, axis=1),
        nonlinear_scale=jnp.linalg.norm(grads, axis=1) * jnp.linalg.norm(flows, axis=1),
        eq131=_eq131(points[:, 0], points[:, 1], y_s=y_s, a_s=a_s, w=par["w"], tau_y=par["tau_y"], tau_a=par["tau_a"]),
    )


def _as_arrays(par):
    return {k: jnp.asarray(v, dtype=float) for k, v in par.items()}


def _two_d_fixed_point(par):
    a_s = par["b0"] ** 2 * par["sigma"] ** 2 + par["w"] * par["b"] ** 2 * par["z"] ** 2
    return np.array([par["b"] * par["z"] / np.sqrt(a_s), a_s])


@pytest.mark.parametrize("par", TWO_D)
def test_eq131_is_the_rate_of_the_linearized_energy(par):
    """Eq. 131 == d/dt of the quadratic energy along the linearized flow Eq. 118, exactly (1e-10).

    The quadratic energy is Eq. 129 with sqrt(a) y linearized (Eq. 126), i.e. Eq. 125 for n = 1 with
    t = y_s^2 / a_s, and it is the second-order Taylor expansion of Eq. 130 at the fixed point.
    """
    rng = np.random.default_rng(41)
    fp = _two_d_fixed_point(par)
    out = _two_d_rates(_as_arrays(par), jnp.asarray(fp + rng.normal(size=(50, 2)) * np.abs(fp)))
    np.testing.assert_allclose(out["fixed_point"], fp, rtol=1e-12)
    np.testing.assert_allclose(out["linear_rate"], out["eq131"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["taylor"], out["quadratic"], rtol=1e-9)
    assert float(out["eq130_at_fixed_point"]) == pytest.approx(0.0, abs=1e-20)


@pytest.mark.parametrize("par", TWO_D)
def test_eq130_along_nonlinear_flow_matches_eq131_only_to_second_order(par):
    """grad(Eq. 130) . f_nonlinear == Eq. 131 (1 + O(|dx|)): the relative error shrinks linearly with |dx|."""
    fp = _two_d_fixed_point(par)
    eps = np.array([1e-2, 1e-3, 1e-4])
    points = fp + eps[:, None] * np.array([0.6, -0.8]) * np.abs(fp)
    out = _two_d_rates(_as_arrays(par), jnp.asarray(points))
    errors = np.abs(np.asarray(out["nonlinear_rate"]) / np.asarray(out["eq131"]) - 1.0)
    assert errors[2] < 1e-3
    assert errors[1] < 0.2 * errors[0] and errors[2] < 0.2 * errors[1]


def test_eq130_is_not_a_global_lyapunov_function_of_the_nonlinear_flow():
    """With the Fig. 1 parameters dV/dt > 0 at (y, a) = (1.2, 0.2), ~20% from (y_s, a_s) = (0.995, 0.2525),
    while Eq. 131 (the rate along the linearization) is negative there."""
    out = _two_d_rates(_as_arrays(TWO_D[0]), jnp.array([[1.2, 0.2]]))
    assert float(out["nonlinear_rate"][0]) > 1e-3 * float(out["nonlinear_scale"][0])
    assert float(out["eq131"][0]) < 0
