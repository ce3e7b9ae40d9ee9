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
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from .. import _validation as check
from .._safe import relu, relu_pow, sqrt_relu
from ..models.organics import VARIANTS, organics_rates

__all__ = [
    "GATES",
    "OUTPUTS",
    "GRADIENTS",
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
GATES: tuple[str, ...] = ("sqrt", "linear")
OUTPUTS: tuple[str, ...] = ("rate", "potential")
GRADIENTS: tuple[str, ...] = ("implicit", "unrolled")
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
    iteration with one LU factorization of the ``n x n`` matrix of line 7 per example). It is exact only at
    a converged point. ``gradient="unrolled"``: exactly ``max_iter`` updates in a ``lax.scan``,
    differentiated through. The paper caps Algorithm 1 at 10 updates; the default cap here is 25 because
    the implicit loop stops as soon as it converges and needs convergence for an exact gradient.
    Non-convergence is reported by :meth:`solve` (``converged``), never turned into NaN. Per-batch work
    (``W_r``'s SVD, ``|V|``, softplus) does not depend on the example, so under ``jax.vmap`` it is done once
    per batch; the per-example work is the LU solves of the updates and of the adjoint.

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
        gate: Gate = "sqrt",
        output: Output = "rate",
        sigma: float = 1.0,
        learn_sigma: bool = False,
        W_init: float = 1.0,
    ):
        m = _check_size("input_size", input_size)
        n = _check_size("size", size)
        check.check_choice("gradient", gradient, GRADIENTS)
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
            state, iterations = _implicit_steady_state(args, self.gate, self.max_iter, self.tol)
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


def _algorithm1_update(state: Array, args: tuple, gate: str) -> Array:
    """One update of Algorithm 1 (lines 7-8, Eq. 117); its fixed points solve Eq. 133 at rest."""
    W_r, W, b0, sigma, z, b = args
    _, a = jnp.split(state, 2)
    n = a.shape[0]
    matrix = jnp.eye(n, dtype=W_r.dtype) - W_r + _gate_rate(a, gate)[:, None] * W_r
    y = jnp.linalg.solve(matrix, b * z)
    a = (b0 * sigma) ** 2 + W @ (y**2 * relu(a))
    return jnp.concatenate([y, a])


def _algorithm1(args: tuple, gate: str, max_iter: int, tol: float) -> tuple[Array, Array]:
    """Algorithm 1 until :func:`_is_converged` holds or after ``max_iter`` updates: ``(state, updates used)``.

    Under ``jax.vmap`` the loop runs until every example of the batch has converged (finished examples
    keep their state), so one batch costs the updates of its slowest example.
    """

    def unfinished(carry):
        _, k, done = carry
        return (k < max_iter) & ~done

    def update(carry):
        state, k, _ = carry
        state = _algorithm1_update(state, args, gate)
        return state, k + 1, _is_converged(state, jnp.linalg.norm(_static_rates(state, args, gate)), tol)

    start = _algorithm1_start(args, gate)
    done = _is_converged(start, jnp.linalg.norm(_static_rates(start, args, gate)), tol)
    state, k, _ = jax.lax.while_loop(unfinished, update, (start, jnp.asarray(0), done))
    return state, k


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def _implicit_steady_state(args: tuple, gate: str, max_iter: int, tol: float) -> tuple[Array, Array]:
    r"""Steady state ``s* = T(s*, theta)`` of Algorithm 1 (``T`` its update), differentiated implicitly.

    Implicit function theorem at the fixed point: for a cotangent ``g`` of ``s*``,
    ``theta_bar = (dT/dtheta)^T w`` with ``w = g + (dT/ds)^T w``. The adjoint ``w`` is found by the same
    kind of iteration as the forward pass (it contracts at the rate at which Algorithm 1 converges), each
    step one vector-Jacobian product of ``T`` that reuses the LU factors of line 7's matrix at ``s*`` (one
    factorization per example; batched triangular solves with many right-hand sides are slow on CPU, so
    no ``2n x 2n`` or matrix-valued solve is formed). It stops when successive ``w`` agree to ``tol``
    relative to ``max(1, ||w||)`` or after ``max_iter`` steps. The iterations are never differentiated.
    """
    return _algorithm1(args, gate, max_iter, tol)


def _implicit_forward(args: tuple, gate: str, max_iter: int, tol: float):
    state, iterations = _algorithm1(args, gate, max_iter, tol)
    return (state, iterations), (state, args)


def _implicit_backward(gate: str, max_iter: int, tol: float, residuals: tuple, cotangents: tuple) -> tuple:
    state, args = residuals
    g = cotangents[0]
    # One linearization of the update (one LU factorization) serves the adjoint loop and the parameter
    # cotangent, and it waits for ``g`` (the state is NaN where ``g`` is not finite, which already spoils
    # the gradient): on CPU, jaxlib 0.10 runs a batched LAPACK call as chunks on XLA's intra-op pool and
    # blocks on them, so a factorization that XLA schedules concurrently with another layer's or this
    # layer's solves can deadlock a small pool (seen: two ORGaNICs layers, batch 256, 2 cores).
    state = jnp.where(jnp.all(jnp.isfinite(g)), state, jnp.nan)
    _, pull = jax.vjp(lambda s, theta: _algorithm1_update(s, theta, gate), state, args)

    def unfinished(carry):
        _, k, done = carry
        return (k < max_iter) & ~done

    def step(carry):
        w, k, _ = carry
        new = g + pull(w)[0]
        return new, k + 1, jnp.linalg.norm(new - w) <= tol * jnp.maximum(1.0, jnp.linalg.norm(new))

    w, _, _ = jax.lax.while_loop(unfinished, step, (g, jnp.asarray(0), jnp.asarray(False)))
    return (pull(w)[1],)


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
        p_init = (p_init,) * 4 if jnp.ndim(p_init) == 0 else tuple(p_init)
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
