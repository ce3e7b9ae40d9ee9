r"""Linear stability of circuit fixed points: Jacobians, spectra and certificates.

Equation numbers refer to Rawat, Heeger & Martiniani, "Unconditional stability of a recurrent
neural circuit implementing divisive normalization" (NeurIPS 2024). Time constants are in
seconds, so Jacobians, eigenvalues and the matrices ``B`` (1/s) and ``K`` (1/s^2) of the
quadratic eigenvalue problem carry those units; spectral radii and certificates are
dimensionless.

Contents

* :func:`jacobian` (autodiff) and :func:`jacobian_closed_form` (analytic, all variants, any ``p``).
* :func:`eigenvalues`; for a uniform normalization pool (``W`` constant) the exact reduction of the
  ``2n x 2n`` spectrum to ``n + 1`` eigenvalues, :func:`has_uniform_pool` / :func:`uniform_pool_eigenvalues`.
* :class:`SpectrumSummary` / :func:`spectrum_summary`, :func:`stability_report`.
* The quadratic eigenvalue form ``det(lambda^2 I + lambda B + K)`` (Eqs. 8-11, 92-94):
  :func:`quadratic_eigenvalue_form`, :func:`companion_matrix`.
* The convergent regular splitting of ``B`` (Eq. 12, Theorem 4.3, Eq. 95):
  :func:`splitting_matrix`, :func:`splitting_certificate`.
* Lyapunov diagonal stability of ``B`` (Theorems 4.1-4.2): :func:`lyapunov_diagonal_stability`.
* Energy (Lyapunov) functions of Appendix H: :func:`energy` (Eq. 125), :func:`energy_2d` (Eq. 130).

Everything is pure JAX and takes one model/state; batch with ``eqx.filter_vmap``. Checks that
need concrete values (``W_r = I``, no custom ``a_plus``) are skipped for traced values.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from ._safe import abs_pow, d_abs_pow, d_relu_pow, relu, relu_pow, sqrt_relu
from ._validation import is_traced
from .models.organics import ORGaNICs, has_uniform_weights, normalization_rate

__all__ = [
    "jacobian",
    "jacobian_closed_form",
    "eigenvalues",
    "has_uniform_pool",
    "uniform_pool_solve",
    "uniform_pool_eigenvalues",
    "SpectrumSummary",
    "spectrum_summary",
    "stability_report",
    "quadratic_eigenvalue_form",
    "companion_matrix",
    "splitting_matrix",
    "SplittingCertificate",
    "splitting_certificate",
    "LDSResult",
    "lyapunov_diagonal_stability",
    "energy",
    "energy_2d",
]


def jacobian(model, state: Array, t: ArrayLike = 0.0) -> Array:
    """Jacobian ``df/dx`` of ``model.vector_field`` at ``state`` (1/s).

    :func:`jacobian_closed_form` for an :class:`~organics.models.ORGaNICs` circuit with the default
    gate (the same values, with the same convention at kinks; measured for ``N = 100`` under ``vmap``:
    0.1 ms against 0.5 ms for autodiff), forward-mode autodiff of the vector field otherwise.
    """
    if isinstance(model, ORGaNICs) and model.a_plus is None:
        return jacobian_closed_form(model, state)
    return jax.jacfwd(lambda x: model.vector_field(t, x))(state)


# ---------------------------------------------------------------------------------------------
# Elementwise nonlinearities and their derivatives, with the conventions of ``_safe``:
# every derivative is finite, and at a kink (x = 0) it is the value of the branch that the
# forward ``where`` selects there (0 for the rectified side).


def _step(x: Array) -> Array:
    """``1_{x > 0}`` as floats: the derivative of ``relu`` (0 at the kink)."""
    return (x > 0).astype(x.dtype)


def _gate(a: Array, p: float) -> tuple[Array, Array]:
    """Rate ``a+ = [a]+**(1/p)`` of the normalization neurons and its derivative ``da+/da``."""
    return normalization_rate(a, p), d_relu_pow(a, 1.0 / p)


def _pool_rate(y: Array, p: float, variant: str) -> tuple[Array, Array]:
    """Rate entering the normalization pool (``|y|**p`` or ``[y]+**p``) and its derivative."""
    if variant == "main":
        return abs_pow(y, p), d_abs_pow(y, p)
    return relu_pow(y, p), d_relu_pow(y, p)


def _require_default_gate(model: ORGaNICs, name: str) -> None:
    if model.a_plus is not None:
        raise ValueError(
            f"{name} needs the default rate a+ = [a]+**(1/p); this model has a custom a_plus "
            "(use the autodiff `jacobian` instead)"
        )


def _require_identity_recurrence(model: ORGaNICs, name: str) -> None:
    """Raise unless ``W_r = I`` (skipped for traced weights, whose values are unknown)."""
    if is_traced(model.W_r):
        return
    W_r = np.asarray(model.W_r)
    if not np.array_equal(W_r, np.eye(W_r.shape[-1])):
        raise ValueError(
            f"{name} is exact only for identity recurrent weights W_r = I (Section 4); "
            f"got max |W_r - I| = {np.max(np.abs(W_r - np.eye(W_r.shape[-1]))):.3g}"
        )


def jacobian_closed_form(model: ORGaNICs, state: Array) -> Array:
    r"""Analytic Jacobian ``df/dx`` (1/s) of an :class:`ORGaNICs` circuit at ``state = (y, a)``.

    Valid for every variant, any exponent ``p`` and arbitrary ``W_r``, with the default rate
    ``a+ = g(a) = [a]+**(1/p)`` (a custom ``a_plus`` raises ``ValueError``). Writing the
    recurrent drive ``R(y)`` and the pool rate ``q(y)``::

        main:                  R = W_r y,      q = |y|**p
        rectified:             R = W_r [y]+,   q = [y]+**p
        rectified_recurrence:  R = [W_r y]+,   q = [y]+**p

    the blocks are (``D`` = diag)::

        J_yy = D(1/tau_y) (-I + D(1 - g(a)) dR/dy)
        J_ya = -D(1/tau_y) D(g'(a) R(y))
        J_ay = D(1/tau_a) W D(q'(y) [a]+)
        J_aa = D(1/tau_a) (-I + W D(q(y) 1_{a>0}))

    with ``dR/dy = W_r``, ``W_r D(1_{y>0})`` or ``D(1_{W_r y>0}) W_r``. For the main model and
    ``p = 2`` this is ``J_ya = -D(1/tau_y) D(1_{a>0} (W_r y)/(2 sqrt(a)))``,
    ``J_ay = D(1/tau_a) W D(2 [a]+ y)`` and ``J_aa = D(1/tau_a)(-I + W D(y^2 1_{a>0}))``, which at
    the normalization fixed point with ``W_r = I`` is Eq. 6 (rectified: Eq. 90). At a kink
    (``y = 0``, ``a = 0`` or ``W_r y = 0``) the derivative of the rectification is 0, the same
    convention as the autodiff :func:`jacobian` through ``organics._safe``; all entries are finite.
    """
    _require_default_gate(model, "jacobian_closed_form")
    p = model.p
    n = model.n
    y, a = model.split_state(jnp.asarray(state, dtype=float))
    eye = jnp.eye(n, dtype=y.dtype)
    W_r, W = model.W_r, model.W

    if model.variant == "main":
        recurrent = W_r @ y
        d_recurrent = W_r
    elif model.variant == "rectified":
        recurrent = W_r @ relu(y)
        d_recurrent = W_r * _step(y)[None, :]
    else:  # rectified_recurrence
        drive = W_r @ y
        recurrent = relu(drive)
        d_recurrent = _step(drive)[:, None] * W_r
    pool, d_pool = _pool_rate(y, p, model.variant)
    gate, d_gate = _gate(a, p)

    inv_tau_y = (1.0 / model.tau_y)[:, None]
    inv_tau_a = (1.0 / model.tau_a)[:, None]
    J_yy = inv_tau_y * (-eye + (1.0 - gate)[:, None] * d_recurrent)
    J_ya = -inv_tau_y * jnp.diag(d_gate * recurrent)
    J_ay = inv_tau_a * (W * (d_pool * relu(a))[None, :])
    J_aa = inv_tau_a * (-eye + W * (pool * _step(a))[None, :])
    return jnp.block([[J_yy, J_ya], [J_ay, J_aa]])


# ---------------------------------------------------------------------------------------------
# Spectra


def eigenvalues(J: ArrayLike) -> Array:
    """Eigenvalues (complex, units of ``J``) of a square real matrix or a batch of them (``jnp.linalg.eigvals``)."""
    return jnp.linalg.eigvals(jnp.asarray(J))


def has_uniform_pool(model) -> bool:
    """Whether the Jacobians of ``model`` have the uniform-pool structure of :func:`uniform_pool_eigenvalues`.

    True for an :class:`~organics.models.ORGaNICs` circuit (or a batch of them, leading axis) with
    the default gate ``a+ = [a]+^(1/p)``, a normalization matrix ``W`` whose entries are all equal
    (``W = w 1 1^T``; the default all-ones pool of the papers) and one ``tau_a`` for all neurons.
    Needs concrete (not traced) parameters.
    """
    if not isinstance(model, ORGaNICs) or model.a_plus is not None:
        return False
    tau_a = np.asarray(model.tau_a)
    return has_uniform_weights(model.W) and bool(np.all(tau_a == tau_a[..., :1]))


def uniform_pool_eigenvalues(J: ArrayLike) -> Array:
    r"""All ``2n`` eigenvalues of an ORGaNICs Jacobian with a uniform pool, from one ``(n+1)``-dimensional problem.

    With ``W = w 1 1^T`` and a common ``tau_a`` (:func:`has_uniform_pool`), every ``da_i/dt`` sees
    ``y`` and ``a`` only through the pooled drive ``w sum_k pool_k(y_k) [a_k]+`` (Eq. 14), and the
    gate of ``y_i`` depends on ``a_i`` alone, so ::

        J = [[J_yy,            diag(e)              ],
             [w 1 c^T / tau_a, (-I + w 1 q^T) / tau_a]].

    A Householder reflection ``Q`` with ``Q 1 = sqrt(n) e_1`` applied to the ``a`` block leaves
    rows ``2..n`` of that block equal to ``-e_i^T / tau_a``: ``-1/tau_a`` is an eigenvalue of
    multiplicity ``n - 1`` and the other ``n + 1`` are those of (after rescaling the pooled
    coordinate by ``sqrt(n)``) ::

        R = [[J_yy,         J_ya 1      ],
             [(J_ay)_{0,:}, sum_k (J_aa)_{0,k}]].

    Exact, whatever ``J_yy`` (dense ``W_r``, any variant and exponent ``p``); about eight times
    less work than the dense ``2n x 2n`` eigendecomposition. Eigenvalues in 1/s (units of ``J``);
    ``R``'s first, then the ``n - 1`` copies of ``-1/tau_a``.
    """
    J = jnp.asarray(J)
    n = J.shape[-1] // 2
    J_yy, J_ya, J_ay, J_aa = J[:n, :n], J[:n, n:], J[n:, :n], J[n:, n:]
    top = jnp.concatenate([J_yy, jnp.sum(J_ya, axis=1)[:, None]], axis=1)
    bottom = jnp.concatenate([J_ay[0], jnp.sum(J_aa[0])[None]])[None, :]
    reduced = jnp.linalg.eigvals(jnp.concatenate([top, bottom], axis=0))
    if n == 1:
        return reduced
    decay = (J_aa[1, 1] - J_aa[0, 1]).astype(reduced.dtype)
    return jnp.concatenate([reduced, jnp.full(n - 1, decay)])


def uniform_pool_solve(J: ArrayLike, rhs: ArrayLike) -> Array:
    r"""Solve ``J x = rhs`` for an ORGaNICs Jacobian with a uniform pool (:func:`has_uniform_pool`) by one
    ``(n+1)``-dimensional LU factorization instead of a ``2n``-dimensional one (about 8x fewer operations).

    With the structure of :func:`uniform_pool_eigenvalues`, ``J_ya = diag(e)``, every row of ``J_ay``
    equal to ``c^T`` and ``J_aa = d I + 1 u^T`` (``d = -1/tau_a``), the system for ``x = (y, alpha)``,
    ``rhs = (f, g)`` is ``J_yy y + e * alpha = f`` and ``1 (c.y + u.alpha) + d alpha = g``. With the
    scalar ``s = c.y + u.alpha``, ``alpha = (g - s 1) / d`` and ``(y, s)`` solve the bordered system ::

        [[J_yy,  -e / d         ],   [y]   [f - e * g / d]
         [-c^T,  1 + sum(u) / d]] . [s] = [u.g / d      ]

    Exact whatever ``J_yy``. Units: those of ``rhs`` divided by those of ``J``. A singular ``J`` gives
    non-finite entries, as a dense solve does.
    """
    J, rhs = jnp.asarray(J), jnp.asarray(rhs)
    n = J.shape[-1] // 2
    if n == 1:
        return jnp.linalg.solve(J, rhs)
    J_yy, J_ya, J_ay, J_aa = J[:n, :n], J[:n, n:], J[n:, :n], J[n:, n:]
    f, g = rhs[:n], rhs[n:]
    d = J_aa[1, 1] - J_aa[0, 1]
    e, c = jnp.diagonal(J_ya), J_ay[0]
    u = J_aa[0].at[0].add(-d)
    bordered = jnp.block([[J_yy, (-e / d)[:, None]], [-c[None, :], (1.0 + jnp.sum(u) / d)[None, None]]])
    solution = jnp.linalg.solve(bordered, jnp.concatenate([f - e * g / d, (u @ g / d)[None]]))
    y, s = solution[:n], solution[n]
    return jnp.concatenate([y, (g - s) / d])


class SpectrumSummary(eqx.Module):
    r"""Summary of a spectrum by its leading eigenvalue ``lambda*`` (largest real part).

    Attributes
    ----------
    leading_eigenvalue:
        ``lambda*`` (complex, 1/s). Of a complex-conjugate pair, the member with ``Im >= 0``.
    spectral_abscissa:
        ``Re lambda*`` (1/s).
    leading_real_times_tau:
        ``Re lambda* * tau`` (dimensionless), the gap whose approach to 0 signals critical
        slowing down; ``None`` when no ``tau`` was given.
    relaxation_time:
        ``-1/Re lambda*`` (s), the e-folding time of the slowest mode; ``inf`` when
        ``Re lambda* >= 0``.
    frequency_hz:
        ``|Im lambda*| / (2 pi)`` (Hz), the oscillation frequency of the slowest mode.
    quality_factor:
        ``|lambda*| / (2 |Re lambda*|)`` (dimensionless): the standard resonator Q of a damped
        oscillator with eigenvalues ``-omega0/(2Q) +- i omega0 sqrt(1 - 1/(4Q^2))``, i.e. about
        the number of radians of oscillation per e-folding of the energy. It is exactly 1/2
        for a real leading eigenvalue (a non-oscillating mode) and ``inf`` when
        ``Re lambda* = 0``.
    stable:
        ``Re lambda* < 0`` (linear asymptotic stability of the fixed point).
    """

    leading_eigenvalue: Array
    spectral_abscissa: Array
    leading_real_times_tau: Array | None
    relaxation_time: Array
    frequency_hz: Array
    quality_factor: Array
    stable: Array


def spectrum_summary(eigs: ArrayLike, tau: ArrayLike | None = None) -> SpectrumSummary:
    """Summarize the eigenvalues ``eigs`` (shape ``(m,)``, 1/s) by the leading one.

    ``tau`` (s, scalar) is the time constant used to make the gap dimensionless. Vmappable
    (``jax.vmap(spectrum_summary)(eigs_batch)``).
    """
    eigs = jnp.asarray(eigs)
    eigs = eigs.astype(jnp.result_type(eigs.dtype, jnp.complex64))
    leading = eigs[jnp.argmax(eigs.real)]
    leading = jax.lax.complex(leading.real, jnp.abs(leading.imag))
    real = leading.real
    modulus = jnp.abs(leading)
    relaxation = jnp.where(real < 0, -1.0 / jnp.where(real < 0, real, -1.0), jnp.inf)
    quality = jnp.where(real != 0, modulus / (2.0 * jnp.abs(jnp.where(real != 0, real, 1.0))), jnp.inf)
    return SpectrumSummary(
        leading_eigenvalue=leading,
        spectral_abscissa=real,
        leading_real_times_tau=None if tau is None else real * jnp.asarray(tau),
        relaxation_time=relaxation,
        frequency_hz=jnp.abs(leading.imag) / (2.0 * math.pi),
        quality_factor=quality,
        stable=real < 0,
    )


def stability_report(model, fixed_point_state, tau: ArrayLike | None = None) -> SpectrumSummary:
    """:class:`SpectrumSummary` of the Jacobian of ``model`` at a fixed point.

    ``fixed_point_state`` is a flat state or a :class:`~organics.fixed_points.FixedPoint`. The
    Jacobian is the closed form (:func:`jacobian_closed_form`) for an :class:`ORGaNICs` circuit
    with the default ``a_plus`` and the autodiff :func:`jacobian` otherwise.
    """
    state = getattr(fixed_point_state, "state", fixed_point_state)
    if isinstance(model, ORGaNICs) and model.a_plus is None:
        J = jacobian_closed_form(model, state)
    else:
        J = jacobian(model, state)
    return spectrum_summary(eigenvalues(J), tau)


# ---------------------------------------------------------------------------------------------
# Quadratic eigenvalue problem and the convergent splitting (Section 4, Appendix F.1)


def _damping_terms(model: ORGaNICs, state: Array) -> tuple[Array, Array]:
    """``c`` and ``h`` such that ``J_yy = -D(c/tau_y)`` and ``J_aa = D(1/tau_a)(-I + W D(h))``."""
    y, a = model.split_state(jnp.asarray(state, dtype=float))
    gate, _ = _gate(a, model.p)
    pool, _ = _pool_rate(y, model.p, model.variant)
    if model.variant == "main":
        c = gate
    else:  # rectified variants with W_r = I: dR/dy = D(1_{y>0})
        c = 1.0 - (1.0 - gate) * _step(y)
    return c, pool * _step(a)


def quadratic_eigenvalue_form(model: ORGaNICs, state: Array) -> tuple[Array, Array]:
    r"""Damping ``B`` (1/s) and stiffness ``K`` (1/s^2) with ``det(J - lambda I) = det(lambda^2 I + lambda B + K)``.

    For identity recurrence ``W_r = I`` (Section 4; rectified models Appendix F.1), Eqs. 8-11::

        B = D(1/tau_a) + D(c/tau_y) - D(1/tau_a) W D(h),     K = D(c/(tau_y tau_a))

    main model:  ``c = a+ = sqrt(a_s)``, ``h = y_s^2`` (Eqs. 10-11);
    rectified:   ``c = sqrt(a_s) 1_{y_s>0} + 1_{y_s<=0}``, ``h = [y_s]+^2`` (Eqs. 93-94).

    Because ``A11 = -D(c/tau_y) - lambda I`` and ``A12`` are diagonal they commute and
    ``det(J - lambda I) = det(A22 A11 - A21 A12)`` (Eq. 8); the constant term is diagonal since
    ``q'(y) a . g'(a) y = q(y) g(a)`` for ``q = |y|^p``, ``g = a^(1/p)``. That cancellation is
    pointwise, so the identity holds at *any* state of a ``W_r = I`` circuit and for any ``p``
    (with ``c = a+ = [a]+^(1/p)``, ``h = |y|^p 1_{a>0}`` or ``[y]+^p 1_{a>0}``), not only at the
    normalization fixed point, where ``1_{y_s>0} = 1_{z>0}``. At ``z_i = 0`` exactly the
    library's kink convention (derivative 0) gives ``c_i = 1``, where the paper's ``1_{z>=0}``
    gives ``sqrt(a_s)``; ``c`` here always matches :func:`jacobian`.

    Raises ``ValueError`` for ``W_r != I`` (checked when ``W_r`` is concrete) or a custom
    ``a_plus``.
    """
    _require_default_gate(model, "quadratic_eigenvalue_form")
    _require_identity_recurrence(model, "quadratic_eigenvalue_form")
    c, h = _damping_terms(model, state)
    inv_tau_a = 1.0 / model.tau_a
    B = jnp.diag(inv_tau_a + c / model.tau_y) - inv_tau_a[:, None] * model.W * h[None, :]
    K = jnp.diag(c / (model.tau_y * model.tau_a))
    return B, K


def companion_matrix(B: Array, K: Array) -> Array:
    """Companion (first-order) form ``[[0, I], [-K, -B]]`` of ``x'' + B x' + K x = 0`` (Eq. 37)."""
    n = B.shape[-1]
    zero = jnp.zeros((n, n), dtype=B.dtype)
    return jnp.block([[zero, jnp.eye(n, dtype=B.dtype)], [-K, -B]])


def _splitting(model: ORGaNICs, state: Array) -> tuple[Array, Array]:
    c, h = _damping_terms(model, state)
    inv_tau_a = 1.0 / model.tau_a
    M = inv_tau_a + c / model.tau_y  # diagonal of B1 + B2 (1/s)
    S = (inv_tau_a / M)[:, None] * model.W * h[None, :]
    return S, M


def splitting_matrix(model: ORGaNICs, state: Array) -> Array:
    r"""``S = (B1 + B2)^{-1} B3`` of the regular splitting ``B = (B1 + B2) - B3`` (Eq. 12; Eq. 95).

    With ``B1 = D(1/tau_a)``, ``B2 = D(c/tau_y)`` and ``B3 = D(1/tau_a) W D(h)`` (see
    :func:`quadratic_eigenvalue_form`)::

        S = D(1 / (1 + (tau_a/tau_y) c)) W D(h)

    which at the normalization fixed point is Eq. 12 (main) or Eq. 95 (rectified).
    Dimensionless. Requires ``W_r = I``.
    """
    _require_default_gate(model, "splitting_matrix")
    _require_identity_recurrence(model, "splitting_matrix")
    return _splitting(model, state)[0]


class SplittingCertificate(eqx.Module):
    r"""Convergent-regular-splitting certificate of Theorems 4.2-4.3 for the damping matrix ``B``.

    Attributes
    ----------
    spectral_radius:
        ``rho(S)`` of ``S = (B1 + B2)^{-1} B3`` (Eq. 12 / Eq. 95).
    theorem_bound:
        Theorem D.1 bound ``max_i (W u)_i / (v_i + (W u)_i) >= rho(S)`` with ``u = |b z|^p``
        (rectified ``[b z]+^p``) and ``v = (b0 sigma)^p`` (Eq. 71). It bounds ``rho(S)`` at the
        normalization fixed point only; it is < 1 for every parameter choice.
    certified:
        ``rho(S) < 1`` and ``B1 + B2`` has a positive diagonal (so the splitting is regular):
        then ``B`` is a nonsingular M-matrix, hence Lyapunov diagonally stable (Theorem 4.2),
        and with ``K`` positive diagonal the fixed point is asymptotically stable (Theorem 4.1).
    """

    spectral_radius: Array
    theorem_bound: Array
    certified: Array


def splitting_certificate(model: ORGaNICs, state: Array) -> SplittingCertificate:
    """Spectral radius of the splitting matrix (Eq. 12) and the Theorem D.1 bound at ``state``.

    ``state`` should be the normalization fixed point of a ``W_r = I`` circuit (the bound uses the
    drive ``z(0)``). Vmappable.
    """
    _require_default_gate(model, "splitting_certificate")
    _require_identity_recurrence(model, "splitting_certificate")
    S, M = _splitting(model, state)
    rho = jnp.max(jnp.abs(jnp.linalg.eigvals(S)))
    drive = model.b * model.drive(0.0)
    u = abs_pow(drive, model.p) if model.variant == "main" else relu_pow(drive, model.p)
    v = (model.b0 * model.sigma) ** model.p
    Wu = model.W @ u
    bound = jnp.max(Wu / (v + Wu))
    return SplittingCertificate(spectral_radius=rho, theorem_bound=bound, certified=(rho < 1) & jnp.all(M > 0))


# ---------------------------------------------------------------------------------------------
# Lyapunov diagonal stability


class LDSResult(eqx.Module):
    r"""Outcome of :func:`lyapunov_diagonal_stability`.

    Attributes
    ----------
    certified:
        True if a positive diagonal ``T`` was found with ``T B + B^T T`` positive definite
        (verified numerically with ``eigvalsh``). False means *no certificate was found*, not
        that ``B`` is not Lyapunov diagonally stable.
    T:
        The candidate diagonal, shape ``(n,)``, normalized to ``max(T) = 1``:
        ``q / r`` (M-matrix construction) when it is valid, else all ones.
    min_eigenvalue:
        Smallest eigenvalue of ``M = D(T) B + B^T D(T)`` (units of ``B``).
    min_scaled_eigenvalue:
        Smallest eigenvalue of the unit-diagonal congruent matrix ``D(m)^{-1/2} M D(m)^{-1/2}``
        (``m = diag(M)``; dimensionless, at most 1). It has the sign pattern of ``M``'s
        spectrum (Sylvester's law of inertia) but, unlike ``min_eigenvalue``, is computed to an
        absolute accuracy of about ``n * 1e-16`` even when the entries of ``B`` and ``T`` span
        many decades; ``certified`` is decided on it.
    """

    certified: Array
    T: Array
    min_eigenvalue: Array
    min_scaled_eigenvalue: Array


def lyapunov_diagonal_stability(B: ArrayLike) -> LDSResult:
    r"""Search a diagonal Lyapunov certificate ``T > 0`` with ``T B + B^T T`` positive definite.

    A Z-matrix (nonpositive off-diagonal entries) is Lyapunov diagonally stable iff it is a
    nonsingular M-matrix (Section 4, [69]). For such ``B`` the vectors ``r = B^{-1} 1`` and
    ``q = B^{-T} 1`` are positive and ``T = D(q/r)`` is a certificate: ``(T B + B^T T) r =
    q/r + 1 > 0`` for the symmetric Z-matrix ``T B + B^T T``, which is therefore a
    nonsingular M-matrix, i.e. positive definite. This construction is tried when ``B`` is a
    Z-matrix with ``r, q > 0``; otherwise ``T = I`` is tried (``B + B^T`` positive definite).
    The candidate is verified with ``eigvalsh`` on the Jacobi-scaled (unit-diagonal) form of
    ``T B + B^T T``, which stays accurate when ``B`` is very ill-conditioned (see
    :class:`LDSResult`). ``certified = False`` means "no certificate found", not "not LDS".
    Vmappable.
    """
    B = jnp.asarray(B, dtype=float)
    n = B.shape[-1]
    off_diagonal = B - jnp.diag(jnp.diag(B))
    z_matrix = jnp.all(off_diagonal <= 0)
    ones = jnp.ones(n, dtype=B.dtype)
    # r = B^{-1} 1 and q = B^{-T} 1 from one QR factorization B = Q R (backward stable, and much
    # cheaper to compile under jit/vmap than jnp.linalg.solve).
    Q, R = jnp.linalg.qr(B)
    r = jax.scipy.linalg.solve_triangular(R, Q.T @ ones, lower=False)
    q = Q @ jax.scipy.linalg.solve_triangular(R, ones, lower=False, trans="T")
    finite = jnp.all(jnp.isfinite(r)) & jnp.all(jnp.isfinite(q))
    constructive = z_matrix & finite & jnp.all(r > 0) & jnp.all(q > 0)
    ratio = jnp.where(constructive, q / jnp.where(constructive, r, 1.0), ones)
    T = ratio / jnp.max(ratio)
    symmetric = T[:, None] * B + B.T * T[None, :]
    diagonal = jnp.diag(symmetric)
    positive_diagonal = jnp.all(diagonal > 0)
    scale = 1.0 / jnp.sqrt(jnp.where(diagonal > 0, diagonal, 1.0))
    scaled = scale[:, None] * symmetric * scale[None, :]
    min_scaled = jnp.where(positive_diagonal, jnp.linalg.eigvalsh(scaled)[0], jnp.min(diagonal))
    min_eig = jnp.linalg.eigvalsh(symmetric)[0]
    certified = jnp.all(T > 0) & positive_diagonal & (min_scaled > 0)
    return LDSResult(certified=certified, T=T, min_eigenvalue=min_eig, min_scaled_eigenvalue=min_scaled)


# ---------------------------------------------------------------------------------------------
# Energy functions (Appendix H)


def energy(model: ORGaNICs, state: Array, fixed_point_state: Array, T: ArrayLike | None = None) -> Array:
    r"""Quadratic energy (Lyapunov function) of the linearized circuit, Eq. 125.

    For the main model with ``W_r = I`` and ``p = 2``, linearized about the normalization fixed
    point ``(y_s, a_s)`` (Eq. 118)::

        V(y, a) = sum_i t_i [ (tau_yi/tau_ai) a_si^{3/2}/y_si^2 (y_i - y_si)^2
                              + a_si/y_si^2 (sqrt(a_si)(y_i - y_si) + y_si/(2 sqrt(a_si)) (a_i - a_si))^2 ]

    i.e. ``V = x^T T K x + v^T T v`` (Eq. 121 with ``epsilon -> 0``) in the oscillator coordinates
    ``x = D(sqrt(a_s) tau_y / y_s) dy``, ``v = -D(a_s/y_s) dy - da/2`` (Eqs. 122-124).
    ``T`` (shape ``(n,)``) must make ``T B + B^T T`` positive definite; by default it is the
    certificate of :func:`lyapunov_diagonal_stability` for ``B`` of Eq. 11. Along the linearized
    flow ``dV/dt = -v^T (T B + B^T T) v <= 0`` (Appendix B). ``V`` is dimensionless (the
    potentials are) and defined up to the positive scale of ``T``.

    Every ``y_si`` must be nonzero (``z_i != 0``): the change of basis Eq. 122 is singular
    otherwise (checked when the fixed point is concrete).
    """
    if model.variant != "main" or model.p != 2.0:
        raise ValueError("energy (Eq. 125) is derived for the main model with p = 2")
    fixed_point_state = getattr(fixed_point_state, "state", fixed_point_state)
    y_s, a_s = model.split_state(jnp.asarray(fixed_point_state, dtype=float))
    if not is_traced(y_s) and np.any(np.asarray(y_s) == 0):
        raise ValueError("energy (Eq. 125) needs y_s != 0 in every component (z_i != 0): Eq. 122 is singular")
    if T is None:
        B, _ = quadratic_eigenvalue_form(model, fixed_point_state)
        T = lyapunov_diagonal_stability(B).T
    T = jnp.asarray(T, dtype=float)
    y, a = model.split_state(jnp.asarray(state, dtype=float))
    dy, da = y - y_s, a - a_s
    root = jnp.sqrt(a_s)
    position = (model.tau_y / model.tau_a) * a_s**1.5 / y_s**2 * dy**2
    velocity = a_s / y_s**2 * (root * dy + y_s / (2.0 * root) * da) ** 2
    return jnp.sum(T * (position + velocity))


def energy_2d(
    y: ArrayLike,
    a: ArrayLike,
    *,
    b: ArrayLike,
    z: ArrayLike,
    b0: ArrayLike,
    sigma: ArrayLike,
    w: ArrayLike,
    tau_y: ArrayLike,
    tau_a: ArrayLike,
) -> Array:
    r"""Energy of the two-neuron circuit (one ``y``, one ``a``), Eq. 130 (= Eq. 13)::

        V(y, a) = (tau_y/tau_a) sqrt(b0^2 sigma^2 + w b^2 z^2) (y - b z / sqrt(b0^2 sigma^2 + w b^2 z^2))^2
                  + (sqrt(a) y - b z)^2

    (units of ``y^2``; ``sqrt(a)`` is read as ``sqrt([a]+)``). Elementwise, so it broadcasts.
    ``V(y_s, a_s) = 0`` and ``V > 0`` elsewhere on ``a > 0``. Its quadratic part at the fixed
    point is the 2-D case of Eq. 125 (Eq. 129 with ``sqrt(a) y`` linearized, Eq. 126), whose
    derivative along the linearized flow (Eq. 118) is exactly Eq. 131. Along the exact nonlinear
    flow ``dV/dt`` agrees with Eq. 131 only to second order in the distance to the fixed point
    and can be positive farther away: Eq. 130 is a *local* energy.
    """
    s = jnp.sqrt(jnp.asarray(b0) ** 2 * jnp.asarray(sigma) ** 2 + w * (jnp.asarray(b) * z) ** 2)
    drive = jnp.asarray(b) * jnp.asarray(z)
    return (jnp.asarray(tau_y) / jnp.asarray(tau_a)) * s * (y - drive / s) ** 2 + (sqrt_relu(a) * y - drive) ** 2
