r"""Ring models of orientation-tuned V1 (after Heeger & Zemlianova, PNAS 2020).

The research code's ``ORGaNICs2D`` (two cell types, state ``(y, a)``) and ``ORGaNICs3D`` (three
cell types, state ``(y, a, u)``). ``n`` principal neurons tuned to orientation receive a stimulus
``x`` of dimension ``m`` through ``z = W_zx @ x``.

Weights (all built in NumPy, float64):

* :func:`ring_recurrent_weights` -- ``W_yy``: the circulant matrix of the 9-tap kernel
  ``(0.02807382, -0.060944743, -0.073386624, 0.41472545, 0.7973934, 0.41472545, -0.073386624,
  -0.060944743, 0.02807382)`` (centre tap on the diagonal), singular values clipped to ``<= 1``
  (``U min(S, 1) V^T``), then symmetrised ``(W + W^T)/2``. About ``n/2 + 1`` eigenvalues equal 1
  (the low spatial frequencies), the rest are below 1.
* :func:`ring_input_weights` -- ``W_zx`` of shape ``(n, m)``, ``W_zx[k, j] = |c_p cos((theta_j -
  theta_k)/2)**p|`` with ``theta_j = 2 pi j/m``, ``theta_k = 2 pi k/n``, ``p = d - 1`` where ``d``
  is the number of eigenvalues of ``W_yy`` within 1e-3 of 1, and ``c_p = sqrt(d/n) sqrt(2**(2p)
  (p!)**2 / ((2p)! (p+1)))``. Neuron ``k`` prefers the orientation ``180 k / n`` degrees; the
  tuning curve contains only the harmonics that ``W_yy`` leaves unchanged, so ``W_yy z = z``.
* :func:`ring_normalization_pool` -- ``W[i, j] = exp(-d_ij**2 / (2 (norm_band n)**2))`` with
  ``d_ij = min(|i - j|, n - |i - j|)`` the circular distance, peak 1 (unscaled).
* :func:`grating_stimulus` -- one-hot of length ``m`` with value ``c`` at ``floor(m theta/180)``.

Two-type ring (:func:`two_type_ring`) is an :class:`~organics.models.organics.ORGaNICs` circuit::

    tau_y dy/dt = -y + g z + (1 - sqrt([a]+)) (W_yy y)
    tau_a da/dt = -a + (sigma g)**2 + W (y**2 [a]+)

with ``g = b0/(1 + b0)``: the research code wrote both the drive gain and the semi-saturation gain
as ``b0/(1+b0)``, so ``ORGaNICs.b = ORGaNICs.b0 = g``. At ``W_yy = I`` the fixed point is
``y**2 = z**2 / (sigma**2 + W z**2)``, independent of ``b0``.

Three-type ring (:class:`ThreeTypeRing`), ``f(u) = sqrt([u]+)``::

    tau_y dy/dt = -y + g W_zx x + (1/(1 + a)) (W_yy y)
    tau_u du/dt = -u + (u / f(u)**2) (W_uy (f(u)**2 y**2) + (sigma g)**2)
    tau_a da/dt = -a + a f(u) + f(u) + alpha f'(u) (tau_u du/dt)

At a fixed point with ``u > 0``: ``u = (sigma g)**2 + W_uy (u y**2)``, ``a = f/(1 - f)`` so that
``1/(1 + a) = 1 - sqrt(u)`` and ``y`` obeys the two-type equation with ``a -> u``; at
``W_yy = I``, ``y**2 = z**2/(sigma**2 + W_uy z**2)`` exactly.

:func:`poisson_spike_trains` draws spikes as a Bernoulli process with probability ``r dt`` per
step (the research code's spike-train generator).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from .. import _validation as check
from .._safe import d_relu_pow, safe_divide, sqrt_relu
from .organics import ORGaNICs, Variant

__all__ = [
    "RING_KERNEL",
    "ring_recurrent_weights",
    "ring_input_weights",
    "ring_normalization_pool",
    "ring_tuning_exponent",
    "preferred_orientations",
    "grating_stimulus",
    "research_gain",
    "two_type_ring",
    "ThreeTypeRing",
    "three_type_ring",
    "poisson_spike_trains",
]

RING_KERNEL: tuple[float, ...] = (
    0.02807382,
    -0.060944743,
    -0.073386624,
    0.41472545,
    0.7973934,
    0.41472545,
    -0.073386624,
    -0.060944743,
    0.02807382,
)
"""The 9-tap recurrent kernel of the ring (centre tap 0.7973934 on the diagonal)."""

_UNIT_EIGENVALUE_TOL = 1e-3


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def ring_recurrent_weights(n: int) -> np.ndarray:
    """Recurrent weights ``W_yy`` (``(n, n)``, circulant, symmetric, singular values ``<= 1``).

    The circulant matrix of :data:`RING_KERNEL` (wrapped around the ring; for ``n < 9`` taps that
    land on the same neuron add), with singular values clipped to at most 1 by an SVD and then
    symmetrised ``(W + W^T)/2``.
    """
    n = _check_count("n", n)
    kernel = np.asarray(RING_KERNEL)
    half = len(kernel) // 2
    W = np.zeros((n, n))
    rows = np.arange(n)
    for offset, weight in zip(range(-half, half + 1), kernel):
        np.add.at(W, (rows, (rows + offset) % n), weight)
    U, S, Vt = np.linalg.svd(W)
    W = (U * np.minimum(S, 1.0)) @ Vt
    return 0.5 * (W + W.T)


def ring_tuning_exponent(W_yy: ArrayLike) -> tuple[int, int]:
    """``(d, p)``: the number ``d`` of eigenvalues of ``W_yy`` within 1e-3 of 1 and ``p = d - 1``."""
    eigs = np.linalg.eigvals(np.asarray(W_yy, dtype=float))
    d = int(np.sum(np.abs(eigs.real - 1.0) < _UNIT_EIGENVALUE_TOL))
    return d, d - 1


def ring_input_weights(n: int, m: int) -> np.ndarray:
    r"""Feed-forward weights ``W_zx`` (``(n, m)``): cos^p orientation tuning.

    ``W_zx[k, j] = |c_p cos((theta_j - theta_k)/2)**p|`` with ``theta_j = 2 pi j / m``,
    ``theta_k = 2 pi k / n``; ``p = d - 1`` with ``d`` the number of eigenvalues of
    :func:`ring_recurrent_weights` ``(n)`` within 1e-3 of 1, and
    ``c_p = sqrt(d/n) sqrt(2**(2p) (p!)**2 / ((2p)! (p + 1)))``. For ``m = n`` every row is the
    previous one shifted by one neuron.
    """
    n = _check_count("n", n)
    m = _check_count("m", m)
    d, p = ring_tuning_exponent(ring_recurrent_weights(n))
    if p < 0:
        raise ValueError(f"W_yy(n={n}) has no eigenvalue within 1e-3 of 1, so the tuning exponent is undefined")
    # log-gamma keeps c_p finite for large p (the factorials overflow floats beyond p ~ 170)
    log_ratio = 2 * p * math.log(2.0) + 2 * math.lgamma(p + 1) - math.lgamma(2 * p + 1) - math.log(p + 1)
    c_p = math.sqrt(d / n) * math.exp(0.5 * log_ratio)
    theta_in = 2.0 * np.pi * np.arange(m) / m
    theta_out = 2.0 * np.pi * np.arange(n) / n
    return np.abs(c_p * np.cos((theta_in[None, :] - theta_out[:, None]) / 2.0) ** p)


def ring_normalization_pool(n: int, norm_band: float) -> np.ndarray:
    """Normalization weights ``W`` (``(n, n)``): ``exp(-d_ij**2 / (2 (norm_band n)**2))``.

    ``d_ij = min(|i - j|, n - |i - j|)`` is the circular distance between neurons ``i`` and ``j``
    (in neurons); the peak (diagonal) is 1, no normalization of the rows.
    """
    n = _check_count("n", n)
    check.check_positive("norm_band", norm_band)
    if np.ndim(norm_band) != 0:
        raise ValueError(f"norm_band must be a scalar; got shape {np.shape(norm_band)}")
    index = np.arange(n)
    distance = np.abs(index[:, None] - index[None, :])
    distance = np.minimum(distance, n - distance)
    width = float(norm_band) * n
    return np.exp(-(distance.astype(float) ** 2) / (2.0 * width**2))


def preferred_orientations(n: int) -> np.ndarray:
    """Preferred orientation of each of the ``n`` ring neurons, ``180 k / n`` degrees."""
    n = _check_count("n", n)
    return 180.0 * np.arange(n) / n


def grating_stimulus(m: int, theta_deg: float, contrast: float) -> np.ndarray:
    """One-hot grating of length ``m``: value ``contrast`` at index ``floor(m theta_deg / 180)``.

    ``theta_deg`` in [0, 180) degrees, ``contrast`` in [0, 1].
    """
    m = _check_count("m", m)
    theta = float(theta_deg)
    c = float(contrast)
    if not (np.isfinite(theta) and 0.0 <= theta < 180.0):
        raise ValueError(f"theta_deg must be in [0, 180) degrees; got {theta_deg!r}")
    if not (np.isfinite(c) and 0.0 <= c <= 1.0):
        raise ValueError(f"contrast must be in [0, 1]; got {contrast!r}")
    x = np.zeros(m)
    x[min(int(np.floor(m * theta / 180.0)), m - 1)] = c
    return x


def research_gain(b0: ArrayLike) -> Array:
    """The research code's input gain ``b0 / (1 + b0)`` (``b0 > 0``)."""
    check.check_positive("b0", b0)
    b0 = jnp.asarray(b0, dtype=float)
    return b0 / (1.0 + b0)


def _ring_parts(n: int, m: int, contrast: float, theta_deg: float, norm_band: float):
    W_yy = ring_recurrent_weights(n)
    W_zx = ring_input_weights(n, m)
    W = ring_normalization_pool(n, norm_band)
    x = grating_stimulus(m, theta_deg, contrast)
    return W_yy, W_zx, W, x


def two_type_ring(
    n: int = 36,
    m: int = 36,
    *,
    contrast: float = 1.0,
    theta_deg: float = 90.0,
    sigma: ArrayLike = 0.1,
    b0: ArrayLike = 1.0,
    tau_y: ArrayLike = 2e-3,
    tau_a: ArrayLike = 2e-3,
    norm_band: float = 0.5,
    variant: Variant = "main",
    identity_recurrence: bool = False,
) -> ORGaNICs:
    r"""Two-type ring (``ORGaNICs2D``) as an :class:`ORGaNICs` circuit.

    ``z = W_zx @ grating_stimulus(m, theta_deg, contrast)``, ``W_r = ring_recurrent_weights(n)``
    (or the identity with ``identity_recurrence=True``, where the normalization equation is
    exact), ``W = ring_normalization_pool(n, norm_band)``. ``b0`` is the research code's gain
    parameter: the circuit gets ``b = b0_circuit = b0/(1 + b0)`` (drive ``b0/(1+b0) z`` and
    semi-saturation ``(sigma b0/(1+b0))**2``), so the normalization fixed point
    ``y**2 = (b z)**2 / (sigma**2 b0**2 + W (b z)**2)`` is ``z**2/(sigma**2 + W z**2)``.

    The research code integrated ``W_yy y`` in the y-equation and ``W([a]+ [y]+**2)`` in the
    pool; with ``z >= 0`` the steady state has ``y >= 0`` and this equals ``variant="main"``
    (the default); ``variant="rectified"`` also rectifies the recurrent drive. Defaults
    (``n = m = 36``, ``norm_band = 0.5``, ``sigma = 0.1``, ``b0 = 1``, 2 ms) are this package's
    choices.
    """
    W_yy, W_zx, W, x = _ring_parts(n, m, contrast, theta_deg, norm_band)
    if identity_recurrence:
        W_yy = np.eye(W_yy.shape[0])
    g = research_gain(b0)
    return ORGaNICs.from_stimulus(
        x, W_zx, W_r=W_yy, W=W, b=g, b0=g, sigma=sigma, tau_y=tau_y, tau_a=tau_a, variant=variant
    )


def _vector(name: str, value: ArrayLike, n: int, positive: bool = True) -> Array:
    if positive:
        check.check_positive(name, value)
    else:
        check.check_finite(name, value)
    vector = jnp.asarray(value, dtype=float)
    if vector.ndim > 1 or (vector.ndim == 1 and vector.shape[0] not in (1, n)):
        raise ValueError(f"{name} must be a scalar or have shape ({n},); got shape {tuple(vector.shape)}")
    return jnp.broadcast_to(vector, (n,))


def _matrix(name: str, value: ArrayLike, shape: tuple[int, int]) -> Array:
    check.check_finite(name, value)
    matrix = jnp.asarray(value, dtype=float)
    check.check_shape(name, matrix, shape)
    return matrix


class ThreeTypeRing(eqx.Module):
    r"""Three-type ring (``ORGaNICs3D``): state ``(y, a, u)`` of length ``3n``, ``f(u) = sqrt([u]+)``.

    ::

        tau_y dy/dt = -y + gain z + (1/(1 + a)) (W_yy y)
        tau_u du/dt = -u + (u / f(u)**2) (W_uy (f(u)**2 y**2) + (sigma gain)**2)
        tau_a da/dt = -a + a f(u) + f(u) + alpha f'(u) (tau_u du/dt)

    ``z = W_zx @ x`` is stored as the drive; ``gain`` is the research code's ``b0/(1 + b0)``
    (:func:`three_type_ring` takes ``b0``). ``u / f(u)**2`` is 1 for ``u > 0`` and, as in
    ``ORGaNICs`` with a custom ``a+``, taken as 1 for ``u <= 0``; ``f'(u)`` is 0 for ``u <= 0``.
    Every Jacobian is finite away from ``a = -1``. Time constants in seconds, vector field in 1/s.
    """

    z: Array
    W_yy: Array
    W_uy: Array
    gain: Array
    sigma: Array
    alpha: Array
    tau_y: Array
    tau_a: Array
    tau_u: Array

    def __init__(
        self,
        z: ArrayLike,
        W_yy: ArrayLike | None = None,
        W_uy: ArrayLike | None = None,
        gain: ArrayLike = 0.5,
        sigma: ArrayLike = 0.1,
        alpha: ArrayLike = 0.0,
        tau_y: ArrayLike = 2e-3,
        tau_a: ArrayLike = 2e-3,
        tau_u: ArrayLike = 2e-3,
    ):
        check.check_finite("z", z)
        z = jnp.asarray(z, dtype=float)
        if z.ndim != 1 or z.shape[0] < 1:
            raise ValueError(f"z must be a vector of shape (n,) with n >= 1; got shape {tuple(z.shape)}")
        n = z.shape[0]
        self.z = z
        self.W_yy = _matrix("W_yy", jnp.eye(n) if W_yy is None else W_yy, (n, n))
        self.W_uy = _matrix("W_uy", jnp.ones((n, n)) if W_uy is None else W_uy, (n, n))
        check.check_nonnegative("W_uy", self.W_uy)
        self.gain = _vector("gain", gain, n)
        self.sigma = _vector("sigma", sigma, n)
        self.alpha = _vector("alpha", alpha, n, positive=False)
        self.tau_y = _vector("tau_y", tau_y, n)
        self.tau_a = _vector("tau_a", tau_a, n)
        self.tau_u = _vector("tau_u", tau_u, n)

    @property
    def n(self) -> int:
        """Number of principal neurons (and of each other cell type)."""
        return self.W_yy.shape[-1]

    @property
    def state_size(self) -> int:
        """Length of the flat state ``(y, a, u)``."""
        return 3 * self.n

    def split_state(self, x: Array) -> tuple[Array, Array, Array]:
        """Split a flat state ``(..., 3n)`` into ``(y, a, u)``."""
        n = self.n
        return x[..., :n], x[..., n : 2 * n], x[..., 2 * n :]

    def join_state(self, y: ArrayLike, a: ArrayLike, u: ArrayLike) -> Array:
        """Concatenate ``(y, a, u)`` into the flat state."""
        return jnp.concatenate([jnp.asarray(v, dtype=float) for v in (y, a, u)], axis=-1)

    def time_constants(self) -> Array:
        """Time constant of every state component, ``(tau_y, tau_a, tau_u)``, in seconds."""
        return jnp.concatenate([self.tau_y, self.tau_a, self.tau_u])

    def drive(self, t: ArrayLike = 0.0) -> Array:
        """The input drive ``z = W_zx @ x`` (constant in time)."""
        return self.z

    def vector_field(self, t: ArrayLike, x: Array, args=None) -> Array:
        """``d(y, a, u)/dt`` in 1/s (Diffrax signature)."""
        y, a, u = self.split_state(x)
        f = sqrt_relu(u)
        f2 = f * f
        ratio = safe_divide(u, f2, fill=1.0)
        u_rhs = -u + ratio * (self.W_uy @ (f2 * y * y) + (self.sigma * self.gain) ** 2)
        y_rhs = -y + self.gain * self.z + (self.W_yy @ y) / (1.0 + a)
        a_rhs = -a + a * f + f + self.alpha * d_relu_pow(u, 0.5) * u_rhs
        return jnp.concatenate([y_rhs / self.tau_y, a_rhs / self.tau_a, u_rhs / self.tau_u], axis=-1)

    def residual(self, x: Array, t: ArrayLike = 0.0) -> Array:
        """Steady-state residual ``tau * dx/dt`` (units of the state)."""
        return self.time_constants() * self.vector_field(t, x)

    def normalization_state(self) -> Array:
        """The fixed point for ``W_yy = I`` (exact then; a good start for Newton otherwise).

        ``u = (sigma gain)**2 + W_uy (gain z)**2``, ``y = gain z / sqrt(u)``,
        ``a = sqrt(u)/(1 - sqrt(u))``.
        """
        u = (self.sigma * self.gain) ** 2 + self.W_uy @ (self.gain * self.z) ** 2
        f = jnp.sqrt(u)
        return self.join_state(self.gain * self.z / f, f / (1.0 - f), u)


def three_type_ring(
    n: int = 36,
    m: int = 36,
    *,
    contrast: float = 1.0,
    theta_deg: float = 90.0,
    sigma: ArrayLike = 0.1,
    b0: ArrayLike = 1.0,
    alpha: ArrayLike = 0.0,
    tau_y: ArrayLike = 2e-3,
    tau_a: ArrayLike = 2e-3,
    tau_u: ArrayLike = 2e-3,
    norm_band: float = 0.5,
    identity_recurrence: bool = False,
) -> ThreeTypeRing:
    """Three-type ring with the ring weights: ``z = W_zx x``, ``W_yy``, ``W_uy`` = the pool.

    ``gain = b0/(1 + b0)`` (the research code's form). ``identity_recurrence=True`` uses
    ``W_yy = I``. Defaults are this package's choices.
    """
    W_yy, W_zx, W, x = _ring_parts(n, m, contrast, theta_deg, norm_band)
    if identity_recurrence:
        W_yy = np.eye(W_yy.shape[0])
    return ThreeTypeRing(
        z=W_zx @ x,
        W_yy=W_yy,
        W_uy=W,
        gain=research_gain(b0),
        sigma=sigma,
        alpha=alpha,
        tau_y=tau_y,
        tau_a=tau_a,
        tau_u=tau_u,
    )


def poisson_spike_trains(
    rates_hz: ArrayLike,
    dt: float,
    key: Array,
    n_steps: int | None = None,
) -> Array:
    r"""Spike trains drawn as a Bernoulli process: a spike with probability ``r dt`` per step.

    ``rates_hz`` are firing rates (Hz, ``>= 0``), either one rate per time step (shape
    ``(T, ...)``, with ``n_steps=None``) or constant rates of any shape repeated for ``n_steps``
    steps. ``dt`` is the step in seconds; every ``r dt`` must be ``<= 1`` (``ValueError``
    otherwise, checked when the rates are concrete). Returns a boolean array of shape
    ``(T, ...)`` or ``(n_steps, *rates.shape)``; the same ``key`` gives the same trains.
    """
    check.check_positive("dt", dt)
    check.check_nonnegative("rates_hz", rates_hz)
    rates = jnp.asarray(rates_hz, dtype=float)
    if n_steps is not None:
        n_steps = _check_count("n_steps", n_steps)
        rates = jnp.broadcast_to(rates, (n_steps, *rates.shape))
    probability = rates * dt
    if not check.is_traced(probability):
        worst = float(np.max(np.asarray(probability))) if probability.size else 0.0
        if worst > 1.0:
            raise ValueError(
                f"rates_hz * dt must be <= 1 (a probability per step); got max r*dt = {worst:.6g}: reduce dt"
            )
    return jax.random.uniform(key, probability.shape, dtype=probability.dtype) < probability
