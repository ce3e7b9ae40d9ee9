"""Tests of organics.theory: closed-form eigenvalues of the fully normalized circuit (Appendices C, F.2)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import organics  # noqa: F401  (float64)
from organics.fixed_points import normalization_fixed_point
from organics.models import ORGaNICs
from organics.stability import jacobian
from organics.theory import analytic_eigenvalues, check_fully_normalized


def matched_error(computed, reference) -> float:
    """Largest distance between two spectra after optimal one-to-one matching, relative to max |lambda|."""
    computed, reference = np.asarray(computed), np.asarray(reference)
    cost = np.abs(computed[:, None] - reference[None, :])
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max() / np.abs(reference).max())


def fully_normalized(rng, n, *, variant="main", p=2.0, z=None) -> ORGaNICs:
    """W = alpha ones, scalar tau_y, tau_a, b0, sigma; vector b; W_r = I."""
    return ORGaNICs(
        z=rng.normal(size=n) * 10 ** rng.uniform(-1.5, 0.5) if z is None else z,
        W=np.full((n, n), 10 ** rng.uniform(-2, 1)),
        b=10 ** rng.uniform(-0.5, 0.5, n),
        b0=10 ** rng.uniform(-1, 0.5),
        sigma=10 ** rng.uniform(-2, 0),
        tau_y=10 ** rng.uniform(-3, -1),
        tau_a=10 ** rng.uniform(-3, -1),
        p=p,
        variant=variant,
    )


@eqx.filter_jit
def _spectra(model):
    """Autodiff Jacobian at the analytic fixed point (Eq. 4 / Eq. 88) and the closed-form eigenvalues."""
    fp = normalization_fixed_point(model)
    return jacobian(model, fp.state), analytic_eigenvalues(model, validate=False), fp.converged


def _check(model) -> tuple[float, bool]:
    J, analytic, converged = _spectra(model)
    assert bool(converged)
    numeric = np.linalg.eigvals(np.asarray(J))
    return matched_error(analytic, numeric), bool(np.any(np.abs(numeric.imag) > 1e-6 * np.abs(numeric).max()))


@pytest.mark.parametrize("variant", ["main", "rectified", "rectified_recurrence"])
def test_closed_form_eigenvalues_match_jacobian(variant):
    """Appendix C (Eqs. 60-62) / F.2 (Eqs. 96-100): closed form == eig(J) at the fixed point to 1e-9,
    over random draws (inputs with negative entries; some rectified draws with only negative inputs)."""
    rng = np.random.default_rng({"main": 1, "rectified": 2, "rectified_recurrence": 3}[variant])
    complex_draws = 0
    for n in (1, 2, 7, 7, 7, 16):
        for draw in range(6):
            z = None
            if variant != "main" and draw == 5:
                z = -np.abs(rng.normal(size=n))  # n1 = 0: no Eq. 100 pair
            model = fully_normalized(rng, n, variant=variant, z=z)
            check_fully_normalized(model)
            error, has_complex = _check(model)
            assert error < 1e-9, (n, draw, error)
            complex_draws += has_complex
    assert complex_draws > 0  # the random draws include oscillatory circuits


@pytest.mark.parametrize("variant", ["main", "rectified"])
@pytest.mark.parametrize("p", [1.5, 3.0])
def test_closed_form_eigenvalues_general_exponent(variant, p):
    """The same factorization holds for the power-law model (Eq. 34) with the default a+ = [a]+^(1/p)."""
    rng = np.random.default_rng(int(10 * p))
    for _ in range(5):
        error, _ = _check(fully_normalized(rng, 7, variant=variant, p=p))
        assert error < 1e-9


def test_complex_eigenvalue_case():
    """An oscillatory circuit: Eq. 62 has complex roots and they match the Jacobian (1e-9)."""
    n = 4
    z = np.array([0.3, -0.2, 0.25, 0.1])
    model = ORGaNICs(z=z, W=np.ones((n, n)), b=1.0, b0=1.0, sigma=0.05, tau_y=2e-3, tau_a=2e-3)
    analytic = np.asarray(analytic_eigenvalues(model))
    assert np.sum(np.abs(analytic.imag) > 1.0) == 2  # one complex-conjugate pair
    error, has_complex = _check(model)
    assert has_complex and error < 1e-9
    # the pair solves Eq. 62 written with the paper's scalars
    s = np.sqrt(0.05**2 + np.sum(z**2))
    rho = np.sum(z**2) / s**2
    coefficients = [1.0, (1 - rho) / 2e-3 + s / 2e-3, s / 4e-6]
    pair = analytic[np.abs(analytic.imag) > 1.0]
    assert matched_error(pair, np.roots(coefficients)) < 1e-12


def _paper_literal_rectified(model) -> np.ndarray:
    """Eqs. 97-100 as printed: norms ||b z|| over *all* inputs, zero inputs in the delta_1 group."""
    bz = np.asarray(model.b * model.z)
    alpha, ty, ta = float(model.W[0, 0]), float(model.tau_y[0]), float(model.tau_a[0])
    v = float(model.b0[0] * model.sigma[0]) ** 2
    s = np.sqrt(v + alpha * np.sum(bz**2))
    rho = alpha * np.sum(bz**2) / s**2
    n1 = int(np.sum(bz >= 0))
    pair = np.roots([1.0, (1 - rho) / ta + s / ty, s / (ty * ta)])
    rest = [-1 / ta, -s / ty] * (n1 - 1) + [-1 / ta, -1 / ty] * (len(bz) - n1)
    return np.concatenate([pair, np.asarray(rest, dtype=complex)])


def test_rectified_norms_must_be_rectified():
    """F.2 as printed uses ||b z||; the Jacobian needs ||[b z]+|| (as in Eq. 88). With nonnegative inputs they agree."""
    rng = np.random.default_rng(7)
    z = np.array([0.8, -0.5, 0.3, -1.2, 0.6])
    model = fully_normalized(rng, 5, variant="rectified", z=z)
    J, analytic, _ = _spectra(model)
    numeric = np.linalg.eigvals(np.asarray(J))
    assert matched_error(analytic, numeric) < 1e-9
    assert matched_error(_paper_literal_rectified(model), numeric) > 1e-3
    positive = fully_normalized(rng, 5, variant="rectified", z=np.abs(z))
    J, _, _ = _spectra(positive)
    assert matched_error(_paper_literal_rectified(positive), np.linalg.eigvals(np.asarray(J))) < 1e-9


def test_rectified_zero_input_follows_the_kink_convention():
    """z_i = 0 gives y_i = 0, where [y]+ has derivative 0 (organics._safe): that neuron is in the delta_2 group."""
    rng = np.random.default_rng(8)
    z = np.array([0.7, 0.0, -0.4, 0.5])
    model = fully_normalized(rng, 4, variant="rectified", z=z)
    error, _ = _check(model)
    assert error < 1e-9
    analytic = np.sort(np.asarray(analytic_eigenvalues(model)).real)
    assert np.sum(np.isclose(analytic, -1.0 / float(model.tau_y[0]), rtol=1e-12)) >= 2  # z = 0 and z < 0


def test_vmappable_without_validation():
    rng = np.random.default_rng(9)
    models = [fully_normalized(rng, 5) for _ in range(4)]
    batched = jax.tree.map(lambda *leaves: jnp.stack(leaves), *models)
    eigs = eqx.filter_jit(eqx.filter_vmap(lambda m: analytic_eigenvalues(m, validate=False)))(batched)
    for model, row in zip(models, eigs, strict=True):
        np.testing.assert_allclose(row, analytic_eigenvalues(model), rtol=1e-13)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(W_r=np.eye(3) + 0.1), "W_r = I"),
        (dict(W=np.array([[1.0, 2.0, 1.0]] * 3)), "alpha \\* ones"),
        (dict(W=np.zeros((3, 3))), "alpha > 0"),
        (dict(tau_y=[1e-3, 2e-3, 1e-3]), "tau_y"),
        (dict(tau_a=[1e-3, 2e-3, 1e-3]), "tau_a"),
        (dict(b0=[1.0, 1.0, 0.5]), "b0"),
        (dict(sigma=[0.1, 0.2, 0.1]), "sigma"),
        (dict(a_plus=jnp.tanh), "a_plus"),
        (dict(z=lambda t: jnp.ones(3) * t), "constant drive"),
    ],
)
def test_assumptions_are_validated(change, message):
    parameters = dict(z=np.array([0.5, -0.2, 0.1]))
    parameters.update(change)
    model = ORGaNICs(**parameters)
    with pytest.raises(ValueError, match=message):
        analytic_eigenvalues(model)


def test_validation_refuses_traced_parameters():
    model = ORGaNICs(z=np.array([0.5, 0.2]))
    with pytest.raises(ValueError, match="validate=False"):
        eqx.filter_jit(analytic_eigenvalues)(model)
    # vector b is allowed
    analytic_eigenvalues(ORGaNICs(z=np.array([0.5, 0.2]), b=[1.0, 2.0]))


@pytest.mark.parametrize(
    "input_norm, expected",
    [(0.01, "0.158"), (0.02, "0.161"), (0.05, "0.178"), (0.1, "0.233"), (0.2, "0.407"), (0.3, "0.654"),
     (0.5, "1.471"), (0.7, "3.414"), (0.9, "13.56")],
)
def test_critical_delta_matches_the_published_table(input_norm, expected):
    """Delta_c(|z|) for mu = 0, sigma = 0.1, b0 = b = 1 (research-code spec §5 table, as printed)."""
    from organics.theory import critical_delta

    decimals = len(expected.split(".")[1])
    assert float(critical_delta(input_norm)) == pytest.approx(float(expected), abs=0.5001 * 10.0**-decimals)


def test_critical_delta_general_gains_and_edge_cases():
    from organics.theory import critical_delta

    assert float(critical_delta(0.01, b=0.5, b0=0.5)) == pytest.approx(0.0748, rel=2e-3)
    assert np.isinf(float(critical_delta(2.0)))  # s > 1: the gate switches recurrence off
    np.testing.assert_allclose(critical_delta(np.array([0.1, 0.5])), [0.2329, 1.4714], rtol=1e-3)
    with pytest.raises(ValueError, match="input_norm must be >= 0"):
        critical_delta(-0.1)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        critical_delta(0.1, sigma=0.0)
