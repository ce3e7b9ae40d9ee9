r"""How far a linear(ized) network is from normal, and what that does to amplification.

The network is ``τ dx/dt = -x + W x + noise`` with a square real connectivity ``W``; its
dynamics matrix is ``A = (W - I)/τ`` (1/s). ``W`` is *normal* if ``W W^T = W^T W``; then its
eigenvectors are orthogonal and every response decays at least as fast as the slowest mode.
A nonnormal ``W`` can transiently amplify activity along non-eigen directions
(Hennequin, Vogels & Gerstner, Phys. Rev. E 86, 011909, 2012).

Schur decomposition (complex)::

    W = U (Λ + T) U*,   U unitary, Λ = diag(λ_i), T strictly upper triangular

``Λ`` carries the eigenvalues (dynamical slowing when ``Re λ_i → 1``); ``T`` is the hidden
feed-forward part (``T = 0`` iff ``W`` is normal).

Measures
--------
* Henrici departure from normality ``d_F(W) = sqrt(||W||_F² - Σ_i |λ_i|²) = ||T||_F``
  (computed as ``||T||_F``, which avoids cancellation), normalized: ``d_F / ||W||_F ∈ [0, 1]``.
* Numerical abscissa ``ω(W) = λ_max((W + W^T)/2)``: the initial growth rate
  ``d/dt ||e^{Wt}||_2 |_{t=0}``. ``ω(W) > max Re λ(W)`` only for nonnormal ``W``; transient
  growth of ``||e^{At}||_2`` above 1 happens iff ``ω(W) > 1``.
* Transient gain ``g(t) = ||exp((W - I) t / τ)||_2`` (largest singular value), its peak and
  peak time. For normal ``W``: ``g(t) = exp((max Re λ - 1) t/τ)``, monotone when stable.
* ε-pseudospectrum: ``σ_min(zI - W)`` on a grid of complex ``z``; ``{z : σ_min < ε}`` is the
  ε-pseudospectrum. Equal to ``dist(z, spectrum)`` for normal ``W``, possibly much smaller
  otherwise.
* Noise amplification (Hennequin et al. 2012). With unit isotropic input noise
  ``Q = (2/τ) I`` (so that the unconnected network ``W = 0`` has covariance ``P_0 = I``),
  the stationary covariance ``P`` solves the Lyapunov equation::

      A P + P A^T + Q = 0,      A = (W - I)/τ

  ``total = tr(P) / tr(P_0) = tr(P) / n`` (independent of τ). The *normal* part is the same
  quantity for ``W_normal = U Λ U*`` (same eigenvalues, ``T = 0``), in closed form::

      normal = (1/n) Σ_i 1 / (1 - Re λ_i)

  and ``nonnormal = total / normal`` (= 1 for normal ``W``, ≥ 1 in general).

All functions validate ``W`` (square, real, finite) and ``τ > 0`` and raise ``ValueError``
naming the parameter; SciPy/NumPy dense linear algebra only (small matrices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
from numpy.typing import ArrayLike

from organics._validation import check_finite, check_positive
from organics.spectra import stationary_covariance

__all__ = [
    "NoiseAmplification",
    "henrici_departure",
    "noise_amplification",
    "numerical_abscissa",
    "pseudospectrum",
    "schur_decomposition",
    "transient_amplification",
]


def _connectivity(W: Any) -> np.ndarray:
    if np.iscomplexobj(W):
        raise ValueError("W must be a real square matrix (n, n); got complex entries")
    try:
        W = np.asarray(W, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"W must be a real square matrix (n, n); got {W!r}") from error
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be a square matrix of shape (n, n) with n >= 1; got shape {W.shape}")
    check_finite("W", W)
    return W


def _tau(tau: Any) -> float:
    if np.ndim(tau) != 0:
        raise ValueError(f"tau must be a scalar > 0 (time constant); got shape {np.shape(tau)}")
    check_positive("tau", tau)
    return float(tau)


def schur_decomposition(W: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Complex Schur form ``W = U (Λ + T) U*``.

    Returns ``(U, Lambda, T)``, complex ``(n, n)`` arrays: ``U`` unitary, ``Lambda`` diagonal
    (the eigenvalues of ``W`` on its diagonal), ``T`` strictly upper triangular (the
    feed-forward part; zero iff ``W`` is normal).
    """
    W = _connectivity(W)
    S, U = scipy.linalg.schur(W.astype(complex), output="complex")
    Lambda = np.diag(np.diag(S))
    T = np.triu(S, k=1)
    return U, Lambda, T


def henrici_departure(W: ArrayLike, normalized: bool = False) -> float:
    """Henrici departure from normality ``sqrt(||W||_F² - Σ|λ_i|²) = ||T||_F``.

    With ``normalized=True`` returns ``||T||_F / ||W||_F`` in ``[0, 1]`` (0 for ``W = 0``).
    """
    W = _connectivity(W)
    _, _, T = schur_decomposition(W)
    departure = float(np.linalg.norm(T))
    if not normalized:
        return departure
    norm_w = float(np.linalg.norm(W))
    return departure / norm_w if norm_w > 0 else 0.0


def numerical_abscissa(W: ArrayLike) -> float:
    """Largest eigenvalue of the symmetric part ``(W + W^T)/2`` (initial growth rate of ``||e^{Wt}||``)."""
    W = _connectivity(W)
    return float(np.linalg.eigvalsh(0.5 * (W + W.T))[-1])


def _gain(A: np.ndarray, t: float) -> float:
    return float(scipy.linalg.svdvals(scipy.linalg.expm(A * t))[0])


def transient_amplification(
    W: ArrayLike, tau: float = 1.0, t_max: float | None = None, n_times: int = 200
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Gain ``g(t) = ||exp((W - I) t/τ)||_2`` on ``n_times`` points of ``[0, t_max]``.

    Returns ``(times, gains, peak, peak_time)``. ``peak``/``peak_time`` come from the grid
    maximum refined by a bounded scalar optimization between the neighbouring grid points
    (so they do not depend on the grid spacing); ``peak >= 1`` since ``g(0) = 1``.

    ``t_max=None`` chooses ``10 τ / (1 - max Re λ(W))`` (ten slowest decay times) and doubles
    it (at most 30 times) until ``g(t_max) < 0.01 · max_grid g``; this needs a stable system and
    raises ``ValueError`` if ``W - I`` has an eigenvalue with ``Re >= 0``. An explicit
    ``t_max > 0`` works for any ``W``.
    """
    W = _connectivity(W)
    tau = _tau(tau)
    if isinstance(n_times, bool) or not isinstance(n_times, (int, np.integer)) or n_times < 2:
        raise ValueError(f"n_times must be an integer >= 2; got {n_times!r}")
    n = W.shape[0]
    A = (W - np.eye(n)) / tau
    if t_max is None:
        max_re = float(np.max(np.linalg.eigvals(W).real))
        if max_re >= 1.0:
            raise ValueError(
                "t_max=None needs a stable system: every eigenvalue of W - I must have Re < 0 "
                f"(Re λ(W) < 1); got max Re λ(W) = {max_re:.6g}. Pass t_max explicitly."
            )
        t_max = 10.0 * tau / (1.0 - max_re)
        times = np.linspace(0.0, t_max, n_times)
        gains = np.array([_gain(A, t) for t in times])
        for _ in range(30):
            if gains[-1] < 0.01 * gains.max():
                break
            t_max *= 2.0
            times = np.linspace(0.0, t_max, n_times)
            gains = np.array([_gain(A, t) for t in times])
    else:
        if np.ndim(t_max) != 0:
            raise ValueError(f"t_max must be a scalar > 0 or None; got shape {np.shape(t_max)}")
        check_positive("t_max", t_max)
        t_max = float(t_max)
        times = np.linspace(0.0, t_max, n_times)
        gains = np.array([_gain(A, t) for t in times])
    k = int(np.argmax(gains))
    peak, peak_time = float(gains[k]), float(times[k])
    lo, hi = times[max(k - 1, 0)], times[min(k + 1, n_times - 1)]
    if hi > lo:
        result = scipy.optimize.minimize_scalar(
            lambda t: -_gain(A, t), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10 * max(t_max, 1.0)}
        )
        if result.success and -result.fun > peak:
            peak, peak_time = float(-result.fun), float(result.x)
    return times, gains, peak, peak_time


def pseudospectrum(W: ArrayLike, re_grid: ArrayLike, im_grid: ArrayLike) -> np.ndarray:
    """``σ_min(zI - W)`` for ``z = x + i y``; returns shape ``(len(im_grid), len(re_grid))``.

    Row ``j``, column ``k`` is ``z = re_grid[k] + 1j * im_grid[j]`` (``np.meshgrid`` 'xy'
    order, ready for ``plt.contour(re_grid, im_grid, sigma)``). Computed on the Schur form
    (unitary invariance of singular values).
    """
    W = _connectivity(W)
    re = np.asarray(re_grid, dtype=float).ravel()
    im = np.asarray(im_grid, dtype=float).ravel()
    check_finite("re_grid", re)
    check_finite("im_grid", im)
    if re.size == 0 or im.size == 0:
        raise ValueError("re_grid and im_grid must each hold at least one value")
    S, _ = scipy.linalg.schur(W.astype(complex), output="complex")
    eye = np.eye(W.shape[0])
    sigma = np.empty((im.size, re.size))
    for j, y in enumerate(im):
        for k, x in enumerate(re):
            sigma[j, k] = scipy.linalg.svdvals((x + 1j * y) * eye - S)[-1]
    return sigma


@dataclass(frozen=True)
class NoiseAmplification:
    """Stationary variance amplification relative to the unconnected network (Hennequin et al. 2012).

    ``total = tr(P)/tr(P_0)``; ``normal`` = same for ``U Λ U*``; ``nonnormal = total / normal``.
    """

    total: float
    normal: float
    nonnormal: float


def noise_amplification(W: ArrayLike, tau: float = 1.0) -> NoiseAmplification:
    """Split the noise amplification of ``τ dx/dt = -x + W x + noise`` into normal and nonnormal parts.

    Noise covariance ``Q = (2/τ) I`` so the unconnected network has ``P_0 = I``; ``P`` solves
    ``A P + P A^T + Q = 0`` with ``A = (W - I)/τ`` (:func:`organics.spectra.stationary_covariance`).
    ``total = tr(P)/n``, ``normal = (1/n) Σ 1/(1 - Re λ_i)``, ``nonnormal = total/normal``.
    All three are independent of ``τ``. Raises ``ValueError`` if some ``Re λ(W) >= 1``.
    """
    W = _connectivity(W)
    tau = _tau(tau)
    n = W.shape[0]
    eigenvalues = np.linalg.eigvals(W)
    max_re = float(np.max(eigenvalues.real))
    if max_re >= 1.0:
        raise ValueError(
            "noise_amplification needs a stable network: every eigenvalue of W must have Re λ < 1 "
            f"(A = (W - I)/tau stable); got max Re λ(W) = {max_re:.6g}"
        )
    A = (W - np.eye(n)) / tau
    P, _ = stationary_covariance(A, (2.0 / tau) * np.eye(n))
    total = float(np.trace(P)) / n
    normal = float(np.mean(1.0 / (1.0 - eigenvalues.real)))
    return NoiseAmplification(total=total, normal=normal, nonnormal=total / normal)
