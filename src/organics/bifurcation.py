r"""One-parameter sweeps of small models: fixed-point continuation and the stability crossing.

``build_model(p)`` is any callable returning a model with ``vector_field``, ``residual`` and
``time_constants`` (ORGaNICs circuits, :class:`~organics.models.rate.LinearNetwork`,
:class:`~organics.models.rate.RateNetwork`, e.g. ``lambda tau_i: dayan_abbott_ei(tau_i)``).

* :func:`follow_fixed_point` -- natural-parameter continuation: at each value Newton
  (:func:`~organics.fixed_points.newton_fixed_point`) starts from the previous converged
  solution; records the state, convergence, the Jacobian spectrum and the leading eigenvalue
  ``lambda*`` (largest real part; of a conjugate pair the member with ``Im >= 0``).
* :func:`locate_crossing` -- bisection on the parameter for ``Re lambda* = 0`` along the
  followed branch: a Hopf point (``lambda* = +- i omega``, frequency ``omega/(2 pi)`` Hz) or a
  fold/real crossing (``lambda* = 0``).

Newton is compiled once per model structure (``eqx.filter_jit``), so a sweep of models that
differ only in array values compiles once. Eigenvalues are in 1/s (time constants in seconds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .fixed_points import DEFAULT_TOLERANCE, newton_fixed_point
from .stability import jacobian

__all__ = ["Branch", "Crossing", "follow_fixed_point", "locate_crossing", "leading_eigenvalue_of"]


@eqx.filter_jit
def _newton_and_spectrum(model, x0, tol, max_steps):
    point = newton_fixed_point(model, x0, tol=tol, max_steps=max_steps)
    J = jacobian(model, point.state)
    return point, jnp.linalg.eigvals(J)


def leading_eigenvalue_of(values: ArrayLike) -> complex:
    """The eigenvalue with the largest real part; of a conjugate pair, the member with ``Im >= 0``."""
    values = np.asarray(values, dtype=complex)
    best = np.max(values.real)
    ties = values[np.isclose(values.real, best, rtol=1e-12, atol=1e-12 * max(1.0, float(np.max(np.abs(values)))))]
    return complex(ties[np.argmax(ties.imag)])


@dataclass(frozen=True)
class Branch:
    """A followed fixed-point branch (NumPy arrays, one row per parameter value).

    Attributes
    ----------
    values: ``(k,)`` parameter values.
    states: ``(k, n)`` fixed points (the Newton result, also where it did not converge).
    converged: ``(k,)`` Newton convergence flags.
    residuals: ``(k,)`` ``||tau f(x*)||``.
    eigenvalues: ``(k, n)`` complex Jacobian eigenvalues (1/s), sorted by decreasing real part.
    leading: ``(k,)`` complex leading eigenvalue ``lambda*``.
    """

    values: np.ndarray
    states: np.ndarray
    converged: np.ndarray
    residuals: np.ndarray
    eigenvalues: np.ndarray
    leading: np.ndarray

    @property
    def stable(self) -> np.ndarray:
        """``Re lambda* < 0`` (and converged)."""
        return self.converged & (self.leading.real < 0)


@dataclass(frozen=True)
class Crossing:
    """Where ``Re lambda*`` of the followed fixed point crosses zero.

    Attributes
    ----------
    parameter: critical parameter value (midpoint of the final bracket).
    bracket: final ``(lo, hi)`` bracket.
    eigenvalue: ``lambda*`` at ``parameter`` (1/s; ``Im >= 0``).
    frequency: ``|Im lambda*| / (2 pi)`` in Hz (the Hopf frequency; 0 at a fold).
    hopf: True for a complex pair crossing (Hopf), False for a real eigenvalue (fold-type).
    state: fixed point at ``parameter``.
    iterations: bisection steps.
    """

    parameter: float
    bracket: tuple[float, float]
    eigenvalue: complex
    frequency: float
    hopf: bool
    state: np.ndarray
    iterations: int


def _solve(build_model, parameter, x0, tol, max_steps):
    model = build_model(parameter)
    point, values = _newton_and_spectrum(model, jnp.asarray(x0, dtype=float), tol, max_steps)
    values = np.asarray(values, dtype=complex)
    values = values[np.lexsort((-values.imag, -values.real))]
    return point, values


def follow_fixed_point(
    build_model: Callable[[Any], Any],
    values: Sequence[float] | ArrayLike,
    x0: ArrayLike,
    *,
    tol: float = DEFAULT_TOLERANCE,
    max_steps: int = 100,
) -> Branch:
    r"""Follow a fixed point along ``values`` by natural-parameter continuation.

    For each value (in the given order) build the model, run Newton from the last *converged*
    state (``x0`` for the first value and until one converges), record the result and the
    eigenvalues of the Jacobian there. Non-converged points are recorded with
    ``converged = False`` and do not seed the next step. Raises ``ValueError`` for an empty or
    non-1-D ``values`` or a non-finite / non-1-D ``x0``.
    """
    params = np.asarray(values, dtype=float)
    if params.ndim != 1 or params.size < 1:
        raise ValueError(f"values must be a non-empty 1-D sequence of parameter values; got shape {params.shape}")
    start = np.asarray(x0, dtype=float)
    if start.ndim != 1 or not np.all(np.isfinite(start)):
        raise ValueError(f"x0 must be a finite flat state of shape (state_size,); got shape {start.shape}")
    seed = start
    states, converged, residuals, spectra, leading = [], [], [], [], []
    for p in params:
        point, spectrum = _solve(build_model, float(p), seed, tol, max_steps)
        state = np.asarray(point.state)
        ok = bool(point.converged)
        if ok:
            seed = state
        states.append(state)
        converged.append(ok)
        residuals.append(float(point.residual))
        spectra.append(spectrum)
        leading.append(leading_eigenvalue_of(spectrum))
    return Branch(
        values=params,
        states=np.stack(states),
        converged=np.array(converged),
        residuals=np.array(residuals),
        eigenvalues=np.stack(spectra),
        leading=np.array(leading, dtype=complex),
    )


def locate_crossing(
    build_model: Callable[[Any], Any],
    lo: float,
    hi: float,
    x0: ArrayLike,
    tol: float = 1e-10,
    *,
    newton_tol: float = DEFAULT_TOLERANCE,
    max_steps: int = 100,
    max_iter: int = 200,
) -> Crossing:
    r"""Bisection on the parameter for ``Re lambda*(p) = 0`` along the followed fixed point.

    The fixed point is found by Newton at ``lo`` (from ``x0``), at ``hi`` (from the ``lo``
    solution) and at every midpoint (from the solution at the nearer bracket end, i.e.
    continuation). Stops when ``hi - lo <= tol * max(|lo|, |hi|)`` (``tol`` is relative;
    absolute for a bracket around 0) and returns the midpoint. ``hopf`` is True when
    ``|Im lambda*| > 1e-9 * max(1, |lambda*|)`` (a complex pair crosses: Hopf, frequency
    ``|Im lambda*|/(2 pi)`` Hz); otherwise a real eigenvalue crosses (fold-type, frequency 0).

    Raises ``ValueError`` when ``lo >= hi``, ``tol <= 0``, Newton fails at a probe, or
    ``Re lambda*`` does not change sign on ``[lo, hi]`` (the message gives both values).
    """
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite lo < hi; got lo = {lo}, hi = {hi}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be > 0; got {tol}")
    start = np.asarray(x0, dtype=float)
    if start.ndim != 1 or not np.all(np.isfinite(start)):
        raise ValueError(f"x0 must be a finite flat state of shape (state_size,); got shape {start.shape}")

    def probe(p, seed):
        point, spectrum = _solve(build_model, p, seed, newton_tol, max_steps)
        if not bool(point.converged):
            raise ValueError(
                f"Newton did not converge at parameter {p:.12g} (residual {float(point.residual):.3g}); "
                "narrow [lo, hi] or give a better x0"
            )
        return np.asarray(point.state), leading_eigenvalue_of(spectrum)

    x_lo, lam_lo = probe(lo, start)
    x_hi, lam_hi = probe(hi, x_lo)
    f_lo, f_hi = lam_lo.real, lam_hi.real
    if f_lo == 0.0:
        hi, x_hi, lam_hi = lo, x_lo, lam_lo
    elif f_hi == 0.0:
        lo, x_lo, lam_lo = hi, x_hi, lam_hi
    elif np.sign(f_lo) == np.sign(f_hi):
        raise ValueError(
            f"Re λ* does not change sign on [{lo:.12g}, {hi:.12g}]: "
            f"Re λ*(lo) = {f_lo:.6g}, Re λ*(hi) = {f_hi:.6g}"
        )
    iterations = 0
    while hi - lo > tol * max(abs(lo), abs(hi), 1e-300) and iterations < max_iter:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        x_mid, lam_mid = probe(mid, x_lo)
        iterations += 1
        if lam_mid.real == 0.0:
            lo = hi = mid
            x_lo = x_hi = x_mid
            break
        if np.sign(lam_mid.real) == np.sign(f_lo):
            lo, x_lo = mid, x_mid
        else:
            hi, x_hi = mid, x_mid
    critical = 0.5 * (lo + hi)
    state, lam = probe(critical, x_lo)
    hopf = abs(lam.imag) > 1e-9 * max(1.0, abs(lam))
    return Crossing(
        parameter=critical,
        bracket=(lo, hi),
        eigenvalue=lam,
        frequency=abs(lam.imag) / (2.0 * np.pi) if hopf else 0.0,
        hopf=bool(hopf),
        state=state,
        iterations=iterations,
    )
