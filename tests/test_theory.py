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
        ({"W_r": np.eye(3) + 0.1}, "W_r = I"),
        ({"W": np.array([[1.0, 2.0, 1.0]] * 3)}, "alpha \\* ones"),
        ({"W": np.zeros((3, 3))}, "alpha > 0"),
        ({"tau_y": [1e-3, 2e-3, 1e-3]}, "tau_y"),
        ({"tau_a": [1e-3, 2e-3, 1e-3]}, "tau_a"),
        ({"b0": [1.0, 1.0, 0.5]}, "b0"),
        ({"sigma": [0.1, 0.2, 0.1]}, "sigma"),
        ({"a_plus": jnp.tanh}, "a_plus"),
        ({"z": lambda t: jnp.ones(3) * t}, "constant drive"),
    ],
)
def test_assumptions_are_validated(change, message):
    parameters = {"z": np.array([0.5, -0.2, 0.1])}
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
    [
        (0.01, "0.158"),
        (0.02, "0.161"),
        (0.05, "0.178"),
        (0.1, "0.233"),
        (0.2, "0.407"),
        (0.3, "0.654"),
        (0.5, "1.471"),
        (0.7, "3.414"),
        (0.9, "13.56"),
    ],
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


# ------------------------------------------------------------------ spec §5 table, formulas (A)-(C)
# z: (Delta_c mu=0, (A), (B) N=100, (C)), each for mu = -1, -0.5, +1, copied as printed (sigma = 0.1, b = b0 = 1)
SPEC_TABLE = {
    "0.01": ("0.158", ("1.250", "0.547", "1.565"), ("-1.242", "-0.542", "1.558"), ("-1.256", "-0.549", "1.572")),
    "0.02": ("0.161", ("1.230", "0.537", "1.545"), ("-1.199", "-0.519", "1.520"), ("-1.254", "-0.547", "1.575")),
    "0.05": ("0.178", ("1.109", "0.480", "1.426"), ("-0.953", "-0.388", "1.309"), ("-1.236", "-0.529", "1.592")),
    "0.1": ("0.233", ("0.851", "0.374", "1.176"), ("-0.474", "-0.121", "0.940"), ("-1.181", "-0.474", "1.647")),
    "0.2": ("0.407", ("0.579", "0.388", "0.892"), ("0.125", "0.266", "0.690"), ("-1.007", "-0.300", "1.822")),
    "0.3": ("0.654", ("0.665", "0.621", "0.902"), ("0.513", "0.583", "0.796"), ("-0.760", "-0.053", "2.068")),
    "0.5": ("1.471", ("1.443", "1.451", "1.550"), ("1.417", "1.444", "1.526"), ("0.057", "0.764", "2.886")),
    "0.7": ("3.414", ("3.392", "3.402", "3.448"), ("3.386", "3.400", "3.443"), ("2.000", "2.707", "4.828")),
    "0.9": ("13.56", ("13.54", "13.55", "13.58"), ("13.54", "13.55", "13.57"), ("12.14", "12.85", "14.97")),
}
MUS = (-1.0, -0.5, 1.0)


def _matches_printed(value, printed: str) -> bool:
    """Negative entries mean "no solution" (NaN here); otherwise agree within one unit of the last printed digit."""
    if printed.startswith("-"):
        return bool(np.isnan(value))
    return abs(float(value) - float(printed)) <= 1.0001 * 10.0 ** -len(printed.split(".")[1])


@pytest.mark.parametrize("z", list(SPEC_TABLE))
def test_spec_table_every_column(z):
    """Every row of the spec §5 table: mu = 0 (all input types), (A) delocalized, (B) per neuron, (C) localized."""
    from organics.theory import critical_delta, critical_delta_per_neuron

    zero, col_a, col_b, col_c = SPEC_TABLE[z]
    norm = float(z)
    for kind in ("delocalized", "localized", "random", "gaussian"):
        assert _matches_printed(critical_delta(norm, input_type=kind), zero)
    for mu, a, b_, c in zip(MUS, col_a, col_b, col_c, strict=True):
        assert _matches_printed(critical_delta(norm, mu=mu), a), (mu, a)
        assert _matches_printed(critical_delta_per_neuron(norm, 100, mu=mu), b_), (mu, b_)
        assert _matches_printed(critical_delta(norm, mu=mu, input_type="localized"), c), (mu, c)
    # vectorised over mu: one call reproduces the (A) row
    row = critical_delta(norm, mu=np.array(MUS))
    assert all(_matches_printed(v, p) for v, p in zip(np.asarray(row), col_a, strict=True))


def test_spec_formulas_verbatim_and_gain_generalisation():
    """With b = b0 = 1 the implementation is the spec's (A)/(B)/(C) verbatim (1e-12); for gains it is the
    spec's formula with z -> b z, sigma -> sigma b0, an exact symmetry of the circuit."""
    from organics.theory import critical_delta, critical_delta_per_neuron

    def spec_a(z, sigma, mu):
        G = (1 - np.sqrt(sigma**2 + z**2)) / (sigma**2 + z**2)
        F = 1 / (G * np.sqrt(sigma**2 + z**2)) * (1 + mu * sigma**2 * G / np.sqrt(sigma**2 + z**2))
        return np.sqrt(2) * np.sqrt(F**2 + mu**2 * z**2 * (sigma / (sigma**2 + z**2)) ** 2)

    def spec_b(z, sigma, mu, n):
        s = np.sqrt(sigma**2 + z**2)
        G = (1 - s) / s**2
        mean = z / (np.sqrt(n) * s) + mu * z * G * (1 - z**2 / s**2) / np.sqrt(n)
        return np.sqrt(2 * n) * mean / (G * z)

    z = np.linspace(0.01, 0.95, 30)
    for mu in (-1.0, -0.3, 0.0, 0.7):
        np.testing.assert_allclose(critical_delta(z, mu=mu), spec_a(z, 0.1, mu), rtol=1e-12)
        expected = spec_b(z, 0.1, mu, 100)
        np.testing.assert_allclose(critical_delta_per_neuron(z, 100, mu=mu), np.where(expected < 0, np.nan, expected))
        for kind in ("delocalized", "localized"):
            np.testing.assert_allclose(
                critical_delta(z, sigma=0.1, b=0.5, b0=2.0, mu=mu, input_type=kind),
                critical_delta(0.5 * z, sigma=0.2, mu=mu, input_type=kind),
                rtol=1e-12,
            )
        np.testing.assert_allclose(
            critical_delta_per_neuron(z, 7, b=0.5, b0=2.0, mu=mu),
            critical_delta_per_neuron(0.5 * z, 7, sigma=0.2, mu=mu),
        )


def test_spec_gain_half_values():
    """Spec §5 after the table: b0 = b1 = 0.5 gives Delta_c = 0.0748, 0.0905, 0.197, 0.421 at z = 0.01, 0.0669,
    0.2236, 0.448 (the numbers in parentheses are input norms z; all four agree with s = sqrt(sigma^2 b0^2 + b^2 z^2))."""
    from organics.theory import critical_delta

    z = np.array([0.01, 0.0669, 0.2236, 0.448])
    np.testing.assert_allclose(critical_delta(z, b=0.5, b0=0.5), [0.0748, 0.0905, 0.197, 0.421], atol=6e-4)


def test_critical_input_inverts_critical_delta():
    from organics.theory import critical_delta, critical_input

    for gains in ({}, {"sigma": 0.2, "b": 0.5, "b0": 0.7}):
        z = np.geomspace(1e-3, 0.9, 40)
        z = z[critical_delta(z, **gains) < np.inf]
        np.testing.assert_allclose(critical_input(critical_delta(z, **gains), **gains), z, rtol=1e-9)
        delta = np.geomspace(0.24, 50.0, 25)  # above both thresholds (0.157, 0.230)
        np.testing.assert_allclose(critical_delta(critical_input(delta, **gains), **gains), delta, rtol=1e-12)
    threshold = np.sqrt(2) * 0.1 / 0.9  # spec: the inverse exists only for Delta > 0.157
    assert np.isnan(float(critical_input(0.99 * threshold)))
    assert float(critical_input(1.01 * threshold)) > 0
    assert float(critical_input(np.inf)) == pytest.approx(np.sqrt(1 - 0.01))
    # spec formula z_c = sqrt((Delta/(sqrt 2 + Delta))^2 - sigma^2)
    assert float(critical_input(1.0)) == pytest.approx(np.sqrt((1 / (np.sqrt(2) + 1)) ** 2 - 0.01), rel=1e-12)


def test_normalization_error_and_gap_closing():
    from organics.theory import (
        critical_delta,
        first_order_normalization_error,
        gap_closing_delta,
    )

    z = np.array([0.01, 0.1, 2.0])
    np.testing.assert_allclose(gap_closing_delta(z), critical_delta(z) / 2)
    s = np.sqrt(0.01 + z[:2] ** 2)
    np.testing.assert_allclose(gap_closing_delta(z[:2]), s / (np.sqrt(2) * (1 - s)), rtol=1e-12)
    errors = first_order_normalization_error(0.05, z)
    np.testing.assert_allclose(errors[:2], 0.05 / critical_delta(z[:2]), rtol=1e-12)
    assert float(errors[2]) == 0.0  # s > 1: Delta_c = inf
    # the spec's quoted Delta/Delta_c values at z = 0.01 and z = 0.1
    assert float(first_order_normalization_error(0.02, 0.01)) == pytest.approx(0.127, abs=1e-3)
    assert float(first_order_normalization_error(0.1, 0.1)) == pytest.approx(0.429, abs=1e-3)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda t: t.critical_delta(-0.1, mu=1.0), "input_norm must be >= 0"),
        (lambda t: t.critical_delta(0.1, sigma=-1.0, mu=1.0), "sigma must be > 0"),
        (lambda t: t.critical_delta(0.1, b0=0.0), "b0 must be > 0"),
        (lambda t: t.critical_delta(0.1, input_type="one_hot"), "'localized', 'delocalized', 'random', 'gaussian'"),
        (lambda t: t.critical_delta(0.1, mu=0.5, input_type="random"), "only for 'delocalized' and 'localized'"),
        (lambda t: t.critical_delta(0.1, mu=[0.0, 0.5], input_type="gaussian"), "only for 'delocalized'"),
        (lambda t: t.critical_delta_per_neuron(0.1, 0, mu=1.0), "n must be a positive integer"),
        (lambda t: t.critical_delta_per_neuron(-0.1, 10), "input_norm must be >= 0"),
        (lambda t: t.critical_input(-1.0), "delta must be >= 0"),
        (lambda t: t.critical_input(1.0, sigma=0.0), "sigma must be > 0"),
        (lambda t: t.first_order_normalization_error(-0.1, 0.1), "delta must be >= 0"),
        (lambda t: t.gap_closing_delta(-0.1), "input_norm must be >= 0"),
    ],
)
def test_boundary_validation(call, message):
    from organics import theory

    with pytest.raises(ValueError, match=message):
        call(theory)


def test_mu_zero_works_for_every_input_type_and_under_jit():
    from organics.theory import critical_delta

    for kind in ("random", "gaussian"):
        assert float(critical_delta(0.1, mu=0.0, input_type=kind)) == pytest.approx(float(critical_delta(0.1)))
    jitted = jax.jit(lambda z, mu: critical_delta(z, mu=mu, input_type="localized"))
    np.testing.assert_allclose(
        jitted(jnp.array([0.01, 0.5]), -1.0), critical_delta(np.array([0.01, 0.5]), mu=-1.0, input_type="localized")
    )
    assert np.isnan(float(jax.jit(lambda mu: critical_delta(0.1, mu=mu, input_type="random"))(0.5)))


def test_first_order_error_matches_goe_symmetric_draws():
    """Independent check of ||y_s1||/||y_s0|| ~= Delta/Delta_c (spec §5): 20 goe_symmetric draws, N = 100,
    delocalized |z| = 0.01, Delta = 0.05; y_s1 from the generic first-order solver (Jacobian solve)."""
    from organics.connectivity import input_drive, recurrent_matrix
    from organics.fixed_points import first_order_fixed_point
    from organics.theory import first_order_normalization_error

    n, norm, delta = 100, 0.01, 0.05
    z = input_drive(n, "delocalized", norm)

    @jax.jit
    def ratio(key):
        W_r = recurrent_matrix(key, n, ensemble="goe_symmetric", delta=delta)
        model = ORGaNICs(z=z, W_r=W_r, W=np.ones((n, n)), sigma=0.1, b=1.0, b0=1.0)
        y0 = normalization_fixed_point(model).state[:n]
        y1 = first_order_fixed_point(model).state[:n] - y0  # first_order_fixed_point returns x0 + x1
        return jnp.linalg.norm(y1) / jnp.linalg.norm(y0)

    measured = np.mean([float(ratio(key)) for key in jax.random.split(jax.random.PRNGKey(0), 20)])
    predicted = float(first_order_normalization_error(delta, norm))
    assert measured == pytest.approx(predicted, rel=0.15), (measured, predicted)
