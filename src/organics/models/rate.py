r"""Linear and nonlinear firing-rate networks (Dayan & Abbott, ch. 7; lecture notes on recurrent networks).

Both models share the interface of :class:`~organics.models.organics.ORGaNICs`: an immutable
Equinox module with ``vector_field(t, x, args)`` (in 1/s), ``state_size``, ``time_constants()``,
``residual(x, t)`` (``tau * dx/dt``, units of the state) and ``split_state`` / ``join_state``.
The state is the vector of rates ``v`` (length ``n``); time constants are in seconds.

Linear network::

    tau dv/dt = -v + h(t) + M v

Nonlinear rate network::

    tau dv/dt = -v + F(h(t) + M v)

with ``F`` one of (``g`` = ``gain``, ``k`` = ``power``)::

    "relu"        F(u) = g [u]+
    "relu_power"  F(u) = g [u]+**k          (supralinear networks for k > 1)
    "sigmoid"     F(u) = g / (1 + exp(-u))
    "tanh"        F(u) = g tanh(u)

The rectifications use :mod:`organics._safe`, so Jacobians are finite at the kink ``u = 0``
(derivative 0 there).

:func:`dayan_abbott_ei` builds the excitatory-inhibitory pair of Dayan & Abbott (Fig. 7.18-7.19)::

    tau_E dv_E/dt = -v_E + [M_EE v_E + M_EI v_I - gamma_E]+
    tau_I dv_I/dt = -v_I + [M_II v_I + M_IE v_E - gamma_I]+

with ``M_EE = 1.25``, ``M_EI = -1``, ``M_IE = 1``, ``M_II = 0``, ``gamma_E = -10 Hz``,
``gamma_I = 10 Hz``, ``tau_E = 10 ms``: a stable focus for ``tau_I = 30 ms`` and a limit cycle for
``tau_I = 50 ms`` (rates in Hz).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Union

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from .. import _validation as check
from .._safe import relu, relu_pow

__all__ = ["LinearNetwork", "RateNetwork", "NONLINEARITIES", "SSN_RUBIN_2015", "dayan_abbott_ei", "stabilized_supralinear_network"]

Nonlinearity = Literal["relu", "relu_power", "sigmoid", "tanh"]
NONLINEARITIES: tuple[str, ...] = ("relu", "relu_power", "sigmoid", "tanh")
InputDrive = Union[Array, Callable[[ArrayLike], Array]]


def _weights(M: ArrayLike) -> Array:
    check.check_finite("M", M)
    matrix = jnp.asarray(M, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 1:
        raise ValueError(f"M must be a square matrix of shape (n, n) with n >= 1; got shape {tuple(matrix.shape)}")
    return matrix


def _drive(h: InputDrive, n: int) -> InputDrive:
    if callable(h):
        h0 = jnp.asarray(h(0.0))
        check.check_finite("h(0)", h0)
        if h0.shape != (n,):
            raise ValueError(f"h(t) must return shape ({n},) to match M; got shape {tuple(h0.shape)}")
        return h
    check.check_finite("h", h)
    vector = jnp.asarray(h, dtype=float)
    if vector.ndim == 0:
        return jnp.broadcast_to(vector, (n,))
    if vector.shape != (n,):
        raise ValueError(f"h must be a scalar or have shape ({n},) to match M; got shape {tuple(vector.shape)}")
    return vector


def _time_constant(tau: ArrayLike, n: int) -> Array:
    check.check_positive("tau", tau)
    vector = jnp.asarray(tau, dtype=float)
    if vector.ndim > 1 or (vector.ndim == 1 and vector.shape[0] not in (1, n)):
        raise ValueError(f"tau must be a scalar or have shape ({n},); got shape {tuple(vector.shape)}")
    return jnp.broadcast_to(vector, (n,))


class _RateModel(eqx.Module):
    """Shared state helpers of the rate models (state = rates ``v``)."""

    M: eqx.AbstractVar[Array]
    h: eqx.AbstractVar[InputDrive]
    tau: eqx.AbstractVar[Array]

    @property
    def n(self) -> int:
        """Number of neurons."""
        return self.M.shape[-1]

    @property
    def state_size(self) -> int:
        """Length of the state vector ``v`` (= ``n``)."""
        return self.M.shape[-1]

    @property
    def time_varying(self) -> bool:
        """True if the input is a function of time."""
        return callable(self.h)

    def split_state(self, x: Array) -> tuple[Array]:
        """The state has one block, the rates: returns ``(v,)``."""
        return (x,)

    def join_state(self, v: ArrayLike) -> Array:
        """The flat state is ``v`` itself."""
        return jnp.asarray(v, dtype=float)

    def time_constants(self) -> Array:
        """Time constant of every neuron, shape ``(n,)``, in seconds."""
        return self.tau

    def drive(self, t: ArrayLike = 0.0) -> Array:
        """The input ``h(t)``."""
        return jnp.asarray(self.h(t)) if callable(self.h) else self.h

    def at_time(self, t: float):
        """The same network with its input frozen at ``h(t)``."""
        return eqx.tree_at(lambda m: m.h, self, self.drive(t))

    def residual(self, x: Array, t: ArrayLike = 0.0) -> Array:
        """Steady-state residual ``tau * dv/dt`` (units of the rates)."""
        return self.time_constants() * self.vector_field(t, x)


class LinearNetwork(_RateModel):
    r"""Linear recurrent network ``tau dv/dt = -v + h(t) + M v`` (rates ``v``, 1/s after dividing by tau).

    For symmetric ``M = sum_i lambda_i e_i e_i^T`` and constant ``h`` the exact solution is
    ``v(t) = sum_i c_i(t) e_i`` with (lecture notes)::

        c_i(t) = h.e_i / (1 - lambda_i) (1 - exp(-t (1 - lambda_i)/tau)) + c_i(0) exp(-t (1 - lambda_i)/tau)

    so the network is stable iff every ``lambda_i < 1``.

    Parameters
    ----------
    M:
        Recurrent weights, ``(n, n)``, finite.
    h:
        Input, a scalar, shape ``(n,)``, or a function ``t -> (n,)``.
    tau:
        Time constant(s) in seconds, scalar or ``(n,)``, > 0 (default 10 ms).
    """

    M: Array
    h: InputDrive
    tau: Array

    def __init__(self, M: ArrayLike, h: InputDrive = 0.0, tau: ArrayLike = 0.010):
        self.M = _weights(M)
        n = self.M.shape[0]
        self.h = _drive(h, n)
        self.tau = _time_constant(tau, n)

    def vector_field(self, t: ArrayLike, x: Array, args=None) -> Array:
        """``dv/dt = (-v + h(t) + M v) / tau`` in 1/s (Diffrax signature)."""
        return (-x + self.drive(t) + self.M @ x) / self.tau


def _apply_nonlinearity(u: Array, nonlinearity: str, power: float, gain: Array) -> Array:
    if nonlinearity == "relu":
        return gain * relu(u)
    if nonlinearity == "relu_power":
        return gain * relu_pow(u, power)
    if nonlinearity == "sigmoid":
        return gain * jax.nn.sigmoid(u)
    return gain * jnp.tanh(u)


class RateNetwork(_RateModel):
    r"""Nonlinear rate network ``tau dv/dt = -v + F(h(t) + M v)``.

    Parameters
    ----------
    M:
        Recurrent weights, ``(n, n)``, finite.
    h:
        Input, a scalar, shape ``(n,)``, or a function ``t -> (n,)`` (same units as ``v``).
    tau:
        Time constant(s) in seconds, scalar or ``(n,)``, > 0 (default 10 ms).
    nonlinearity:
        ``"relu"`` (``g [u]+``), ``"relu_power"`` (``g [u]+**power``), ``"sigmoid"``
        (``g / (1 + exp(-u))``) or ``"tanh"`` (``g tanh(u)``). Static (changing it recompiles).
    power:
        Exponent of ``"relu_power"``, a Python float > 0 (static; default 2).
    gain:
        Output gain ``g``, scalar or ``(n,)``, > 0 (default 1).
    """

    M: Array
    h: InputDrive
    tau: Array
    gain: Array
    nonlinearity: str = eqx.field(static=True)
    power: float = eqx.field(static=True)

    def __init__(
        self,
        M: ArrayLike,
        h: InputDrive = 0.0,
        tau: ArrayLike = 0.010,
        nonlinearity: Nonlinearity = "relu",
        power: float = 2.0,
        gain: ArrayLike = 1.0,
    ):
        check.check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        self.M = _weights(M)
        n = self.M.shape[0]
        self.h = _drive(h, n)
        self.tau = _time_constant(tau, n)
        if np.ndim(power) != 0:
            raise ValueError(f"power must be a scalar exponent; got shape {np.shape(power)}")
        check.check_positive("power", power)
        self.power = float(power)
        check.check_positive("gain", gain)
        g = jnp.asarray(gain, dtype=float)
        if g.ndim > 1 or (g.ndim == 1 and g.shape[0] not in (1, n)):
            raise ValueError(f"gain must be a scalar or have shape ({n},); got shape {tuple(g.shape)}")
        self.gain = jnp.broadcast_to(g, (n,))
        self.nonlinearity = nonlinearity

    def input_current(self, t: ArrayLike, x: Array) -> Array:
        """Total input ``u = h(t) + M v`` to every neuron."""
        return self.drive(t) + self.M @ x

    def rate_function(self, u: Array) -> Array:
        """The nonlinearity ``F(u)``."""
        return _apply_nonlinearity(u, self.nonlinearity, self.power, self.gain)

    def vector_field(self, t: ArrayLike, x: Array, args=None) -> Array:
        """``dv/dt = (-v + F(h(t) + M v)) / tau`` in 1/s (Diffrax signature)."""
        return (-x + self.rate_function(self.input_current(t, x))) / self.tau


#: Dayan & Abbott E-I parameters (rates in Hz, weights dimensionless).
DAYAN_ABBOTT_EI = dict(M_EE=1.25, M_EI=-1.0, M_IE=1.0, M_II=0.0, gamma_E=-10.0, gamma_I=10.0, tau_E=0.010)


def dayan_abbott_ei(tau_i: float = 0.030, tau_e: float = 0.010) -> RateNetwork:
    r"""The excitatory-inhibitory pair of Dayan & Abbott (Theoretical Neuroscience, Sec. 7.5).

    State ``v = (v_E, v_I)`` in Hz, ``M = [[M_EE, M_EI], [M_IE, M_II]] = [[1.25, -1], [1, 0]]``,
    ``h = (-gamma_E, -gamma_I) = (10, -10)`` Hz, ``F = [.]+``, ``tau = (tau_e, tau_i)`` in seconds.
    With both neurons active the fixed point solves ``(I - M) v = h``:
    ``v* = (80/3, 50/3) Hz``; its Jacobian ``[[(M_EE-1)/tau_E, M_EI/tau_E], [M_IE/tau_I, (M_II-1)/tau_I]]``
    has ``Re lambda < 0`` (stable focus) for ``tau_i = 30 ms`` and ``Re lambda > 0`` (the rectification
    then curbs the growth into a limit cycle) for ``tau_i = 50 ms``; the Hopf point is ``tau_i = 40 ms``.
    """
    p = DAYAN_ABBOTT_EI
    M = jnp.array([[p["M_EE"], p["M_EI"]], [p["M_IE"], p["M_II"]]])
    h = jnp.array([-p["gamma_E"], -p["gamma_I"]])
    check.check_positive("tau_i", tau_i)
    check.check_positive("tau_e", tau_e)
    return RateNetwork(M=M, h=h, tau=jnp.array([tau_e, tau_i], dtype=float), nonlinearity="relu")


#: Two-population stabilized supralinear network of Rubin, Van Hooser & Miller (Neuron 2015).
SSN_RUBIN_2015 = dict(W_EE=1.25, W_EI=-0.65, W_IE=1.2, W_II=-0.5, k=0.04, n=2.0, tau_E=0.020, tau_I=0.010)


def stabilized_supralinear_network(
    input_strength: float,
    *,
    input_weights: tuple[float, float] = (1.0, 1.0),
    k: float = SSN_RUBIN_2015["k"],
    n: float = SSN_RUBIN_2015["n"],
    tau_e: float = SSN_RUBIN_2015["tau_E"],
    tau_i: float = SSN_RUBIN_2015["tau_I"],
) -> RateNetwork:
    r"""The two-population stabilized supralinear network (SSN) as a :class:`RateNetwork`.

    Rubin, Van Hooser & Miller (Neuron 2015), with rates in Hz and ``tau`` in seconds::

        tau_E dr_E/dt = -r_E + k [W_EE r_E + W_EI r_I + c g_E]+**n
        tau_I dr_I/dt = -r_I + k [W_IE r_E + W_II r_I + c g_I]+**n

    ``W = [[1.25, -0.65], [1.2, -0.5]]``, ``k = 0.04``, ``n = 2``, ``tau_E = 20 ms``,
    ``tau_I = 10 ms`` (:data:`SSN_RUBIN_2015`); ``c = input_strength >= 0`` and
    ``g = input_weights``. The power-law input-output function is supralinear; recurrent
    inhibition keeps the network stable and makes the response to ``c`` supralinear for weak
    input and sublinear for strong input (the network's signature, tested).
    """
    check.check_nonnegative("input_strength", input_strength)
    check.check_positive("k", k)
    check.check_positive("n", n)
    check.check_positive("tau_e", tau_e)
    check.check_positive("tau_i", tau_i)
    p = SSN_RUBIN_2015
    M = jnp.array([[p["W_EE"], p["W_EI"]], [p["W_IE"], p["W_II"]]])
    h = float(input_strength) * jnp.asarray(input_weights, dtype=float)
    return RateNetwork(M=M, h=h, tau=jnp.array([tau_e, tau_i], dtype=float), nonlinearity="relu_power",
                       power=float(n), gain=float(k))
