r"""ORGaNICs circuits (Rawat, Heeger & Martiniani, NeurIPS 2024; Morone et al. 2025).

State ``x = (y, a)`` of length ``2n``: ``y`` are the principal (excitatory) membrane potentials,
``a`` the normalization (inhibitory) potentials. Time constants are in seconds, so the vector
field and every Jacobian are in 1/s. Equation numbers refer to the NeurIPS 2024 paper.

Main model (Eq. 1 with ``sqrt(y+) - sqrt(y-) = y``, i.e. Eq. 14)::

    tau_y * dy/dt = -y + b*z + (1 - sqrt([a]+)) * (W_r @ y)
    tau_a * da/dt = -a + b0**2 sigma**2 + W @ (y**2 * [a]+)

Rectified model (Eq. 86): the recurrent drive is ``W_r @ [y]+`` and the pool is
``W @ ([y]+**2 * [a]+)``. Rectified-recurrence model: the recurrent drive is ``[W_r @ y]+`` with
the rectified pool. General power-law model (Eq. 34, exponent ``p``, rate ``a+ = f(a)``)::

    tau_y * dy/dt = -y + b*z + (1 - f(a)) * (W_r @ y)
    tau_a * da/dt = -a + a / f(a)**p * (b0**p sigma**p + W @ (|y|**p * f(a)**p))

With the default ``f(a) = [a]+**(1/p)`` the factor ``a / f(a)**p`` is 1 and the a-equation
reduces to ``-a + b0**p sigma**p + W @ (|y|**p * [a]+)`` (Eq. 32 for ``p = 2``), which is what is
integrated (it stays defined for ``a <= 0``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Literal, Union

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from .. import _validation as check
from .._safe import abs_pow, relu, relu_pow, safe_divide, sqrt_relu

Variant = Literal["main", "rectified", "rectified_recurrence"]
VARIANTS: tuple[str, ...] = ("main", "rectified", "rectified_recurrence")
InputDrive = Union[Array, Callable[[ArrayLike], Array]]


def has_uniform_weights(W: ArrayLike) -> bool:
    """Whether every matrix in ``W`` (``(..., n, n)``, concrete) has all its entries equal: ``W = w 1 1^T``."""
    if check.is_traced(W):
        return False
    W = np.asarray(W)
    return bool(np.all(W == W[..., :1, :1]))


def normalization_rate(a: Array, p: float) -> Array:
    """Default firing rate of the normalization neurons, ``a+ = [a]+**(1/p)`` (``sqrt([a]+)`` for ``p = 2``)."""
    return sqrt_relu(a) if p == 2.0 else relu_pow(a, 1.0 / p)


def organics_rates(
    y: Array,
    a: Array,
    *,
    z: Array,
    b: Array,
    b0: Array,
    W_r: Array,
    W: Array,
    sigma: Array,
    tau_y: Array,
    tau_a: Array,
    p: float,
    variant: str,
    a_plus: Callable[[Array], Array] | None,
    uniform_pool: bool = False,
) -> tuple[Array, Array]:
    """Time derivatives ``(dy/dt, da/dt)`` of the ORGaNICs equations (Eqs. 14, 34, 86), in 1/s.

    Shared by every ORGaNICs model so that fixed-gain and dynamic-gain circuits integrate the
    same equations. ``a_plus=None`` means ``a+ = [a]+**(1/p)``. ``uniform_pool=True`` computes the
    pooled drive ``W @ v`` as ``W[:, 0] * sum_k v_k``, which is the same vector for a uniform
    ``W = w 1 1^T`` (:meth:`ORGaNICs.with_uniform_pool`) in ``O(n)`` instead of ``O(n^2)``.
    """
    if variant == "main":
        recurrent = W_r @ y
        pool_rate = abs_pow(y, p)
    elif variant == "rectified":
        recurrent = W_r @ relu(y)
        pool_rate = relu_pow(y, p)
    else:  # rectified_recurrence
        recurrent = relu(W_r @ y)
        pool_rate = relu_pow(y, p)

    def pool(v: Array) -> Array:
        return W[..., 0] * jnp.sum(v, axis=-1, keepdims=True) if uniform_pool else W @ v

    if a_plus is None:
        gate = normalization_rate(a, p)
        a_drive = (b0 * sigma) ** p + pool(pool_rate * relu(a))
    else:
        gate = a_plus(a)
        gate_p = abs_pow(gate, p)
        ratio = safe_divide(a, gate_p, fill=1.0)
        a_drive = ratio * ((b0 * sigma) ** p + pool(pool_rate * gate_p))

    dy = (-y + b * z + (1.0 - gate) * recurrent) / tau_y
    da = (-a + a_drive) / tau_a
    return dy, da


class ORGaNICs(eqx.Module):
    r"""An ORGaNICs circuit with ``n`` principal and ``n`` normalization neurons.

    Build it with keyword parameters; scalars broadcast to length ``n``::

        model = ORGaNICs(z=z, W_r=W_r, sigma=0.1, b=1.0, b0=1.0, tau_y=2e-3, tau_a=2e-3)

    Parameters
    ----------
    z:
        Input drive, shape ``(n,)``, or a function ``t -> (n,)`` for time-varying input.
        ``ORGaNICs.from_stimulus(x, W_zx, ...)`` builds ``z = W_zx @ x``.
    W_r:
        Recurrent weights between principal neurons, ``(n, n)``, any finite values
        (default identity).
    W:
        Normalization weights, ``(n, n)``, nonnegative (default all ones, the fully
        normalized circuit of Appendix C and of the Stabilization scans).
    b, b0:
        Input gains of the drive and of the semi-saturation term, > 0 (default 1).
    sigma:
        Semi-saturation constants, > 0 (default 0.1).
    tau_y, tau_a:
        Time constants in seconds, > 0 (default 2 ms).
    p:
        Power-law exponent of Eq. 34 (default 2), a Python float > 0 (static: changing it
        recompiles).
    variant:
        ``"main"`` (Eq. 14), ``"rectified"`` (Eq. 86) or ``"rectified_recurrence"``.
    a_plus:
        Optional firing-rate function ``a -> a+`` of the normalization neurons (Eq. 34).
        ``None`` means ``[a]+**(1/p)`` (``sqrt([a]+)`` for ``p = 2``).
    """

    z: InputDrive
    W_r: Array
    W: Array
    b: Array
    b0: Array
    sigma: Array
    tau_y: Array
    tau_a: Array
    p: float = eqx.field(static=True)
    variant: str = eqx.field(static=True)
    a_plus: Callable[[Array], Array] | None = eqx.field(static=True)
    uniform_pool: bool = eqx.field(static=True)

    def __init__(
        self,
        z: InputDrive,
        W_r: ArrayLike | None = None,
        W: ArrayLike | None = None,
        b: ArrayLike = 1.0,
        b0: ArrayLike = 1.0,
        sigma: ArrayLike = 0.1,
        tau_y: ArrayLike = 2e-3,
        tau_a: ArrayLike = 2e-3,
        p: float = 2.0,
        variant: Variant = "main",
        a_plus: Callable[[Array], Array] | None = None,
    ):
        check.check_choice("variant", variant, VARIANTS)
        if callable(z):
            z0 = jnp.asarray(z(0.0))
            check.check_finite("z(0)", z0)
            self.z = z
        else:
            check.check_finite("z", z)
            z0 = jnp.asarray(z, dtype=float)
            self.z = z0
        if z0.ndim != 1 or z0.shape[0] < 1:
            raise ValueError(f"z must be a vector of shape (n,) with n >= 1; got shape {tuple(z0.shape)}")
        n = z0.shape[0]

        self.W_r = _matrix("W_r", jnp.eye(n) if W_r is None else W_r, n)
        self.W = _matrix("W", jnp.ones((n, n)) if W is None else W, n)
        check.check_nonnegative("W", self.W)
        self.b = _positive_vector("b", b, n)
        self.b0 = _positive_vector("b0", b0, n)
        self.sigma = _positive_vector("sigma", sigma, n)
        self.tau_y = _positive_vector("tau_y", tau_y, n)
        self.tau_a = _positive_vector("tau_a", tau_a, n)
        if np.ndim(p) != 0:
            raise ValueError(f"p must be a scalar exponent; got shape {np.shape(p)}")
        check.check_positive("p", p)
        self.p = float(p)
        self.variant = variant
        self.a_plus = a_plus
        self.uniform_pool = False

    @classmethod
    def from_stimulus(cls, x: ArrayLike, W_zx: ArrayLike, **parameters) -> "ORGaNICs":
        """Build a circuit whose drive is ``z = W_zx @ x`` (``W_zx`` of shape ``(n, m)``)."""
        check.check_finite("x", x)
        check.check_finite("W_zx", W_zx)
        x = jnp.asarray(x, dtype=float)
        W_zx = jnp.asarray(W_zx, dtype=float)
        if W_zx.ndim != 2 or x.ndim != 1 or W_zx.shape[1] != x.shape[0]:
            raise ValueError(
                f"W_zx must have shape (n, m) and x shape (m,); got {tuple(W_zx.shape)} and {tuple(x.shape)}"
            )
        return cls(z=W_zx @ x, **parameters)

    # ------------------------------------------------------------------ state helpers
    @property
    def n(self) -> int:
        """Number of principal neurons (and of normalization neurons)."""
        return self.W_r.shape[-1]

    @property
    def state_size(self) -> int:
        """Length of the flat state vector ``(y, a)``."""
        return 2 * self.n

    @property
    def time_varying(self) -> bool:
        """True if the input drive is a function of time."""
        return callable(self.z)

    def split_state(self, x: Array) -> tuple[Array, Array]:
        """Split a flat state ``(..., 2n)`` into ``(y, a)``."""
        return x[..., : self.n], x[..., self.n :]

    def join_state(self, y: ArrayLike, a: ArrayLike) -> Array:
        """Concatenate ``y`` and ``a`` into the flat state."""
        return jnp.concatenate([jnp.asarray(y, dtype=float), jnp.asarray(a, dtype=float)], axis=-1)

    def time_constants(self) -> Array:
        """Time constant of every state component, ``(tau_y, tau_a)``, in seconds."""
        return jnp.concatenate([self.tau_y, self.tau_a])

    def drive(self, t: ArrayLike = 0.0) -> Array:
        """The input drive ``z(t)``."""
        return jnp.asarray(self.z(t)) if callable(self.z) else self.z

    def with_uniform_pool(self) -> "ORGaNICs":
        """This circuit with its pooled drive computed as ``w * sum_k v_k`` instead of ``W @ v``.

        Valid for a uniform normalization matrix ``W = w 1 1^T`` (the default all-ones pool of the
        papers), which is checked on the concrete values of ``W`` (also for a batch of circuits with
        a leading axis): ``ValueError`` if the entries of a matrix differ or ``W`` is traced. The
        vector field is the same to rounding and its pool costs ``O(n)`` instead of ``O(n^2)``: at
        ``n = 100``, vmapped over 8 circuits, an evaluation took 1.35 instead of 2.7 microseconds. The
        flag is structural: derivatives with respect to ``W`` see only its first column, and a ``W``
        replaced later (``eqx.tree_at``) is not checked again, so keep it for fixed circuits (the
        scan classifier sets it itself, :func:`organics.simulate.classify_batch`).
        """
        if not has_uniform_weights(self.W):
            raise ValueError("with_uniform_pool needs a concrete normalization matrix W = w 1 1^T (all entries equal)")
        fast = copy.copy(self)
        object.__setattr__(fast, "uniform_pool", True)  # a static field: not reachable by eqx.tree_at
        return fast

    def at_time(self, t: float) -> "ORGaNICs":
        """The same circuit with its input frozen at ``z(t)`` (for fixed points of z(t))."""
        return eqx.tree_at(lambda m: m.z, self, self.drive(t))

    # ------------------------------------------------------------------ dynamics
    def vector_field(self, t: ArrayLike, x: Array, args=None) -> Array:
        """``dx/dt`` at time ``t`` for the flat state ``x = (y, a)``, in 1/s (Diffrax signature)."""
        y, a = self.split_state(x)
        dy, da = organics_rates(
            y,
            a,
            z=self.drive(t),
            b=self.b,
            b0=self.b0,
            W_r=self.W_r,
            W=self.W,
            sigma=self.sigma,
            tau_y=self.tau_y,
            tau_a=self.tau_a,
            p=self.p,
            variant=self.variant,
            a_plus=self.a_plus,
            uniform_pool=self.uniform_pool,
        )
        return jnp.concatenate([dy, da], axis=-1)

    def residual(self, x: Array, t: ArrayLike = 0.0) -> Array:
        """Steady-state residual ``tau * dx/dt`` (the right-hand sides of Eq. 14; units of the state)."""
        return self.time_constants() * self.vector_field(t, x)


class ORGaNICsDynamicGains(eqx.Module):
    r"""ORGaNICs with dynamic input gains (Eq. 16): state ``(y, a, b, b0)`` of length ``4n``.

    ::

        tau_b  * db/dt  = -b  + f(W_bx @ x + W_by @ y + W_ba @ a)
        tau_b0 * db0/dt = -b0 + f(W_b0x @ x + W_b0y @ y + W_b0a @ a)

    with ``z = W_zx @ x(t)`` and ``f`` the logistic sigmoid; ``y`` and ``a`` follow the circuit
    equations of ``circuit`` (any variant) with its gains replaced by the state ``b``, ``b0``.
    ``x`` is the stimulus, shape ``(m,)``, or a function ``t -> (m,)``.
    """

    circuit: ORGaNICs
    x: InputDrive
    W_zx: Array
    W_bx: Array
    W_by: Array
    W_ba: Array
    W_b0x: Array
    W_b0y: Array
    W_b0a: Array
    tau_b: Array
    tau_b0: Array
    gain_fn: Callable[[Array], Array] = eqx.field(static=True)

    def __init__(
        self,
        x: InputDrive,
        W_zx: ArrayLike,
        W_bx: ArrayLike,
        W_b0x: ArrayLike,
        W_by: ArrayLike | None = None,
        W_ba: ArrayLike | None = None,
        W_b0y: ArrayLike | None = None,
        W_b0a: ArrayLike | None = None,
        tau_b: ArrayLike = 2e-3,
        tau_b0: ArrayLike = 2e-3,
        gain_fn: Callable[[Array], Array] = jax.nn.sigmoid,
        **circuit_parameters,
    ):
        x0 = jnp.asarray(x(0.0) if callable(x) else x, dtype=float)
        check.check_finite("x", x0)
        if x0.ndim != 1:
            raise ValueError(f"x must be a vector of shape (m,); got shape {tuple(x0.shape)}")
        W_zx = jnp.asarray(W_zx, dtype=float)
        check.check_finite("W_zx", W_zx)
        if W_zx.ndim != 2 or W_zx.shape[1] != x0.shape[0]:
            raise ValueError(f"W_zx must have shape (n, {x0.shape[0]}); got {tuple(W_zx.shape)}")
        n, m = W_zx.shape
        self.circuit = ORGaNICs(z=jnp.zeros(n), **circuit_parameters)
        self.x = x if callable(x) else x0
        self.W_zx = W_zx
        self.W_bx = _matrix("W_bx", W_bx, (n, m))
        self.W_b0x = _matrix("W_b0x", W_b0x, (n, m))
        self.W_by = _matrix("W_by", jnp.zeros((n, n)) if W_by is None else W_by, n)
        self.W_ba = _matrix("W_ba", jnp.zeros((n, n)) if W_ba is None else W_ba, n)
        self.W_b0y = _matrix("W_b0y", jnp.zeros((n, n)) if W_b0y is None else W_b0y, n)
        self.W_b0a = _matrix("W_b0a", jnp.zeros((n, n)) if W_b0a is None else W_b0a, n)
        self.tau_b = _positive_vector("tau_b", tau_b, n)
        self.tau_b0 = _positive_vector("tau_b0", tau_b0, n)
        self.gain_fn = gain_fn

    @property
    def n(self) -> int:
        """Number of principal neurons."""
        return self.circuit.n

    @property
    def state_size(self) -> int:
        """Length of the flat state ``(y, a, b, b0)``."""
        return 4 * self.n

    def split_state(self, x: Array) -> tuple[Array, Array, Array, Array]:
        """Split a flat state into ``(y, a, b, b0)``."""
        n = self.n
        return x[..., :n], x[..., n : 2 * n], x[..., 2 * n : 3 * n], x[..., 3 * n :]

    def join_state(self, y: ArrayLike, a: ArrayLike, b: ArrayLike, b0: ArrayLike) -> Array:
        """Concatenate ``(y, a, b, b0)`` into the flat state."""
        return jnp.concatenate([jnp.asarray(v, dtype=float) for v in (y, a, b, b0)], axis=-1)

    def time_constants(self) -> Array:
        """Time constant of every state component, in seconds."""
        c = self.circuit
        return jnp.concatenate([c.tau_y, c.tau_a, self.tau_b, self.tau_b0])

    def stimulus(self, t: ArrayLike = 0.0) -> Array:
        """The stimulus ``x(t)``."""
        return jnp.asarray(self.x(t)) if callable(self.x) else self.x

    def vector_field(self, t: ArrayLike, state: Array, args=None) -> Array:
        """``d(y, a, b, b0)/dt`` in 1/s (Diffrax signature)."""
        c = self.circuit
        y, a, b, b0 = self.split_state(state)
        x = self.stimulus(t)
        dy, da = organics_rates(
            y,
            a,
            z=self.W_zx @ x,
            b=b,
            b0=b0,
            W_r=c.W_r,
            W=c.W,
            sigma=c.sigma,
            tau_y=c.tau_y,
            tau_a=c.tau_a,
            p=c.p,
            variant=c.variant,
            a_plus=c.a_plus,
            uniform_pool=c.uniform_pool,
        )
        db = (-b + self.gain_fn(self.W_bx @ x + self.W_by @ y + self.W_ba @ a)) / self.tau_b
        db0 = (-b0 + self.gain_fn(self.W_b0x @ x + self.W_b0y @ y + self.W_b0a @ a)) / self.tau_b0
        return jnp.concatenate([dy, da, db, db0], axis=-1)

    def residual(self, state: Array, t: ArrayLike = 0.0) -> Array:
        """Steady-state residual ``tau * dstate/dt`` (units of the state)."""
        return self.time_constants() * self.vector_field(t, state)


def _matrix(name: str, value: ArrayLike, shape: int | tuple[int, int]) -> Array:
    shape = (shape, shape) if isinstance(shape, int) else shape
    check.check_finite(name, value)
    matrix = jnp.asarray(value, dtype=float)
    check.check_shape(name, matrix, shape)
    return matrix


def _positive_vector(name: str, value: ArrayLike, n: int) -> Array:
    check.check_positive(name, value)
    vector = jnp.asarray(value, dtype=float)
    if vector.ndim > 1 or (vector.ndim == 1 and vector.shape[0] not in (1, n)):
        raise ValueError(f"{name} must be a scalar or have shape ({n},); got shape {tuple(vector.shape)}")
    return jnp.broadcast_to(vector, (n,))
