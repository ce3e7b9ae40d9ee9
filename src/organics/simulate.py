r"""Integration of circuit models and classification of their trajectories.

Every model exposes ``vector_field(t, x, args)`` (``dx/dt`` in 1/s, time in seconds) and
``time_constants()`` (seconds, one per state component), so one integrator serves ORGaNICs,
linear and nonlinear rate networks alike; a time-varying input is simply a ``vector_field``
that depends on ``t``.

:func:`simulate`
    One Diffrax solve of ``dx/dt = f(t, x)`` from ``x0`` over ``[t0, t1]``, saved at ``n_save``
    equally spaced times (or at explicit times). Jittable and vmappable over a batched model and
    batched ``x0`` (``eqx.filter_vmap``). A run that leaves the box ``max|x_i| <= bound`` (or
    produces a non-finite state) is stopped by a Diffrax :class:`~diffrax.Event` and reported
    through ``status`` (``throw=False``): it never raises and never poisons a batch.

:func:`simulate_batch`
    :func:`simulate` for many circuits in one compiled call, vmapped in cache-sized groups
    (a single ``vmap`` over a large batch of ``N = 100`` circuits is memory-bound and slower
    per circuit than a loop; see :func:`auto_group_size`).

:func:`classify_trajectory` / :func:`classify_batch`
    The ground truth of the phase-diagram scans: integrate in chunks of ``t_chunk`` seconds
    (default ``100 * max(tau)``) until the trajectory is recognised as a stable fixed point, a
    limit cycle or diverging, or ``max_chunks`` chunks have passed (unresolved). The rules, and
    how they fix the research code's weaknesses (reference spec §4, §10), are documented on
    :func:`classify_batch`. Every decision is returned with its evidence in a
    :class:`Classification`.

Status codes of a solve (``Trajectory.status``, ``Classification.solver_status``):
``SOLVED = 0``, ``DIVERGED = 1`` (left the bound or became non-finite; the run stops there),
``MAX_STEPS_REACHED = 2``, ``SOLVER_FAILED = 3`` (any other Diffrax failure, e.g. minimum step).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from functools import partial
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from ._validation import is_traced
from .models.organics import ORGaNICs, has_uniform_weights
from .stability import eigenvalues, has_uniform_pool, jacobian, uniform_pool_eigenvalues, uniform_pool_solve

__all__ = [
    "SOLVED",
    "DIVERGED",
    "MAX_STEPS_REACHED",
    "SOLVER_FAILED",
    "DEFAULT_BOUND",
    "Trajectory",
    "simulate",
    "simulate_batch",
    "auto_group_size",
    "Outcome",
    "UNRESOLVED",
    "DIVERGING",
    "STABLE_FIXED_POINT",
    "LIMIT_CYCLE",
    "Classification",
    "classify_trajectory",
    "classify_batch",
]

# ---------------------------------------------------------------------------------------------
# Status codes of one solve

SOLVED = 0
DIVERGED = 1
MAX_STEPS_REACHED = 2
SOLVER_FAILED = 3

#: Default bound on ``max_i |x_i|`` beyond which a run counts as diverging.
DEFAULT_BOUND = 1e6
#: Default ``max_steps`` of an adaptive solve (per chunk for the classifier).
DEFAULT_MAX_STEPS = 100_000


def _vector_field(t, x, args):
    """Diffrax vector field: ``args = (model, bound, projection)``."""
    return args[0].vector_field(t, x, None)


def _escaped(t, x, args, **kwargs):
    """Event condition: the state is non-finite or some ``|x_i|`` exceeds the bound."""
    del t, kwargs
    return jnp.any(~jnp.isfinite(x)) | (jnp.max(jnp.abs(x)) > args[1])


def _project(t, x, args):
    """Saved observable of the classifier: the state in the sketch basis, ``P x``."""
    del t
    return args[2] @ x


def _save_state(t, x, args):
    del t, args
    return x


def _status(result) -> Array:
    """Map a Diffrax ``RESULTS`` to the package status codes."""
    return jnp.where(
        result == diffrax.RESULTS.successful,
        SOLVED,
        jnp.where(
            result == diffrax.RESULTS.event_occurred,
            DIVERGED,
            jnp.where(result == diffrax.RESULTS.max_steps_reached, MAX_STEPS_REACHED, SOLVER_FAILED),
        ),
    ).astype(jnp.int32)


# ---------------------------------------------------------------------------------------------
# simulate


class Trajectory(eqx.Module):
    """A simulated trajectory.

    Attributes
    ----------
    ts:
        Save times, shape ``(n_save,)``, in seconds.
    states:
        States at ``ts``, shape ``(n_save, state_size)``. Rows after the run stopped early
        (``status != SOLVED``) are NaN: the solver never reached those times.
    status:
        ``SOLVED`` (0), ``DIVERGED`` (1: ``max|x| > bound`` or a non-finite state, the solve
        stops at the end of that step), ``MAX_STEPS_REACHED`` (2) or ``SOLVER_FAILED`` (3).
    t_final:
        Time at which the solve stopped (``t1`` when ``SOLVED``; the divergence time, to within
        one step, when ``DIVERGED``), in seconds.
    final_state:
        State at ``t_final``.
    num_steps:
        Number of accepted and rejected steps taken.
    """

    ts: Array
    states: Array
    status: Array
    t_final: Array
    final_state: Array
    num_steps: Array


def _concrete_float(name: str, value: Any) -> float | None:
    """The value as a float when it is concrete (``None`` for tracers)."""
    if is_traced(value):
        return None
    array = np.asarray(value, dtype=float)
    if array.ndim != 0:
        raise ValueError(f"{name} must be a scalar; got shape {array.shape}")
    if not np.isfinite(array):
        raise ValueError(f"{name} must be finite; got {float(array)}")
    return float(array)


def _check_tolerance(name: str, value: Any) -> None:
    v = _concrete_float(name, value)
    if v is not None and v <= 0:
        raise ValueError(f"{name} must be > 0; got {v}")


def _checked_state(x0: Any) -> Array:
    """A flat, finite initial state (traced states pass unchecked)."""
    if is_traced(x0):
        return jnp.asarray(x0, dtype=float)
    x0_np = np.asarray(x0, dtype=float)
    if x0_np.ndim != 1:
        raise ValueError(f"x0 must be a flat state of shape (state_size,); got shape {x0_np.shape}")
    if not np.all(np.isfinite(x0_np)):
        raise ValueError("x0 must be finite (no NaN or inf)")
    return jnp.asarray(x0_np)


def _checked_max_steps(max_steps: Any, t0: float | None, t1: float | None, dt: float | None) -> int:
    """``max_steps`` as given, or the step count of a fixed-step run over ``[t0, t1]``."""
    if max_steps is None:
        if t0 is None or t1 is None or dt is None:
            raise ValueError("max_steps must be given for a fixed-step run with traced t0, t1 or dt")
        max_steps = int(math.ceil((t1 - t0) / dt * (1.0 + 1e-12))) + 1
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer; got {max_steps!r}")
    return int(max_steps)


def simulate(
    model,
    x0: ArrayLike,
    t1: float | ArrayLike,
    *,
    t0: float | ArrayLike = 0.0,
    n_save: int = 1000,
    ts: ArrayLike | None = None,
    solver: diffrax.AbstractSolver | None = None,
    adaptive: bool = True,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    dt: float | None = None,
    dtmax: float | None = None,
    max_steps: int | None = None,
    bound: float = DEFAULT_BOUND,
) -> Trajectory:
    r"""Integrate ``dx/dt = model.vector_field(t, x)`` (1/s) from ``x(t0) = x0`` to ``t1`` (seconds).

    Parameters
    ----------
    model:
        Any model with ``vector_field(t, x, args)``; its ``t`` dependence carries time-varying input.
    x0:
        Initial flat state, shape ``(state_size,)``.
    t1, t0:
        End and start times in seconds, ``t1 > t0``.
    n_save:
        Number of equally spaced save times ``linspace(t0, t1, n_save)`` (>= 2; static).
    ts:
        Explicit save times (1-D, nondecreasing, within ``[t0, t1]``); overrides ``n_save``.
    solver:
        A Diffrax solver (default :class:`diffrax.Tsit5`, 5th-order explicit Runge-Kutta).
    adaptive:
        ``True``: ``PIDController(rtol, atol)`` (local error ``<= atol + rtol |x|``), with ``dt``
        as the initial step if given and steps capped at ``dtmax`` seconds if given (a cap of
        about the smallest time constant lets the solution settle onto a stable focus instead of
        jittering at the explicit method's stability boundary). ``False``: fixed steps of ``dt``
        seconds (required).
    max_steps:
        Step budget (static). Default ``100_000`` when adaptive and ``ceil((t1 - t0)/dt) + 1``
        for fixed steps (computed from concrete ``t0, t1, dt``; pass it explicitly under ``jit``).
    bound:
        The run stops with ``status = DIVERGED`` at the end of the first step with
        ``max_i |x_i| > bound`` or a non-finite entry (Diffrax :class:`~diffrax.Event`).

    Returns
    -------
    Trajectory
        Failures are reported in ``status``, never raised (``throw=False``). Jittable
        (``eqx.filter_jit``) and vmappable over a batched model and a batched ``x0``
        (``eqx.filter_vmap(simulate, in_axes=(eqx.if_array(0), 0, None))``).

    Raises
    ------
    ValueError
        Naming the parameter, for ``t1 <= t0``, ``n_save < 2``, ``dt <= 0``, a fixed-step run
        without ``dt``, bad tolerances or bad ``ts`` (checked when concrete).
    """
    if isinstance(n_save, bool) or not isinstance(n_save, (int, np.integer)):
        raise ValueError(f"n_save must be an integer >= 2; got {n_save!r}")
    if n_save < 2:
        raise ValueError(f"n_save must be >= 2 (the two ends of the interval); got {n_save}")
    t0_c = _concrete_float("t0", t0)
    t1_c = _concrete_float("t1", t1)
    if t0_c is not None and t1_c is not None and not t1_c > t0_c:
        raise ValueError(f"t1 must be > t0 = {t0_c}; got t1 = {t1_c}")
    if dt is not None:
        dt_c = _concrete_float("dt", dt)
        if dt_c is not None and dt_c <= 0:
            raise ValueError(f"dt must be > 0 seconds; got {dt_c}")
    elif not adaptive:
        raise ValueError("dt must be given (> 0 seconds) when adaptive=False")
    _check_tolerance("rtol", rtol)
    _check_tolerance("atol", atol)
    _check_tolerance("bound", bound)
    if dtmax is not None:
        _check_tolerance("dtmax", dtmax)
    if ts is not None:
        if not is_traced(ts):
            ts_np = np.asarray(ts, dtype=float)
            if ts_np.ndim != 1 or ts_np.size < 1 or not np.all(np.isfinite(ts_np)):
                raise ValueError(f"ts must be a finite 1-D array of save times; got shape {ts_np.shape}")
            if np.any(np.diff(ts_np) < 0):
                raise ValueError("ts must be nondecreasing")
            if t0_c is not None and t1_c is not None and (ts_np[0] < t0_c or ts_np[-1] > t1_c):
                raise ValueError(f"ts must lie within [t0, t1] = [{t0_c}, {t1_c}]")
        ts = jnp.asarray(ts, dtype=float)
    x0 = _checked_state(x0)
    if max_steps is None and adaptive:
        max_steps = DEFAULT_MAX_STEPS
    max_steps = _checked_max_steps(max_steps, t0_c, t1_c, None if dt is None else _concrete_float("dt", dt))
    solver = diffrax.Tsit5() if solver is None else solver
    as_array = lambda v: jnp.asarray(v, dtype=float)  # noqa: E731 - traced, so no recompiles
    return _simulate_jit(
        model,
        x0,
        as_array(t0),
        as_array(t1),
        ts,
        None if dt is None else as_array(dt),
        None if dtmax is None else as_array(dtmax),
        as_array(rtol),
        as_array(atol),
        as_array(bound),
        n_save=int(n_save),
        solver=solver,
        adaptive=bool(adaptive),
        max_steps=int(max_steps),
    )


@eqx.filter_jit
def _simulate_jit(model, x0, t0, t1, ts, dt, dtmax, rtol, atol, bound, *, n_save, solver, adaptive, max_steps):
    if ts is None:
        ts = t0 + (t1 - t0) * jnp.linspace(0.0, 1.0, n_save)
        ts = ts.at[-1].set(t1)
    if adaptive:
        controller = diffrax.PIDController(rtol=rtol, atol=atol, dtmax=dtmax)
    else:
        controller = diffrax.ConstantStepSize()
    return solve_to_trajectory(
        diffrax.ODETerm(_vector_field), solver, x0, t0, t1, dt, ts, (model, bound, None), controller, max_steps
    )


def solve_to_trajectory(terms, solver, x0, t0, t1, dt, ts, args, controller, max_steps) -> Trajectory:
    """One Diffrax solve saved at ``ts`` and at ``t1``, stopped when the state leaves the bound.

    Shared by the ODE (:func:`simulate`) and SDE (:func:`organics.sde.simulate_sde`) paths.
    ``args = (model, bound, extra)``; never raises (``throw=False``): the outcome is ``status``,
    and save times after an early stop hold NaN (no state was reached there).
    """
    saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts, fn=_save_state), diffrax.SubSaveAt(t1=True)])
    solution = diffrax.diffeqsolve(
        terms,
        solver,
        t0,
        t1,
        dt,
        x0,
        args=args,
        saveat=saveat,
        stepsize_controller=controller,
        event=diffrax.Event(_escaped),
        max_steps=max_steps,
        throw=False,
    )
    states = solution.ys[0]
    reached = jnp.isfinite(solution.ts[0])
    states = jnp.where(reached[:, None], states, jnp.nan)
    return Trajectory(
        ts=ts,
        states=states,
        status=_status(solution.result),
        t_final=solution.ts[1][0],
        final_state=solution.ys[1][0],
        num_steps=solution.stats["num_steps"],
    )


#: Working-set budget (bytes of model parameters) of one vmapped group; see :func:`auto_group_size`.
GROUP_BYTES = 2 << 20


def auto_group_size(models, batch: int) -> int:
    """Circuits per vmapped group: the largest power of two ``>= 2`` whose parameters fit ``GROUP_BYTES``.

    A plain ``vmap`` over a large batch of circuits with distinct dense weights streams every
    circuit's matrices through memory at each stage evaluation (160 MB per evaluation for 1024
    circuits of ``N = 100``); measured on 2 shared cores it was 2-5x *slower* per circuit than
    integrating the circuits one at a time. Groups that fit in cache (8 circuits of ``N = 100``)
    were ~1.5x faster per circuit than one at a time. Small models get large groups, which
    amortize the per-step overhead. Never 1: XLA compiles a vmap of size 1 as the unbatched
    program, whose rounding differs (see :func:`classify_batch`).
    """
    leaves = jax.tree.leaves(eqx.filter(models, eqx.is_array))
    per_circuit = max(1, sum(int(leaf.size) * leaf.dtype.itemsize for leaf in leaves) // max(batch, 1))
    group = 2
    while group * 2 * per_circuit <= GROUP_BYTES and group < 4096:
        group *= 2
    return group


def _map_groups(fn, models, arrays: tuple, group_size: int):
    """``fn(model_i, *arrays_i)`` for every trial: ``vmap`` within groups, ``lax.map`` across groups.

    The batch is padded (repeating trial 0) to a multiple of the group size so that every trial
    runs in a vmap of the same size; padded results are dropped.
    """
    batch = arrays[0].shape[0]
    group = max(1, min(group_size, max(batch, 2)))
    pad = (-batch) % group
    dynamic, static = eqx.partition(models, eqx.is_array)
    if pad:
        index = jnp.concatenate([jnp.arange(batch), jnp.zeros(pad, dtype=int)])
        dynamic = jax.tree.map(lambda leaf: leaf[index], dynamic)
        arrays = tuple(a[index] for a in arrays)

    def one(args):
        d, *rest = args
        return fn(eqx.combine(d, static), *rest)

    out = jax.lax.map(one, (dynamic, *arrays), batch_size=group)
    return jax.tree.map(lambda leaf: leaf[:batch], out) if pad else out


def simulate_batch(models, x0_batched: ArrayLike, t1: float, *, group_size: int | None = None, **kwargs) -> Trajectory:
    """:func:`simulate` for a batch of circuits in one compiled call (fields stacked on axis 0).

    ``models`` is one model whose array leaves all have the leading batch axis ``B`` of
    ``x0_batched`` (shape ``(B, state_size)``); ``kwargs`` are those of :func:`simulate` (the same
    for every circuit). Circuits are vmapped in groups of ``group_size`` (default
    :func:`auto_group_size`) and the groups run one after the other (``jax.lax.map`` with
    ``batch_size``): see :func:`auto_group_size` for why this beats one big ``vmap``. A
    diverging circuit only sets its own ``status``.
    """
    x0 = jnp.asarray(x0_batched, dtype=float)
    if x0.ndim != 2:
        raise ValueError(f"x0_batched must have shape (batch, state_size); got shape {tuple(x0.shape)}")
    batch = _batch_size(models, np.zeros((x0.shape[0], 0)))
    group_size = auto_group_size(models, batch) if group_size is None else _positive_int("group_size", group_size)
    # The shared arguments are Python scalars, static under jit: simulate() checks them while
    # tracing and raises the same ValueError as for one circuit.
    return _simulate_batch_jit(models, x0, t1, group_size, tuple(sorted(kwargs.items())))


@eqx.filter_jit
def _simulate_batch_jit(models, x0, t1, group_size, items):
    kwargs = dict(items)
    return _map_groups(lambda m, x: simulate(m, x, t1, **kwargs), models, (x0,), group_size)


# ---------------------------------------------------------------------------------------------
# Classification


class Outcome(enum.IntEnum):
    """Trajectory outcomes. The codes match the research code's ``condition`` (spec §4)."""

    UNRESOLVED = 0
    DIVERGING = 1
    STABLE_FIXED_POINT = 2
    LIMIT_CYCLE = 3


UNRESOLVED = Outcome.UNRESOLVED
DIVERGING = Outcome.DIVERGING
STABLE_FIXED_POINT = Outcome.STABLE_FIXED_POINT
LIMIT_CYCLE = Outcome.LIMIT_CYCLE

_ACTIVE = -1


class Classification(eqx.Module):
    r"""Outcome of :func:`classify_trajectory` and the evidence behind it (stacked by :func:`classify_batch`).

    No field is NaN (except the spectral fields of trials whose spectrum was skipped, see
    ``spectrum_at_end``); "undefined" is ``inf`` (times, spreads, distances) or 0 (period, amplitude).

    Attributes
    ----------
    outcome:
        :class:`Outcome` code: ``UNRESOLVED`` 0, ``DIVERGING`` 1, ``STABLE_FIXED_POINT`` 2,
        ``LIMIT_CYCLE`` 3.
    final_state:
        Last state reached (the end point of the last chunk; for a diverging run the first
        state beyond the bound, or the start of the last chunk if the solver produced no finite
        state).
    final_time:
        Time of ``final_state`` (s).
    time_simulated:
        ``final_time - t0`` (s).
    n_chunks:
        Number of chunks integrated.
    velocity:
        ``||tau * f(x)||_2`` at ``final_state`` (units of the state: ``f`` in 1/s times the time
        constants in s).
    relative_velocity:
        ``velocity / max(1, ||x||_2)`` (dimensionless), the fixed-point test statistic.
    newton_distance:
        ``||J^{-1} f(x)||_2`` at ``final_state`` (units of the state): the linearised distance
        to the nearest equilibrium; ``inf`` when ``J`` is singular.
    leading_real, leading_imag:
        ``Re lambda*`` and ``|Im lambda*|`` (1/s) of the Jacobian eigenvalue with the largest real
        part at ``final_state``.
    leading_real_tau:
        ``Re lambda* * max(tau)`` (dimensionless).
    tau_max:
        ``max(tau)`` (s), the time unit of the classifier.
    period:
        Mean period (s) of the oscillation in the latest chunk (0 if fewer than 2 mean crossings).
        This and the next five fields are measured from the second chunk on: the first is not
        sampled (it holds the transient, which rule 3 of :func:`classify_batch` never judges), so a
        trial decided in its first chunk has the undefined values.
    period_spread:
        ``std / mean`` of the periods in the latest chunk (``inf`` if fewer than 2 periods).
    amplitude:
        Mean peak-to-peak amplitude (units of the state) of the observable per period (0 if none).
    amplitude_spread:
        ``std / mean`` of the per-period amplitudes (``inf`` if undefined).
    amplitude_drift:
        ``|fitted change of the amplitude across the chunk| / mean`` (``inf`` if undefined).
    n_periods:
        Number of complete periods in the latest chunk.
    divergence_time:
        Time (s) at which the run left ``max|x_i| <= bound`` or became non-finite (to within
        one step), ``inf`` unless ``DIVERGING``.
    solver_status:
        Status code of the last chunk's solve (``SOLVED``, ``DIVERGED``, ``MAX_STEPS_REACHED``,
        ``SOLVER_FAILED``).
    eigenvalues:
        All Jacobian eigenvalues (1/s, complex, shape ``(state_size,)``) at ``final_state``, in
        the order of ``numpy.linalg.eig`` (for circuits with a uniform normalization pool, that of
        :func:`~organics.stability.uniform_pool_eigenvalues`); ``None`` unless requested with
        ``keep_eigenvalues``.
    """

    outcome: Array
    final_state: Array
    final_time: Array
    time_simulated: Array
    n_chunks: Array
    velocity: Array
    relative_velocity: Array
    newton_distance: Array
    leading_real: Array
    leading_imag: Array
    leading_real_tau: Array
    tau_max: Array
    period: Array
    period_spread: Array
    amplitude: Array
    amplitude_spread: Array
    amplitude_drift: Array
    n_periods: Array
    divergence_time: Array
    solver_status: Array
    eigenvalues: Array | None = None


@dataclasses.dataclass(frozen=True)
class _ChunkConfig:
    """Static (hashable) settings of the chunk integrator; one compilation per distinct value."""

    n_samples: int
    solver: Any
    rtol: float
    atol: float
    bound: float
    max_steps: int
    period_rtol: float
    amplitude_rtol: float
    drift_tol: float
    min_periods: int
    min_amplitude: float


def _parabolic_extremum(s: Array, i: Array) -> Array:
    """Value of the parabola through ``s[i-1], s[i], s[i+1]`` at its vertex (sample value if degenerate)."""
    n = s.shape[0]
    i = jnp.clip(i, 1, n - 2)
    a, b, c = s[i - 1], s[i], s[i + 1]
    curvature = a - 2.0 * b + c
    ok = curvature != 0
    offset = jnp.where(ok, 0.5 * (a - c) / jnp.where(ok, curvature, 1.0), 0.0)
    ok = ok & (jnp.abs(offset) <= 1.0)
    return jnp.where(ok, b - 0.25 * (a - c) * offset, b)


def _cycle_statistics(ts: Array, P: Array, valid: Array, scale: Array, cfg: _ChunkConfig) -> dict[str, Array]:
    """Period and amplitude statistics of one chunk from its sketched samples ``P`` (``(n, k)``).

    Observable: ``s(t) = (P x(t) - mean) . u`` with ``u`` the principal axis of the chunk's
    samples in the sketch space, i.e. the state projected on its first principal component
    (within the sketch). Periods are the intervals between upward crossings of the mean
    (linear interpolation between samples); amplitudes are ``max - min`` of ``s`` over each
    complete period, with a parabolic refinement of the sampled extrema.
    """
    n = ts.shape[0]
    all_valid = jnp.all(valid)
    P = jnp.where(valid[:, None], P, 0.0)
    times = jnp.where(valid, ts, 0.0)
    centred = P - jnp.mean(P, axis=0)
    _, axes = jnp.linalg.eigh(centred.T @ centred)
    u = axes[:, -1]
    u = u * jnp.where(u[jnp.argmax(jnp.abs(u))] < 0, -1.0, 1.0)
    s = centred @ u

    s0, s1 = s[:-1], s[1:]
    up = (s0 < 0) & (s1 >= 0)
    crossing = times[:-1] + (-s0 / jnp.where(up, s1 - s0, 1.0)) * (times[1:] - times[:-1])
    m = jnp.sum(up)
    order = jnp.sort(jnp.where(up, jnp.arange(n - 1), n - 1))
    crossings = crossing[jnp.minimum(order, n - 2)]
    n_periods = jnp.maximum(m - 1, 0)
    periods = crossings[1:] - crossings[:-1]
    pmask = jnp.arange(n - 2) < n_periods
    count = jnp.maximum(n_periods, 1)
    period = jnp.sum(jnp.where(pmask, periods, 0.0)) / count
    period_var = jnp.sum(jnp.where(pmask, (periods - period) ** 2, 0.0)) / count
    period_spread = jnp.where(
        (n_periods >= 2) & (period > 0), jnp.sqrt(period_var) / jnp.where(period > 0, period, 1.0), jnp.inf
    )

    # Complete cycle k (k = 1..m-1) holds the samples between crossings k and k+1.
    cycle = jnp.concatenate([jnp.zeros(1, dtype=m.dtype), jnp.cumsum(up)])
    n_segments = n // 2 + 1
    dump = n_segments - 1
    segment = jnp.where((cycle >= 1) & (cycle <= m - 1), cycle - 1, dump)
    s_max = jax.ops.segment_max(s, segment, num_segments=n_segments)
    s_min = jax.ops.segment_min(s, segment, num_segments=n_segments)
    index = jnp.arange(n)
    i_max = jax.ops.segment_max(jnp.where(s == s_max[segment], index, -1), segment, num_segments=n_segments)
    i_min = jax.ops.segment_max(jnp.where(s == s_min[segment], index, -1), segment, num_segments=n_segments)
    amplitudes = _parabolic_extremum(s, i_max) - _parabolic_extremum(s, i_min)
    amask = jnp.arange(n_segments) < n_periods
    amplitude = jnp.sum(jnp.where(amask, amplitudes, 0.0)) / count
    positive = amplitude > 0
    safe_amplitude = jnp.where(positive, amplitude, 1.0)
    amp_var = jnp.sum(jnp.where(amask, (amplitudes - amplitude) ** 2, 0.0)) / count
    defined = (n_periods >= 2) & positive
    amplitude_spread = jnp.where(defined, jnp.sqrt(amp_var) / safe_amplitude, jnp.inf)
    # Least-squares trend of the amplitude against the cycle index.
    k = jnp.arange(n_segments, dtype=s.dtype)
    k_mean = jnp.sum(jnp.where(amask, k, 0.0)) / count
    sxx = jnp.sum(jnp.where(amask, (k - k_mean) ** 2, 0.0))
    sxy = jnp.sum(jnp.where(amask, (k - k_mean) * (amplitudes - amplitude), 0.0))
    slope = sxy / jnp.where(sxx > 0, sxx, 1.0)
    amplitude_drift = jnp.where(defined, jnp.abs(slope) * (n_periods - 1) / safe_amplitude, jnp.inf)

    is_cycle = (
        all_valid
        & (n_periods >= cfg.min_periods)
        & (period > 0)
        & (period_spread < cfg.period_rtol)
        & (amplitude_spread < cfg.amplitude_rtol)
        & (amplitude_drift < cfg.drift_tol)
        & (amplitude > cfg.min_amplitude * scale)
    )
    zero_if_invalid = lambda v: jnp.where(all_valid, v, 0.0)  # noqa: E731
    inf_if_invalid = lambda v: jnp.where(all_valid, v, jnp.inf)  # noqa: E731
    return dict(
        is_cycle=is_cycle,
        period=zero_if_invalid(period),
        period_spread=inf_if_invalid(period_spread),
        amplitude=zero_if_invalid(amplitude),
        amplitude_spread=inf_if_invalid(amplitude_spread),
        amplitude_drift=inf_if_invalid(amplitude_drift),
        n_periods=jnp.where(all_valid, n_periods, 0).astype(jnp.int32),
    )


def _unsampled_cycle(dtype) -> dict[str, Array]:
    """Cycle statistics of a chunk that was not sampled: the undefined values (no cycle, no period)."""
    zero, inf = jnp.zeros((), dtype), jnp.full((), jnp.inf, dtype)
    return dict(is_cycle=jnp.asarray(False), period=zero, period_spread=inf, amplitude=zero,
                amplitude_spread=inf, amplitude_drift=inf, n_periods=jnp.zeros((), jnp.int32))  # fmt: skip


def _chunk_one(
    model, x: Array, t: Array, t_len: Array, dtmax: Array, projection: Array, cfg: _ChunkConfig
) -> dict[str, Array]:
    """Integrate one trial over ``[t, t + t_len]`` and measure the chunk (see :func:`classify_batch`).

    ``cfg.n_samples == 0``: the chunk is not sampled and its cycle statistics are the undefined
    values of :class:`Classification` (no cycle, no period)."""
    t_end = t + t_len
    sampled = cfg.n_samples > 0
    if sampled:
        ts = (t + t_len * jnp.linspace(0.0, 1.0, cfg.n_samples)).at[-1].set(t_end)
        saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts, fn=_project), diffrax.SubSaveAt(t1=True)])
    else:
        saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(t1=True)])
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(_vector_field),
        cfg.solver,
        t,
        t_end,
        None,
        x,
        args=(model, jnp.asarray(cfg.bound, dtype=x.dtype), projection),
        saveat=saveat,
        stepsize_controller=diffrax.PIDController(rtol=cfg.rtol, atol=cfg.atol, dtmax=dtmax),
        event=diffrax.Event(_escaped),
        max_steps=cfg.max_steps,
        throw=False,
    )
    status = _status(solution.result)
    t_stop = solution.ts[-1][0]
    x_stop = solution.ys[-1][0]
    finite = jnp.all(jnp.isfinite(x_stop)) & jnp.isfinite(t_stop)
    x_end = jnp.where(finite, x_stop, x)
    t_end = jnp.where(finite, t_stop, t)
    diverged = (status == DIVERGED) | ~finite | (jnp.max(jnp.abs(x_end)) > cfg.bound)
    t_stop = jnp.where(jnp.isfinite(t_stop), t_stop, t)

    f = model.vector_field(t_end, x_end, None)
    velocity = jnp.linalg.norm(model.time_constants() * f)
    velocity = jnp.where(jnp.isfinite(velocity), velocity, jnp.inf)
    scale = jnp.maximum(1.0, jnp.linalg.norm(x_end))

    if sampled:
        P = solution.ys[0]
        valid = jnp.isfinite(solution.ts[0]) & jnp.all(jnp.isfinite(P), axis=-1)
        cycle = _cycle_statistics(ts, P, valid, scale, cfg)
    else:
        cycle = _unsampled_cycle(x.dtype)
    return dict(
        x_end=x_end,
        t_end=t_end,
        t_stop=t_stop,
        status=status,
        diverged=diverged,
        velocity=velocity,
        relative_velocity=velocity / scale,
        steps=solution.stats["num_steps"],
        **cycle,
    )


@eqx.filter_jit
def _chunk_batch(models, x, t, t_len, dtmax, projection, cfg, group_size):
    return _map_groups(
        lambda m, xi, ti, li, hi: _chunk_one(m, xi, ti, li, hi, projection, cfg),
        models,
        (x, t, t_len, dtmax),
        group_size,
    )


def _newton_step(model, x: Array, t: Array, uniform_pool: bool) -> tuple[Array, Array]:
    """Jacobian ``J`` at ``x`` and the Newton step ``J^{-1} f(x)`` (units of the state).

    ``uniform_pool``: the model passed :func:`~organics.stability.has_uniform_pool`, so the
    ``(n+1)``-dimensional solve :func:`~organics.stability.uniform_pool_solve` applies."""
    J = jacobian(model, x, t)
    f = model.vector_field(t, x, None)
    return J, uniform_pool_solve(J, f) if uniform_pool else jnp.linalg.solve(J, f)


def _jacobian_and_distance(model, x: Array, t: Array, uniform_pool: bool) -> tuple[Array, Array]:
    """Jacobian at ``x`` and the Newton distance ``||J^{-1} f||`` (units of the state; ``inf`` if ``J`` is singular)."""
    J, step = _newton_step(model, x, t, uniform_pool)
    distance = jnp.linalg.norm(step)
    return J, jnp.where(jnp.isfinite(distance), distance, jnp.inf)


def _newton_one(model, x: Array, t: Array, uniform_pool: bool) -> dict[str, Array]:
    return {"newton_distance": _jacobian_and_distance(model, x, t, uniform_pool)[1]}


@eqx.filter_jit
def _newton_batch(models, x, t, group_size, uniform_pool):
    return _map_groups(lambda m, xi, ti: _newton_one(m, xi, ti, uniform_pool), models, (x, t), group_size)


#: Factor by which a trial's step cap is refined before a limit cycle is confirmed (classify_batch, rule 3).
CYCLE_REFINEMENT = 4

#: Most Newton iterations of the fixed-point polish (quadratic convergence: 3-4 suffice from 1e-5).
POLISH_ITERATIONS = 12


def _polish_one(model, x: Array, t: Array, tol: float, uniform_pool: bool) -> dict[str, Array]:
    """Newton iterations from ``x`` to the equilibrium next to it; converged when the last step and
    ``||tau f||`` are both ``<= tol * max(1, ||x*||)``."""

    def step(carry):
        i, z, _ = carry
        dz = _newton_step(model, z, t, uniform_pool)[1]
        return i + 1, z - dz, jnp.linalg.norm(dz)

    def keep_going(carry):
        i, z, size = carry
        return (i < POLISH_ITERATIONS) & (size > 1e-3 * tol * jnp.maximum(1.0, jnp.linalg.norm(z)))

    _, z, size = jax.lax.while_loop(keep_going, step, (0, x, jnp.asarray(jnp.inf, x.dtype)))
    scale = jnp.maximum(1.0, jnp.linalg.norm(z))
    velocity = jnp.linalg.norm(model.time_constants() * model.vector_field(t, z, None))
    converged = jnp.all(jnp.isfinite(z)) & (velocity <= tol * scale) & (size <= tol * scale)
    return {"state": z, "converged": converged, "displacement": jnp.linalg.norm(z - x)}


@eqx.filter_jit
def _polish_batch(models, x, t, tol, group_size, uniform_pool):
    return _map_groups(lambda m, xi, ti: _polish_one(m, xi, ti, tol, uniform_pool), models, (x, t), group_size)


def _spectrum_one(model, x: Array, t: Array, keep_eigenvalues: bool, uniform_pool: bool) -> dict[str, Array]:
    """Leading Jacobian eigenvalue and Newton distance ``||J^{-1} f||`` at ``x`` (and all eigenvalues).

    ``uniform_pool``: the model passed :func:`~organics.stability.has_uniform_pool`, so the exact
    ``(n+1)``-dimensional reductions of the spectrum and of the Newton solve apply."""
    J, distance = _jacobian_and_distance(model, x, t, uniform_pool)
    eigs = uniform_pool_eigenvalues(J) if uniform_pool else eigenvalues(J)
    lead = eigs[jnp.argmax(eigs.real)]
    re, im = jnp.real(lead), jnp.abs(jnp.imag(lead))
    re = jnp.where(jnp.isfinite(re), re, jnp.inf)
    im = jnp.where(jnp.isfinite(im), im, 0.0)
    out = dict(leading_real=re, leading_imag=im, newton_distance=distance)
    if keep_eigenvalues:
        out["eigenvalues"] = eigs
    return out


@eqx.filter_jit
def _spectrum_batch(models, x, t, group_size, keep_eigenvalues, uniform_pool):
    return _map_groups(
        lambda m, xi, ti: _spectrum_one(m, xi, ti, keep_eigenvalues, uniform_pool), models, (x, t), group_size
    )


def _bucket_sizes(n: int, min_bucket: int, group_size: int) -> list[tuple[int, int]]:
    """Split ``n`` active trials into calls ``(count, padded size)``: full groups of ``group_size``, then the
    remainder padded to a power of two (at least ``min_bucket``, at most ``group_size``)."""
    full, rest = divmod(n, group_size)
    sizes = [(group_size, group_size)] * full
    if rest:
        sizes.append((rest, min(max(min_bucket, 1 << (rest - 1).bit_length()), group_size)))
    return sizes


def _take(tree, index: np.ndarray):
    """Rows ``index`` of every array leaf (non-array leaves are shared)."""
    return jax.tree.map(lambda leaf: leaf[index] if eqx.is_array(leaf) else leaf, tree)


def _run_bucketed(fn, models, index: np.ndarray, arrays: tuple, min_bucket: int, group_size: int) -> dict:
    """Evaluate ``fn(models[idx], *(a[idx] for a in arrays))`` one vmapped group at a time.

    Each call holds at most ``group_size`` trials (:func:`_bucket_sizes`): a batch pays for at most one
    partly padded group, not for rounding the whole batch up to a power of two (measured on the scan
    benchmark grid: 848 trial-chunks integrated for 573 needed with power-of-two buckets), and ``jit``
    compiles only the power-of-two sizes up to ``group_size``. Padding repeats the first index of the
    call; padded results are dropped. Results are concatenated back in the order of ``index`` as NumPy
    arrays.
    """
    pieces: list[dict] = []
    start = 0
    for count, size in _bucket_sizes(len(index), min_bucket, group_size):
        group = index[start : start + count]
        padded = np.concatenate([group, np.full(size - count, group[0], dtype=group.dtype)])
        out = fn(_take(models, padded), *(jnp.asarray(a[padded]) for a in arrays))
        pieces.append({key: np.asarray(value)[:count] for key, value in out.items()})
        start += count
    return {key: np.concatenate([p[key] for p in pieces]) for key in pieces[0]}


def _sketch(state_size: int, n_projections: int, seed: int) -> np.ndarray:
    """``k x D`` matrix with orthonormal rows spanning a random (seeded) subspace, ``k = min(n_projections, D)``."""
    k = min(n_projections, state_size)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((state_size, k)))
    return np.ascontiguousarray(q.T)


def _batch_size(models, x0: np.ndarray) -> int:
    batch = x0.shape[0]
    for leaf in jax.tree.leaves(eqx.filter(models, eqx.is_array)):
        if leaf.ndim == 0 or leaf.shape[0] != batch:
            raise ValueError(
                "models must be a batched model whose every array leaf has leading axis "
                f"{batch} (the batch size of x0); got a leaf of shape {tuple(leaf.shape)} "
                "(build the batch with eqx.filter_vmap or broadcast shared leaves)"
            )
    return batch


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def classify_batch(
    models,
    x0_batched: ArrayLike,
    *,
    t0: float = 0.0,
    t_chunk: float | ArrayLike | None = None,
    max_chunks: int = 20,
    n_samples: int = 2000,
    bound: float = DEFAULT_BOUND,
    fp_tol: float = 1e-8,
    eig_margin: float = 1e-9,
    period_rtol: float = 1e-2,
    amplitude_rtol: float = 1e-2,
    drift_tol: float = 1e-3,
    min_periods: int = 4,
    min_amplitude: float = 1e-6,
    solver: diffrax.AbstractSolver | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    dtmax: float | ArrayLike | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    n_projections: int = 4,
    seed: int = 0,
    min_bucket: int = 2,
    group_size: int | None = None,
    keep_eigenvalues: bool = False,
    spectrum_at_end: bool = True,
    polish_distance: float | None = None,
) -> Classification:
    r"""Classify the trajectories of a batch of circuits (``B`` models, ``x0_batched`` of shape ``(B, D)``).

    ``models`` is one model whose array leaves all carry a leading batch axis of size ``B``
    (e.g. built with ``eqx.filter_vmap``); non-array leaves (static fields, input functions) are
    shared. Returns a :class:`Classification` whose fields are stacked along axis 0.

    **Chunk loop (host).** Each trial is integrated in chunks of ``t_chunk`` seconds (default
    ``100 * max(tau)`` of that trial) with Tsit5 and ``PIDController(rtol, atol, dtmax)``, sampled
    at ``n_samples`` equally spaced times per chunk. The step cap ``dtmax`` (default ``min(tau)``
    of the trial; ``inf`` disables it) matters near a focus: without it the controller grows the
    step until ``h lambda`` sits on the boundary of the explicit method's stability region, where
    the numerical solution jitters around the fixed point at about ``10 * rtol * |x|`` instead of
    converging (seen on the Dayan-Abbott pair: ``3e-6`` Hz forever, versus ``1e-14`` with the cap,
    for about twice the steps). After every chunk the rules below are applied
    in order; a trial that is decided leaves the batch. The still-active trials are compacted,
    ordered by the solver steps of their previous chunk (a vmapped group steps until its slowest
    trial is done) and evaluated one vmapped group of ``group_size`` trials (default
    :func:`auto_group_size`: cache-sized groups) after the other; the last, partly filled group is
    padded to a power of two (at least ``min_bucket``), so ``jit`` compiles a handful of shapes and
    a settled trial stops costing. Circuits with a uniform normalization pool are evaluated with
    :meth:`~organics.models.ORGaNICs.with_uniform_pool` (the same vector field, with its pool in
    ``O(n)``).
    The decisions of a trial depend only on that trial (padding rows are discarded), so the
    result does not depend on the batch size or on which trials share a bucket. The default
    ``min_bucket = 2`` is part of that guarantee: XLA compiles a vmap of size 1 as the unbatched
    program, whose rounding differs (FMA contraction in small matrix-vector products) by an ulp
    per step, which an adaptive solve amplifies to the tolerance level (``3e-5`` Hz on the
    Dayan-Abbott limit cycle); sizes 2 to 1024 gave bit-identical trajectories.

    **Rules** (``x`` = end point of the chunk, ``f`` = ``vector_field``, ``tau`` = time constants):

    1. *Diverging*: the solve left ``max_i |x_i| <= bound`` or produced a non-finite state
       (Diffrax event, the solve stops there); ``divergence_time`` records when.
    2. *Stable fixed point*: ``||tau f(x)|| <= fp_tol * max(1, ||x||)`` (velocity small relative
       to the time constants and the state's scale, independent of the sampling step), **and**
       the Jacobian at ``x`` has ``Re lambda* * max(tau) < -eig_margin`` (a margin above the
       eigensolver's rounding, so a marginal mode is not taken as stable), **and** the Newton distance
       ``||J^{-1} f(x)|| <= fp_tol * max(1, ||x||)`` (the end point is within the tolerance of a
       hyperbolic stable equilibrium even under critical slowing down). The Jacobian is only
       computed for trials passing the velocity test, and its eigendecomposition only for
       those also passing the Newton-distance test. A slowly escaping state
       (``Re lambda* >= 0``) is never accepted: it keeps being integrated.
    3. *Limit cycle*, judged only on the latest chunk and never on the first one, which is not
       even sampled (earlier chunks hold the transient; in the first chunk a single transient
       period among twenty passes a 1 % spread test, as on the Dayan-Abbott pair):
       observable ``s(t)`` = the state projected on its first principal axis over the chunk,
       computed in a seeded random ``k``-dimensional sketch of the state (``k = min(n_projections, D)``
       orthonormal directions, so ``s`` is in state units and exact PCA for ``D <= k``).
       Periods are the intervals between upward mean crossings of ``s``; amplitudes are the
       peak-to-peak values of ``s`` per complete period. Accepted when at least ``min_periods``
       complete periods are present, ``std/mean`` of the periods ``< period_rtol`` and of the
       amplitudes ``< amplitude_rtol``, the fitted amplitude drift across the chunk
       ``< drift_tol`` of the mean (not converging to a focus nor still growing), and the
       amplitude ``> min_amplitude * max(1, ||x||)`` (clearly above integration noise).
       **Confirmed with a finer step cap**: the first chunk that passes these tests does not decide;
       the trial's step cap is divided by ``CYCLE_REFINEMENT`` (from ``min(dtmax, min(tau))``) and
       only a later chunk that passes them again makes it a limit cycle. An explicit Runge-Kutta
       step near a weakly damped focus (``|Im lambda| h`` of order 1, ``Re lambda * tau ~ -1e-2``)
       can amplify slightly instead of damping and sustain a steady numerical oscillation
       (amplitude ~1e-4 at ``h = tau``, seen in scans at large Delta); with the finer cap it
       decays and the trial goes on to its fixed point, whereas a real cycle does not depend on
       the step.
    4. Otherwise integrate the next chunk; after ``max_chunks`` chunks the trial is
       *unresolved*.

    **Polish** (``polish_distance``, off by default). Rule 2 needs the trajectory itself to come
    within ``fp_tol`` of the equilibrium, which under critical slowing down takes
    ``ln(d0 / fp_tol) / |Re lambda*|``. With ``polish_distance = d`` a trial whose velocity and
    Newton distance are below ``d * max(1, ||x||)`` is handed to Newton's method: if the
    iterations converge (step and ``||tau f||`` below ``fp_tol``) to an equilibrium whose Jacobian
    has ``Re lambda* * max(tau) < -eig_margin``, the trial is a stable fixed point,
    ``final_state`` is that equilibrium and ``newton_distance`` the distance the trajectory still
    had to go. The trajectory is then inside the linear neighbourhood of a hyperbolic stable
    equilibrium (distance ``d`` relative, far below the scale of the nonlinearity), where it
    converges; this is an acceptance rule, not a proof, so measure its agreement with the
    default on your problem (``benchmarks/scan.py`` does for the scan grid).

    The leading eigenvalue, Newton distance and velocity are reported at every trial's final
    state, whatever its outcome. With ``spectrum_at_end=False`` the Jacobian is not evaluated at
    the end of trials that were not accepted as fixed points (one eigendecomposition saved per
    diverging, oscillating or unresolved trial); their spectral fields are then NaN.
    ``keep_eigenvalues=True`` also returns the whole spectrum (``eigenvalues``). Everything is
    deterministic (the sketch is seeded by ``seed``).
    """
    x0 = np.asarray(x0_batched, dtype=float)
    if x0.ndim != 2:
        raise ValueError(f"x0_batched must have shape (batch, state_size); got shape {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError("x0_batched must be finite (no NaN or inf)")
    batch = _batch_size(models, x0)
    state_size = x0.shape[1]
    out_shape = eqx.filter_eval_shape(
        eqx.filter_vmap(lambda m, x: m.vector_field(0.0, x, None)), models, jnp.asarray(x0)
    )
    if tuple(out_shape.shape) != x0.shape:
        raise ValueError(
            f"x0_batched has state size {state_size} but the models' vector field returns shape "
            f"{tuple(out_shape.shape[1:])}"
        )
    max_chunks = _positive_int("max_chunks", max_chunks)
    n_samples = _positive_int("n_samples", n_samples, minimum=16)
    min_periods = _positive_int("min_periods", min_periods, minimum=2)
    max_steps = _positive_int("max_steps", max_steps)
    n_projections = _positive_int("n_projections", n_projections)
    min_bucket = _positive_int("min_bucket", min_bucket)
    group_size = auto_group_size(models, batch) if group_size is None else _positive_int("group_size", group_size)
    for name, value in [
        ("bound", bound),
        ("fp_tol", fp_tol),
        ("eig_margin", eig_margin),
        ("period_rtol", period_rtol),
        ("amplitude_rtol", amplitude_rtol),
        ("drift_tol", drift_tol),
        ("rtol", rtol),
        ("atol", atol),
    ]:
        _check_tolerance(name, value)
    if not np.isfinite(min_amplitude) or min_amplitude < 0:
        raise ValueError(f"min_amplitude must be >= 0; got {min_amplitude}")
    t0_c = _concrete_float("t0", t0)

    tau_max = np.asarray(eqx.filter_vmap(lambda m: jnp.max(m.time_constants()))(models), dtype=float)
    tau_min = np.asarray(eqx.filter_vmap(lambda m: jnp.min(m.time_constants()))(models), dtype=float)
    if dtmax is None:
        h_max = tau_min.copy()
    else:
        h_max = np.broadcast_to(np.asarray(dtmax, dtype=float), (batch,)).copy()
        if np.any(np.isnan(h_max)) or np.any(h_max <= 0):
            raise ValueError(f"dtmax must be > 0 seconds (inf for no cap); got minimum {np.min(h_max)}")
    if t_chunk is None:
        t_len = 100.0 * tau_max
    else:
        t_len = np.broadcast_to(np.asarray(t_chunk, dtype=float), (batch,)).copy()
        if not np.all(np.isfinite(t_len)) or np.any(t_len <= 0):
            raise ValueError(f"t_chunk must be > 0 seconds; got minimum {np.min(t_len)}")

    cfg = _ChunkConfig(
        n_samples=n_samples,
        solver=diffrax.Tsit5() if solver is None else solver,
        rtol=float(rtol),
        atol=float(atol),
        bound=float(bound),
        max_steps=max_steps,
        period_rtol=float(period_rtol),
        amplitude_rtol=float(amplitude_rtol),
        drift_tol=float(drift_tol),
        min_periods=min_periods,
        min_amplitude=float(min_amplitude),
    )
    projection = jnp.asarray(_sketch(state_size, n_projections, seed))

    if polish_distance is not None:
        _check_tolerance("polish_distance", polish_distance)
    accept = fp_tol if polish_distance is None else max(float(polish_distance), float(fp_tol))

    x = x0.copy()
    t = np.full(batch, t0_c, dtype=float)
    outcome = np.full(batch, _ACTIVE, dtype=np.int32)
    n_chunks = np.zeros(batch, dtype=np.int32)
    divergence_time = np.full(batch, np.inf)
    last: dict[str, np.ndarray] = {}
    spectrum = dict(
        leading_real=np.full(batch, np.nan), leading_imag=np.full(batch, np.nan), newton_distance=np.full(batch, np.nan)
    )
    if keep_eigenvalues:
        spectrum["eigenvalues"] = np.full((batch, state_size), np.nan, dtype=complex)
    fresh = np.zeros(batch, dtype=bool)  # spectrum computed at the current final state
    refined = np.zeros(batch, dtype=bool)  # step cap refined after a first passed cycle test

    # The first chunk holds the transient and rule 3 never judges it: it is integrated unsampled
    # (measured on the scan benchmark grid: dense output at 500 samples is a quarter of a step's cost).
    first_cfg = dataclasses.replace(cfg, n_samples=0)

    def chunk_fn(chunk_cfg, m, xs, ts, lens, dtmaxs):
        return _chunk_batch(m, xs, ts, lens, dtmaxs, projection, chunk_cfg, group_size)

    # Host copies of the circuits' arrays: every stage gathers its active trials from them with NumPy
    # indexing (measured: jax indexing of the device arrays was a quarter of a warm scan block's time).
    models = jax.tree.map(lambda leaf: np.asarray(leaf) if eqx.is_array(leaf) else leaf, models)
    uniform_pool = has_uniform_pool(models)
    if isinstance(models, ORGaNICs) and has_uniform_weights(models.W):
        models = models.with_uniform_pool()  # every stage: the pool in O(n), not O(n^2)

    def newton_fn(m, xs, ts):
        return _newton_batch(m, xs, ts, group_size, uniform_pool)

    def polish_fn(m, xs, ts):
        return _polish_batch(m, xs, ts, float(fp_tol), group_size, uniform_pool)

    def spectrum_fn(m, xs, ts):
        return _spectrum_batch(m, xs, ts, group_size, bool(keep_eigenvalues), uniform_pool)

    steps = np.zeros(batch, dtype=np.int64)  # solver steps of each trial's latest chunk
    for chunk in range(max_chunks):
        active = np.flatnonzero(outcome == _ACTIVE)
        if active.size == 0:
            break
        # A vmapped group steps until its slowest trial is done: grouping trials by the steps of their
        # previous chunk (most first) cut the trial-steps paid for after the first chunk by 10 % on the
        # scan benchmark grid (56,640 -> 50,708 for 46,871 taken, groups of 4).
        active = active[np.argsort(-steps[active], kind="stable")]
        integrate = partial(chunk_fn, first_cfg if chunk == 0 else cfg)
        res = _run_bucketed(integrate, models, active, (x, t, t_len, h_max), min_bucket, group_size)
        x[active] = res["x_end"]
        t[active] = res["t_end"]
        steps[active] = res["steps"]
        n_chunks[active] += 1
        fresh[active] = False
        for key in (
            "velocity",
            "relative_velocity",
            "status",
            "period",
            "period_spread",
            "amplitude",
            "amplitude_spread",
            "amplitude_drift",
            "n_periods",
        ):
            if key not in last:
                last[key] = np.zeros(batch, dtype=res[key].dtype)
            last[key][active] = res[key]

        diverged = res["diverged"]
        outcome[active[diverged]] = DIVERGING
        divergence_time[active[diverged]] = res["t_stop"][diverged]

        # Fixed-point test, cheapest first: velocity, then the Newton distance (one LU solve), then
        # (with polish_distance) Newton iterations to the equilibrium, and the eigendecomposition
        # only for trials that passed everything else.
        fixed = np.zeros(active.size, dtype=bool)
        candidate = np.flatnonzero(~diverged & (res["relative_velocity"] <= accept))
        if candidate.size:
            cand = active[candidate]
            distance = _run_bucketed(newton_fn, models, cand, (x, t), min_bucket, group_size)["newton_distance"]
            close = distance <= accept * np.maximum(1.0, np.linalg.norm(x[cand], axis=1))
            at = x
            if polish_distance is not None and np.any(close):
                polished = _run_bucketed(polish_fn, models, cand[close], (x, t), min_bucket, group_size)
                at = x.copy()
                at[cand[close]] = polished["state"]
                displacement = np.full(cand.size, np.inf)
                displacement[close] = polished["displacement"]
                close[close] = polished["converged"]
            if np.any(close):
                near = cand[close]
                spec = _run_bucketed(spectrum_fn, models, near, (at, t), min_bucket, group_size)
                stable = spec["leading_real"] * tau_max[near] < -eig_margin
                fixed[candidate[close]] = stable
                if polish_distance is not None:
                    spec["newton_distance"] = displacement[close]
                    x[near[stable]] = at[near[stable]]
                for key, value in spec.items():
                    spectrum[key][near] = value
                fresh[near] = stable if polish_distance is not None else True  # else measured at x*, not x
        outcome[active[fixed]] = STABLE_FIXED_POINT

        # The first chunk holds the transient: a limit cycle is only accepted from the second on,
        # and only once it has been seen again with the finer step cap (rule 3).
        cycle = active[~diverged & ~fixed & res["is_cycle"] & (n_chunks[active] >= 2)]
        outcome[cycle[refined[cycle]]] = LIMIT_CYCLE
        unconfirmed = cycle[~refined[cycle]]
        h_max[unconfirmed] = np.minimum(h_max[unconfirmed], tau_min[unconfirmed]) / CYCLE_REFINEMENT
        refined[unconfirmed] = True

    outcome[outcome == _ACTIVE] = UNRESOLVED
    stale = np.flatnonzero(~fresh)
    if not spectrum_at_end:
        for value in spectrum.values():
            value[stale] = np.nan
    elif stale.size:
        spec = _run_bucketed(spectrum_fn, models, stale, (x, t), min_bucket, group_size)
        for key, value in spec.items():
            spectrum[key][stale] = value

    return Classification(
        outcome=jnp.asarray(outcome),
        final_state=jnp.asarray(x),
        final_time=jnp.asarray(t),
        time_simulated=jnp.asarray(t - t0_c),
        n_chunks=jnp.asarray(n_chunks),
        velocity=jnp.asarray(last["velocity"]),
        relative_velocity=jnp.asarray(last["relative_velocity"]),
        newton_distance=jnp.asarray(spectrum["newton_distance"]),
        leading_real=jnp.asarray(spectrum["leading_real"]),
        leading_imag=jnp.asarray(spectrum["leading_imag"]),
        leading_real_tau=jnp.asarray(spectrum["leading_real"] * tau_max),
        tau_max=jnp.asarray(tau_max),
        period=jnp.asarray(last["period"]),
        period_spread=jnp.asarray(last["period_spread"]),
        amplitude=jnp.asarray(last["amplitude"]),
        amplitude_spread=jnp.asarray(last["amplitude_spread"]),
        amplitude_drift=jnp.asarray(last["amplitude_drift"]),
        n_periods=jnp.asarray(last["n_periods"]),
        divergence_time=jnp.asarray(divergence_time),
        solver_status=jnp.asarray(last["status"]),
        eigenvalues=jnp.asarray(spectrum["eigenvalues"]) if keep_eigenvalues else None,
    )


def classify_trajectory(model, x0: ArrayLike, **kwargs) -> Classification:
    """Classify the trajectory of one circuit from ``x0`` (shape ``(state_size,)``).

    Same rules, keywords and evidence as :func:`classify_batch` (it runs it on a batch of one),
    with unbatched fields.
    """
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a flat state of shape (state_size,); got shape {x0.shape}")
    batched = jax.tree.map(lambda leaf: jnp.asarray(leaf)[None] if eqx.is_array(leaf) else leaf, model)
    result = classify_batch(batched, x0[None], **kwargs)
    return jax.tree.map(lambda leaf: leaf[0], result)
