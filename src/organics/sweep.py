r"""Stability of one random circuit per recurrent strength: the quick report behind ``organics demo``.

For each recurrent strength ``delta`` a circuit ``W_r = I + M`` is drawn from a seeded random
ensemble (``connectivity.recurrent_matrix``), its fixed point is found by Newton's method
started from the first-order correction of the normalization fixed point, and the Jacobian
spectrum there is summarized. This answers "is there a linearly stable fixed point near the
normalization solution, and how slow is it?"; whether the dynamics reach it from a given start
is the question answered by simulation and trajectory classification.
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _validation as check
from .connectivity import input_drive, recurrent_matrix
from .fixed_points import first_order_fixed_point, newton_fixed_point, normalization_fixed_point
from .models.organics import ORGaNICs
from .stability import eigenvalues, jacobian, spectrum_summary

#: |Re(lambda*) tau| below which a stable fixed point counts as critically slowed (Morone et al.).
CRITICAL_SLOWING_THRESHOLD = 1e-2


@dataclass(frozen=True)
class SweepResult:
    """Per-delta results of :func:`delta_sweep` (NumPy arrays, one entry per delta)."""

    delta: np.ndarray
    spectral_radius: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    leading_real_times_tau: np.ndarray
    relaxation_time: np.ndarray
    frequency_hz: np.ndarray
    normalization_error: np.ndarray

    def verdicts(self) -> list[str]:
        """One word per delta: stable, critically slow, unstable, or no fixed point found."""
        labels = []
        for ok, gap in zip(self.converged, self.leading_real_times_tau):
            if not ok:
                labels.append("no fixed point found")
            elif gap >= 0:
                labels.append("unstable")
            elif abs(gap) < CRITICAL_SLOWING_THRESHOLD:
                labels.append("critically slow")
            else:
                labels.append("stable")
        return labels


def delta_sweep(
    deltas: ArrayLike,
    *,
    n: int = 100,
    input_norm: float = 0.1,
    input_kind: str = "delocalized",
    ensemble: str = "goe_symmetric",
    mu: float = 0.0,
    sigma: float = 0.1,
    b: float = 1.0,
    b0: float = 1.0,
    tau: float = 2e-3,
    variant: str = "main",
    seed: int = 0,
) -> SweepResult:
    """Fixed point and spectrum of one seeded random circuit per recurrent strength.

    The circuit has ``W = ones`` (full normalization pool), scalar gains, ``tau_y = tau_a = tau``
    (seconds) and an input drive of 2-norm ``input_norm``. The matrix for ``deltas[i]`` is drawn
    with ``jax.random.fold_in(PRNGKey(seed), i)``, so a row does not depend on the other rows.
    ``normalization_error`` is ``||y* - y_s0|| / ||y_s0||`` against the normalization point.
    """
    deltas = np.atleast_1d(np.asarray(deltas, dtype=float))
    if deltas.ndim != 1 or deltas.size == 0:
        raise ValueError("deltas must be a non-empty 1-D list of recurrent strengths")
    check.check_nonnegative("deltas", deltas)
    if int(n) < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    for name, value in (("sigma", sigma), ("b", b), ("b0", b0), ("tau", tau), ("input_norm", input_norm)):
        check.check_positive(name, value)
    z = input_drive(int(n), input_kind, input_norm)
    base = jax.random.PRNGKey(seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(deltas.size))

    def one(key, delta):
        W_r = recurrent_matrix(key, int(n), ensemble=ensemble, delta=delta, mu=mu)
        model = ORGaNICs(z=z, W_r=W_r, sigma=sigma, b=b, b0=b0, tau_y=tau, tau_a=tau, variant=variant)
        start = first_order_fixed_point(model)
        fp = newton_fixed_point(model, start.state)
        summary = spectrum_summary(eigenvalues(jacobian(model, fp.state)), tau=tau)
        y_star, _ = model.split_state(fp.state)
        y_norm, _ = model.split_state(normalization_fixed_point(model).state)
        error = jnp.linalg.norm(y_star - y_norm) / jnp.linalg.norm(y_norm)
        radius = jnp.max(jnp.abs(jnp.linalg.eigvals(W_r)))
        return radius, fp.converged, fp.residual, summary, error

    radius, converged, residual, summary, error = eqx.filter_jit(jax.vmap(one))(keys, jnp.asarray(deltas))
    return SweepResult(
        delta=deltas,
        spectral_radius=np.asarray(radius),
        converged=np.asarray(converged),
        residual=np.asarray(residual),
        leading_real_times_tau=np.asarray(summary.leading_real_times_tau),
        relaxation_time=np.asarray(summary.relaxation_time),
        frequency_hz=np.asarray(summary.frequency_hz),
        normalization_error=np.asarray(error),
    )
