r"""Fixed points of ORGaNICs circuits.

Every solver returns a :class:`FixedPoint` carrying the point, whether it converged, the
number of iterations and the residual ``||tau * f(x*)||_2`` (the norm of the right-hand sides
of Eq. 14, in units of the state), so a failure is reported, never hidden behind NaN. All
functions take one model and are pure JAX: ``eqx.filter_vmap`` them over a batched model.

* :func:`normalization_fixed_point` -- closed form, exact for ``W_r = I`` (Eq. 4 / Eq. 88);
* :func:`first_order_fixed_point` -- first-order correction in ``K = W_r - I``;
* :func:`iterative_fixed_point`, :func:`algorithm1`, :func:`algorithm2` -- Algorithms 1 and 2 of
  the paper (Section 6.1, Appendix G), main model only, meant for ``sigma_max(W_r) <= 1``;
* :func:`newton_fixed_point` -- Newton on ``tau f(x) = 0`` (any model);
* :func:`simulate_to_steady_state` -- Diffrax integration until ``||tau f||`` is small (any model).

Only simulation is guaranteed to return a point the dynamics reach: the algebraic solvers can
converge to an unstable fixed point (seen for Algorithm 2 and Newton when ``rho(W_r) > 1``);
check the Jacobian spectrum when that matters.
"""

from __future__ import annotations

from typing import Literal

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jax import Array
from jax.typing import ArrayLike

from ._safe import abs_pow, relu, relu_pow
from .models.organics import ORGaNICs, normalization_rate
from .stability import jacobian

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


# ---------------------------------------------------------------------------------------------
# First-order correction, the iterative algorithms of the paper, Newton and simulation.
# ---------------------------------------------------------------------------------------------

#: Default tolerance of :func:`simulate_to_steady_state` (looser: an adaptive integrator
#: approaches the fixed point exponentially and pays for every extra digit in steps).
SIMULATION_TOLERANCE = 1e-9

Initialization = Literal["algorithm1", "algorithm2"]


def _is_finite(x: Array) -> Array:
    return jnp.all(jnp.isfinite(x), axis=-1)


def _finish(model, state: Array, tol: float, iterations: Array, ok: Array | bool = True) -> FixedPoint:
    """Package a candidate: residual test, finiteness and any solver flag combined."""
    residual, within = converged_within(model, state, tol)
    finite = _is_finite(state) & jnp.isfinite(residual)
    return FixedPoint(
        state=state,
        converged=within & finite & ok,
        iterations=jnp.asarray(iterations, dtype=int),
        residual=residual,
    )


def first_order_fixed_point(model: ORGaNICs, tol: float = DEFAULT_TOLERANCE) -> FixedPoint:
    r"""Fixed point to first order in ``K = W_r - I`` around the normalization point.

    With ``x0`` the normalization fixed point (exact for ``W_r = I``, Eq. 4 / Eq. 88), ``J0``
    the Jacobian (1/s) of the same circuit with ``W_r`` replaced by ``I`` at ``x0`` and ``f`` the
    vector field of the actual circuit (1/s)::

        x1 = -J0^{-1} f(x0),        x* = x0 + x1 + O(||K||^2)

    Since ``f_I(x0) = 0`` and ``f - f_I = O(K)``, this is the exact first-order term
    (for the main model with ``W`` all ones and scalar gains it reduces to the closed form of
    the research code, ``y1 = [D(1/sqrt(a0) - 1) - D(y0/a0) W D(b z (1 - sqrt(a0)))] K y0``,
    ``a1 = W D(2 b z (1 - sqrt(a0))) K y0``). Works for every variant and exponent ``p`` with
    the default ``a+``; ``iterations`` is 0 and the residual is of order ``||K||^2``.
    """
    x0 = normalization_fixed_point(model, tol).state
    identity_model = eqx.tree_at(lambda m: m.W_r, model, jnp.eye(model.n, dtype=x0.dtype))
    J0 = jacobian(identity_model, x0)
    x1 = -_solve_diagonal_y_blocks(J0, model.vector_field(0.0, x0))
    return _finish(model, x0 + x1, tol, 0)


def _solve_diagonal_y_blocks(J: Array, rhs: Array) -> Array:
    """Solve ``J x = rhs`` for a ``2n x 2n`` Jacobian whose ``J_yy`` and ``J_ya`` blocks are diagonal.

    Such is the Jacobian of every ORGaNICs variant at ``W_r = I`` (the gate of ``y_i`` and its
    recurrent drive depend on ``y_i`` and ``a_i`` alone). Eliminating ``y = (f - j_ya * alpha) / j_yy``
    leaves the ``n x n`` Schur complement ``(J_aa - J_ay D(j_ya / j_yy)) alpha = g - J_ay (f / j_yy)``
    (``rhs = (f, g)``): one ``n``-dimensional factorization instead of a ``2n``-dimensional one.
    """
    n = J.shape[-1] // 2
    j_yy, j_ya = jnp.diagonal(J[:n, :n]), jnp.diagonal(J[:n, n:])
    J_ay, J_aa = J[n:, :n], J[n:, n:]
    f, g = rhs[:n], rhs[n:]
    alpha = jnp.linalg.solve(J_aa - J_ay * (j_ya / j_yy)[None, :], g - J_ay @ (f / j_yy))
    return jnp.concatenate([(f - j_ya * alpha) / j_yy, alpha])


def _require_main(model, name: str) -> None:
    if not isinstance(model, ORGaNICs):
        raise ValueError(f"{name} needs an ORGaNICs circuit; got {type(model).__name__}")
    if model.variant != "main":
        raise ValueError(
            f"{name} is derived for the main model (Eq. 108); got variant {model.variant!r}. "
            "Use newton_fixed_point or simulate_to_steady_state for rectified variants"
        )
    if model.a_plus is not None:
        raise ValueError(
            f"{name} needs the default a+ = [a]+**(1/p); got a custom a_plus. "
            "Use newton_fixed_point or simulate_to_steady_state"
        )


def leading_eigenvalue(W_r: Array) -> Array:
    """Real part of the eigenvalue of ``W_r`` with the largest real part (``lambda_m`` of Eq. 115).

    Uses ``jnp.linalg.eigvals`` (dense nonsymmetric eigensolver, LAPACK ``geev`` on CPU; it may
    be unsupported on some accelerators), with the gradient stopped: it only seeds Algorithm 2.
    """
    return jnp.max(jnp.real(jnp.linalg.eigvals(jax.lax.stop_gradient(W_r))))


def _initial_guess(model: ORGaNICs, init: str, lambda_m: ArrayLike | None = None) -> tuple[Array, Array]:
    """Initial ``(y, a)`` of Algorithm 1 (lines 3-4) or Algorithm 2 (Eqs. 115-116)."""
    p = model.p
    drive = model.b * model.drive(0.0)
    floor = (model.b0 * model.sigma) ** p  # b0**2 sigma**2 for p = 2
    recurrent_drive = model.W_r @ drive
    if init == "algorithm1":
        a = floor + model.W @ abs_pow(recurrent_drive, p)
        y = recurrent_drive / normalization_rate(a, p)
    else:
        lam = leading_eigenvalue(model.W_r) if lambda_m is None else jnp.asarray(lambda_m, dtype=drive.dtype)

        def denominator(a: Array) -> Array:
            return lam - lam**2 + lam**2 * normalization_rate(a, p)

        a = floor + model.W @ (abs_pow(recurrent_drive / denominator(floor), p) * floor)
        y = recurrent_drive / denominator(a)
    return y, a


def _paper_residual(model: ORGaNICs, y: Array, a: Array) -> Array:
    """``||y - b z - (1 - a**(1/p)) * (W_r y)||`` (line 6 of Algorithms 1 and 2)."""
    return jnp.linalg.norm(y - model.b * model.drive(0.0) - (1.0 - normalization_rate(a, model.p)) * (model.W_r @ y))


def iterative_fixed_point(
    model: ORGaNICs,
    *,
    init: Initialization = "algorithm2",
    max_iter: int = 10,
    tol: float = DEFAULT_TOLERANCE,
    lambda_m: ArrayLike | None = None,
) -> FixedPoint:
    r"""Algorithms 1 and 2 of the paper (Section 6.1, Appendix G): one iteration, two starts.

    Iteration (Eq. 117; ``p = 2`` gives ``sqrt(a)`` and ``y**2``)::

        y <- (I - W_r + D(a**(1/p)) W_r)^{-1} (b * z)
        a <- (b0 sigma)**p + W @ (|y|**p * a)

    Initialization ``"algorithm1"`` (Algorithm 1, lines 3-4; for ``sigma_max(W_r) = 1``)::

        a0 = (b0 sigma)**p + W @ |W_r (b z)|**p,           y0 = W_r (b z) / a0**(1/p)

    Initialization ``"algorithm2"`` (Eqs. 115-116, ``lambda_m`` = real part of the eigenvalue of
    ``W_r`` with the largest real part, from :func:`leading_eigenvalue` unless given: the
    dense eigendecomposition of ``W_r`` usually costs more than the iteration itself, so pass
    ``lambda_m`` when many inputs share one ``W_r``)::

        c(a) = lambda_m - lambda_m**2 + lambda_m**2 a**(1/p)
        a0 = (b0 sigma)**p + W @ (|W_r (b z) / c((b0 sigma)**p)|**p * (b0 sigma)**p)
        y0 = W_r (b z) / c(a0)

    The loop (a ``lax.while_loop``, so it jits and vmaps) stops when the paper's test
    ``||y - b z - (1 - a**(1/p)) (W_r y)|| <= tol * max(1, ||x||)`` holds, after ``max_iter``
    updates, or at a non-finite iterate. ``converged`` is the full test
    ``||tau f(x)|| <= tol * max(1, ||x||)`` (and finiteness); ``iterations`` counts updates.
    The drive is taken at ``t = 0``. Only the main model with the default ``a+`` is supported
    (``ValueError`` otherwise, raised before tracing).
    """
    _require_main(model, "iterative_fixed_point")
    if init not in ("algorithm1", "algorithm2"):
        raise ValueError(f"init must be 'algorithm1' or 'algorithm2'; got {init!r}")
    if int(max_iter) < 0:
        raise ValueError(f"max_iter must be >= 0; got {max_iter}")
    p = model.p
    drive = model.b * model.drive(0.0)
    floor = (model.b0 * model.sigma) ** p
    identity = jnp.eye(model.n, dtype=drive.dtype)

    def keep_going(carry):
        y, a, k = carry
        scale = jnp.maximum(1.0, jnp.linalg.norm(jnp.concatenate([y, a])))
        finite = jnp.all(jnp.isfinite(y)) & jnp.all(jnp.isfinite(a))
        return (k < max_iter) & finite & ~(_paper_residual(model, y, a) <= tol * scale)

    def update(carry):
        y, a, k = carry
        y = jnp.linalg.solve(identity - model.W_r + normalization_rate(a, p)[:, None] * model.W_r, drive)
        a = floor + model.W @ (abs_pow(y, p) * a)
        return y, a, k + 1

    y0, a0 = _initial_guess(model, init, lambda_m)
    y, a, k = jax.lax.while_loop(keep_going, update, (y0, a0, jnp.zeros((), dtype=int)))
    return _finish(model, model.join_state(y, a), tol, k)


def algorithm1(model: ORGaNICs, **kwargs) -> FixedPoint:
    """Algorithm 1 of the paper: :func:`iterative_fixed_point` with ``init="algorithm1"``."""
    return iterative_fixed_point(model, init="algorithm1", **kwargs)


def algorithm2(model: ORGaNICs, **kwargs) -> FixedPoint:
    """Algorithm 2 of the paper: :func:`iterative_fixed_point` with ``init="algorithm2"``."""
    return iterative_fixed_point(model, init="algorithm2", **kwargs)


def default_initial_state(model) -> Array:
    """Default starting state of :func:`simulate_to_steady_state` (and of Newton for models
    other than the main variant).

    * ORGaNICs (any variant, default ``a+``): the normalization fixed point (Eq. 4 / Eq. 88),
      exact for ``W_r = I``;
    * ``ORGaNICsDynamicGains``: gains ``b = f(W_bx x)``, ``b0 = f(W_b0x x)`` (the gain equations
      without the ``y``/``a`` feedback) and the normalization point of the circuit with those
      gains and drive ``z = W_zx x``, all at ``t = 0``.

    Raises ``ValueError`` for other models or a custom ``a+`` (pass ``x0`` explicitly).
    """
    from .models.organics import ORGaNICsDynamicGains

    if isinstance(model, ORGaNICs):
        if model.a_plus is not None:
            raise ValueError("no default initial state for a custom a_plus; pass x0 explicitly")
        return normalization_fixed_point(model).state
    if isinstance(model, ORGaNICsDynamicGains):
        c = model.circuit
        if c.a_plus is not None:
            raise ValueError("no default initial state for a custom a_plus; pass x0 explicitly")
        x = model.stimulus(0.0)
        b = model.gain_fn(model.W_bx @ x)
        b0 = model.gain_fn(model.W_b0x @ x)
        circuit = eqx.tree_at(lambda m: (m.z, m.b, m.b0), c, (model.W_zx @ x, b, b0))
        y, a = circuit.split_state(normalization_fixed_point(circuit).state)
        return model.join_state(y, a, b, b0)
    raise ValueError(f"no default initial state for {type(model).__name__}; pass x0 explicitly")


def newton_initial_state(model) -> Array:
    """Default starting state of :func:`newton_fixed_point`.

    For ORGaNICs (default ``a+``), whichever of two candidates has the smaller residual
    ``||tau f||`` (non-finite candidates skipped): the normalization point (Eq. 4 / 88) and, for
    the main model, the Algorithm-1 iterate (``max_iter=10``; no eigendecomposition needed),
    for the rectified variants the first-order point (:func:`first_order_fixed_point`). Newton
    from a poor start (for example the bare Algorithm-2 guess of Eqs. 115-116) more often lands
    on another, unstable fixed point. Other models: :func:`default_initial_state`.
    """
    if not (isinstance(model, ORGaNICs) and model.a_plus is None):
        return default_initial_state(model)
    if model.variant == "main":
        refined = algorithm1(model).state
    else:
        refined = first_order_fixed_point(model).state
    candidates = jnp.stack([normalization_fixed_point(model).state, refined])
    residuals = jax.vmap(lambda x: residual_norm(model, x))(candidates)
    residuals = jnp.where(jnp.isfinite(residuals) & _is_finite(candidates), residuals, jnp.inf)
    return candidates[jnp.argmin(residuals)]


def _residual_fn(x: Array, model) -> Array:
    return model.residual(x)


def newton_fixed_point(
    model,
    x0: Array | None = None,
    *,
    tol: float = DEFAULT_TOLERANCE,
    max_steps: int = 100,
) -> FixedPoint:
    r"""Root of ``tau * f(x) = 0`` (Eq. 109 for the main model) by Newton's method (Optimistix).

    Solves ``model.residual(x) = 0`` (units of the state) with ``optx.Newton(rtol=tol,
    atol=tol)`` (max-norm Cauchy termination) from ``x0`` (default
    :func:`newton_initial_state`: the better of the normalization point and the Algorithm-1
    iterate, or the first-order point for rectified variants). Works for any model with
    ``residual``, ``vector_field`` and ``time_constants`` (every ORGaNICs variant,
    ``ORGaNICsDynamicGains``; with a custom ``a+`` or another model pass ``x0``).
    ``converged`` requires Optimistix success, ``||tau f(x)|| <= tol * max(1, ||x||)`` and a finite
    state; ``iterations`` is the number of Newton steps. Newton finds *a* fixed point near
    ``x0``, not necessarily the stable one: check it with the Jacobian.
    """
    if x0 is None:
        x0 = newton_initial_state(model)
    x0 = jnp.asarray(x0, dtype=float)
    solution = optx.root_find(
        _residual_fn,
        optx.Newton(rtol=tol, atol=tol),
        x0,
        args=model,
        max_steps=max_steps,
        throw=False,
    )
    ok = solution.result == optx.RESULTS.successful
    return _finish(model, solution.value, tol, solution.stats["num_steps"], ok)


def simulate_to_steady_state(
    model,
    x0: Array | None = None,
    *,
    t_max: float | Array | None = None,
    tol: float = SIMULATION_TOLERANCE,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 16384,
) -> FixedPoint:
    r"""Integrate ``dx/dt = f(x)`` (Eq. 14 / 34 / 86, 1/s) until it stops moving.

    Diffrax ``Tsit5`` with a ``PIDController(rtol, atol)`` (default ``rtol = tol / 10``,
    ``atol = tol / 1000``: the local error must stay below the residual sought) from ``x0`` (default
    :func:`default_initial_state`) over ``0 <= t <= t_max`` seconds (default
    ``2000 * max(tau)``), stopped early by an event at the end of the first accepted step with
    ``||tau f(x)|| <= tol * max(1, ||x||)``. The default ``tol = 1e-9`` is looser than the
    algebraic solvers' ``1e-10``: the state still moves by about ``residual / |lambda_slowest|``
    (in units of ``tau``) after the event. ``iterations`` is the number of accepted steps;
    ``converged`` is the residual test on the final state (never raised: ``throw=False``).
    For a time-varying drive the trajectory is followed with ``z(t)``; freeze the input with
    ``model.at_time(t)`` to find the fixed point of one input.
    """
    if x0 is None:
        x0 = default_initial_state(model)
    x0 = jnp.asarray(x0, dtype=float)
    if t_max is None:
        t_max = 2000.0 * jnp.max(model.time_constants())
    rtol = tol / 10.0 if rtol is None else rtol
    atol = tol / 1000.0 if atol is None else atol

    def vector_field(t, x, m):
        return m.vector_field(t, x)

    def at_steady_state(t, x, m, **kwargs):
        del kwargs
        residual = jnp.linalg.norm(m.residual(x, t))
        return residual <= tol * jnp.maximum(1.0, jnp.linalg.norm(x))

    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        diffrax.Tsit5(),
        t0=0.0,
        t1=t_max,
        dt0=None,
        y0=x0,
        args=model,
        saveat=diffrax.SaveAt(t1=True),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        event=diffrax.Event(at_steady_state),
        max_steps=max_steps,
        throw=False,
    )
    state = solution.ys[-1]
    return _finish(model, state, tol, solution.stats["num_accepted_steps"])
