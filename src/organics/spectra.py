r"""Second-order statistics of linearized noisy dynamics around a stable fixed point.

Near a stable fixed point ``x*`` the fluctuations ``u = x - x*`` of the SDE of
:mod:`organics.sde` follow the linear (Ornstein–Uhlenbeck) process::

    du = J u dt + g dW,        Q = g g^T          (J in 1/s, Q in state^2/s)

Conventions (used by every function here, theory and estimates alike)
---------------------------------------------------------------------
* Fourier transform ``u(f) = ∫ u(t) exp(-2πi f t) dt``, ``ω = 2π f``, ``f`` in Hz.
* The spectral matrix is the **two-sided** density per Hz of the lagged covariance
  ``C_ij(s) = E[u_i(t + s) u_j(t)]``::

      S(f) = ∫ C(s) exp(-iωs) ds = (iωI - J)^{-1} Q (iωI - J)^{-H}      (state^2 / Hz)

  so ``∫_{-∞}^{∞} S(f) df = C(0) = P``, the stationary covariance. ``S(-f) = conj(S(f))``:
  negative frequencies are allowed. The one-sided density (``scipy.signal.welch``'s default,
  ``∫_0^∞ S1 df = P``) is ``2 S(f)`` for ``f > 0``.
* The research code wrote ``(J + iωI)^{-1} Q (J + iωI)^{-H} = S(-f) = conj(S(f))``: the same
  auto-spectra, but cross-spectra with the opposite phase (it describes ``E[u_i(t) u_j(t+s)]``).
  Ours is the one that matches ``E[u(f) u(f)^H]`` for the dynamics ``du = J u dt + ...``; the
  tests check the phase of the cross-spectrum against simulation.
* ``S_ij(f) = conj(csd_scipy(u_i, u_j))`` because ``scipy.signal.csd(x, y)`` estimates
  ``E[conj(x(f)) y(f)]``; :func:`welch_spectra` applies this so that its output is directly
  comparable with :func:`power_spectral_density`.

Functions
---------
:func:`stationary_covariance`  ``J P + P J^T + Q = 0`` (SciPy), with its relative residual.
:func:`power_spectral_density`  ``S(f)`` on a frequency grid; :func:`zero_frequency_spectrum`
``S(0) = J^{-1} Q J^{-T}``; :func:`auto_spectra`, :func:`cross_spectrum`, :func:`coherence`.
:func:`welch_spectra`, :func:`sample_covariance`  estimates from simulated states.
:func:`linear_noise_analysis`  all of the above for a model at a fixed point.

These are NumPy/SciPy functions (CPU, float64): arrays in, NumPy arrays out. They are
validated at the boundary and raise ``ValueError`` for an unstable ``J`` or a ``Q`` that is not
symmetric positive semidefinite. Leading batch axes of ``J`` and ``Q`` are supported.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.linalg
import scipy.signal
from numpy.typing import ArrayLike

__all__ = [
    "stationary_covariance",
    "power_spectral_density",
    "zero_frequency_spectrum",
    "auto_spectra",
    "cross_spectrum",
    "coherence",
    "WelchSpectra",
    "welch_spectra",
    "sample_covariance",
    "LinearNoiseAnalysis",
    "linear_noise_analysis",
    "DEFAULT_FREQS_HZ",
]

#: Frequency grid of the research code: ``logspace(0, 3, 100)`` Hz.
DEFAULT_FREQS_HZ = np.logspace(0.0, 3.0, 100)


# ---------------------------------------------------------------------------------------------
# Validation


def _square(name: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a real (..., d, d) array; got {value!r}") from error
    if array.ndim < 2 or array.shape[-1] != array.shape[-2] or array.shape[-1] < 1:
        raise ValueError(f"{name} must be a square matrix of shape (..., d, d); got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return array


def _stable_jacobian(J: Any) -> np.ndarray:
    J = _square("J", J)
    max_re = float(np.max(np.linalg.eigvals(J).real))
    if max_re >= 0:
        raise ValueError(
            f"the stationary spectrum needs a stable Jacobian (every Re λ < 0); max Re λ = {max_re:.6g} 1/s"
        )
    return J


def _noise_covariance(Q: Any, d: int) -> np.ndarray:
    Q = _square("Q", Q)
    if Q.shape[-1] != d:
        raise ValueError(f"Q must have shape (..., {d}, {d}) like J; got shape {Q.shape}")
    scale = max(float(np.max(np.abs(Q))), np.finfo(float).tiny)
    asym = float(np.max(np.abs(Q - np.swapaxes(Q, -1, -2))))
    if asym > 1e-10 * scale:
        raise ValueError(f"Q must be symmetric positive semidefinite; max |Q - Q^T| = {asym:.3g}")
    min_eig = float(np.min(np.linalg.eigvalsh(Q)))
    if min_eig < -1e-10 * scale:
        raise ValueError(f"Q must be symmetric positive semidefinite; min eigenvalue = {min_eig:.6g}")
    return Q


def _frequencies(freqs_hz: Any) -> np.ndarray:
    freqs = np.asarray(freqs_hz, dtype=float)
    if freqs.ndim != 1 or freqs.size < 1 or not np.all(np.isfinite(freqs)):
        raise ValueError(f"freqs_hz must be a finite 1-D array of frequencies in Hz; got shape {freqs.shape}")
    return freqs


# ---------------------------------------------------------------------------------------------
# Theory


def stationary_covariance(J: ArrayLike, Q: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""Stationary covariance ``P`` of ``du = J u dt + g dW`` (``Q = g g^T``): ``J P + P J^T + Q = 0``.

    ``J`` (1/s) and ``Q`` (state^2/s) have shape ``(d, d)`` or ``(B, d, d)`` (solved one by one
    with :func:`scipy.linalg.solve_continuous_lyapunov`). ``P = ∫_0^∞ e^{Js} Q e^{J^T s} ds``
    (state^2) is returned symmetrized, with the relative residual
    ``||J P + P J^T + Q||_F / ||Q||_F`` (scalar or ``(B,)``).

    Raises ``ValueError`` if some eigenvalue of ``J`` has ``Re λ >= 0`` or ``Q`` is not symmetric
    positive semidefinite.
    """
    J = _stable_jacobian(J)
    Q = _noise_covariance(Q, J.shape[-1])
    batch = np.broadcast_shapes(J.shape[:-2], Q.shape[:-2])
    d = J.shape[-1]
    Jb = np.broadcast_to(J, batch + (d, d)).reshape(-1, d, d)
    Qb = np.broadcast_to(Q, batch + (d, d)).reshape(-1, d, d)
    Ps = np.empty_like(Jb)
    residuals = np.empty(Jb.shape[0])
    for k, (Jk, Qk) in enumerate(zip(Jb, Qb)):
        P = scipy.linalg.solve_continuous_lyapunov(Jk, -Qk)
        P = 0.5 * (P + P.T)
        norm_q = np.linalg.norm(Qk)
        residuals[k] = np.linalg.norm(Jk @ P + P @ Jk.T + Qk) / (norm_q if norm_q > 0 else 1.0)
        Ps[k] = P
    return Ps.reshape(batch + (d, d)), residuals.reshape(batch)


def power_spectral_density(J: ArrayLike, Q: ArrayLike, freqs_hz: ArrayLike) -> np.ndarray:
    r"""Two-sided spectral matrix ``S(f) = (iωI - J)^{-1} Q (iωI - J)^{-H}``, ``ω = 2πf`` (state^2/Hz).

    ``S_ij(f) = ∫ E[u_i(t+s) u_j(t)] e^{-iωs} ds`` for ``du = J u dt + g dW``, ``Q = g g^T``.
    Hermitian at each ``f``, ``S(-f) = conj(S(f))`` (negative frequencies allowed) and
    ``∫_{-∞}^{∞} S(f) df = P`` (:func:`stationary_covariance`); the one-sided density is
    ``2 S(f)`` for ``f > 0``. See the module docstring for the sign convention (the research
    code's ``(J + iω)^{-1} ...`` form is ``conj(S)``).

    ``J``: ``(..., d, d)`` in 1/s; ``Q``: ``(..., d, d)`` in state^2/s; ``freqs_hz``: ``(F,)``.
    Returns a complex array ``(..., F, d, d)``. Raises ``ValueError`` for an unstable ``J``
    (any ``Re λ >= 0``) or a ``Q`` that is not symmetric positive semidefinite.
    """
    J = _stable_jacobian(J)
    Q = _noise_covariance(Q, J.shape[-1])
    freqs = _frequencies(freqs_hz)
    d = J.shape[-1]
    omega = 2.0 * np.pi * freqs
    A = 1j * omega[:, None, None] * np.eye(d) - J[..., None, :, :]  # (..., F, d, d)
    Qc = np.broadcast_to(Q[..., None, :, :], np.broadcast_shapes(A.shape, Q[..., None, :, :].shape)).astype(complex)
    A = np.broadcast_to(A, Qc.shape)
    X = np.linalg.solve(A, Qc)  # A^{-1} Q
    S = np.swapaxes(np.linalg.solve(A, np.swapaxes(X, -1, -2).conj()), -1, -2).conj()  # A^{-1} Q A^{-H}
    return 0.5 * (S + np.swapaxes(S, -1, -2).conj())


def zero_frequency_spectrum(J: ArrayLike, Q: ArrayLike) -> np.ndarray:
    r"""``S(0) = J^{-1} Q J^{-T}`` (state^2/Hz, real symmetric; two-sided like :func:`power_spectral_density`)."""
    J = _stable_jacobian(J)
    Q = _noise_covariance(Q, J.shape[-1])
    X = np.linalg.solve(J, Q)
    S0 = np.swapaxes(np.linalg.solve(J, np.swapaxes(X, -1, -2)), -1, -2)
    return 0.5 * (S0 + np.swapaxes(S0, -1, -2))


def auto_spectra(S: ArrayLike) -> np.ndarray:
    """Auto-spectra ``S_ii(f)`` (real, ``(..., F, d)``) of a spectral matrix ``(..., F, d, d)``."""
    S = np.asarray(S)
    return np.real(np.diagonal(S, axis1=-2, axis2=-1)).copy()


def cross_spectrum(S: ArrayLike, i: int, j: int) -> np.ndarray:
    """Cross-spectrum ``S_ij(f) = ∫ E[u_i(t+s) u_j(t)] e^{-iωs} ds`` (complex, ``(..., F)``)."""
    S = np.asarray(S)
    d = S.shape[-1]
    for name, k in (("i", i), ("j", j)):
        if not (isinstance(k, (int, np.integer)) and -d <= k < d):
            raise ValueError(f"{name} must be an index in [0, {d}); got {k!r}")
    return S[..., i, j]


def coherence(S: ArrayLike) -> np.ndarray:
    r"""Squared coherence ``|S_ij|^2 / (S_ii S_jj)`` (``(..., F, d, d)``, clipped to ``[0, 1]``; 1 on the diagonal)."""
    S = np.asarray(S)
    diag = np.real(np.diagonal(S, axis1=-2, axis2=-1))
    denom = diag[..., :, None] * diag[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.abs(S) ** 2 / denom
    return np.clip(np.nan_to_num(c, nan=0.0), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Estimates from simulation


@dataclasses.dataclass(frozen=True)
class WelchSpectra:
    """Welch estimate of the spectral matrix (same convention as :func:`power_spectral_density`).

    Attributes
    ----------
    freqs:
        Frequencies ``f >= 0`` in Hz, ``(F,)``.
    S:
        Two-sided spectral matrix ``(F, d, d)`` (complex, state^2/Hz), averaged over segments
        and runs: ``S_ij = conj(csd(u_i, u_j))``.
    n_segments:
        Number of segments averaged (all runs). With a Hann window and 50 % overlap the
        relative standard error of an auto-spectrum is about ``1 / sqrt(n_segments)`` (slightly
        better, since overlapping segments are partly independent).
    nperseg:
        Segment length (samples).
    """

    freqs: np.ndarray
    S: np.ndarray
    n_segments: int
    nperseg: int

    @property
    def auto(self) -> np.ndarray:
        """Auto-spectra ``(F, d)``."""
        return auto_spectra(self.S)

    @property
    def coherence(self) -> np.ndarray:
        """Squared coherence ``(F, d, d)`` of the averaged estimate (as ``scipy.signal.coherence``)."""
        return coherence(self.S)


def _states(states: Any) -> np.ndarray:
    x = np.asarray(states, dtype=float)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"states must have shape (n_samples, d) or (runs, n_samples, d); got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("states must be finite (drop diverged runs, whose unreached rows are NaN)")
    if x.shape[1] < 2:
        raise ValueError(f"states must have at least 2 samples; got {x.shape[1]}")
    return x


def welch_spectra(
    states: ArrayLike,
    dt: float,
    nperseg: int | None = None,
    *,
    window: str = "hann",
    noverlap: int | None = None,
    detrend: str | bool = "constant",
) -> WelchSpectra:
    r"""Welch estimate of the two-sided spectral matrix ``S(f)``, ``f >= 0``, from sampled states.

    ``states``: ``(n_samples, d)`` sampled every ``dt`` seconds, or ``(runs, n_samples, d)``
    (independent runs, averaged). ``nperseg`` defaults to ``n_samples // 15`` (the research
    code's choice). Uses :func:`scipy.signal.csd` with ``scaling="density"``,
    ``return_onesided=False`` (two-sided, per Hz: ``∫ S df`` over all frequencies is the
    variance), keeps ``f >= 0`` and conjugates, so the result is directly comparable with
    :func:`power_spectral_density` (multiply by 2 for the one-sided density). Each segment is
    detrended (``"constant"``: its mean removed) before windowing. All ``d x d`` cross-spectra
    are computed at once (memory ``~ runs * d^2 * n_samples`` complex numbers): for large ``d``
    pass a few selected components.
    """
    x = _states(states)
    dt_value = float(dt)
    if not (np.isfinite(dt_value) and dt_value > 0):
        raise ValueError(f"dt must be > 0 seconds; got {dt!r}")
    n = x.shape[1]
    if nperseg is None:
        nperseg = max(n // 15, 2)
    if isinstance(nperseg, bool) or not isinstance(nperseg, (int, np.integer)) or not 2 <= nperseg <= n:
        raise ValueError(f"nperseg must be an integer in [2, n_samples = {n}]; got {nperseg!r}")
    nperseg = int(nperseg)
    noverlap_value = nperseg // 2 if noverlap is None else int(noverlap)
    u = np.moveaxis(x, -1, 1)  # (runs, d, n)
    freqs, Pxy = scipy.signal.csd(
        u[:, :, None, :],  # broadcast: entry [r, i, j] = csd(u_i, u_j) = E[conj(u_i) u_j]
        u[:, None, :, :],
        fs=1.0 / dt_value,
        window=window,
        nperseg=nperseg,
        noverlap=noverlap_value,
        detrend=detrend,
        return_onesided=False,
        scaling="density",
        axis=-1,
    )
    keep = freqs >= 0
    order = np.argsort(freqs[keep])
    S = np.conj(Pxy[..., keep][..., order]).mean(axis=0)  # (d, d, F), S_ij = conj(csd(u_i, u_j))
    S = np.moveaxis(S, -1, 0)
    S = 0.5 * (S + np.swapaxes(S, -1, -2).conj())
    per_run = (n - noverlap_value) // (nperseg - noverlap_value)
    return WelchSpectra(freqs=freqs[keep][order], S=S, n_segments=int(per_run * x.shape[0]), nperseg=nperseg)


def sample_covariance(states: ArrayLike, *, return_stderr: bool = False):
    r"""Sample covariance of sampled states (state^2).

    ``states``: ``(n_samples, d)`` or ``(runs, n_samples, d)``. Each run's own mean is removed
    (``ddof = 1``) and the per-run covariances are averaged. With ``return_stderr=True`` also
    returns the standard error of that mean across runs (``std(ddof=1) / sqrt(runs)``, needs
    ``runs >= 2``), an honest error bar for correlated samples.
    """
    x = _states(states)
    centred = x - x.mean(axis=1, keepdims=True)
    per_run = np.einsum("rni,rnj->rij", centred, centred) / (x.shape[1] - 1)
    mean = per_run.mean(axis=0)
    if not return_stderr:
        return mean
    if x.shape[0] < 2:
        raise ValueError("return_stderr needs states from at least 2 independent runs")
    return mean, per_run.std(axis=0, ddof=1) / np.sqrt(x.shape[0])


# ---------------------------------------------------------------------------------------------
# Convenience


@dataclasses.dataclass(frozen=True)
class LinearNoiseAnalysis:
    """Linear-noise statistics of a model at a fixed point (NumPy arrays).

    ``J`` (1/s), ``Q`` (state^2/s), ``P`` (state^2) with its Lyapunov ``residual``, ``freqs``
    (Hz), ``S`` (``(F, d, d)``, two-sided, state^2/Hz), ``S0 = S(0)`` and the ``eigenvalues``
    of ``J`` (1/s).
    """

    J: np.ndarray
    Q: np.ndarray
    P: np.ndarray
    residual: float
    freqs: np.ndarray
    S: np.ndarray
    S0: np.ndarray
    eigenvalues: np.ndarray

    @property
    def auto(self) -> np.ndarray:
        return auto_spectra(self.S)

    @property
    def coherence(self) -> np.ndarray:
        return coherence(self.S)


def linear_noise_analysis(
    model,
    fixed_point_state: ArrayLike,
    eta: float = 0.02,
    freqs_hz: ArrayLike | None = None,
    *,
    noise: str = "additive",
    t: float = 0.0,
) -> LinearNoiseAnalysis:
    r"""``J = df/dx`` at the fixed point (:func:`organics.stability.jacobian`), ``Q`` of
    :func:`organics.sde.noise_covariance` (``eta^2 diag(1/tau)`` additive, or
    ``eta^2 diag(|x*|/tau)`` multiplicative, linearized at ``x*``), ``P`` and ``S(f)``.

    ``freqs_hz`` defaults to :data:`DEFAULT_FREQS_HZ`. Raises ``ValueError`` when the fixed point
    is not stable.
    """
    import jax.numpy as jnp

    from .sde import noise_covariance
    from .stability import jacobian

    x = jnp.asarray(fixed_point_state, dtype=float)
    J = np.asarray(jacobian(model, x, t))
    Q = np.asarray(noise_covariance(model, eta, noise=noise, state=x))
    freqs = DEFAULT_FREQS_HZ if freqs_hz is None else _frequencies(freqs_hz)
    P, residual = stationary_covariance(J, Q)
    return LinearNoiseAnalysis(
        J=J,
        Q=Q,
        P=P,
        residual=float(residual),
        freqs=np.asarray(freqs, dtype=float),
        S=power_spectral_density(J, Q, freqs),
        S0=zero_frequency_spectrum(J, Q),
        eigenvalues=np.linalg.eigvals(J),
    )
