"""The stabilized supralinear network preset (Rubin, Van Hooser & Miller 2015)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import organics  # noqa: F401  (float64)
from organics.fixed_points import simulate_to_steady_state
from organics.models.rate import stabilized_supralinear_network
from organics.stability import eigenvalues, jacobian


def steady_rates(c: float) -> tuple[np.ndarray, float]:
    model = stabilized_supralinear_network(c)
    fp = simulate_to_steady_state(model, jnp.zeros(2))
    assert bool(fp.converged)
    leading = float(jnp.max(eigenvalues(jacobian(model, fp.state)).real))
    return np.asarray(fp.state), leading


def test_ssn_is_stable_and_switches_from_supralinear_to_sublinear():
    inputs = [0.5, 1.0, 2.0, 25.0, 50.0]
    rates = {}
    for c in inputs:
        rates[c], leading = steady_rates(c)
        assert leading < 0, f"unstable fixed point at c = {c}"
        # the fixed point satisfies r = k [W r + c g]+^n exactly
        drive = np.array([[1.25, -0.65], [1.2, -0.5]]) @ rates[c] + c
        np.testing.assert_allclose(rates[c], 0.04 * np.maximum(drive, 0) ** 2, rtol=1e-7, atol=1e-12)
    weak = rates[1.0][0] / rates[0.5][0], rates[2.0][0] / rates[1.0][0]
    strong = rates[50.0][0] / rates[25.0][0]
    assert min(weak) > 3.0  # close to the power law 2**n = 4 of the unconnected network
    assert strong < 2.0  # inhibition-stabilized regime: doubling the input less than doubles r_E
    assert rates[0.5][0] == pytest.approx(0.04 * 0.5**2, rel=0.05)  # weak input: feed-forward k c^n


def test_ssn_rejects_bad_parameters():
    with pytest.raises(ValueError, match="input_strength must be >= 0"):
        stabilized_supralinear_network(-1.0)
    with pytest.raises(ValueError, match="tau_e must be > 0"):
        stabilized_supralinear_network(1.0, tau_e=0.0)
