r"""Closed forms from the papers.

Equation numbers refer to Rawat, Heeger & Martiniani, "Unconditional stability of a recurrent
neural circuit implementing divisive normalization" (NeurIPS 2024). Eigenvalues are in 1/s
(time constants in seconds). The breakdown boundaries ``Delta_c`` are the first-order theory of
Morone, Rawat, Heeger & Martiniani, "Stabilization of recurrent neural networks through divisive
normalization" (2025), as written in research-code spec §5.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from ._safe import abs_pow, relu_pow
from ._validation import is_traced
from .connectivity import INPUT_KINDS
from .models.organics import ORGaNICs

__all__ = [
    "analytic_eigenvalues",
    "check_fully_normalized",
    "critical_delta",
    "critical_delta_per_neuron",
    "critical_input",
    "first_order_normalization_error",
    "gap_closing_delta",
    "normalization_scale",
]


def check_fully_normalized(model: ORGaNICs) -> None:
    """Raise ``ValueError`` naming the first violated assumption of Appendices C / F.2.

    The assumptions are: ``W_r = I``; ``W = alpha * ones`` with ``alpha > 0``; scalar (constant)
    ``tau_y``, ``tau_a``, ``b0`` and ``sigma``; the default rate ``a+ = [a]+**(1/p)``; a constant
    drive ``z``. ``b`` may vary across neurons. Needs concrete (untraced) parameters.
    """
    if model.a_plus is not None:
        raise ValueError("analytic_eigenvalues needs the default a+ = [a]+**(1/p) (a_plus=None)")
    if model.time_varying:
        raise ValueError("analytic_eigenvalues needs a constant drive z (use model.at_time(t))")
    leaves = (model.W_r, model.W, model.tau_y, model.tau_a, model.b0, model.sigma)
    if is_traced(*leaves):
        raise ValueError(
            "analytic_eigenvalues cannot check its assumptions on traced parameters; "
            "pass validate=False inside jit/vmap"
        )
    n = model.n
    W_r = np.asarray(model.W_r)
    if not np.array_equal(W_r, np.eye(n)):
        raise ValueError("analytic_eigenvalues assumes identity recurrent weights W_r = I")
    W = np.asarray(model.W)
    alpha = W.flat[0]
    if not (alpha > 0 and np.allclose(W, alpha, rtol=1e-12, atol=0.0)):
        raise ValueError("analytic_eigenvalues assumes a fully normalized circuit W = alpha * ones with alpha > 0")
    for name in ("tau_y", "tau_a", "b0", "sigma"):
        value = np.asarray(getattr(model, name))
        if not np.allclose(value, value[0], rtol=1e-12, atol=0.0):
            raise ValueError(f"analytic_eigenvalues assumes a scalar {name} (all entries equal)")


def _quadratic_roots(linear: Array, constant: Array) -> tuple[Array, Array]:
    """Roots of ``lambda^2 + linear*lambda + constant`` (``linear > 0``), without cancellation."""
    discriminant = (linear**2 - 4.0 * constant).astype(complex)
    q = -0.5 * (linear + jnp.sqrt(discriminant))  # Re sqrt >= 0 and linear > 0: no cancellation
    return q, constant / q


def analytic_eigenvalues(model: ORGaNICs, validate: bool = True) -> Array:
    r"""All ``2n`` eigenvalues (complex, 1/s) of the Jacobian at the normalization fixed point.

    Fully normalized circuit: ``W = alpha * ones`` (any ``alpha > 0``), ``W_r = I``, scalar
    ``tau_y``, ``tau_a``, ``b0``, ``sigma``; ``b`` may be a vector. With
    ``a_s = (b0 sigma)^p + alpha ||u||_1`` the common steady state of every ``a`` neuron,
    ``s = a_s^(1/p)`` (``sqrt(a_s)`` for ``p = 2``) and ``rho = alpha ||u||_1 / a_s``:

    * main model (Appendix C, Eqs. 58-62), ``u = |b z|^p`` (``||b z||^2`` for ``p = 2``):
      ``-1/tau_a`` and ``-s/tau_y``, each ``n - 1`` times (Eq. 61), and the two roots of
      ``lambda^2 + lambda ((1 - rho)/tau_a + s/tau_y) + s/(tau_y tau_a) = 0`` (Eq. 62);
    * rectified models (Appendix F.2, Eqs. 96-100), ``u = [b z]+^p``: for each of the ``n2``
      neurons with ``z_i <= 0``, ``-1/tau_y`` and ``-1/tau_a`` (``delta_2``, Eq. 97); for the
      ``n1`` neurons with ``z_i > 0``, ``-1/tau_a`` and ``-s/tau_y`` each ``n1 - 1`` times and the
      two roots of Eq. 100. If ``n1 = 0`` there is no Eq. 100 pair.

    Corrections to the paper's F.2: the norms in Eqs. 97-100 must be ``||[b z]+||`` (as in the
    fixed point Eq. 88 and in ``v`` of Eq. 96), not ``||b z||``: the negative inputs do not enter
    the normalization pool (checked numerically against the Jacobian). A zero input ``z_i = 0``
    belongs to the ``delta_2`` group here (derivative 0 at the kink of ``[y]+``, as in
    :func:`organics.stability.jacobian`), where the paper's ``1_{z >= 0}`` puts it in ``delta_1``.
    The derivation carries over unchanged to any exponent ``p`` with the default ``a+``.

    The eigenvalues are ordered per neuron (pairs), not sorted. ``validate=False`` skips the
    assumption checks (:func:`check_fully_normalized`) so the function can be jitted/vmapped.
    """
    if validate:
        check_fully_normalized(model)
    p = model.p
    alpha = model.W[0, 0]
    tau_y, tau_a = model.tau_y[0], model.tau_a[0]
    drive = model.b * model.drive(0.0)
    if model.variant == "main":
        u = abs_pow(drive, p)
        active = jnp.ones(drive.shape, dtype=bool)
    else:
        u = relu_pow(drive, p)
        active = drive > 0
    pool = alpha * jnp.sum(u)
    a_s = (model.b0[0] * model.sigma[0]) ** p + pool
    s = a_s ** (1.0 / p)
    rho = pool / a_s
    root_1, root_2 = _quadratic_roots((1.0 - rho) / tau_a + s / tau_y, s / (tau_y * tau_a))

    # One neuron among the active ones carries the rank-one (Eq. 62 / Eq. 100) pair.
    index = jnp.arange(drive.shape[0])
    carrier = active & (index == jnp.argmax(active))
    first = jnp.where(carrier, root_1, -1.0 / tau_a).astype(complex)
    second = jnp.where(carrier, root_2, jnp.where(active, -s / tau_y, -1.0 / tau_y)).astype(complex)
    return jnp.concatenate([first, second])


def normalization_scale(
    input_norm: ArrayLike, *, sigma: ArrayLike = 0.1, b: ArrayLike = 1.0, b0: ArrayLike = 1.0
) -> Array:
    r"""``s = sqrt(sigma^2 b0^2 + b^2 |z|^2)``, the common ``sqrt(a_s)`` of a fully normalized circuit.

    For ``W = ones`` and scalar gains, Eq. 4 gives ``a_s = sigma^2 b0^2 + b^2 ||z||^2`` in every
    component (Stabilization paper; research-code spec §1), and the normalization fixed point is
    ``y_s = b z / s``.
    """
    return jnp.sqrt(jnp.asarray(sigma) ** 2 * jnp.asarray(b0) ** 2 + jnp.asarray(b) ** 2 * jnp.asarray(input_norm) ** 2)


def _check_gains(input_norm: ArrayLike, sigma: ArrayLike, b: ArrayLike, b0: ArrayLike) -> None:
    for name, value in (("sigma", sigma), ("b", b), ("b0", b0)):
        if not is_traced(value) and np.any(np.asarray(value) <= 0):
            raise ValueError(f"{name} must be > 0; got {value!r}")
    if not is_traced(input_norm) and np.any(np.asarray(input_norm) < 0):
        raise ValueError(f"input_norm must be >= 0 (the 2-norm |z| of the drive); got {input_norm!r}")


def _scaled(input_norm, sigma, b, b0) -> tuple[Array, Array, Array, Array]:
    """Validate; ``s``, ``1/(s G) = s/(1 - s)`` (``inf`` for ``s >= 1``), ``(sigma b0/s)^2``, ``b |z| sigma b0/s^2``."""
    _check_gains(input_norm, sigma, b, b0)
    s = normalization_scale(input_norm, sigma=sigma, b=b, b0=b0)
    r = jnp.where(s >= 1.0, jnp.inf, s / jnp.where(s < 1.0, 1.0 - s, 1.0))
    noise = jnp.asarray(sigma) * jnp.asarray(b0)
    return s, r, (noise / s) ** 2, jnp.asarray(b) * jnp.asarray(input_norm) * noise / s**2


def critical_delta(
    input_norm: ArrayLike,
    *,
    sigma: ArrayLike = 0.1,
    b: ArrayLike = 1.0,
    b0: ArrayLike = 1.0,
    mu: ArrayLike = 0.0,
    input_type: str = "delocalized",
) -> Array:
    r"""Recurrent strength ``Delta_c(|z|)`` at which normalization breaks down.

    First-order theory of the Stabilization paper (Morone, Rawat, Heeger & Martiniani; research-code
    spec §5): with ``W = ones``, ``W_r = I + M`` and ``M`` from the ``goe_symmetric`` ensemble of
    scale ``Delta`` and mean ``mu``, the fluctuation of the fixed point driven by ``M`` equals its
    mean at ``Delta_c``. With ``s = sqrt(sigma^2 b0^2 + b^2 |z|^2)`` and ``G = (1 - s)/s^2``::

        mu = 0 (every input type):  Delta_c = sqrt(2) s / (1 - s) = sqrt(2) / (s G)
        "delocalized", spec (A):    F = [1/(G s)] [1 + mu sigma^2 b0^2 G / s]
                                    Delta_c = sqrt(2) sqrt(F^2 + mu^2 b^2 |z|^2 (sigma b0 / s^2)^2)
        "localized", spec (C):      Delta_c = sqrt(2) (1/(s G) + mu)

    The spec writes (A) and (C) for ``b0 = b = 1``. For scalar gains the circuit with
    ``(z, sigma, b, b0)`` is exactly the circuit with ``(b z, sigma b0, 1, 1)`` (``b`` and ``b0``
    enter the model only as ``b z`` and ``sigma b0``), so the general form substitutes
    ``z -> b z`` and ``sigma -> sigma b0``; with ``b = b0 = 1`` it is the spec's formula verbatim.
    (C) is negative (no breakdown point) for ``mu < -1/(s G)``; NaN is returned there. (A) never
    is: its sum of squares removes the sign change. For ``s >= 1`` the gate ``1 - sqrt(a)``
    switches the recurrence off and normalization never breaks, so ``inf`` is returned for every
    ``mu``. A closed form with ``mu != 0`` exists only for ``"delocalized"`` and ``"localized"``
    inputs; ``"random"`` and ``"gaussian"`` accept only ``mu = 0`` (traced ``mu``: NaN where
    ``mu != 0``). Accepts arrays (broadcast) and raises ``ValueError`` for a negative input norm,
    non-positive gains or an unknown ``input_type``.
    """
    if input_type not in INPUT_KINDS:
        raise ValueError(f"input_type must be one of {', '.join(map(repr, INPUT_KINDS))}; got {input_type!r}")
    if input_type in ("random", "gaussian") and not is_traced(mu) and np.any(np.asarray(mu) != 0):
        raise ValueError(
            f"critical_delta with mu != 0 has a closed form only for 'delocalized' and 'localized' inputs; "
            f"got input_type={input_type!r}, mu={mu!r} (mu = 0 works for every input type)"
        )
    s, r, q, cross = _scaled(input_norm, sigma, b, b0)
    mu = jnp.asarray(mu)
    if input_type == "delocalized":
        delta = jnp.hypot(r + mu * q, mu * cross)
    elif input_type == "localized":
        delta = r + mu
    else:
        delta = jnp.where(mu == 0, r, jnp.nan)
    return jnp.where(s >= 1.0, jnp.inf, jnp.where(delta >= 0, np.sqrt(2.0) * delta, jnp.nan))


def critical_delta_per_neuron(
    input_norm: ArrayLike,
    n: int,
    *,
    sigma: ArrayLike = 0.1,
    b: ArrayLike = 1.0,
    b0: ArrayLike = 1.0,
    mu: ArrayLike = 0.0,
) -> Array:
    r"""Older per-neuron ``Delta_c`` for a delocalized input, formula (B) of research-code spec §5.

    Mean and SD of one neuron's first-order fixed point (Stabilization paper, older notebooks),
    written with the gains as in :func:`critical_delta` (``z -> b z``, ``sigma -> sigma b0``)::

        E[y_i]  = b|z| / (sqrt(n) s) + mu b|z| G (1 - b^2 |z|^2 / s^2) / sqrt(n)
        SD[y_i] = Delta b|z| G / sqrt(2 n)
        Delta_c = sqrt(2 n) E[y_i] / (G b|z|) = sqrt(2) (1/(s G) + mu sigma^2 b0^2 / s^2)

    ``n`` cancels (kept for the spec's signature; validated as a positive integer). (B) equals
    the ``F`` of formula (A) times ``sqrt(2)``: it is negative (no solution) for strongly negative
    ``mu``, where NaN is returned; ``inf`` for ``s >= 1``; ``mu = 0`` gives the common
    ``sqrt(2) s/(1 - s)``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of neurons); got {n!r}")
    s, r, q, _ = _scaled(input_norm, sigma, b, b0)
    delta = r + jnp.asarray(mu) * q
    return jnp.where(s >= 1.0, jnp.inf, jnp.where(delta >= 0, np.sqrt(2.0) * delta, jnp.nan))


def critical_input(delta: ArrayLike, *, sigma: ArrayLike = 0.1, b: ArrayLike = 1.0, b0: ArrayLike = 1.0) -> Array:
    r"""Input norm ``|z|_c(Delta)`` at which ``critical_delta(|z|_c) = Delta`` (``mu = 0``).

    Inverse of ``Delta_c = sqrt(2) s/(1 - s)`` (research-code spec §5, general gains)::

        s_c = Delta / (sqrt(2) + Delta),      |z|_c = sqrt(s_c^2 - sigma^2 b0^2) / b

    Inputs ``|z| > |z|_c`` keep normalization at this ``Delta``. No solution (NaN) for
    ``Delta < sqrt(2) s_min / (1 - s_min)``, ``s_min = sigma b0`` (even ``z = 0`` is already
    normalized there); ``|z|_c = 0`` at equality; ``Delta = inf`` gives ``sqrt(1 - sigma^2 b0^2)/b``.
    Raises ``ValueError`` for a negative ``delta`` or non-positive gains.
    """
    _check_gains(0.0, sigma, b, b0)
    if not is_traced(delta) and np.any(np.asarray(delta) < 0):
        raise ValueError(f"delta must be >= 0 (the scale of M); got {delta!r}")
    s_c = 1.0 / (1.0 + np.sqrt(2.0) / jnp.asarray(delta, dtype=float))
    gap = s_c**2 - (jnp.asarray(sigma) * jnp.asarray(b0)) ** 2
    return jnp.where(gap >= 0, jnp.sqrt(jnp.maximum(gap, 0.0)), jnp.nan) / jnp.asarray(b)


def first_order_normalization_error(
    delta: ArrayLike, input_norm: ArrayLike, *, sigma: ArrayLike = 0.1, b: ArrayLike = 1.0, b0: ArrayLike = 1.0
) -> Array:
    r"""First-order prediction of ``||y_s1|| / ||y_s0||`` for ``goe_symmetric`` ``M`` with ``mu = 0``.

    ``||y_s1|| / ||y_s0|| ~= Delta / Delta_c(|z|)`` (research-code spec §5; measured 0.124 vs 0.127
    at ``|z| = 0.01``), where ``y_s1 = G b (I - b^2 z z^T / s^2) M z`` is the first-order shift of
    the fixed point and ``y_s0 = b z / s``. It is 0 where ``Delta_c = inf`` (``s >= 1``).
    """
    if not is_traced(delta) and np.any(np.asarray(delta) < 0):
        raise ValueError(f"delta must be >= 0 (the scale of M); got {delta!r}")
    return jnp.asarray(delta) / critical_delta(input_norm, sigma=sigma, b=b, b0=b0)


def gap_closing_delta(
    input_norm: ArrayLike, *, sigma: ArrayLike = 0.1, b: ArrayLike = 1.0, b0: ArrayLike = 1.0
) -> Array:
    r"""First-order estimate of the ``Delta`` at which the spectral gap closes, ``Delta_c / 2``.

    Linearising at the normalization fixed point, the leading eigenvalue is
    ``lambda tau ~= -s + (1 - s) sqrt(2) Delta`` (goe_symmetric, ``mu = 0``), which reaches 0 at
    ``Delta ~= s / (sqrt(2) (1 - s)) = Delta_c / 2`` (research-code spec §1 and §5, last line).
    A first-order estimate only (it ignores the shift of the fixed point); ``inf`` for ``s >= 1``.
    """
    return critical_delta(input_norm, sigma=sigma, b=b, b0=b0) / 2.0
