r"""ORGaNICs as trainable layers (Rawat, Heeger & Martiniani, NeurIPS 2024, Section 6 and Appendix I).

Two layers, both Equinox modules mapping one example (no batch axis; ``jax.vmap`` them):

* :class:`ORGaNICsFixedPoint` -- the static layer of Eq. 133: the input sets the drive and the gain,
  the circuit relaxes to its fixed point, found by Algorithm 1 (Section 6.1, Appendix G), and the
  layer outputs the steady-state rate ``[y*]+**2``. Gradients by implicit differentiation at the
  fixed point (default) or by unrolling the iterations.
* :class:`ORGaNICsCell` / :class:`ORGaNICsRNN` -- the explicit-Euler discretization of the rectified
  circuit with dynamic gains (Eq. 134, built on Eqs. 16 and 86), run over a sequence with ``lax.scan``.

Time is dimensionless here: the static layer uses ``tau_y = tau_a = 1`` (its Jacobian eigenvalues are
in units of ``1/tau``) and the RNN is parametrized by the ratios ``dt/tau`` (eigenvalues of the
continuous dynamics in units of ``1/dt``). Everything else is in the units of the input.

Choices where the paper leaves room (each a documented constructor option, the paper's equations
being the default):

* ``W_r`` of the static layer is ``V / sigma_max(V)`` (exact top singular value from the SVD), so its
  largest singular value is exactly 1, the condition of Algorithm 1; ``V`` starts at the identity
  (Table 4).
* Nonnegative ``W`` is ``|V|`` with ``V`` starting at all ones (Tables 4 and 7 train ``W`` freely from
  ones; ``|V|`` is identical while entries stay positive and keeps ``W >= 0`` as Eq. 1 requires).
  Positive ``b0`` and ``sigma`` are ``softplus`` of a free parameter.
* ``gate``: ``"sqrt"`` -- the recurrent drive is gated by ``1 - sqrt([a]+)`` (Eqs. 14, 133, 134;
  ``D(sqrt(a))`` in line 7 of Algorithm 1); ``"linear"`` -- by ``1 - [a]+`` (``D(a)`` in Algorithm 1), in
  the update *and* the steady-state equations, so the layer still solves a well-defined circuit.
* ``output`` / readout: ``"rate"`` -- ``[y]+**2`` (Appendix I); ``"potential"`` -- ``y``.
* ``variant`` of the RNN: ``"rectified"`` -- recurrent drive ``W_r [y]+`` (Eqs. 86, 134);
  ``"rectified_recurrence"`` -- ``[W_r y]+``; ``"main"`` -- ``W_r y`` with pool ``y**2`` (Eq. 14).
* ``stepper`` of the RNN: ``"euler"`` -- the explicit step of Eq. 134; ``"semi-implicit"`` -- the same step
  divided by ``1 + (dt/tau) D`` with ``D`` each variable's own decay rate (same fixed points, contracting
  for stiff neurons); ``substeps`` -- cell steps per input element.
"""

from __future__ import annotations

import functools
import math
from typing import Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from .. import _validation as check
from .._safe import relu, relu_pow, sqrt_relu
from ..models.organics import VARIANTS, organics_rates

__all__ = [
    "GATES",
    "OUTPUTS",
    "GRADIENTS",
    "BATCHINGS",
    "CHUNK",
    "STEPPERS",
    "FixedPointSolution",
    "ORGaNICsFixedPoint",
    "ORGaNICsCell",
    "ORGaNICsRNN",
    "kaiming_uniform",
    "unit_spectral_norm",
]

Gate = Literal["sqrt", "linear"]
Output = Literal["rate", "potential"]
Gradient = Literal["implicit", "unrolled"]
Batching = Literal["compact", "vmap"]
GATES: tuple[str, ...] = ("sqrt", "linear")
OUTPUTS: tuple[str, ...] = ("rate", "potential")
GRADIENTS: tuple[str, ...] = ("implicit", "unrolled")
#: How :class:`ORGaNICsFixedPoint`'s implicit loops run under ``jax.vmap`` (see :func:`_compacted_loop`).
BATCHINGS: tuple[str, ...] = ("compact", "vmap")
#: Time steppers of :class:`ORGaNICsCell`: ``"euler"`` (Eq. 134) and ``"semi-implicit"`` (diagonally implicit).
STEPPERS: tuple[str, ...] = ("euler", "semi-implicit")

#: Upper bounds ``c`` of ``dt/tau = c * sigmoid(p)`` for ``(y, a, b, b0)`` (Appendix I.2).
PAPER_DT_TAU_MAX: tuple[float, float, float, float] = (0.05, 0.01, 0.1, 0.1)


# --------------------------------------------------------------------------------------------- helpers


def kaiming_uniform(key: Array, shape: tuple[int, ...], fan_in: int) -> Array:
    """He (Kaiming) uniform draw: ``U(-sqrt(6/fan_in), sqrt(6/fan_in))``, variance ``2/fan_in``."""
    bound = math.sqrt(6.0 / fan_in)
    return jax.random.uniform(key, shape, minval=-bound, maxval=bound)


def unit_spectral_norm(V: Array) -> Array:
    """``V / sigma_max(V)``: the same directions with largest singular value exactly 1."""
    return V / jnp.linalg.norm(V, ord=2)


def _inverse_softplus(value: float) -> float:
    return value + math.log(-math.expm1(-value))


def _gate_rate(a: Array, gate: str) -> Array:
    """Rate that gates the recurrence: ``sqrt([a]+)`` (paper) or ``[a]+`` (``gate="linear"``)."""
    return sqrt_relu(a) if gate == "sqrt" else relu(a)


def _check_size(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return value


# --------------------------------------------------------------------------------------------- static layer


class FixedPointSolution(eqx.Module):
    """Result of the static layer's fixed-point solve for one input.

    Attributes
    ----------
    y, a:
        Steady-state potentials, shape ``(n,)``.
    converged:
        True if ``||F(y, a)||_2 <= tol * max(1, ||(y, a)||_2)`` (``F`` the right-hand sides of Eq. 133)
        and the state is finite.
    iterations:
        Algorithm-1 updates used.
    residual:
        ``||F(y, a)||_2`` in units of the state.
    """

    y: Array
    a: Array
    converged: Array
    iterations: Array
    residual: Array


class ORGaNICsFixedPoint(eqx.Module):
    r"""Static ORGaNICs layer (Eq. 133, Appendix I.1): input ``x`` of shape ``(m,)`` -> ``(n,)``.

    Circuit, with ``z = W_zx x`` and the input-dependent gain ``b = sigmoid(W_bx x)``::

        tau_y dy/dt = -y + b * z + (1 - g(a)) * (W_r y)
        tau_a da/dt = -a + b0**2 sigma**2 + W (y**2 * [a]+)

    with ``g(a) = sqrt([a]+)`` (``gate="sqrt"``, the paper) or ``[a]+`` (``gate="linear"``). The output is
    the steady-state rate ``[y*]+**2`` (``output="rate"``, the paper) or ``y*`` (``output="potential"``).

    Forward pass: Algorithm 1. Start (lines 3-4) ``a0 = b0**2 sigma**2 + W (W_r b z)**2``,
    ``y0 = W_r b z / g(a0)``; update (lines 7-8, Eq. 117)::

        y <- (I - W_r + D(g(a)) W_r)^{-1} (b * z)
        a <- b0**2 sigma**2 + W (y**2 * [a]+)

    ``gradient="implicit"`` (default): the updates stop as soon as the residual of Eq. 133 satisfies the
    convergence test of :class:`FixedPointSolution` (or after ``max_iter`` updates; the start is exact at
    ``W_r = I``, so no update is needed there), and the gradient comes from the implicit function theorem
    at the fixed point, never through the iterations (:func:`_implicit_steady_state`: an adjoint
    iteration with one LU factorization of the ``n x n`` matrix of line 7 per example, its transpose
    written out in :func:`_state_vjp` and :func:`_parameter_vjp`). It is exact only at
    a converged point. ``gradient="unrolled"``: exactly ``max_iter`` updates in a ``lax.scan``,
    differentiated through. The paper caps Algorithm 1 at 10 updates; the default cap here is 25 because
    the implicit loop stops as soon as it converges and needs convergence for an exact gradient.
    Non-convergence is reported by :meth:`solve` (``converged``), never turned into NaN. Per-batch work
    (``W_r``'s SVD, ``|V|``, softplus) does not depend on the example, so under ``jax.vmap`` it is done once
    per batch; the per-example work is the LU solves of the updates and of the adjoint.

    ``batching`` (the implicit loops under ``jax.vmap``; the numbers are the same either way, to rounding):
    ``"compact"`` (default) updates, in every sweep, only the examples still running, :data:`CHUNK` at a
    time (:func:`_compacted_loop`), so a batch costs about the sum of its examples' updates; ``"vmap"`` is
    JAX's batching of the per-example loop, which updates the whole batch until its slowest example stops.
    Measured (``benchmarks/fixed_point_speed.py``: the ``fp80`` classifier of Table 1 after 10 epochs on the
    MNIST embedding, batch 256, float64, one core of the 2-core development CPU): 13.8 updates per example
    on average, 25 (the cap) for the slowest of every batch; training step 174 ms with ``"compact"``
    against 409 ms with ``"vmap"``, forward pass 128 against 310 ms. ``"vmap"`` may suit an accelerator,
    where a batch's updates run in parallel (not measured).

    Parameters (trainable unless stated): ``W_zx``, ``W_bx`` (He uniform, Table 4); ``W_r = V_r /
    sigma_max(V_r)`` (``V_r`` from the identity); ``W = |V|`` (every entry from ``W_init``: 1 in Table 4;
    :func:`~organics.nn.models.build_classifier` uses ``1/size``, see there); ``b0 = softplus(.)`` (from
    ``softplus(N(0, 1))``); ``sigma = softplus(.)`` (from ``sigma``, trained only if ``learn_sigma``; fixed
    at 1 in Table 4).
    """

    W_zx: Array
    W_bx: Array
    V_r: Array
    V: Array
    b0_raw: Array
    sigma_raw: Array
    max_iter: int = eqx.field(static=True)
    tol: float = eqx.field(static=True)
    gradient: str = eqx.field(static=True)
    batching: str = eqx.field(static=True)
    gate: str = eqx.field(static=True)
    output: str = eqx.field(static=True)
    learn_sigma: bool = eqx.field(static=True)

    def __init__(
        self,
        input_size: int,
        size: int,
        *,
        key: Array,
        max_iter: int = 25,
        tol: float = 1e-8,
        gradient: Gradient = "implicit",
        batching: Batching = "compact",
        gate: Gate = "sqrt",
        output: Output = "rate",
        sigma: float = 1.0,
        learn_sigma: bool = False,
        W_init: float = 1.0,
    ):
        m = _check_size("input_size", input_size)
        n = _check_size("size", size)
        check.check_choice("gradient", gradient, GRADIENTS)
        check.check_choice("batching", batching, BATCHINGS)
        check.check_choice("gate", gate, GATES)
        check.check_choice("output", output, OUTPUTS)
        _check_size("max_iter", max_iter)
        check.check_positive("tol", tol)
        check.check_positive("sigma", sigma)
        check.check_positive("W_init", W_init)
        k_zx, k_bx, k_b0 = jax.random.split(key, 3)
        self.W_zx = kaiming_uniform(k_zx, (n, m), m)
        self.W_bx = kaiming_uniform(k_bx, (n, m), m)
        self.V_r = jnp.eye(n)
        self.V = jnp.full((n, n), float(W_init))
        self.b0_raw = jax.random.normal(k_b0, (n,))
        self.sigma_raw = jnp.full((n,), _inverse_softplus(float(sigma)))
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.gradient = gradient
        self.batching = batching
        self.gate = gate
        self.output = output
        self.learn_sigma = bool(learn_sigma)

    # ------------------------------------------------------------------ parameters
    @property
    def size(self) -> int:
        """Number of principal neurons ``n`` (and of normalization neurons)."""
        return self.W_zx.shape[0]

    @property
    def W_r(self) -> Array:
        """Recurrent weights, largest singular value exactly 1."""
        return unit_spectral_norm(self.V_r)

    @property
    def W(self) -> Array:
        """Nonnegative normalization weights ``|V|``."""
        return jnp.abs(self.V)

    @property
    def b0(self) -> Array:
        """Positive gain of the semi-saturation term."""
        return jax.nn.softplus(self.b0_raw)

    @property
    def sigma(self) -> Array:
        """Positive semi-saturation constants (gradient stopped unless ``learn_sigma``)."""
        raw = self.sigma_raw if self.learn_sigma else jax.lax.stop_gradient(self.sigma_raw)
        return jax.nn.softplus(raw)

    def drive(self, x: Array) -> tuple[Array, Array]:
        """Input drive ``z = W_zx x`` and gain ``b = sigmoid(W_bx x)`` of Eq. 133."""
        return self.W_zx @ x, jax.nn.sigmoid(self.W_bx @ x)

    # ------------------------------------------------------------------ dynamics
    def vector_field(self, x: Array, state: Array) -> Array:
        """Right-hand sides of Eq. 133 (``tau_y = tau_a = 1``) at the flat state ``(y, a)`` for input ``x``."""
        z, b = self.drive(x)
        return _static_rates(state, (self.W_r, self.W, self.b0, self.sigma, z, b), self.gate)

    def solve(self, x: Array) -> FixedPointSolution:
        """Fixed point of the layer for one input ``x`` of shape ``(m,)``, with its convergence status."""
        z, b = self.drive(x)
        args = (self.W_r, self.W, self.b0, self.sigma, z, b)
        if self.gradient == "implicit":
            compact = self.batching == "compact"
            state, iterations = _implicit_steady_state(args, self.gate, self.max_iter, self.tol, compact)
        else:
            state = jax.lax.scan(
                lambda s, _: (_algorithm1_update(s, args, self.gate), None),
                _algorithm1_start(args, self.gate),
                None,
                length=self.max_iter,
            )[0]
            iterations = jnp.asarray(self.max_iter)
        residual = jnp.linalg.norm(_static_rates(state, args, self.gate))
        converged = _is_converged(state, residual, self.tol)
        y, a = jnp.split(state, 2)
        return FixedPointSolution(y=y, a=a, converged=converged, iterations=iterations, residual=residual)

    def __call__(self, x: Array) -> Array:
        """Layer output for one input: ``[y*]+**2`` (``output="rate"``) or ``y*`` (``"potential"``)."""
        y = self.solve(x).y
        return relu_pow(y, 2.0) if self.output == "rate" else y


def _static_rates(state: Array, args: tuple, gate: str) -> Array:
    """``(-y + b z + (1 - g(a)) W_r y, -a + b0**2 sigma**2 + W (y**2 [a]+))`` (Eq. 133 right-hand sides)."""
    W_r, W, b0, sigma, z, b = args
    y, a = jnp.split(state, 2)
    dy = -y + b * z + (1.0 - _gate_rate(a, gate)) * (W_r @ y)
    da = -a + (b0 * sigma) ** 2 + W @ (y**2 * relu(a))
    return jnp.concatenate([dy, da])


def _is_converged(state: Array, residual: Array, tol: float) -> Array:
    """``||F||_2 <= tol * max(1, ||(y, a)||_2)`` with a finite state (the convergence test of the layer)."""
    finite = jnp.all(jnp.isfinite(state)) & jnp.isfinite(residual)
    return finite & (residual <= tol * jnp.maximum(1.0, jnp.linalg.norm(state)))


def _algorithm1_start(args: tuple, gate: str) -> Array:
    """Initial ``(y, a)`` of Algorithm 1, lines 3-4."""
    W_r, W, b0, sigma, z, b = args
    recurrent_drive = W_r @ (b * z)
    a = (b0 * sigma) ** 2 + W @ recurrent_drive**2
    return jnp.concatenate([recurrent_drive / _gate_rate(a, gate), a])


def _line7_matrix(gain: Array, W_r: Array) -> Array:
    """``I - W_r + D(g(a)) W_r = I + (D(g(a)) - I) W_r``, the matrix of line 7 of Algorithm 1 (``gain = g(a)``)."""
    return jnp.eye(W_r.shape[0], dtype=W_r.dtype) + (gain - 1.0)[:, None] * W_r


@jax.custom_jvp
def _line7_solve(matrix: Array, rhs: Array) -> Array:
    """``matrix^{-1} rhs`` from one LU factorization (partial pivoting) of ``[matrix | rhs]`` and one back
    substitution: the factorization carries ``rhs`` to ``L^{-1} P rhs``, so the row permutation and the forward
    substitution of a separate solve are not needed (measured: 45 instead of 54 us per 80 x 80 system, batches
    of 16, float64, one CPU core). The tangent is ``matrix^{-1} (d rhs - d matrix y)``."""
    n = rhs.shape[0]
    lu = jax.lax.linalg.lu(jnp.concatenate([matrix, rhs[:, None]], axis=1))[0]
    return jax.lax.linalg.triangular_solve(lu[:, :n], lu[:, n:], left_side=True, lower=False)[:, 0]


@_line7_solve.defjvp
def _line7_solve_jvp(primals: tuple, tangents: tuple) -> tuple[Array, Array]:
    matrix, rhs = primals
    d_matrix, d_rhs = tangents
    y = _line7_solve(matrix, rhs)
    return y, jnp.linalg.solve(matrix, d_rhs - d_matrix @ y)


def _algorithm1_update(state: Array, args: tuple, gate: str) -> Array:
    """One update of Algorithm 1 (lines 7-8, Eq. 117); its fixed points solve Eq. 133 at rest."""
    W_r, W, b0, sigma, z, b = args
    _, a = jnp.split(state, 2)
    y = _line7_solve(_line7_matrix(_gate_rate(a, gate), W_r), b * z)
    a = (b0 * sigma) ** 2 + W @ (y**2 * relu(a))
    return jnp.concatenate([y, a])


#: Examples that :func:`_compacted_loop` updates together (one batched LU call of line 7 per chunk).
CHUNK = 16


def _compacted_loop(step, x: Array, done: Array, data, batched, max_iter: int) -> tuple[Array, Array, Array]:
    """Per-example iteration over a batch that updates only the examples still running, a chunk at a time.

    Example ``i`` (row ``i`` of ``x``, shape ``(batch, d)``) is updated, ``x_i, done_i <- step(x_i, data_i)``,
    while ``k_i < max_iter`` and not ``done_i``; ``k_i`` counts its updates. ``step`` maps a chunk of rows
    (of ``x`` and of the leaves of ``data`` flagged True in ``batched``; the other leaves are shared) to the
    new rows and their ``done`` flags. Returns ``(x, k, done)``.

    The result is that of every example iterated on its own; only the cost differs. A plain ``vmap`` of a
    ``while_loop`` updates the whole batch until its slowest example stops: ``batch * max_i k_i`` updates.
    Here each sweep gathers the running examples and updates them in chunks of :data:`CHUNK` (the last
    one padded with finished rows, left unchanged), about ``sum_i k_i`` updates in all.
    """
    size = done.shape[0]
    chunk = min(CHUNK, size)

    def running(k, finished):
        return (k < max_iter) & ~finished

    def update(x_rows, k, finished, rows_data, fresh):
        new, new_done = step(x_rows, rows_data)
        return jnp.where(fresh[:, None], new, x_rows), k + fresh, jnp.where(fresh, new_done, finished)

    def sweep(carry):
        live = running(*carry[1:])
        if chunk == size:  # one chunk: the whole batch, masked
            return update(*carry, data, live)
        order = jnp.argsort(~live, stable=True)  # the running examples first

        def update_chunk(c, carry):
            start = jnp.minimum(c * chunk, size - chunk)  # the last chunk may overlap the one before it
            rows = jax.lax.dynamic_slice_in_dim(order, start, chunk)
            fresh = (start + jnp.arange(chunk) >= c * chunk) & live[rows]
            rows_data = jax.tree.map(lambda leaf, flag: leaf[rows] if flag else leaf, data, batched)
            new = update(*(v[rows] for v in carry), rows_data, fresh)
            return tuple(v.at[rows].set(n) for v, n in zip(carry, new))

        return jax.lax.fori_loop(0, (jnp.sum(live) + chunk - 1) // chunk, update_chunk, carry)

    start = (x, jnp.zeros(done.shape, dtype=int), done)
    return jax.lax.while_loop(lambda carry: jnp.any(running(*carry[1:])), sweep, start)


def _in_axes(batched) -> tuple:
    return tuple(0 if flag else None for flag in batched)


def _algorithm1_batch(args: tuple, batched: tuple, size: int, gate: str, max_iter: int, tol: float):
    """Algorithm 1 for ``size`` inputs (leaves of ``args`` flagged in ``batched`` have a leading batch axis)
    until :func:`_is_converged` holds or after ``max_iter`` updates: ``(states (size, 2n), updates (size,))``."""
    axes = _in_axes(batched)

    def converged(state, theta):
        return _is_converged(state, jnp.linalg.norm(_static_rates(state, theta, gate)), tol)

    def update(state, theta):
        new = _algorithm1_update(state, theta, gate)
        return new, converged(new, theta)

    start = jax.vmap(lambda theta: _algorithm1_start(theta, gate), in_axes=(axes,), axis_size=size)(args)
    done = jax.vmap(converged, in_axes=(0, axes))(start, args)
    state, k, _ = _compacted_loop(jax.vmap(update, in_axes=(0, axes)), start, done, args, batched, max_iter)
    return state, k


class _UpdateLinearization(NamedTuple):
    """Algorithm 1's update ``T`` at one state ``(y, a)``, as its vector-Jacobian products need it: the LU
    factors ``lu`` of line 7's matrix ``M = I + (D(g(a)) - I) W_r`` (unit lower and upper triangles; ``inverse``
    undoes the row permutation of partial pivoting), the new ``y' = M^{-1} (b z)``, the gate ``g(a)``, the
    rectification ``[a]+`` and their slopes, and ``W_r y'``."""

    lu: Array
    inverse: Array
    y: Array
    gain: Array
    gain_slope: Array
    rect: Array
    rect_slope: Array
    recurrent: Array


def _linearize_update(state: Array, theta: tuple, gate: str) -> _UpdateLinearization:
    """:class:`_UpdateLinearization` of ``T`` at ``state`` for one example (one LU factorization)."""
    W_r, _, _, _, z, b = theta
    _, a = jnp.split(state, 2)
    ones = jnp.ones_like(a)
    gain, gain_slope = jax.jvp(lambda v: _gate_rate(v, gate), (a,), (ones,))  # elementwise: slopes of g and [.]+
    rect, rect_slope = jax.jvp(relu, (a,), (ones,))
    lu, _, permutation = jax.lax.linalg.lu(_line7_matrix(gain, W_r))
    lower = functools.partial(jax.lax.linalg.triangular_solve, left_side=True, lower=True, unit_diagonal=True)
    upper = functools.partial(jax.lax.linalg.triangular_solve, left_side=True, lower=False)
    y = upper(lu, lower(lu, (b * z)[permutation, None]))[:, 0]
    return _UpdateLinearization(lu, jnp.argsort(permutation), y, gain, gain_slope, rect, rect_slope, W_r @ y)


def _transposed_solve(lin: _UpdateLinearization, rhs: Array) -> Array:
    """``M^{-T} rhs`` from the LU factors of ``M`` (``P M = L U``: ``M^T = U^T L^T P``)."""
    x = jax.lax.linalg.triangular_solve(lin.lu, rhs[:, None], left_side=True, lower=False, transpose_a=True)
    x = jax.lax.linalg.triangular_solve(lin.lu, x, left_side=True, lower=True, unit_diagonal=True, transpose_a=True)
    return x[lin.inverse, 0]


def _pull_output(w: Array, lin: _UpdateLinearization, W: Array) -> tuple[Array, Array, Array]:
    """For a cotangent ``w = (w_y, w_a)`` of ``T``'s output: ``(w_a, p, v)`` with ``p = W^T w_a`` and
    ``v = M^{-T} (w_y + 2 y' [a]+ p)``, the cotangent of line 7's right-hand side ``b z``."""
    w_y, w_a = jnp.split(w, 2)
    pooled = W.T @ w_a
    return w_a, pooled, _transposed_solve(lin, w_y + 2.0 * lin.y * lin.rect * pooled)


def _state_vjp(w: Array, lin: _UpdateLinearization, W: Array) -> Array:
    """``(dT/ds)^T w``: zero for ``y`` (``T`` reads only ``a``), and for ``a``
    ``y'**2 [a]+' p - g'(a) v (W_r y')`` (``p, v`` of :func:`_pull_output`; line 8, then line 7 through ``D(g(a))``)."""
    _, pooled, v = _pull_output(w, lin, W)
    a_bar = lin.y**2 * lin.rect_slope * pooled - lin.gain_slope * v * lin.recurrent
    return jnp.concatenate([jnp.zeros_like(a_bar), a_bar])


def _parameter_vjp(w: Array, lin: _UpdateLinearization, theta: tuple) -> tuple:
    """``(dT/dtheta)^T w`` for ``theta = (W_r, W, b0, sigma, z, b)``: ``W_r``: ``-((g - 1) v) y'^T`` (line 7,
    ``M = I + (D(g) - I) W_r``); ``W``: ``w_a (y'**2 [a]+)^T``; ``b0, sigma``: through ``b0**2 sigma**2``;
    ``z, b``: through ``b z`` (``v`` of :func:`_pull_output`)."""
    _, W, b0, sigma, z, b = theta
    w_a, _, v = _pull_output(w, lin, W)
    return (
        -jnp.outer((lin.gain - 1.0) * v, lin.y),
        jnp.outer(w_a, lin.y**2 * lin.rect),
        2.0 * b0 * sigma**2 * w_a,
        2.0 * b0**2 * sigma * w_a,
        b * v,
        z * v,
    )


def _adjoint_batch(g: Array, state: Array, args: tuple, batched: tuple, gate: str, max_iter: int, tol: float):
    """Parameter cotangents ``(dT/dtheta)^T w`` with ``w = g + (dT/ds)^T w`` (see :func:`_implicit_steady_state`)
    for each row of ``g`` and ``state``; the leaves of ``args`` flagged in ``batched`` have a leading batch axis."""
    axes = _in_axes(batched)

    # One linearization of the update (one LU factorization) serves the adjoint loop and the parameter cotangent.
    lin = jax.vmap(lambda state_i, theta: _linearize_update(state_i, theta, gate), in_axes=(0, axes))(state, args)

    def step(w, rows):
        g_rows, lin_rows, W = rows
        new = g_rows + jax.vmap(_state_vjp, in_axes=(0, 0, axes[1]))(w, lin_rows, W)
        change, scale = jnp.linalg.norm(new - w, axis=-1), jnp.linalg.norm(new, axis=-1)
        return new, change <= tol * jnp.maximum(1.0, scale)

    data = (g, lin, args[1])
    flags = (True, jax.tree.map(lambda _: True, lin), batched[1])
    w, _, _ = _compacted_loop(step, g, jnp.zeros(g.shape[0], dtype=bool), data, flags, max_iter)
    return jax.vmap(_parameter_vjp, in_axes=(0, 0, axes))(w, lin, args)


def _broadcast_rows(value: Array, flag: bool, size: int) -> Array:
    return value if flag else jnp.broadcast_to(value, (size, *value.shape))


@functools.cache
def _algorithm1_solver(gate: str, max_iter: int, tol: float, compact: bool):
    """Algorithm 1 for one input (``args``); under ``jax.vmap`` one :func:`_compacted_loop` over the batch
    (``compact``) or JAX's default batching of the per-example loop (every example until the slowest stops)."""

    def solve(args):
        state, k = _algorithm1_batch(args, (False,) * len(args), 1, gate, max_iter, tol)
        return state[0], k[0]

    if not compact:
        return solve
    solve = jax.custom_batching.custom_vmap(solve)

    @solve.def_vmap
    def solve_batch(size, in_batched, args):
        return _algorithm1_batch(args, tuple(in_batched[0]), size, gate, max_iter, tol), (True, True)

    return solve


@functools.cache
def _adjoint_solver(gate: str, max_iter: int, tol: float, compact: bool):
    """:func:`_adjoint_batch` for one example; batched under ``jax.vmap`` as in :func:`_algorithm1_solver`."""

    def adjoint(g, state, args):
        theta_bar = _adjoint_batch(g[None], state[None], args, (False,) * len(args), gate, max_iter, tol)
        return jax.tree.map(lambda v: v[0], theta_bar)

    if not compact:
        return adjoint
    adjoint = jax.custom_batching.custom_vmap(adjoint)

    @adjoint.def_vmap
    def adjoint_batch(size, in_batched, g, state, args):
        g, state = _broadcast_rows(g, in_batched[0], size), _broadcast_rows(state, in_batched[1], size)
        theta_bar = _adjoint_batch(g, state, args, tuple(in_batched[2]), gate, max_iter, tol)
        return theta_bar, jax.tree.map(lambda _: True, theta_bar)

    return adjoint


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3, 4))
def _implicit_steady_state(args: tuple, gate: str, max_iter: int, tol: float, compact: bool) -> tuple[Array, Array]:
    r"""Steady state ``s* = T(s*, theta)`` of Algorithm 1 (``T`` its update) and the updates used, differentiated
    implicitly.

    Forward: Algorithm 1 until :func:`_is_converged` holds or after ``max_iter`` updates
    (:func:`_algorithm1_batch`). Backward, by the implicit function theorem at the fixed point: for a
    cotangent ``g`` of ``s*``, ``theta_bar = (dT/dtheta)^T w`` with ``w = g + (dT/ds)^T w``. The adjoint ``w``
    is found by the same kind of iteration as the forward pass (it contracts at the rate at which Algorithm 1
    converges), each step one vector-Jacobian product of ``T`` (:func:`_state_vjp`) that reuses the LU
    factors of line 7's matrix at ``s*`` (one factorization per example; batched triangular solves with
    many right-hand sides are slow on CPU, so no ``2n x 2n`` or matrix-valued solve is formed). It stops
    when successive ``w`` agree to ``tol`` relative to ``max(1, ||w||)`` or after ``max_iter`` steps. The
    iterations are never differentiated. The transposes are written out (:func:`_state_vjp`,
    :func:`_parameter_vjp`) rather than taken from ``jax.vjp`` of ``T``: under ``jax.vmap`` the closure of
    ``jax.vjp`` holds a per-example copy of the shared ``W_r`` and ``W``, which every adjoint step then reads.
    With ``compact``, both loops run under ``jax.vmap`` by :func:`_compacted_loop`: only the examples still
    running are updated, so a batch costs about the sum of its examples' iterations, not the batch size
    times the largest.
    """
    return _algorithm1_solver(gate, max_iter, tol, compact)(args)


def _implicit_forward(args: tuple, gate: str, max_iter: int, tol: float, compact: bool):
    state, iterations = _algorithm1_solver(gate, max_iter, tol, compact)(args)
    return (state, iterations), (state, args)


def _implicit_backward(gate: str, max_iter: int, tol: float, compact: bool, residuals: tuple, cotangents: tuple):
    state, args = residuals
    return (_adjoint_solver(gate, max_iter, tol, compact)(cotangents[0], state, args),)


_implicit_steady_state.defvjp(_implicit_forward, _implicit_backward)


# --------------------------------------------------------------------------------------------- RNN


class ORGaNICsCell(eqx.Module):
    r"""One explicit-Euler step of the rectified ORGaNICs circuit with dynamic gains (Eq. 134).

    State ``s = (y, a, b, b0)`` of shape ``(4n,)``, input ``x`` of shape ``(m,)``, ``f`` the sigmoid::

        y'  = y  + (dt/tau_y)  * (-y + b * (W_zx x) + (1 - sqrt([a]+)) * (W_r [y]+))
        a'  = a  + (dt/tau_a)  * (-a + b0**2 sigma**2 + W ([y]+**2 * [a]+))
        b'  = b  + (dt/tau_b)  * (-b  + f(W_bx x  + W_by y  + W_ba a))
        b0' = b0 + (dt/tau_b0) * (-b0 + f(W_b0x x + W_b0y y + W_b0a a))

    The bracket of the ``y`` and ``a`` lines is :func:`organics.models.organics_rates` with unit time
    constants, so ``variant="rectified_recurrence"`` (``[W_r y]+``) and ``"main"`` (``W_r y``, pool ``y**2``)
    are available too.

    Time constants (Appendix I.2): ``dt/tau_k = c_k * sigmoid(p_k)`` per neuron with learnable ``p_k`` (from
    ``p_init``) and bounds ``c = dt_tau_max`` (paper: 0.05, 0.01, 0.1, 0.1 for ``y, a, b, b0``). Every
    ``c_k`` must lie in ``(0, 1]``, so ``0 < dt/tau < 1``: the leak ``s' = (1 - dt/tau) s`` contracts whatever
    ``p`` training produces, and the gains stay in ``(0, 1)``. This bounds the linear part only: the gated
    recurrence and the pool add stiffness of order ``sqrt(a) |W_r|`` and ``W [y]+**2``, so large ratios can
    still make Euler diverge with expansive ``W_r``. Measured (n = 16, ``rho(W_r) ~ 3``, 2000 steps): the paper's
    bounds stay bounded (``|y|, |a| < 3``); ``dt/tau_y = dt/tau_a`` (0.005 each) or ``dt/tau_y >= 0.25`` diverge,
    consistent with the paper's advice to keep ``a`` sluggish relative to ``y`` (Fig. 3).
    ``learn_time_constants=False`` stops the gradient of ``p`` (the "fixed time constants" rows of Table 2).

    ``W_r_bound`` (default None: ``W_r`` unconstrained, Table 7) caps the largest singular value of the recurrent
    weights: :meth:`bounded` returns the cell with ``W_r * min(1, W_r_bound / sigma_max(W_r))``, which
    :class:`ORGaNICsRNN` applies once per sequence. The paper (Section 5) finds ORGaNICs stable in 100 % of
    random circuits with ``sigma_max(W_r) <= 2`` and not at 3. Measured on MNIST-1D (hidden 64, bounds
    ``(0.5, 0.1, 0.5, 0.5)``, Adam 3e-3, float32, seed 0): unconstrained runs that stopped on a non-finite
    gradient had ``sigma_max(W_r) = 3.0-3.3``; with ``W_r_bound = 2`` seed 0 completed 30 epochs (test 70.2 %,
    against 71.4 % unconstrained) and seed 1 too, but one exploding batch in its epoch 12 dropped the validation
    accuracy from 52 % to 20 % (test 52.8 %); with ``W_r_bound = 1`` seed 0 stopped in epoch 7 (``a`` overflowed
    in the last two steps of one input): the bound alone does not keep the explicit step bounded.

    ``stepper="semi-implicit"`` replaces the explicit step by the linearly implicit Euler step with the
    diagonal of the Jacobian, ``s' = s + h F(s) / (1 + h D(s))`` with ``h = dt/tau``, ``F`` the brackets and
    ``D = max(0, -diag dF/ds)`` (:meth:`stiffness`): ``D_y = 1 - (1 - sqrt([a]+)) W_r,ii r'(y)`` (``r'`` the
    derivative of the recurrent rectification), ``D_a = 1 - W_ii [y]+**2 H(a)``, ``D_b = D_b0 = 1``. It has the
    fixed points of Eq. 134 and agrees with it to first order in ``h``, but a neuron's own decay (rate
    ``sqrt(a)`` for ``W_r = I``: normalization shortens the effective time constant to ``tau/sqrt(a)``)
    contracts for every ``h`` instead of only for ``h sqrt(a) < 2``. Measured (MNIST-1D, bounds
    ``(0.5, 0.1, 0.5, 0.5)``, Adam 3e-3, epoch 6): a learned circuit drove ``a`` to ~2,500 on one input; the
    explicit step overflowed (``|y| ~ 1e255``, non-finite gradient) while 50 Euler sub-steps per input stayed
    bounded (``|y| < 67``): the explicit step, not the circuit, diverged. Trained with this stepper (same
    setting, 10 epochs) the run had no non-finite step, but one batch of loss 2e4 in epoch 5 dropped the
    validation accuracy from 51 % to 32 %: it removes the overflow, not the large transients.

    Parameters (Table 7): ``W_zx, W_bx, W_b0x`` (He uniform, fan-in ``m``), ``W_by, W_ba, W_b0y, W_b0a``
    (He uniform, fan-in ``n``, times ``gain_init_scale``), ``W_r`` unconstrained from the identity
    (Table 7) plus ``W_r_noise`` times a ``N(0, 1/n)`` matrix (default 0: the identity), ``W = |V|`` with every
    entry starting at ``W_init`` (1 in Table 7; the pool ``W [y]+**2 [a]+`` then grows with ``n``,
    ``W_init = 1/n`` makes it a mean), ``sigma`` fixed at ``sigma``. ``p`` starts at ``p_init`` (per state
    variable) plus ``p_spread`` times a per-neuron ``U(-1, 1)`` draw (default 0: every neuron of a variable
    has the same time constant), so that ``dt/tau`` can start spread over ``(c f(p_init - p_spread),
    c f(p_init + p_spread))``. Both draws use keys folded from ``key``, so the other parameters do not
    depend on them.
    """

    W_zx: Array
    W_bx: Array
    W_by: Array
    W_ba: Array
    W_b0x: Array
    W_b0y: Array
    W_b0a: Array
    W_r: Array
    V: Array
    sigma: Array
    p: Array
    dt_tau_max: tuple[float, float, float, float] = eqx.field(static=True)
    variant: str = eqx.field(static=True)
    learn_time_constants: bool = eqx.field(static=True)
    stepper: str = eqx.field(static=True)
    W_r_bound: float | None = eqx.field(static=True)

    def __init__(
        self,
        input_size: int,
        size: int,
        *,
        key: Array,
        variant: str = "rectified",
        dt_tau_max: tuple[float, float, float, float] = PAPER_DT_TAU_MAX,
        p_init: float | tuple[float, float, float, float] = 0.0,
        learn_time_constants: bool = True,
        sigma: float = 1.0,
        input_scale: float = 1.0,
        gain_init_scale: float = 1.0,
        W_init: float = 1.0,
        p_spread: float = 0.0,
        W_r_noise: float = 0.0,
        stepper: str = "euler",
        W_r_bound: float | None = None,
    ):
        m = _check_size("input_size", input_size)
        n = _check_size("size", size)
        check.check_choice("variant", variant, VARIANTS)
        check.check_choice("stepper", stepper, STEPPERS)
        if W_r_bound is not None:
            check.check_positive("W_r_bound", W_r_bound)
        check.check_nonnegative("p_spread", p_spread)
        check.check_nonnegative("W_r_noise", W_r_noise)
        check.check_positive("W_init", W_init)
        bounds = tuple(float(c) for c in dt_tau_max)
        if len(bounds) != 4 or not all(0.0 < c <= 1.0 for c in bounds):
            raise ValueError(f"dt_tau_max must be 4 numbers in (0, 1] (for y, a, b, b0); got {dt_tau_max!r}")
        p_init = (p_init,) * 4 if np.ndim(p_init) == 0 else tuple(p_init)
        if len(p_init) != 4:
            raise ValueError(f"p_init must be a number or 4 numbers (for y, a, b, b0); got {p_init!r}")
        check.check_finite("p_init", p_init)
        check.check_positive("sigma", sigma)
        check.check_positive("input_scale", input_scale)
        check.check_nonnegative("gain_init_scale", gain_init_scale)
        keys = jax.random.split(key, 7)
        self.W_zx = input_scale * kaiming_uniform(keys[0], (n, m), m)
        self.W_bx = kaiming_uniform(keys[1], (n, m), m)
        self.W_b0x = kaiming_uniform(keys[2], (n, m), m)
        self.W_by, self.W_ba, self.W_b0y, self.W_b0a = (
            gain_init_scale * kaiming_uniform(k, (n, n), n) for k in keys[3:]
        )
        noise = jax.random.normal(jax.random.fold_in(key, 8), (n, n)) / math.sqrt(n)
        self.W_r = jnp.eye(n) + float(W_r_noise) * noise
        self.V = jnp.full((n, n), float(W_init))
        self.sigma = jnp.full((n,), float(sigma))
        # the spread has its own key (folded in), so p_spread = 0 leaves every other draw unchanged
        offsets = jax.random.uniform(jax.random.fold_in(key, 7), (4, n), minval=-1.0, maxval=1.0)
        self.p = jnp.asarray(p_init, dtype=float)[:, None] + float(p_spread) * offsets
        self.dt_tau_max = bounds
        self.variant = variant
        self.learn_time_constants = bool(learn_time_constants)
        self.stepper = stepper
        self.W_r_bound = None if W_r_bound is None else float(W_r_bound)

    @property
    def size(self) -> int:
        """Number of principal neurons ``n``."""
        return self.W_r.shape[0]

    @property
    def W(self) -> Array:
        """Nonnegative normalization weights ``|V|``."""
        return jnp.abs(self.V)

    def dt_over_tau(self) -> Array:
        """``dt/tau = c * sigmoid(p)``, shape ``(4, n)`` for ``(y, a, b, b0)``; each row in ``(0, c)``."""
        p = self.p if self.learn_time_constants else jax.lax.stop_gradient(self.p)
        bounds = jnp.asarray(self.dt_tau_max, dtype=p.dtype)[:, None]
        return bounds * jax.nn.sigmoid(p)

    def bounded(self) -> "ORGaNICsCell":
        """The cell with ``W_r`` scaled to largest singular value ``W_r_bound`` where it exceeds it."""
        if self.W_r_bound is None:
            return self
        scale = jnp.minimum(1.0, self.W_r_bound / jnp.linalg.norm(self.W_r, ord=2))
        return eqx.tree_at(lambda cell: cell.W_r, self, self.W_r * scale)

    def split_state(self, state: Array) -> tuple[Array, Array, Array, Array]:
        """Split ``(..., 4n)`` into ``(y, a, b, b0)``."""
        return tuple(jnp.split(state, 4, axis=-1))

    def rates(self, state: Array, x: Array) -> Array:
        """Brackets of Eq. 134 (``tau * ds/dt`` of Eqs. 86 and 16 with ``tau = 1``), shape ``(4n,)``."""
        y, a, b, b0 = self.split_state(state)
        dy, da = organics_rates(
            y,
            a,
            z=self.W_zx @ x,
            b=b,
            b0=b0,
            W_r=self.W_r,
            W=self.W,
            sigma=self.sigma,
            tau_y=1.0,
            tau_a=1.0,
            p=2.0,
            variant=self.variant,
            a_plus=None,
        )
        db = -b + jax.nn.sigmoid(self.W_bx @ x + self.W_by @ y + self.W_ba @ a)
        db0 = -b0 + jax.nn.sigmoid(self.W_b0x @ x + self.W_b0y @ y + self.W_b0a @ a)
        return jnp.concatenate([dy, da, db, db0])

    def stiffness(self, state: Array) -> Array:
        """``D = max(0, -diag dF/ds)``, shape ``(4n,)``: each variable's own decay rate (``tau = 1``)."""
        y, a, _, _ = self.split_state(state)
        if self.variant == "main":
            slope = jnp.ones_like(y)
        elif self.variant == "rectified":
            slope = (y > 0).astype(y.dtype)
        else:  # rectified_recurrence: [W_r y]+
            slope = (self.W_r @ y > 0).astype(y.dtype)
        pool = jnp.abs(y) ** 2 if self.variant == "main" else relu_pow(y, 2.0)
        d_y = 1.0 - (1.0 - sqrt_relu(a)) * jnp.diagonal(self.W_r) * slope
        d_a = 1.0 - jnp.diagonal(self.W) * pool * (a > 0).astype(a.dtype)
        ones = jnp.ones_like(y)
        return jnp.maximum(jnp.concatenate([d_y, d_a, ones, ones]), 0.0)

    def __call__(self, state: Array, x: Array) -> Array:
        """One step: Euler ``s' = s + h F(s)`` (Eq. 134) or ``s + h F(s) / (1 + h D(s))`` (``stepper``)."""
        h = self.dt_over_tau().reshape(-1)
        step = h * self.rates(state, x)
        if self.stepper == "semi-implicit":
            step = step / (1.0 + h * self.stiffness(state))
        return state + step


class ORGaNICsRNN(eqx.Module):
    r"""Runs :class:`ORGaNICsCell` over a sequence ``xs`` of shape ``(T, m)`` with ``lax.scan``.

    The initial state ``(y, a, b, b0)`` is drawn once from ``U(0, 1)`` with the construction key (the
    paper initializes the hidden states uniformly at random, Section 6.2) and held fixed (gradient
    stopped unless ``learn_initial_state``), so the model is a deterministic function of its input.
    ``substeps`` cell steps are taken per input element (the input held constant over them): with bounds
    ``c / substeps`` the same stretch of continuous time per input is covered with ``substeps`` times smaller
    steps, which is how a short sequence gets the paper's small ``dt/tau`` (Appendix I.2) and enough time.
    """

    cell: ORGaNICsCell
    initial_state: Array
    learn_initial_state: bool = eqx.field(static=True)
    substeps: int = eqx.field(static=True)

    def __init__(
        self,
        input_size: int,
        size: int,
        *,
        key: Array,
        learn_initial_state: bool = False,
        substeps: int = 1,
        **cell_options,
    ):
        k_cell, k_state = jax.random.split(key)
        self.cell = ORGaNICsCell(input_size, size, key=k_cell, **cell_options)
        self.initial_state = jax.random.uniform(k_state, (4 * self.cell.size,))
        self.learn_initial_state = bool(learn_initial_state)
        self.substeps = _check_size("substeps", substeps)

    def start(self) -> Array:
        """Initial state ``(y, a, b, b0)``."""
        return self.initial_state if self.learn_initial_state else jax.lax.stop_gradient(self.initial_state)

    def __call__(self, xs: Array, *, trajectory: bool = False) -> Array | tuple[Array, Array]:
        """Final state ``(4n,)``; with ``trajectory=True`` also the state after every input element, ``(T, 4n)``."""

        cell = self.cell.bounded()

        def step(state, x):
            new = jax.lax.fori_loop(0, self.substeps, lambda _, s: cell(s, x), state)
            return new, (new if trajectory else None)

        final, states = jax.lax.scan(step, self.start(), xs)
        return (final, states) if trajectory else final
