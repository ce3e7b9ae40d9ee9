r"""Fixed points of ORGaNICs circuits.

Every solver returns a :class:`FixedPoint` carrying the point, whether it converged, the
number of iterations and the residual ``||tau * f(x*)||_2`` (the norm of the right-hand sides
of Eq. 14, in units of the state), so a failure is reported, never hidden behind NaN. All
functions take one model and are pure JAX: ``eqx.filter_vmap`` them over a batched model.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jax import Array

from ._safe import abs_pow, relu, relu_pow
from .models.organics import ORGaNICs

#: Default tolerance on the relative residual ``||tau f(x)|| / max(1, ||x||)``.
DEFAULT_TOLERANCE = 1e-10


class FixedPoint(eqx.Module):
    """A fixed point and the evidence for it.

    Attributes
    ----------
    state:
        Flat state ``x*`` (use ``model.split_state`` to get ``(y, a)``).
    converged:
        True if the residual met the solver's tolerance.
    iterations:
        Iterations (or integrator steps) the solver used; 0 for closed forms.
    residual:
        ``||tau * f(x*)||_2``, the steady-state residual in units of the state.
    """

    state: Array
    converged: Array
    iterations: Array
    residual: Array


def residual_norm(model, state: Array) -> Array:
    """``||tau * f(x)||_2`` for a model with ``residual`` (Eq. 14 right-hand sides)."""
    return jnp.linalg.norm(model.residual(state), axis=-1)


def converged_within(model, state: Array, tol: float) -> tuple[Array, Array]:
    """Residual and the test ``residual <= tol * max(1, ||x||)``."""
    residual = residual_norm(model, state)
    scale = jnp.maximum(1.0, jnp.linalg.norm(state, axis=-1))
    return residual, residual <= tol * scale


def normalization_fixed_point(model: ORGaNICs, tol: float = DEFAULT_TOLERANCE) -> FixedPoint:
    r"""The normalization fixed point, exact when ``W_r = I`` (Eq. 4; rectified models Eq. 88).

    Main model, exponent ``p`` (Eq. 4 and Appendix A)::

        a_s = (b0 sigma)**p + W @ |b z|**p,       y_s = b z / a_s**(1/p)

    Rectified models (Eq. 88)::

        a_s = (b0 sigma)**p + W @ [b z]+**p,      y_s = [b z]+ / a_s**(1/p) - [-b z]+

    For ``W_r != I`` the point is the zeroth-order approximation; ``residual`` then measures how
    far it is from a fixed point and ``converged`` is False unless it happens to be one. The
    drive is taken at ``t = 0`` for time-varying input (use ``model.at_time(t)`` otherwise).
    """
    if model.a_plus is not None:
        raise ValueError(
            "normalization_fixed_point needs the default a+ = [a]+**(1/p); "
            "use newton_fixed_point or simulate_to_steady_state for a custom a_plus"
        )
    p = model.p
    drive = model.b * model.drive(0.0)
    if model.variant == "main":
        a = (model.b0 * model.sigma) ** p + model.W @ abs_pow(drive, p)
        y = drive / a ** (1.0 / p)
    else:
        a = (model.b0 * model.sigma) ** p + model.W @ relu_pow(drive, p)
        y = relu(drive) / a ** (1.0 / p) - relu(-drive)
    state = model.join_state(y, a)
    residual, ok = converged_within(model, state, tol)
    return FixedPoint(state=state, converged=ok, iterations=jnp.zeros((), dtype=int), residual=residual)
