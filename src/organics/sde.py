r"""Stochastic simulation of circuit models (Itô SDEs with a seeded Brownian motion).

Noise model (reference spec §8, after the research code): every state component ``i`` receives
independent white noise scaled by its own time constant ``tau_i`` (seconds)::

    dx = f(t, x) dt + g(x) dW,       W a standard d-dimensional Wiener process (units s^{1/2})

    additive:        g      = eta * diag(sqrt(1 / tau))          (constant)
    multiplicative:  g(x)   = eta * diag(sqrt(|x| / tau))        (Poisson-like: variance ∝ |x|)

so the instantaneous noise covariance (per unit time) is ``Q = g g^T = eta^2 diag(1/tau)``
(additive; units of state^2 / s) or ``eta^2 diag(|x|/tau)`` (multiplicative). ``eta`` is
dimensionless (in units of the state, per ``sqrt(1/tau)``); the research code used ``eta = 0.02``.
Multiplicative noise is read in the Itô sense: the diffusion is evaluated at the start of each
step (Euler–Maruyama), which is what the research code's ``torchsde`` Euler scheme did too.

:func:`simulate_sde` integrates with Diffrax (``MultiTerm(ODETerm, ControlTerm)``, default solver
:class:`diffrax.Euler`, i.e. Euler–Maruyama) at a fixed step ``dt``. The Brownian motion is a
:class:`GridBrownianPath`: the increment over step ``k`` (the step starting at
``t0 + k dt``) is ``sqrt(dt) * N(0, I)`` drawn from ``jax.random.fold_in(key, k)``, so

* the same key gives bit-for-bit the same path (independent of ``vmap``/``jit`` and of
  floating-point drift in the step times: the step index is rounded);
* different keys give independent paths, and one key per trial vmaps naturally.

Only ``n_save`` states are stored (``SaveAt(ts=...)``), however many steps are taken. A run that
leaves ``max|x_i| <= bound`` or becomes non-finite stops and is reported as
``status = DIVERGED`` (codes of :mod:`organics.simulate`), never as an exception.
"""

from __future__ import annotations

from typing import Any, Literal

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from ._validation import check_choice, is_traced
from .simulate import (
    DEFAULT_BOUND,
    Trajectory,
    _checked_max_steps,
    _checked_state,
    _concrete_float,
    solve_to_trajectory,
)

__all__ = [
    "NOISE_TYPES",
    "GridBrownianPath",
    "noise_matrix",
    "noise_covariance",
    "simulate_sde",
]

NoiseType = Literal["additive", "multiplicative"]
NOISE_TYPES: tuple[str, ...] = ("additive", "multiplicative")

#: Default noise amplitude of the research code (dimensionless).
DEFAULT_ETA = 0.02


# ---------------------------------------------------------------------------------------------
# Noise matrices


def _diffusion_diagonal(tau: Array, eta: ArrayLike, noise: str, x: Array | None) -> Array:
    """Diagonal of ``g``: ``eta sqrt(1/tau)`` (additive) or ``eta sqrt(|x|/tau)`` (multiplicative)."""
    if noise == "additive":
        return eta * jnp.sqrt(1.0 / tau)
    return eta * jnp.sqrt(jnp.abs(x) / tau)


def noise_matrix(
    model,
    eta: ArrayLike = DEFAULT_ETA,
    *,
    noise: NoiseType = "additive",
    state: ArrayLike | None = None,
) -> Array:
    r"""The diffusion matrix ``g`` (``d x d``, diagonal) of the noise model, in state units / s^{1/2}.

    ``additive``: ``g = eta * diag(sqrt(1/tau))`` with ``tau = model.time_constants()`` (the
    research code's ``L S`` with ``L = eta I``, ``S = sqrt(diag(1/tau))``).
    ``multiplicative``: ``g(x) = eta * diag(sqrt(|x|/tau))`` evaluated at ``state`` (required),
    e.g. the fixed point around which the dynamics are linearized.

    The noise covariance per unit time is ``Q = g g^T`` (see :func:`noise_covariance`).
    """
    check_choice("noise", noise, NOISE_TYPES)
    _check_eta(eta)
    tau = jnp.asarray(model.time_constants(), dtype=float)
    if noise == "multiplicative":
        if state is None:
            raise ValueError("state must be given for multiplicative noise (g depends on the state)")
        state = jnp.asarray(state, dtype=float)
        if state.shape != tau.shape:
            raise ValueError(f"state must have shape {tuple(tau.shape)}; got {tuple(state.shape)}")
    return jnp.diag(_diffusion_diagonal(tau, jnp.asarray(eta, dtype=float), noise, state))


def noise_covariance(
    model,
    eta: ArrayLike = DEFAULT_ETA,
    *,
    noise: NoiseType = "additive",
    state: ArrayLike | None = None,
) -> Array:
    r"""``Q = g g^T``: ``eta^2 diag(1/tau)`` (additive) or ``eta^2 diag(|x|/tau)`` (multiplicative), state^2/s."""
    g = noise_matrix(model, eta, noise=noise, state=state)
    return g @ g.T


def _check_eta(eta: Any) -> None:
    if is_traced(eta):
        return
    value = np.asarray(eta, dtype=float)
    if value.ndim != 0 or not np.isfinite(value) or value < 0:
        raise ValueError(f"eta must be a finite scalar >= 0; got {eta!r}")


# ---------------------------------------------------------------------------------------------
# Brownian motion on a fixed step grid


class GridBrownianPath(diffrax.AbstractBrownianPath):
    r"""Brownian motion for fixed-step solves, seeded per step index.

    ``evaluate(ta, tb)`` returns ``sqrt(tb - ta) * N(0, I)`` drawn from
    ``jax.random.fold_in(key, k)`` with ``k = round((ta - grid_t0) / dt)``: every step of a
    fixed-step solve on the grid ``grid_t0 + k dt`` gets an independent standard normal
    increment, and the same key reproduces the same path exactly. Like
    :class:`diffrax.UnsafeBrownianPath` (which keys on the float32 bit pattern of the step times
    and so can repeat increments on long runs with small steps), it is only valid for a
    constant step size and without backpropagation through the noise. ``evaluate(t)`` (a point
    value) is not supported.
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    levy_area: type[diffrax.BrownianIncrement] = eqx.field(static=True)
    key: Array
    grid_t0: Array
    dt: Array

    def __init__(self, shape: tuple[int, ...], key: Array, grid_t0: ArrayLike, dt: ArrayLike):
        self.shape = tuple(shape)
        self.levy_area = diffrax.BrownianIncrement
        self.key = key
        self.grid_t0 = jnp.asarray(grid_t0, dtype=float)
        self.dt = jnp.asarray(dt, dtype=float)

    @property
    def t0(self):
        return -jnp.inf

    @property
    def t1(self):
        return jnp.inf

    def evaluate(self, t0, t1=None, left: bool = True, use_levy: bool = False):
        del left
        if t1 is None:
            raise NotImplementedError("GridBrownianPath only provides increments evaluate(t0, t1)")
        t0 = jax.lax.stop_gradient(jnp.asarray(t0, dtype=float))
        t1 = jax.lax.stop_gradient(jnp.asarray(t1, dtype=float))
        k = jnp.round((t0 - self.grid_t0) / self.dt).astype(jnp.uint32)
        w = jax.random.normal(jax.random.fold_in(self.key, k), self.shape, dtype=float) * jnp.sqrt(t1 - t0)
        if use_levy:
            return diffrax.BrownianIncrement(dt=t1 - t0, W=w)
        return w


# ---------------------------------------------------------------------------------------------
# simulate_sde


def _drift(t, x, args):
    return args[0].vector_field(t, x, None)


def _diffusion(noise: str):
    def diffusion(t, x, args):
        model, _, eta = args
        return lx.DiagonalLinearOperator(_diffusion_diagonal(model.time_constants(), eta, noise, x))

    return diffusion


def simulate_sde(
    model,
    x0: ArrayLike,
    t1: float | ArrayLike,
    *,
    key: Array,
    dt: float | ArrayLike,
    eta: float | ArrayLike = DEFAULT_ETA,
    noise: NoiseType = "additive",
    n_save: int = 1000,
    t0: float | ArrayLike = 0.0,
    burn_in: float | ArrayLike = 0.0,
    bound: float = DEFAULT_BOUND,
    solver: diffrax.AbstractSolver | None = None,
    max_steps: int | None = None,
) -> Trajectory:
    r"""Integrate the Itô SDE ``dx = f(t, x) dt + g(x) dW`` from ``x(t0) = x0`` to ``t1`` (seconds).

    ``f = model.vector_field`` (1/s) and ``g`` is the diagonal noise of :func:`noise_matrix`
    (``noise="additive"``: ``eta diag(sqrt(1/tau))``; ``"multiplicative"``:
    ``eta diag(sqrt(|x|/tau))``), with ``W`` the :class:`GridBrownianPath` seeded by ``key``.

    Parameters
    ----------
    model:
        Any model with ``vector_field(t, x, args)`` and ``time_constants()``.
    x0:
        Initial flat state ``(state_size,)`` (e.g. the fixed point).
    t1, t0:
        End and start times in seconds, ``t1 > t0``.
    key:
        ``jax.random`` key. Same key, same path; different keys, independent paths.
    dt:
        Fixed step in seconds (> 0). Euler–Maruyama has a weak error ``O(dt)``: for an
        Ornstein–Uhlenbeck mode of rate ``k`` the stationary variance is biased by a factor
        ``1 / (1 - k dt / 2)``; take ``dt <= min(tau) / 50``.
    eta:
        Noise amplitude (dimensionless), >= 0.
    n_save:
        Number of saved states, at ``linspace(t0 + burn_in, t1, n_save)`` (static, >= 2). Only
        these are stored, however many steps are taken. Choose ``(t1 - t0 - burn_in) /
        (n_save - 1)`` a multiple of ``dt`` so that saves fall on steps; otherwise Diffrax
        interpolates linearly within a step (which low-passes the noise slightly).
    burn_in:
        Seconds discarded before the first save (>= 0, < ``t1 - t0``).
    bound:
        A run with ``max|x_i| > bound`` or a non-finite state stops: ``status = DIVERGED``,
        later rows of ``states`` are NaN.
    solver:
        A Diffrax SDE solver needing only Brownian increments (default :class:`diffrax.Euler`,
        Euler–Maruyama; e.g. :class:`diffrax.Heun` gives the Stratonovich reading for
        multiplicative noise). Solvers needing Lévy areas (SRA1, ShARK) are not supported.
    max_steps:
        Step budget (static); default ``ceil((t1 - t0)/dt) + 1`` (computed from concrete values;
        pass it explicitly when ``t0``, ``t1`` or ``dt`` are traced).

    Returns
    -------
    Trajectory
        ``ts``, ``states (n_save, d)``, ``status``, ``t_final``, ``final_state``, ``num_steps``
        (:class:`~organics.simulate.Trajectory`). Failures are reported in ``status``, never
        raised. Vmappable over keys, ``x0`` and a batched model, e.g.
        ``eqx.filter_vmap(lambda k: simulate_sde(model, x0, t1, key=k, dt=dt))(keys)``.

    Raises
    ------
    ValueError
        When values are concrete: ``t1 <= t0``, ``dt <= 0``, ``eta < 0``, ``burn_in`` outside
        ``[0, t1 - t0)``, ``n_save < 2``, an unknown ``noise`` or a bad ``x0``.
    """
    check_choice("noise", noise, NOISE_TYPES)
    if isinstance(n_save, bool) or not isinstance(n_save, (int, np.integer)) or n_save < 2:
        raise ValueError(f"n_save must be an integer >= 2; got {n_save!r}")
    _check_eta(eta)
    t0_c = _concrete_float("t0", t0)
    t1_c = _concrete_float("t1", t1)
    dt_c = _concrete_float("dt", dt)
    burn_c = _concrete_float("burn_in", burn_in)
    if t0_c is not None and t1_c is not None and not t1_c > t0_c:
        raise ValueError(f"t1 must be > t0 = {t0_c}; got t1 = {t1_c}")
    if dt_c is not None and not dt_c > 0:
        raise ValueError(f"dt must be > 0 seconds; got {dt_c}")
    if burn_c is not None:
        if burn_c < 0:
            raise ValueError(f"burn_in must be >= 0 seconds; got {burn_c}")
        if t0_c is not None and t1_c is not None and not burn_c < t1_c - t0_c:
            raise ValueError(f"burn_in must be < t1 - t0 = {t1_c - t0_c}; got {burn_c}")
    if bound is not None:
        b = _concrete_float("bound", bound)
        if b is not None and not b > 0:
            raise ValueError(f"bound must be > 0; got {b}")
    x0 = _checked_state(x0)
    max_steps = _checked_max_steps(max_steps, t0_c, t1_c, dt_c)
    solver = diffrax.Euler() if solver is None else solver
    as_array = lambda v: jnp.asarray(v, dtype=float)  # noqa: E731 - traced, so no recompiles
    return _simulate_sde_jit(
        model,
        x0,
        key,
        as_array(t0),
        as_array(t1),
        as_array(dt),
        as_array(eta),
        as_array(burn_in),
        as_array(bound),
        noise=noise,
        n_save=int(n_save),
        solver=solver,
        max_steps=int(max_steps),
    )


@eqx.filter_jit
def _simulate_sde_jit(model, x0, key, t0, t1, dt, eta, burn_in, bound, *, noise, n_save, solver, max_steps):
    ts = (t0 + burn_in) + (t1 - t0 - burn_in) * jnp.linspace(0.0, 1.0, n_save)
    ts = ts.at[-1].set(t1)
    brownian = GridBrownianPath(x0.shape, key, t0, dt)
    terms = diffrax.MultiTerm(diffrax.ODETerm(_drift), diffrax.ControlTerm(_diffusion(noise), brownian))
    return solve_to_trajectory(
        terms, solver, x0, t0, t1, dt, ts, (model, bound, eta), diffrax.ConstantStepSize(), max_steps
    )
