r"""One random circuit per recurrent strength, classified by its dynamics: the ``organics demo`` report.

For each recurrent strength ``delta`` a circuit ``W_r = I + M`` is drawn from a seeded random
ensemble (:func:`organics.connectivity.recurrent_matrix`) and simulated from the first-order
correction of the normalization fixed point until :func:`organics.simulate.classify_batch`
decides the outcome (stable fixed point confirmed by its spectrum, limit cycle, diverging or
unresolved). At a stable fixed point the report gives the leading Jacobian eigenvalue times
``tau`` (the gap whose approach to 0 is critical slowing down), the relaxation time, the
oscillation frequency of the slowest mode and the normalization error
``||y* - y_s0|| / ||y_s0||`` against the normalization fixed point (Eq. 4).
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
from .fixed_points import first_order_fixed_point, normalization_fixed_point
from .models.organics import ORGaNICs
from .simulate import STABLE_FIXED_POINT, Outcome, classify_batch

#: |Re(lambda*) tau| below which a stable fixed point counts as critically slowed (Morone et al.).
CRITICAL_SLOWING_THRESHOLD = 1e-2


@dataclass(frozen=True)
class SweepResult:
    """Per-delta results of :func:`delta_sweep` (NumPy arrays, one entry per delta).

    Quantities that exist only at a stable fixed point (gap, relaxation time, frequency,
    normalization error) are NaN for the other outcomes; ``period`` and ``amplitude`` are 0
    unless the outcome is a limit cycle.
    """

    delta: np.ndarray
    spectral_radius: np.ndarray
    outcome: np.ndarray
    leading_real_times_tau: np.ndarray
    relaxation_time: np.ndarray
    frequency_hz: np.ndarray
    normalization_error: np.ndarray
    period: np.ndarray
    amplitude: np.ndarray
    time_simulated: np.ndarray

    def verdicts(self) -> list[str]:
        """One label per delta: the outcome, with stable fixed points split into stable and
        critically slow (``|Re lambda* tau| < CRITICAL_SLOWING_THRESHOLD``)."""
        labels = []
        for outcome, gap in zip(self.outcome, self.leading_real_times_tau):
            if outcome == STABLE_FIXED_POINT:
                labels.append("critically slow" if abs(gap) < CRITICAL_SLOWING_THRESHOLD else "stable")
            else:
                labels.append(Outcome(int(outcome)).name.lower().replace("_", " "))
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
    max_chunks: int = 20,
) -> SweepResult:
    """Classify one seeded random circuit per recurrent strength (see the module docstring).

    The circuit has ``W = ones`` (full normalization pool), scalar gains, ``tau_y = tau_a = tau``
    (seconds) and an input drive of 2-norm ``input_norm``. The matrix for ``deltas[i]`` is drawn
    with ``jax.random.fold_in(PRNGKey(seed), i)``, so a row does not depend on the other rows.
    Each trajectory is integrated for at most ``max_chunks * 100 tau``.
    """
    deltas = np.atleast_1d(np.asarray(deltas, dtype=float))
    if deltas.ndim != 1 or deltas.size == 0:
        raise ValueError("deltas must be a non-empty 1-D list of recurrent strengths")
    check.check_nonnegative("deltas", deltas)
    if int(n) < 1:
        raise ValueError(f"n must be an integer >= 1; got {n}")
    for name, value in (("sigma", sigma), ("b", b), ("b0", b0), ("tau", tau), ("input_norm", input_norm)):
        check.check_positive(name, value)
    z = input_drive(int(n), input_kind, input_norm)
    base = jax.random.PRNGKey(seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(deltas.size))

    def build(key, delta):
        W_r = recurrent_matrix(key, int(n), ensemble=ensemble, delta=delta, mu=mu)
        return ORGaNICs(z=z, W_r=W_r, sigma=sigma, b=b, b0=b0, tau_y=tau, tau_a=tau, variant=variant)

    models = eqx.filter_jit(jax.vmap(build))(keys, jnp.asarray(deltas))
    starts = eqx.filter_jit(eqx.filter_vmap(lambda m: first_order_fixed_point(m).state))(models)
    radius = jnp.max(jnp.abs(jnp.linalg.eigvals(models.W_r)), axis=-1)
    result = classify_batch(models, starts, max_chunks=max_chunks)

    outcome = np.asarray(result.outcome)
    at_fixed_point = outcome == STABLE_FIXED_POINT
    y_norm = np.asarray(eqx.filter_vmap(lambda m: m.split_state(normalization_fixed_point(m).state)[0])(models))
    y_end = np.asarray(result.final_state)[:, : int(n)]
    error = np.linalg.norm(y_end - y_norm, axis=-1) / np.linalg.norm(y_norm, axis=-1)
    real = np.asarray(result.leading_real)

    def where_fixed_point(values) -> np.ndarray:
        return np.where(at_fixed_point, values, np.nan)

    return SweepResult(
        delta=deltas,
        spectral_radius=np.asarray(radius),
        outcome=outcome,
        leading_real_times_tau=where_fixed_point(real * tau),
        relaxation_time=where_fixed_point(-1.0 / np.where(real < 0, real, -1.0)),
        frequency_hz=where_fixed_point(np.asarray(result.leading_imag) / (2 * np.pi)),
        normalization_error=where_fixed_point(error),
        period=np.asarray(result.period),
        amplitude=np.asarray(result.amplitude),
        time_simulated=np.asarray(result.time_simulated),
    )
