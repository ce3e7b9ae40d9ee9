r"""Closed forms from the papers.

Equation numbers refer to Rawat, Heeger & Martiniani, "Unconditional stability of a recurrent
neural circuit implementing divisive normalization" (NeurIPS 2024). Eigenvalues are in 1/s
(time constants in seconds).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from ._safe import abs_pow, relu_pow
from ._validation import is_traced
from .models.organics import ORGaNICs

__all__ = ["analytic_eigenvalues", "check_fully_normalized", "critical_delta", "normalization_scale"]


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


def normalization_scale(input_norm: ArrayLike, *, sigma: ArrayLike = 0.1, b: ArrayLike = 1.0, b0: ArrayLike = 1.0) -> Array:
    r"""``s = sqrt(sigma^2 b0^2 + b^2 |z|^2)``, the common ``sqrt(a_s)`` of a fully normalized circuit.

    For ``W = ones`` and scalar gains, Eq. 4 gives ``a_s = sigma^2 b0^2 + b^2 ||z||^2`` in every
    component (Stabilization paper; research-code spec §1), and the normalization fixed point is
    ``y_s = b z / s``.
    """
    return jnp.sqrt(jnp.asarray(sigma) ** 2 * jnp.asarray(b0) ** 2 + jnp.asarray(b) ** 2 * jnp.asarray(input_norm) ** 2)


def critical_delta(input_norm: ArrayLike, *, sigma: ArrayLike = 0.1, b: ArrayLike = 1.0, b0: ArrayLike = 1.0) -> Array:
    r"""Recurrent strength at which normalization breaks down, ``Delta_c(|z|)`` for ``mu = 0``.

    First-order theory of Morone, Rawat, Heeger & Martiniani (research-code spec §5; formulas
    (A)-(C) coincide for ``mu = 0``): with ``W = ones``, ``W_r = I + M`` and ``M`` from the
    ``goe_symmetric`` ensemble of scale ``Delta``, the fluctuation of the fixed point driven by
    ``M`` equals its mean when

    ::

        Delta_c = sqrt(2) s / (1 - s),      s = sqrt(sigma^2 b0^2 + b^2 |z|^2)

    It is positive only for ``s < 1``; for ``s >= 1`` the gate ``1 - sqrt(a)`` switches the
    recurrence off and normalization never breaks, so ``inf`` is returned. Accepts arrays
    (broadcast) and raises ``ValueError`` for a negative input norm or non-positive gains.
    """
    for name, value in (("sigma", sigma), ("b", b), ("b0", b0)):
        if not is_traced(value) and np.any(np.asarray(value) <= 0):
            raise ValueError(f"{name} must be > 0; got {value!r}")
    if not is_traced(input_norm) and np.any(np.asarray(input_norm) < 0):
        raise ValueError(f"input_norm must be >= 0 (the 2-norm |z| of the drive); got {input_norm!r}")
    s = normalization_scale(input_norm, sigma=sigma, b=b, b0=b0)
    return jnp.where(s < 1.0, np.sqrt(2.0) * s / jnp.where(s < 1.0, 1.0 - s, 1.0), jnp.inf)
