r"""Non-normal amplification versus spectral radius in random balanced E/I networks.

After Hennequin, Vogels & Gerstner, "Non-normal amplification in random balanced neuronal
networks", Phys. Rev. E 86, 011909 (2012). Only the abstract of the paper is at hand, so the
formulas below are derived here (no equation numbers of the paper are quoted).

Network and noise (as in :func:`organics.nonnormal.noise_amplification`)::

    tau dx/dt = -x + W x + sqrt(2 tau) xi(t),     <xi_i(t) xi_j(s)> = delta_ij delta(t - s)

i.e. ``A = (W - I)/tau`` and ``Q = (2/tau) I`` (1/s), so the unconnected network has the stationary
covariance ``P_0 = I``. ``total = tr(P)/n`` with ``A P + P A^T + Q = 0``, ``normal = (1/n) sum_i
1/(1 - Re lambda_i)`` (the same network with the feed-forward part ``T`` of the Schur form
``W = U (Lambda + T) U*`` removed) and ``nonnormal = total/normal >= 1``. All three are
dimensionless and independent of ``tau``.

Ensemble (:func:`balanced_ei_matrix`, Dale's law with binary weights as in Hennequin et al.):
``n_E = round(f_E n)`` excitatory columns and ``n_I = n - n_E`` inhibitory ones; every entry is
present with probability ``p`` (independently), with weight ``+w_E`` in an excitatory and ``-w_I``
in an inhibitory column::

    w_E = R sqrt(f_I / (f_E n p (1 - p))),     w_I = R sqrt(f_E / (f_I n p (1 - p)))

so the mean input is balanced (``f_E w_E = f_I w_I``) and the entry variances summed over a row
are ``n p (1 - p) (f_E w_E^2 + f_I w_I^2) = R^2``: by the circular law with column-dependent
variances (Rajan & Abbott, PRL 97, 188104, 2006) the bulk of the spectrum fills the disc of
radius ``R``, the parameter called the spectral radius here. The mean matrix ``p 1 w^T``
(``w^T 1 = 0``) is nilpotent, a purely feed-forward structure of strength
``||p 1|| ||w|| = R sqrt(n p/(1 - p))`` from the E-minus-I pattern to the uniform pattern.
With ``zero_row_sums=True`` each row's inhibitory weights are rescaled by ``E_i/I_i`` (its
excitatory over |inhibitory| sum), which keeps every sign and makes ``W 1 = 0`` exactly (the
exact balance of Rajan & Abbott, which removes outliers created by fluctuating row sums).
``W`` is linear in ``R`` for a given draw (the row rescaling is scale-free), so matrix ``j`` at
radius ``R`` is ``R`` times the unit-radius draw ``j`` (common random numbers across radii).

Large-``n`` reference for a matrix with independent zero-mean entries filling the disc of radius
``R < 1`` uniformly (no mean structure), derived here::

    total(R)  = 2 int_0^inf exp(-2t) I_0(2Rt) dt = 1/sqrt(1 - R^2)
    normal(R) = (1/(pi R^2)) int_disc dA / (1 - Re z) = 2 (1 - sqrt(1 - R^2)) / R^2

using ``(1/n) E tr(W^k W^{T l}) -> R^{2k} delta_kl``; ``nonnormal = total/normal``
(:func:`circular_law_amplification`).

Simulation estimates (:func:`simulated_noise_amplification`): Euler–Maruyama runs of the SDE
above with :func:`organics.sde.simulate_sde` (additive noise ``eta = sqrt(2)`` gives
``Q = (2/tau) I``) on :class:`~organics.models.rate.LinearNetwork`; ``total`` is the mean of
``x_i^2`` over neurons and saved times (the stationary mean is exactly 0), the ``normal`` part is
measured the same way on :func:`normal_counterpart` (a real normal matrix with the same
eigenvalues). :func:`balanced_amplification` does both for an ensemble and a list of radii.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import jax
import numpy as np
from numpy.typing import ArrayLike

from .connectivity import KeyLike, as_key
from .models.rate import LinearNetwork
from .nonnormal import noise_amplification
from .sde import simulate_sde
from .simulate import SOLVED

__all__ = [
    "AmplificationSplit",
    "BalancedAmplification",
    "balanced_ei_matrix",
    "circular_law_amplification",
    "normal_counterpart",
    "simulated_noise_amplification",
    "balanced_amplification",
]

#: Noise amplitude of :func:`organics.sde.simulate_sde` giving ``Q = (2/tau) I`` (so ``P_0 = I``).
UNIT_NOISE_ETA = float(np.sqrt(2.0))


class AmplificationSplit(NamedTuple):
    """``total``, ``normal`` and ``nonnormal = total/normal`` amplification (arrays or floats)."""

    total: np.ndarray
    normal: np.ndarray
    nonnormal: np.ndarray


# ---------------------------------------------------------------------------------- validation
def _size(n) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (excitatory and inhibitory neurons); got {n!r}")
    return int(n)


def _open_unit(name: str, value) -> float:
    if np.ndim(value) != 0 or not np.isfinite(float(value)) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a number in (0, 1); got {value!r}")
    return float(value)


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _radii(radii) -> np.ndarray:
    values = np.atleast_1d(np.asarray(radii, dtype=float))
    if values.ndim != 1 or values.size < 1 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"radii must be a non-empty 1-D list of finite spectral radii >= 0; got {radii!r}")
    return values


def _positive(name: str, value) -> float:
    if np.ndim(value) != 0 or not np.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


# ---------------------------------------------------------------------------------- ensemble
def balanced_ei_matrix(
    key: KeyLike,
    n: int,
    radius: float = 1.0,
    *,
    excitatory_fraction: float = 0.5,
    connection_probability: float = 0.2,
    zero_row_sums: bool = False,
) -> np.ndarray:
    r"""One random balanced Dale's-law matrix ``W`` (``n x n``, float64) with bulk spectral radius ``radius``.

    Binary weights ``+w_E`` (first ``n_E = round(f_E n)`` columns, clipped to ``[1, n - 1]``) and
    ``-w_I`` (the others), each present with probability ``p = connection_probability``;
    ``w_E``, ``w_I`` as in the module docstring (mean balanced, bulk radius ``R = radius``).
    ``zero_row_sums=True`` rescales every row's inhibitory weights by ``E_i/I_i`` so that each
    row sums to 0 exactly (rows lacking excitatory or inhibitory inputs are left as drawn).
    ``key``: a ``jax.random`` key or an int seed; the same key gives the same matrix, and
    ``balanced_ei_matrix(key, n, R) = R * balanced_ei_matrix(key, n, 1)``.

    Raises ``ValueError`` for ``n < 2``, ``radius < 0`` or non-finite, ``excitatory_fraction`` or
    ``connection_probability`` outside ``(0, 1)``.
    """
    n = _size(n)
    if np.ndim(radius) != 0 or not np.isfinite(float(radius)) or float(radius) < 0:
        raise ValueError(f"radius must be a finite number >= 0 (bulk spectral radius); got {radius!r}")
    f_e = _open_unit("excitatory_fraction", excitatory_fraction)
    p = _open_unit("connection_probability", connection_probability)
    n_e = min(max(int(round(f_e * n)), 1), n - 1)
    f_e = n_e / n
    f_i = 1.0 - f_e
    scale = float(radius) / np.sqrt(n * p * (1.0 - p))
    w_e, w_i = scale * np.sqrt(f_i / f_e), scale * np.sqrt(f_e / f_i)
    mask = np.asarray(jax.random.bernoulli(as_key(key), p, (n, n)))
    excitatory = np.arange(n) < n_e
    W = mask * np.where(excitatory, w_e, -w_i)[None, :]
    if zero_row_sums:
        e_sum = W[:, excitatory].sum(axis=1)
        i_sum = -W[:, ~excitatory].sum(axis=1)
        ratio = np.where((e_sum > 0) & (i_sum > 0), e_sum / np.where(i_sum > 0, i_sum, 1.0), 1.0)
        W[:, ~excitatory] *= ratio[:, None]
    return W


def circular_law_amplification(radius: ArrayLike) -> AmplificationSplit:
    r"""Large-``n`` amplification of a random matrix whose spectrum fills the disc of radius ``R < 1``.

    ``total = 1/sqrt(1 - R^2)``, ``normal = 2 (1 - sqrt(1 - R^2))/R^2`` (``-> 1`` as ``R -> 0``),
    ``nonnormal = total/normal`` (derivations in the module docstring). Independent zero-mean
    entries only: the nilpotent mean structure of a balanced E/I matrix adds to ``total``.
    Raises ``ValueError`` unless every ``0 <= R < 1``.
    """
    R = np.asarray(radius, dtype=float)
    if not np.all(np.isfinite(R)) or np.any(R < 0) or np.any(R >= 1):
        raise ValueError(f"radius must lie in [0, 1) (stable bulk); got {radius!r}")
    root = np.sqrt(1.0 - R**2)
    total = 1.0 / root
    safe = np.where(R > 1e-4, R, 1.0)
    normal = np.where(R > 1e-4, 2.0 * (1.0 - root) / safe**2, 1.0 + R**2 / 4.0)
    return AmplificationSplit(total=total, normal=normal, nonnormal=total / normal)


def normal_counterpart(W: ArrayLike) -> np.ndarray:
    r"""A real *normal* matrix with the eigenvalues of ``W``: block diagonal, ``[[a, b], [-b, a]]`` per pair.

    Each real eigenvalue ``a`` gives a ``1 x 1`` block, each conjugate pair ``a +- i b`` the block
    ``[[a, b], [-b, a]]``. Under isotropic noise its stationary covariance is diagonal with
    ``1/(1 - a)`` per dimension, so ``tr(P)/n`` is the ``normal`` part of
    :func:`organics.nonnormal.noise_amplification` (which any orthogonal change of basis keeps).
    """
    values = np.linalg.eigvals(np.asarray(W, dtype=float))
    real = values[np.abs(values.imag) <= 1e-12 * max(1.0, float(np.max(np.abs(values))))].real
    upper = values[values.imag > 1e-12 * max(1.0, float(np.max(np.abs(values))))]
    n = values.size
    D = np.zeros((n, n))
    D[np.arange(real.size), np.arange(real.size)] = real
    for k, z in enumerate(upper):
        i = real.size + 2 * k
        D[i : i + 2, i : i + 2] = [[z.real, z.imag], [-z.imag, z.real]]
    if real.size + 2 * upper.size != n:
        raise ValueError("could not pair the complex eigenvalues of W into conjugate pairs")
    return D


# ---------------------------------------------------------------------------------- simulation
def simulated_noise_amplification(
    matrices: ArrayLike,
    *,
    key: KeyLike,
    tau: float = 0.01,
    runs: int = 4,
    duration: float = 200.0,
    burn_in: float | None = None,
    dt: float = 0.01,
    save_every: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    r"""``tr(P)/n`` estimated from SDE runs of ``tau dx/dt = -x + W x + noise`` (one estimate per matrix).

    ``matrices``: ``(n, n)`` or ``(B, n, n)``, each with ``max Re lambda < 1``. For each matrix
    ``runs`` independent Euler–Maruyama runs (:func:`organics.sde.simulate_sde` with
    ``eta = sqrt(2)``, i.e. ``Q = (2/tau) I``; keys ``fold_in(key, b)`` split ``runs`` ways) start at
    ``x = 0``, discard ``burn_in`` and then record ``duration``, saved every ``save_every``. Each
    run gives ``tr(C)/n`` with ``C = <x x^T>`` over its saved states: the stationary mean is exactly
    0 (no input), and using it instead of the run's own mean avoids the downward bias of about
    ``2 tau_slow/duration`` that mean removal causes for modes slower than the record.

    Times are in units of ``tau`` (seconds). ``burn_in`` defaults to ten slowest relaxation times
    ``10/(1 - max Re lambda)`` of the batch (the covariance converges twice as fast); pass the same
    value to several calls to reuse one compiled program. ``duration/save_every`` and
    ``save_every/dt`` must be integers (saves on steps). The Euler–Maruyama scheme biases the
    variance of a mode of rate ``k`` by ``1/(1 - k dt/2)``: about ``+dt/2`` relative on the
    estimate (``k ~ 1/tau`` on average), ``+0.5 %`` at the default ``dt = 0.01``.

    Returns ``(estimate, stderr)``, each ``(B,)`` (floats for one matrix): the mean over runs and
    its standard error ``std(ddof=1)/sqrt(runs)``. Raises ``ValueError`` for a non-square or
    unstable matrix, ``runs < 2`` or bad times, before simulating; ``RuntimeError`` if a run fails.
    """
    W = np.asarray(matrices, dtype=float)
    single = W.ndim == 2
    W = W[None] if single else W
    if W.ndim != 3 or W.shape[1] != W.shape[2] or W.shape[1] < 1 or not np.all(np.isfinite(W)):
        raise ValueError(f"matrices must be finite with shape (n, n) or (B, n, n); got shape {W.shape}")
    runs = _count("runs", runs, 2)
    tau = _positive("tau", tau)
    duration = _positive("duration", duration)
    dt = _positive("dt", dt)
    save_every = _positive("save_every", save_every)
    intervals, substeps = duration / save_every, save_every / dt
    if abs(intervals - round(intervals)) > 1e-9 * intervals or abs(substeps - round(substeps)) > 1e-9 * substeps:
        raise ValueError(
            "duration/save_every and save_every/dt must be integers (saves on steps); "
            f"got duration = {duration}, save_every = {save_every}, dt = {dt}"
        )
    abscissa = np.array([np.max(np.linalg.eigvals(w).real) for w in W])
    if np.any(abscissa >= 1.0):
        raise ValueError(f"every matrix needs max Re λ < 1 (a stationary state); got max Re λ = {abscissa.max():.6g}")
    burn_in = 10.0 / (1.0 - float(abscissa.max())) if burn_in is None else _positive("burn_in", burn_in)
    n = W.shape[1]
    t1 = (burn_in + duration) * tau
    base = as_key(key)
    traces = np.empty((W.shape[0], runs))
    for b, matrix in enumerate(W):
        model = LinearNetwork(M=matrix, h=0.0, tau=tau)
        for r, run_key in enumerate(jax.random.split(jax.random.fold_in(base, b), runs)):
            run = simulate_sde(
                model,
                np.zeros(n),
                t1,
                key=run_key,
                dt=dt * tau,
                eta=UNIT_NOISE_ETA,
                n_save=int(round(intervals)) + 1,
                burn_in=burn_in * tau,
            )
            if int(run.status) != SOLVED:
                raise RuntimeError(f"SDE run {r} of matrix {b} did not finish (status {int(run.status)})")
            traces[b, r] = float(np.mean(np.asarray(run.states) ** 2))  # tr(C)/n about the exact mean 0
    estimate = traces.mean(axis=1)
    stderr = traces.std(axis=1, ddof=1) / np.sqrt(runs)
    return (float(estimate[0]), float(stderr[0])) if single else (estimate, stderr)


# ---------------------------------------------------------------------------------- ensembles
QUANTITIES: tuple[str, ...] = ("total", "normal", "nonnormal")


@dataclass(frozen=True)
class BalancedAmplification:
    r"""Amplification of an ensemble of balanced E/I matrices at several bulk radii (:func:`balanced_amplification`).

    Per matrix (``(R, m)`` arrays, radius by matrix): ``spectral_radius`` (``max |lambda|``),
    ``abscissa`` (``max Re lambda``) and the Lyapunov values ``total``, ``normal``, ``nonnormal``
    (NaN where ``abscissa >= 1``, no stationary state). Simulation estimates for the first ``k``
    matrices (``(R, k)``): ``simulated_total``/``simulated_normal`` with standard errors
    ``*_error`` (NaN where unstable).
    """

    radii: np.ndarray
    spectral_radius: np.ndarray
    abscissa: np.ndarray
    total: np.ndarray
    normal: np.ndarray
    nonnormal: np.ndarray
    simulated_total: np.ndarray
    simulated_total_error: np.ndarray
    simulated_normal: np.ndarray
    simulated_normal_error: np.ndarray
    zero_row_sums: bool
    n: int

    @property
    def stable(self) -> np.ndarray:
        """``(R, m)``: ``max Re lambda < 1``."""
        return self.abscissa < 1.0

    @property
    def simulated_nonnormal(self) -> np.ndarray:
        """``simulated_total / simulated_normal`` (``(R, k)``)."""
        return self.simulated_total / self.simulated_normal

    @property
    def simulated_nonnormal_error(self) -> np.ndarray:
        """Standard error of the ratio (relative errors added in quadrature; independent runs)."""
        relative = np.hypot(
            self.simulated_total_error / self.simulated_total, self.simulated_normal_error / self.simulated_normal
        )
        return self.simulated_nonnormal * relative

    def theory(self, quantity: str, *, simulated_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation over the stable matrices at each radius (``(R,)`` each).

        ``simulated_only=True``: over the simulated matrices only (the like-for-like reference
        of :meth:`simulation`). NaN where no matrix is stable.
        """
        values = getattr(self, _quantity(quantity))
        if simulated_only:
            values = values[:, : self.simulated_total.shape[1]]
        return _nan_mean(values), _nan_std(values)

    def simulation(self, quantity: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean over the simulated stable matrices and its standard error ``sqrt(sum err^2)/k`` (``(R,)``)."""
        name = _quantity(quantity)
        values = getattr(self, f"simulated_{name}")
        errors = getattr(self, f"simulated_{name}_error")
        count = np.sum(np.isfinite(values), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            error = np.sqrt(np.nansum(errors**2, axis=1)) / count
        return _nan_mean(values), np.where(count > 0, error, np.nan)


def _quantity(quantity: str) -> str:
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}; got {quantity!r}")
    return quantity


def _nan_mean(values: np.ndarray) -> np.ndarray:
    count = np.sum(np.isfinite(values), axis=1)
    return np.where(count > 0, np.nansum(values, axis=1) / np.maximum(count, 1), np.nan)


def _nan_std(values: np.ndarray) -> np.ndarray:
    mean = _nan_mean(values)
    count = np.sum(np.isfinite(values), axis=1)
    spread = np.nansum((values - mean[:, None]) ** 2, axis=1) / np.maximum(count - 1, 1)
    return np.where(count > 0, np.sqrt(spread), np.nan)


def balanced_amplification(
    radii: Sequence[float] | ArrayLike,
    *,
    n: int = 200,
    n_matrices: int = 8,
    seed: int = 0,
    zero_row_sums: bool = False,
    excitatory_fraction: float = 0.5,
    connection_probability: float = 0.2,
    n_simulated: int = 2,
    runs: int = 4,
    duration: float = 200.0,
    dt: float = 0.01,
    tau: float = 0.01,
) -> BalancedAmplification:
    r"""Total, normal and non-normal amplification versus bulk spectral radius, theory and simulation.

    For every radius ``R`` in ``radii`` and ``j < n_matrices``: ``W = R W_j`` with ``W_j`` the
    unit-radius :func:`balanced_ei_matrix` drawn from ``fold_in(PRNGKey(seed), j)`` (the same
    draws at every radius); its spectrum and :func:`organics.nonnormal.noise_amplification`
    (Lyapunov covariance). The first ``n_simulated`` stable matrices per radius are also
    simulated (:func:`simulated_noise_amplification`, ``runs`` runs of ``duration`` time
    constants each, step ``dt`` time constants; SDE keys from ``fold_in(PRNGKey(seed + 1), i)``
    at radius index ``i``) on ``W`` and on :func:`normal_counterpart` ``(W)``, which estimates
    ``total`` and ``normal``. All radii share one burn-in (ten slowest relaxation times of the
    slowest simulated matrix), so the SDE program compiles once. ``n_simulated = 0`` skips the
    simulations.

    Raises ``ValueError`` (before any computation) for bad radii, ``n < 2``, ``n_matrices < 1``, ``seed < 0``,
    ``n_simulated`` outside ``[0, n_matrices]``, ``runs < 2``, or non-positive ``duration``,
    ``dt`` or ``tau``.
    """
    R = _radii(radii)
    n = _size(n)
    n_matrices = _count("n_matrices", n_matrices, 1)
    seed = _count("seed", seed, 0)
    n_simulated = _count("n_simulated", n_simulated, 0)
    if n_simulated > n_matrices:
        raise ValueError(f"n_simulated must be <= n_matrices = {n_matrices}; got {n_simulated}")
    runs = _count("runs", runs, 2)
    for name, value in (("duration", duration), ("dt", dt), ("tau", tau)):
        _positive(name, value)
    _open_unit("excitatory_fraction", excitatory_fraction)
    _open_unit("connection_probability", connection_probability)
    options = dict(
        excitatory_fraction=excitatory_fraction,
        connection_probability=connection_probability,
        zero_row_sums=zero_row_sums,
    )
    base = jax.random.PRNGKey(seed)
    unit = np.stack([balanced_ei_matrix(jax.random.fold_in(base, j), n, 1.0, **options) for j in range(n_matrices)])
    unit_eigenvalues = np.linalg.eigvals(unit)  # (m, n); W = R W_j has eigenvalues R lambda_j
    spectral_radius = R[:, None] * np.max(np.abs(unit_eigenvalues), axis=1)[None, :]
    abscissa = R[:, None] * np.max(unit_eigenvalues.real, axis=1)[None, :]
    split = np.full((3, R.size, n_matrices), np.nan)
    for i, r in enumerate(R):
        for j in range(n_matrices):
            if abscissa[i, j] < 1.0:
                amplification = noise_amplification(r * unit[j], tau=tau)
                split[:, i, j] = amplification.total, amplification.normal, amplification.nonnormal
    simulated = np.full((4, R.size, n_simulated), np.nan)
    chosen = abscissa[:, :n_simulated] < 1.0
    if n_simulated > 0 and np.any(chosen):
        burn_in = 10.0 / (1.0 - float(np.max(abscissa[:, :n_simulated][chosen])))
        sde_base = jax.random.PRNGKey(seed + 1)
        for i, r in enumerate(R):
            js = np.flatnonzero(chosen[i])
            if js.size == 0:
                continue
            batch = np.concatenate([r * unit[js], np.stack([normal_counterpart(r * unit[j]) for j in js])])
            estimate, stderr = simulated_noise_amplification(
                batch,
                key=jax.random.fold_in(sde_base, i),
                tau=tau,
                runs=runs,
                duration=duration,
                burn_in=burn_in,
                dt=dt,
            )
            k = js.size
            simulated[:, i, js] = estimate[:k], stderr[:k], estimate[k:], stderr[k:]
    return BalancedAmplification(
        radii=R,
        spectral_radius=spectral_radius,
        abscissa=abscissa,
        total=split[0],
        normal=split[1],
        nonnormal=split[2],
        simulated_total=simulated[0],
        simulated_total_error=simulated[1],
        simulated_normal=simulated[2],
        simulated_normal_error=simulated[3],
        zero_row_sums=bool(zero_row_sums),
        n=n,
    )
