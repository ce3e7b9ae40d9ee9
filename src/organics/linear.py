r"""Closed-form analysis of the linear recurrent network (lecture notes on linear recurrent networks).

The network (same model as :class:`~organics.models.rate.LinearNetwork`, one scalar ``tau``)::

    tau dv/dt = -v + h + M v

with constant input ``h``. Diagonalise ``M = V diag(lambda) V^{-1}`` (symmetric ``M``: ``eigh``,
orthonormal modes ``e_i`` so ``V^{-1} = V^T``; general ``M``: ``eig`` and the inverse eigenvector
matrix). In mode coordinates ``c = V^{-1} v`` and ``g = V^{-1} h`` (``g_i = h.e_i`` for
symmetric ``M``) every mode evolves on its own::

    tau dc_i/dt = -(1 - lambda_i) c_i + g_i

    c_i(t) = c_i(0) exp(-t (1 - lambda_i)/tau) + g_i/(1 - lambda_i) (1 - exp(-t (1 - lambda_i)/tau))
           = c_i(0) exp(-a_i t) + g_i (t/tau) phi_1(-a_i t),      a_i = (1 - lambda_i)/tau,

with ``phi_1(z) = (exp(z) - 1)/z`` (``phi_1(0) = 1``), so ``lambda_i = 1`` is the integrator
``c_i(t) = c_i(0) + g_i t/tau`` exactly, and eigenvalues near 1 are evaluated without
cancellation. ``Re lambda_i < 1`` for all ``i``: decay to the steady state
``v_inf = sum_i g_i/(1 - lambda_i) e_i = (I - M)^{-1} h``; ``lambda_i = 1``: integration;
``Re lambda_i > 1``: exponential explosion.

Functions (NumPy, float64; inputs are validated and ``ValueError`` names the parameter):

* :func:`linear_modes` -- eigenvalues and eigenvectors, sorted by decreasing real part;
* :func:`linear_solution` -- the exact ``v(t)`` at given times;
* :func:`steady_state` -- ``(I - M)^{-1} h`` (raises if some ``Re lambda >= 1``);
* :func:`mode_amplification` -- ``1/(1 - lambda_i)``;
* :func:`effective_time_constants` -- ``tau/(1 - Re lambda_i)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "LinearModes",
    "linear_modes",
    "linear_solution",
    "steady_state",
    "mode_amplification",
    "effective_time_constants",
]

#: Largest accepted condition number of the eigenvector matrix of a nonsymmetric ``M``.
MAX_EIGENVECTOR_CONDITION = 1e10


class LinearModes(NamedTuple):
    """Eigen-decomposition ``M = vectors @ diag(values) @ inverse``, sorted by decreasing ``Re lambda``.

    ``symmetric`` is True when ``M`` was symmetric (``eigh``: real ``values``, orthonormal
    ``vectors``, ``inverse = vectors.T``); otherwise ``values``/``vectors`` may be complex.
    """

    values: np.ndarray
    vectors: np.ndarray
    inverse: np.ndarray
    symmetric: bool


def _matrix(M: ArrayLike) -> np.ndarray:
    try:
        matrix = np.asarray(M, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"M must be a real square matrix; got {M!r}") from error
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 1:
        raise ValueError(f"M must be a square matrix of shape (n, n) with n >= 1; got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("M must be finite (no NaN or inf)")
    return matrix


def _vector(name: str, value: ArrayLike, n: int) -> np.ndarray:
    try:
        vector = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a real scalar or vector; got {value!r}") from error
    if vector.ndim == 0:
        vector = np.full(n, float(vector))
    if vector.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},) to match M; got shape {vector.shape}")
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return vector


def _tau(tau: ArrayLike) -> float:
    array = np.asarray(tau, dtype=float)
    if array.ndim != 0:
        raise ValueError(
            f"tau must be one positive scalar time constant (seconds) shared by all neurons; got shape {array.shape}"
        )
    value = float(array)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"tau must be a finite number > 0 (seconds); got {value}")
    return value


def _is_symmetric(M: np.ndarray) -> bool:
    scale = max(1.0, float(np.max(np.abs(M))))
    return bool(np.allclose(M, M.T, rtol=0.0, atol=1e-12 * scale))


#: Eigenvalues within ``UNIT_TOLERANCE * max(1, ||M||_2)`` of 1 are set to exactly 1 (integrators):
#: a rank-one ``M = e e^T`` otherwise comes back with ``lambda = 1 - 2e-16``.
UNIT_TOLERANCE = 64 * np.finfo(float).eps


def _snap_to_one(values: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    tolerance = UNIT_TOLERANCE * max(1.0, float(np.linalg.norm(matrix, 2)))
    one = np.abs(values - 1.0) <= tolerance
    if np.any(one):
        values = values.copy()
        values[one] = 1.0
    return values


def linear_modes(M: ArrayLike) -> LinearModes:
    """Eigenvalues/eigenvectors of ``M`` sorted by decreasing real part (ties: decreasing ``Im``).

    Symmetric ``M`` (to ``1e-12`` relative): ``numpy.linalg.eigh`` of ``(M + M^T)/2``, real
    eigenvalues and orthonormal modes. Otherwise ``numpy.linalg.eig`` and the inverse of the
    eigenvector matrix. Eigenvalues within :data:`UNIT_TOLERANCE` ``* max(1, ||M||_2)`` of 1 are
    set to exactly 1 (the integrator case). Raises ``ValueError`` if that matrix is (nearly) singular (condition number
    above :data:`MAX_EIGENVECTOR_CONDITION`: ``M`` is defective and has no eigen-solution).
    """
    matrix = _matrix(M)
    if _is_symmetric(matrix):
        values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
        order = np.argsort(-values, kind="stable")
        values, vectors = _snap_to_one(values[order], matrix), vectors[:, order]
        return LinearModes(values, vectors, vectors.T.copy(), True)
    values, vectors = np.linalg.eig(matrix)
    order = np.lexsort((-values.imag, -values.real))
    values, vectors = _snap_to_one(values[order], matrix), vectors[:, order]
    condition = np.linalg.cond(vectors)
    if not np.isfinite(condition) or condition > MAX_EIGENVECTOR_CONDITION:
        raise ValueError(
            f"M is (nearly) defective: its eigenvector matrix has condition number {condition:.3g} "
            f"> {MAX_EIGENVECTOR_CONDITION:.0g}, so there is no eigen-solution"
        )
    return LinearModes(values, vectors, np.linalg.inv(vectors), False)


def _phi1(z: np.ndarray) -> np.ndarray:
    """``(exp(z) - 1)/z`` with ``phi1(0) = 1``, accurate for small ``|z|`` (real or complex)."""
    z = np.asarray(z)
    small = np.abs(z) < 1e-4
    safe = np.where(small, 1.0, z)
    series = 1.0 + z / 2.0 + z * z / 6.0 + z * z * z / 24.0
    with np.errstate(over="ignore", invalid="ignore"):
        direct = np.expm1(safe) / safe if not np.iscomplexobj(safe) else (np.exp(safe) - 1.0) / safe
    return np.where(small, series, direct)


def linear_solution(M: ArrayLike, h: ArrayLike, tau: ArrayLike, v0: ArrayLike, times: ArrayLike) -> np.ndarray:
    r"""Exact solution ``v(t)`` of ``tau dv/dt = -v + h + M v`` with ``v(0) = v0`` (constant ``h``).

    Parameters
    ----------
    M:
        Weights ``(n, n)``, finite, diagonalizable (symmetric ``M`` always is).
    h:
        Constant input, scalar or ``(n,)``.
    tau:
        One time constant in seconds, > 0.
    v0:
        Initial rates, scalar or ``(n,)``.
    times:
        Times in seconds (scalar or 1-D, finite; ``t < 0`` runs the solution backwards).

    Returns
    -------
    numpy.ndarray
        ``(len(times), n)`` real rates (``(n,)`` for a scalar time).

    Notes
    -----
    Per mode ``c_i(t) = c_i(0) exp(-a_i t) + g_i (t/tau) phi_1(-a_i t)`` with ``a_i = (1 - lambda_i)/tau``
    (module docstring): decay for ``Re lambda_i < 1``, the integrator ``c_i(0) + (h.e_i) t/tau``
    for ``lambda_i = 1`` exactly, growth for ``Re lambda_i > 1``. Entries overflow to ``inf``
    for exploding modes at long times.
    """
    modes = linear_modes(M)
    n = modes.values.shape[0]
    drive = _vector("h", h, n)
    start = _vector("v0", v0, n)
    time_constant = _tau(tau)
    t = np.asarray(times, dtype=float)
    if t.ndim > 1:
        raise ValueError(f"times must be a scalar or a 1-D array of seconds; got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("times must be finite (no NaN or inf)")
    scalar = t.ndim == 0
    t = np.atleast_1d(t)
    c0 = modes.inverse @ start
    g = modes.inverse @ drive
    rate = (1.0 - modes.values) / time_constant  # a_i, 1/s
    z = -rate[None, :] * t[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        c = c0[None, :] * np.exp(z) + g[None, :] * (t[:, None] / time_constant) * _phi1(z)
        v = c @ modes.vectors.T
    if np.iscomplexobj(v):
        v = v.real
    return v[0] if scalar else v


def steady_state(M: ArrayLike, h: ArrayLike) -> np.ndarray:
    r"""Stable steady state ``v_inf = (I - M)^{-1} h = sum_i (h.e_i)/(1 - lambda_i) e_i``.

    Raises ``ValueError`` ("no stable steady state: max Re λ(M) = ...") when some eigenvalue has
    ``Re lambda >= 1`` (to :data:`UNIT_TOLERANCE`): then the network integrates (``lambda = 1``) or explodes (``> 1``) instead
    of settling. ``tau`` does not enter.
    """
    matrix = _matrix(M)
    n = matrix.shape[0]
    drive = _vector("h", h, n)
    values = _snap_to_one(np.linalg.eigvals(matrix), matrix)
    largest = float(np.max(values.real))
    if largest >= 1.0:
        raise ValueError(
            f"no stable steady state: max Re λ(M) = {largest:.12g} >= 1 "
            "(the network integrates at λ = 1 and explodes for Re λ > 1)"
        )
    return np.linalg.solve(np.eye(n) - matrix, drive)


def mode_amplification(M: ArrayLike) -> np.ndarray:
    r"""Steady-state gain ``1/(1 - lambda_i)`` of every mode, ordered as :func:`linear_modes`.

    ``v_inf = sum_i (h.e_i)/(1 - lambda_i) e_i``: a mode with ``lambda_i`` close to 1 amplifies
    its input component strongly (selective amplification). ``inf`` where ``lambda_i = 1``;
    negative (real ``lambda_i > 1``) means no steady state to amplify into. Real array for
    real eigenvalues, complex otherwise.
    """
    values = linear_modes(M).values
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = 1.0 / (1.0 - values)
    if np.iscomplexobj(values):
        gain = np.where(values == 1.0, np.inf + 0j, gain)
    else:
        gain = np.where(values == 1.0, np.inf, gain)
    return gain


def effective_time_constants(M: ArrayLike, tau: ArrayLike) -> np.ndarray:
    r"""Effective time constant ``tau/(1 - Re lambda_i)`` of every mode (seconds), ordered as :func:`linear_modes`.

    ``Re lambda_i < 1``: positive, the mode relaxes as ``exp(-t/tau_eff)`` (slowed down by
    recurrent excitation, ``lambda_i -> 1`` gives ``tau_eff -> inf``); ``Re lambda_i = 1``:
    ``inf`` (perfect integrator, no decay); ``Re lambda_i > 1``: negative, meaning the mode
    *grows* as ``exp(t/|tau_eff|)`` (``|tau_eff|`` is the e-folding time of the explosion).
    """
    time_constant = _tau(tau)
    real = linear_modes(M).values.real
    with np.errstate(divide="ignore"):
        result = time_constant / (1.0 - real)
    return np.where(real == 1.0, np.inf, result)
