r"""Phase-diagram analysis of stored scans: outcome fractions, majority phases, gap, normalization.

Every function reads the labelled result of ``organics scan`` (an :class:`xarray.Dataset`, see
below) and returns labelled :class:`xarray.DataArray`/:class:`xarray.Dataset` objects; nothing
here plots. The numerical criteria are those of the analysis notebooks of the research code
(Morone, Rawat, Heeger & Martiniani; spec §6), with the differences stated in each docstring.

Dataset read here (dims in brackets; ``*sweep`` are optional leading dims such as ``model``,
``mu``, ``sigma``, ``b0``, ``b1``):

* ``outcome`` [*sweep, delta, input_norm, trial] — trial outcome code: :data:`NOT_COMPUTED` -1,
  :data:`UNRESOLVED` 0, :data:`DIVERGING` 1, :data:`STABLE` 2, :data:`LIMIT_CYCLE` 3 (the codes
  of :class:`organics.simulate.Outcome`);
* ``done`` [*sweep, delta, input_norm] — the cell was computed. A trial counts as *computed* when
  its cell is done and its outcome is not -1; cells without a computed trial are NaN everywhere;
* ``leading_real_tau`` (:math:`\mathrm{Re}\,\lambda^*\tau`, dimensionless, < 0), ``frequency`` (Hz),
  ``quality_factor``, ``normalization_error``, ``y_first``, ``y_sum`` — per trial, NaN unless the
  trial is a stable fixed point;
* ``critical_delta`` [*sweep, input_norm] — analytic :math:`\Delta_c(|z|)`;
* attribute ``input_type`` ("delocalized", "localized", "random", "gaussian");
* the model: the ``model`` coordinate when it is swept, else the ``model`` of the spec stored in
  the attribute ``organics_scan`` (``"main"`` when neither is there, e.g. hand-built datasets).
  Normalization is an ORGaNICs notion: for the rate models (:data:`organics.scan.spec.RATE_MODELS`)
  the normalization statistics and breakdown are NaN (:func:`is_rate_model`).

Functions that reduce over trials broadcast over the sweep dims; :func:`iter_sweep` yields one
sweep combination at a time for the per-combination tables and figures.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

import numpy as np
import xarray as xr

from .spec import RATE_MODELS

__all__ = [
    "CELL_DIMS",
    "CRITICAL_SLOWING_THRESHOLD",
    "DIVERGING",
    "LIMIT_CYCLE",
    "NOT_COMPUTED",
    "OUTCOME_NAMES",
    "PHASE_NAMES",
    "SLOWING",
    "STABILITY_FRACTION",
    "STABLE",
    "UNRESOLVED",
    "combination_labels",
    "computed_trials",
    "critical_delta_comparison",
    "critical_delta_measured",
    "critically_slowed",
    "display_labels",
    "fixed_point_mean",
    "format_combination",
    "gap",
    "is_rate_model",
    "iter_sweep",
    "majority_phase",
    "mean_frequency",
    "mean_normalization_error",
    "mean_quality_factor",
    "model_name",
    "normalization_breakdown",
    "normalization_observable",
    "normalization_statistics",
    "outcome_fractions",
    "squeeze_sweep",
    "summary_rows",
    "sweep_dims",
]

#: |max over trials of Re(lambda*) tau| below which a cell is critically slowed (spec §6).
CRITICAL_SLOWING_THRESHOLD = 1e-2
#: A cell enters the normalization statistics only if MORE than this fraction of its computed
#: trials are stable fixed points (the notebooks' ``stability_criterion_percent``).
STABILITY_FRACTION = 0.99

NOT_COMPUTED = -1
UNRESOLVED = 0
DIVERGING = 1
STABLE = 2
LIMIT_CYCLE = 3
#: Phase label of a majority-stable cell whose gap has (almost) closed (spec §6).
SLOWING = 5

#: Trial outcome codes and their names (the ``outcome`` coordinate of :func:`outcome_fractions`).
OUTCOME_NAMES: dict[int, str] = {
    UNRESOLVED: "unresolved",
    DIVERGING: "diverging",
    STABLE: "stable",
    LIMIT_CYCLE: "limit_cycle",
}
#: Phase codes of :func:`majority_phase` and their names.
PHASE_NAMES: dict[int, str] = {**OUTCOME_NAMES, SLOWING: "slowing"}

#: The dims of one scan cell's trials; every other dim of ``outcome`` is a sweep dim.
CELL_DIMS = ("delta", "input_norm", "trial")


# ------------------------------------------------------------------------- sweep combinations
def sweep_dims(ds: xr.Dataset) -> tuple[Hashable, ...]:
    """The sweep dims of ``ds``: the dims of ``outcome`` other than ``delta``, ``input_norm``, ``trial``."""
    return tuple(d for d in ds["outcome"].dims if d not in CELL_DIMS)


def iter_sweep(ds: xr.Dataset) -> Iterator[tuple[dict[Hashable, Any], xr.Dataset]]:
    """Yield ``(labels, sub_dataset)`` for every combination of the sweep dims, in storage order.

    ``labels`` maps each sweep dim to its value as a Python scalar (``{"mu": -0.5}``); the
    sub-dataset has dims ``delta``, ``input_norm``, ``trial`` (plus ``neuron``/``mode``) and keeps
    the combination as scalar coordinates. A dataset without sweep dims yields ``({}, ds)`` once.
    """
    dims = sweep_dims(ds)
    for index in itertools.product(*(range(ds.sizes[d]) for d in dims)):
        labels = {d: np.asarray(ds[d].values[i]).item() for d, i in zip(dims, index)}  # str, float
        yield labels, ds.isel(dict(zip(dims, index)))


def squeeze_sweep(ds: xr.Dataset) -> xr.Dataset:
    """Drop the sweep dims of size 1 (keeping them as scalar coordinates).

    Raises ``ValueError`` if a sweep dim has more than one value: select one combination first,
    e.g. with :func:`iter_sweep`.
    """
    dims = sweep_dims(ds)
    longer = {d: ds.sizes[d] for d in dims if ds.sizes[d] > 1}
    if longer:
        raise ValueError(
            f"expected one sweep combination, got sweep dims {longer}; "
            "select one with organics.scan.analysis.iter_sweep or Dataset.sel"
        )
    return ds.isel({d: 0 for d in dims})


def combination_labels(ds: xr.Dataset) -> dict[Hashable, Any]:
    """The scalar (0-d) coordinates of ``ds``, i.e. the sweep combination of a sub-dataset."""
    return {name: c.values.item() for name, c in ds.coords.items() if c.ndim == 0}


def display_labels(ds: xr.Dataset) -> dict[Hashable, Any]:
    """:func:`combination_labels` of ``ds``, led by its model when that is not swept and not ``"main"``.

    For titles: a scan of one rate model (``model = "linear"``) is labelled by it although
    ``model`` is not a coordinate.
    """
    labels = combination_labels(ds)
    name = model_name(ds)
    if "model" in labels or name.ndim or name.item() == "main":
        return labels
    return {"model": name.item(), **labels}


def format_combination(labels: Mapping[Hashable, Any], sep: str = ", ") -> str:
    """``{"mu": -0.5, "model": "main"}`` -> ``"mu=-0.5, model=main"`` (``""`` if empty)."""
    return sep.join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in labels.items())


def model_name(ds: xr.Dataset) -> xr.DataArray:
    """The model of ``ds``: its ``model`` coordinate (a dim or a scalar), else the stored spec's ``model``.

    A 0-d string array when the model is not swept (``"main"`` if the dataset carries no spec).
    """
    if "model" in ds.coords:
        return ds["model"]
    spec = json.loads(ds.attrs.get("organics_scan", "{}"))
    return xr.DataArray(spec.get("model", "main"))


def is_rate_model(ds: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Boolean (per ``model`` value, or 0-d): the model is a rate model, not an ORGaNICs variant."""
    names = model_name(ds)
    return names.copy(data=np.isin(names.values, RATE_MODELS)).rename("is_rate_model")


# ------------------------------------------------------------------------- trial masks
def _computed(ds: xr.Dataset) -> xr.DataArray:
    """Per-trial mask: the cell is done and the trial's outcome is not -1."""
    return (ds["outcome"] >= 0) & ds["done"]


def _fixed_points(ds: xr.Dataset) -> xr.DataArray:
    """Per-trial mask: computed trials that ended at a stable fixed point."""
    return _computed(ds) & (ds["outcome"] == STABLE)


def _quiet(reduce: Callable[[], xr.DataArray]) -> xr.DataArray:
    """Run a NaN-skipping reduction without the 'All-NaN slice' / 'Degrees of freedom' warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reduce()


def computed_trials(ds: xr.Dataset) -> xr.DataArray:
    """Number of computed trials per cell, dims (*sweep, delta, input_norm); 0 where not done."""
    return _computed(ds).sum("trial").rename("computed_trials")


# ------------------------------------------------------------------------- outcomes and phases
def _outcome_counts(ds: xr.Dataset) -> xr.DataArray:
    """Computed trials of each outcome per cell, dim ``outcome`` (names) with coordinate ``code``."""
    computed = _computed(ds)
    counts = [((ds["outcome"] == code) & computed).sum("trial") for code in OUTCOME_NAMES]
    return xr.concat(counts, dim="outcome").assign_coords(
        outcome=list(OUTCOME_NAMES.values()), code=("outcome", list(OUTCOME_NAMES))
    )


def outcome_fractions(ds: xr.Dataset) -> xr.DataArray:
    """Fraction of the computed trials of each cell that ended in each outcome.

    Dims (*sweep, delta, input_norm, outcome) with ``outcome`` = "unresolved", "diverging",
    "stable", "limit_cycle" (coordinate ``code`` = 0..3). Trials with outcome -1 and cells not
    done are excluded; cells without a computed trial are NaN. The fractions of a cell sum to 1.
    """
    counts = _outcome_counts(ds)
    total = counts.sum("outcome")
    fractions = counts / total.where(total > 0)
    return fractions.transpose(..., "outcome").rename("outcome_fraction")


def gap(ds: xr.Dataset) -> xr.DataArray:
    r"""Gap of each cell: :math:`\max_\text{trials} \mathrm{Re}\,\lambda^*\tau` over stable fixed points.

    This is the research code's ``max_real_max`` (spec §6): ``leading_real_tau`` (the leading
    Jacobian eigenvalue times tau, dimensionless, < 0) maximised over the computed trials that
    ended at a stable fixed point. The gap closes (tends to 0 from below) at critical slowing
    down. NaN where the cell has no stable-fixed-point trial. (The notebooks also discard
    positive values: their "fixed points" were not checked against the spectrum; here a stable
    fixed point has a negative leading real part by construction.)
    """
    values = ds["leading_real_tau"].where(_fixed_points(ds))
    return _quiet(lambda: values.max("trial")).rename("gap")


def critically_slowed(ds: xr.Dataset, threshold: float = CRITICAL_SLOWING_THRESHOLD) -> xr.DataArray:
    """Cells whose gap magnitude is below ``threshold``: ``|gap(ds)| < threshold`` (False where NaN)."""
    return (abs(gap(ds)) < threshold).rename("critically_slowed")


def majority_phase(
    ds: xr.Dataset,
    *,
    threshold: float = CRITICAL_SLOWING_THRESHOLD,
    merge_unresolved: bool = False,
) -> xr.DataArray:
    """Majority-vote phase of each cell (spec §6), as float codes with NaN for missing cells.

    The phase is the most frequent outcome among the cell's computed trials; ties go to the
    smaller code (0 unresolved < 1 diverging < 2 stable < 3 limit cycle). A cell whose majority
    is a stable fixed point is relabelled :data:`SLOWING` (5) when its gap is critically small,
    ``|gap(ds)| < threshold`` (the gap is taken over all its stable-fixed-point trials).

    Difference from the research code: by default the four outcomes stay apart. The notebooks
    lump "not converged" (0) into "limit cycle" (3) before voting, with the merged class voting
    under code 0 (so it wins ties against diverging and stable). ``merge_unresolved=True``
    reproduces that vote exactly and reports the merged class as :data:`LIMIT_CYCLE`.

    Returns dims (*sweep, delta, input_norm), float64 codes in {0, 1, 2, 3, 5}; NaN where no
    trial was computed.
    """
    counts = _outcome_counts(ds)
    if merge_unresolved:
        merged = counts.sel(outcome="unresolved") + counts.sel(outcome="limit_cycle")
        counts = counts.copy()
        counts.loc[{"outcome": "unresolved"}] = merged
        counts.loc[{"outcome": "limit_cycle"}] = 0
    winner = counts.argmax("outcome")  # first maximum: ties go to the smaller code
    codes = np.asarray(counts["code"].values, dtype=float)
    phase = winner.copy(data=codes[winner.values])
    if merge_unresolved:
        phase = phase.where(phase != UNRESOLVED, LIMIT_CYCLE)
    phase = phase.where(~((phase == STABLE) & critically_slowed(ds, threshold)), SLOWING)
    return phase.where(counts.sum("outcome") > 0).rename("phase")


def critical_delta_measured(ds: xr.Dataset, threshold: float = CRITICAL_SLOWING_THRESHOLD) -> xr.DataArray:
    """Measured critical recurrent strength per input norm: the first critically slowed delta.

    Scanning delta upwards (whatever the storage order), the smallest delta whose cell has
    ``|gap| < threshold`` (spec §6). Dims (*sweep, input_norm); NaN where no cell is slowed.
    """
    slowed = critically_slowed(ds, threshold)
    first = _quiet(lambda: ds["delta"].where(slowed).min("delta"))
    return first.rename("critical_delta_measured")


def critical_delta_comparison(ds: xr.Dataset, threshold: float = CRITICAL_SLOWING_THRESHOLD) -> xr.Dataset:
    """Measured vs analytic critical delta per input norm, dims (*sweep, input_norm).

    Variables: ``measured`` (:func:`critical_delta_measured`), ``analytic`` (the stored
    ``critical_delta``, Delta_c(|z|), inf/NaN where the formula has no solution) and
    ``ratio`` = measured / analytic.
    """
    measured = critical_delta_measured(ds, threshold)
    analytic = ds["critical_delta"]
    return xr.Dataset({"measured": measured, "analytic": analytic, "ratio": measured / analytic})


# ------------------------------------------------------------------------- trial averages
def fixed_point_mean(ds: xr.Dataset, name: str) -> xr.DataArray:
    """Mean of variable ``name`` over the computed stable-fixed-point trials of each cell (NaN-skipping).

    Dims (*sweep, delta, input_norm); NaN where the cell has no such trial.
    """
    values = ds[name].where(_fixed_points(ds))
    return _quiet(lambda: values.mean("trial")).rename(name)


def mean_frequency(ds: xr.Dataset) -> xr.DataArray:
    """Mean oscillation frequency (Hz) over stable fixed points: ``max_k |Im lambda_k| / 2 pi`` per trial."""
    return fixed_point_mean(ds, "frequency")


def mean_quality_factor(ds: xr.Dataset) -> xr.DataArray:
    """Mean stored ``quality_factor`` over stable fixed points.

    The stored factor is ``|lambda| / (2 |Re lambda|)`` of the most oscillatory eigenvalue
    (>= 1/2; the notebooks used ``|Im lambda| / |Re lambda|``).
    """
    return fixed_point_mean(ds, "quality_factor")


def mean_normalization_error(ds: xr.Dataset) -> xr.DataArray:
    """Mean of ``||y* - y_s0|| / ||y_s0||`` over stable fixed points (dimensionless)."""
    return fixed_point_mean(ds, "normalization_error")


# ------------------------------------------------------------------------- loss of normalization
def normalization_observable(ds: xr.Dataset) -> xr.DataArray:
    """Per-trial fixed-point observable of the normalization statistics.

    ``y_first`` (the fixed point of neuron 0) for a delocalized input, as in the notebooks;
    ``y_sum`` (the population sum) for a localized input and, since neither notebook covers
    them, also for random and gaussian inputs (the sum does not depend on which neuron is
    driven).
    """
    name = "y_first" if ds.attrs.get("input_type") == "delocalized" else "y_sum"
    return ds[name]


def normalization_statistics(ds: xr.Dataset, *, stability_fraction: float = STABILITY_FRACTION) -> xr.Dataset:
    """Mean, SD and coefficient of variation of the normalization observable per cell.

    Over the stable-fixed-point trials of each cell of :func:`normalization_observable`:
    ``mean``, ``sd`` (unbiased, ddof = 1) and ``cv`` = ``|sd / mean|``. Only cells where more
    than ``stability_fraction`` of the computed trials are stable fixed points are kept, the
    others are NaN (spec §6), and so are the rate models (:func:`is_rate_model`: they do not
    normalize). Dims (*sweep, delta, input_norm); attribute ``observable`` names the variable used.
    """
    observable = normalization_observable(ds)
    values = observable.where(_fixed_points(ds))
    stable = outcome_fractions(ds).sel(outcome="stable", drop=True) > stability_fraction
    valid = stable & ~is_rate_model(ds)
    mean = _quiet(lambda: values.mean("trial")).where(valid)
    sd = _quiet(lambda: values.std("trial", ddof=1)).where(valid)
    return xr.Dataset(
        {"mean": mean, "sd": sd, "cv": abs(sd / mean)},
        attrs={"observable": observable.name},
    )


def _first_crossing(mean: np.ndarray, sd: np.ndarray, z: np.ndarray, degree: int, n_points: int) -> float:
    """z of the first sign change of the fitted ``|mean| - sd`` on a log grid (NaN if none)."""
    valid = np.isfinite(mean) & np.isfinite(sd) & (z > 0)
    if valid.sum() <= degree + 1:
        return np.nan
    x = np.log10(z[valid])
    grid = np.linspace(x.min(), x.max(), n_points)
    mean_fit = np.polyval(np.polyfit(x, mean[valid], degree), grid)
    sd_fit = np.polyval(np.polyfit(x, sd[valid], degree), grid)
    diff = np.abs(mean_fit) - sd_fit
    change = np.flatnonzero((diff[:-1] == 0) | (diff[:-1] * diff[1:] < 0))
    if change.size == 0:
        return np.nan
    i = change[0]
    x_cross = grid[i] + (grid[i + 1] - grid[i]) * diff[i] / (diff[i] - diff[i + 1])
    return float(10.0**x_cross)


def normalization_breakdown(
    ds: xr.Dataset,
    degree: int = 5,
    *,
    n_points: int = 200,
    stability_fraction: float = STABILITY_FRACTION,
) -> xr.DataArray:
    r"""Measured loss-of-normalization input norm :math:`z_c(\Delta)` (spec §6).

    For each delta row: take the cells kept by :func:`normalization_statistics`, fit
    polynomials of ``degree`` in :math:`\log_{10}|z|` to the mean and to the SD of the
    observable (``np.polyfit``), evaluate both on ``n_points`` log-spaced norms spanning the
    kept cells, and return the first norm (scanning upwards) where ``|mean| - SD`` changes sign,
    linearly interpolated in :math:`\log_{10}|z|` between grid points. That is where the
    fluctuation of the fixed point across circuits equals its mean: normalization is lost.

    ``|mean|`` rather than the mean makes the criterion hold for negative observables too
    (identical to the notebooks' ``mean - SD`` when the mean is positive). NaN where there is
    no sign change or at most ``degree + 1`` kept cells. Dims (*sweep, delta).
    """
    stats = normalization_statistics(ds, stability_fraction=stability_fraction)
    stats = stats.sortby("input_norm")
    core = [["input_norm"]] * 3
    z_c = xr.apply_ufunc(
        _first_crossing,
        stats["mean"],
        stats["sd"],
        stats["input_norm"],
        input_core_dims=core,
        vectorize=True,
        kwargs={"degree": degree, "n_points": n_points},
    )
    return z_c.rename("normalization_breakdown")


# ------------------------------------------------------------------------- tables
def _boundary_inputs(phase: xr.DataArray) -> tuple[float, float]:
    """``(first_unstable_input, stable_from_input)`` of one delta row of majority phases."""
    norms = phase["input_norm"]
    done = phase.notnull()
    unstable = done & ~((phase == STABLE) | (phase == SLOWING))
    first_unstable = _quiet(lambda: norms.where(unstable).min())
    last_unstable = _quiet(lambda: norms.where(unstable).max())
    # with no unstable cell last_unstable is NaN, the comparison False: every computed cell counts
    stable_from = _quiet(lambda: norms.where(done & ~(norms <= last_unstable)).min())
    return float(first_unstable), float(stable_from)


def _row(counts: xr.DataArray, phase: xr.DataArray) -> dict[str, Any]:
    """Summary entries of one delta row from its outcome counts and majority phases."""
    total = int(counts.sum())
    per_outcome = counts.sum("input_norm")
    first_unstable, stable_from = _boundary_inputs(phase)
    return {
        "cells_done": int(phase.notnull().sum()),
        "cells": int(phase.size),
        "trials": total,
        **{name: float(per_outcome.sel(outcome=name)) / total if total else np.nan for name in OUTCOME_NAMES.values()},
        "slowed_cells": int((phase == SLOWING).sum()),
        "first_unstable_input": first_unstable,
        "stable_from_input": stable_from,
    }


def summary_rows(ds: xr.Dataset, *, threshold: float = CRITICAL_SLOWING_THRESHOLD) -> list[dict[str, Any]]:
    """One row per sweep combination and delta (ascending), for a printed summary table.

    Keys, in order: the sweep labels (e.g. ``"mu"``), then

    * ``delta``; ``cells_done`` / ``cells`` — input norms computed / in the row; ``trials`` —
      computed trials in the row;
    * ``unresolved``, ``diverging``, ``stable``, ``limit_cycle`` — fraction of the row's
      computed trials with that outcome (NaN if none);
    * ``slowed_cells`` — cells whose majority phase is :data:`SLOWING`;
    * ``first_unstable_input`` — the smallest |z| whose majority phase (:func:`majority_phase`)
      is not a stable fixed point (neither 2 nor 5); NaN if every computed cell is stable;
    * ``stable_from_input`` — the smallest |z| above which (inclusive) every computed cell of
      the row is majority-stable: the measured stability boundary at this delta. NaN if the
      largest computed |z| is not stable;
    * ``normalization_breakdown_input`` — :func:`normalization_breakdown` for this delta.

    Use :func:`critical_delta_comparison` for the per-input measured vs analytic Delta_c.
    """
    rows = []
    for labels, sub in iter_sweep(ds):
        sub = sub.sortby(["delta", "input_norm"])
        counts = _outcome_counts(sub)
        phase = majority_phase(sub, threshold=threshold)
        z_c = normalization_breakdown(sub)
        for delta in sub["delta"].values:
            row = _row(counts.sel(delta=delta), phase.sel(delta=delta))
            z_c_row = float(z_c.sel(delta=delta))
            rows.append({**labels, "delta": float(delta), **row, "normalization_breakdown_input": z_c_row})
    return rows
