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
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .fixed_points import DEFAULT_TOLERANCE, newton_fixed_point
from .simulate import simulate
from .stability import jacobian

__all__ = [
    "Branch",
    "Crossing",
    "OscillationSweep",
    "follow_fixed_point",
    "locate_crossing",
    "leading_eigenvalue_of",
    "sweep_oscillations",
]


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
            f"Re λ* does not change sign on [{lo:.12g}, {hi:.12g}]: Re λ*(lo) = {f_lo:.6g}, Re λ*(hi) = {f_hi:.6g}"
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


@dataclass(frozen=True)
class OscillationSweep:
    """Simulations of every parameter value of a sweep (NumPy arrays).

    ``values`` ``(k,)`` parameters (SI units); ``ts`` ``(s,)`` save times (s); ``states``
    ``(k, s, d)``; ``amplitude`` ``(k, d)`` peak-to-peak of each component over the last
    ``window`` seconds (units of the state; NaN where the fixed point was not found or the
    run failed); ``window`` (s); ``resolution``: ``rtol * max(1, max ||x*||)``, the size below
    which an amplitude is integration error rather than dynamics (units of the state).
    """

    values: np.ndarray
    ts: np.ndarray
    states: np.ndarray
    amplitude: np.ndarray
    window: float
    resolution: float


def _stack(models: Sequence[Any]):
    """One model whose array leaves carry a leading batch axis (other leaves from the first model)."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves) if eqx.is_array(leaves[0]) else leaves[0], *models)


def sweep_oscillations(
    build_model: Callable[[float], Any],
    branch: Branch,
    *,
    duration: float,
    window: float | None = None,
    kick: float = 0.1,
    n_save: int = 2001,
    rtol: float = 1e-8,
) -> OscillationSweep:
    r"""Simulate every value of ``branch`` from ``x* + kick max(1, ||x*||) e_0`` for ``duration`` seconds.

    ``x*`` is the branch's fixed point at that value (unconverged points get NaN amplitudes);
    the kick perturbs the first state component. The models are simulated together
    (:func:`organics.simulate.simulate`, vmapped; Tsit5 with relative tolerance ``rtol``, absolute
    ``rtol/100``, step cap ``min(tau)``). ``amplitude`` is
    ``max - min`` of each component over the last ``window`` seconds (default a quarter of
    ``duration``): the limit-cycle amplitude when the fixed point is unstable and the cycle has
    been reached, or what is left of the damped oscillation, ``~ exp(Re lambda* t)``, when it
    is stable. Raises ``ValueError`` for ``duration <= 0``, ``window`` outside
    ``(0, duration]``, ``kick <= 0``, ``rtol <= 0`` or ``n_save < 16``.
    """
    if not np.isfinite(duration) or duration <= 0:
        raise ValueError(f"duration must be > 0 seconds; got {duration}")
    window = 0.25 * duration if window is None else float(window)
    if not 0 < window <= duration:
        raise ValueError(f"window must be in (0, duration] = (0, {duration}] seconds; got {window}")
    if not np.isfinite(kick) or kick <= 0:
        raise ValueError(f"kick must be > 0 (relative size of the initial perturbation); got {kick}")
    if not np.isfinite(rtol) or rtol <= 0:
        raise ValueError(f"rtol must be > 0; got {rtol}")
    if isinstance(n_save, bool) or not isinstance(n_save, (int, np.integer)) or n_save < 16:
        raise ValueError(f"n_save must be an integer >= 16; got {n_save!r}")
    models = [build_model(float(v)) for v in branch.values]
    starts = np.where(np.isfinite(branch.states), branch.states, 0.0).copy()
    starts[:, 0] += kick * np.maximum(1.0, np.linalg.norm(starts, axis=1))
    dtmax = float(min(float(jnp.min(m.time_constants())) for m in models))
    run = eqx.filter_vmap(
        lambda m, x: simulate(m, x, duration, n_save=int(n_save), dtmax=dtmax, rtol=rtol, atol=rtol / 100),
        in_axes=(eqx.if_array(0), 0),
    )
    trajectories = run(_stack(models), jnp.asarray(starts))
    ts = np.asarray(trajectories.ts[0])
    states = np.asarray(trajectories.states)
    last = ts >= ts[-1] - window
    amplitude = np.ptp(states[:, last, :], axis=1)
    failed = ~branch.converged | (np.asarray(trajectories.status) != 0)
    amplitude[failed] = np.nan
    scale = float(np.nanmax(np.linalg.norm(np.where(branch.converged[:, None], branch.states, np.nan), axis=1)))
    return OscillationSweep(
        values=branch.values.copy(),
        ts=ts,
        states=states,
        amplitude=amplitude,
        window=window,
        resolution=rtol * max(1.0, scale if np.isfinite(scale) else 1.0),
    )
