r"""The scan's Zarr store: one labelled xarray Dataset, written block by block, resumable.

Layout (see :mod:`organics.scan.engine` for the meaning of every record):

* dimensions: the sweep dimensions of the spec (``model``, ``mu``, ``sigma``, ``b0``, ``b1``,
  those given as lists), ``delta``, ``input_norm``, ``trial`` and, for ``records = "full"``,
  ``neuron`` and ``mode`` (``2 n`` Jacobian eigenvalues; a rate model has ``n``, then NaN);
* per-trial records with dims ``(*grid, trial)``; per-neuron records ``(*grid, trial, neuron)``
  (float32); ``eigenvalues`` ``(*grid, trial, mode)`` (complex64, 1/s);
* ``done`` ``(*grid)``: the cell's block was completely written;
* ``critical_delta`` ``(*grid without delta)``: the analytic ``Delta_c(|z|)``
  (:func:`organics.theory.critical_delta`, forms (A)/(C) for ``mu != 0``; NaN where the theory
  has no closed form: other ensembles, ``mu != 0`` with random/gaussian input, and the rate
  models, for which it is not derived);
* attributes: ``organics_scan`` (the spec as JSON), ``organics_version``, and for convenience
  ``n``, ``tau`` (``max(tau_y, tau_a)``, s), ``input_type``, ``ensemble``, ``initial``.

**Writing.** The store is created with every variable chunked by blocks (one chunk per sweep
combination, ``chunk_delta`` x ``chunk_input`` cells, all trials), metadata and coordinates only.
A finished block is written as one aligned region of every record, then its cells of ``done`` are
set. A block whose ``done`` cells are not all set is redone on the next run, so killing a scan
at any moment loses at most the blocks in flight, and the resumed dataset equals an
uninterrupted run (each block's results depend only on the spec and the block's indices, and
the block layout is fixed by the store).

**Refusals.** Opening a path that holds something other than a scan store, or a scan of another
spec, raises :class:`StoreError` (nothing is touched); ``overwrite=True`` replaces a scan store
of another spec but never anything that is not a scan store.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

from ..theory import critical_delta
from .engine import MODE_RECORDS, NEURON_RECORDS, SCALAR_RECORDS, Block
from .spec import RATE_MODELS, ScanSpec

#: Attribute holding the spec (JSON) that marks a Zarr store as an organics scan.
SPEC_ATTRIBUTE = "organics_scan"
#: Input types with a closed-form Delta_c for mu != 0 (research-code spec §5, forms (A) and (C)).
MEAN_FORMS = ("delocalized", "localized")
#: Target number of trials per block when the chunk sizes are not given.
TARGET_BLOCK_TRIALS = 256

_UNITS = {
    "spectral_radius": "1",
    "spectral_abscissa": "1",
    "leading_real_tau": "1",
    "relaxation_time": "s",
    "leading_frequency": "Hz",
    "frequency": "Hz",
    "period": "s",
    "divergence_time": "s",
    "time_simulated": "s",
    "eigenvalues": "1/s",
}
_DESCRIPTIONS = {
    "outcome": "0 unresolved, 1 diverging, 2 stable fixed point, 3 limit cycle, -1 not computed",
    "spectral_radius": "max |eigenvalue| of W_r",
    "spectral_abscissa": "max Re eigenvalue of W_r (the linear network with weights W_r is stable iff < 1)",
    "leading_real_tau": "Re lambda* x max(tau) at the stable fixed point",
    "relaxation_time": "-1 / Re lambda* at the stable fixed point",
    "leading_frequency": "|Im lambda*| / 2 pi of the leading eigenvalue",
    "frequency": "max_k |Im lambda_k| / 2 pi",
    "quality_factor": "|lambda| / (2 |Re lambda|) of the most oscillatory eigenvalue",
    "normalization_error": "||y* - y_s0|| / ||y_s0|| (ORGaNICs only, NaN for rate models)",
    "first_order_error": "||y_s1|| / ||y_s0|| (first-order prediction of the normalization error; ORGaNICs only)",
    "y_first": "y*_0 at the stable fixed point",
    "y_sum": "sum_i y*_i at the stable fixed point",
    "period": "period of the limit cycle",
    "amplitude": "peak-to-peak amplitude of the limit cycle (first principal component of the state)",
    "divergence_time": "time the state left |x_i| <= 1e10",
    "time_simulated": "simulated time",
    "n_chunks": "number of 100-tau chunks integrated",
    "eigenvalues": "Jacobian spectrum at the stable fixed point",
    "done": "the cell's block is completely written",
    "critical_delta": "analytic critical recurrent strength Delta_c(|z|) (first-order theory)",
}


class StoreError(ValueError):
    """A store that cannot be used for the requested scan (the message says why and what to do)."""


@dataclass(frozen=True)
class Layout:
    """How the grid is cut into blocks: ``chunk_delta`` x ``chunk_input`` cells per block."""

    spec: ScanSpec
    chunk_delta: int
    chunk_input: int

    @classmethod
    def default(cls, spec: ScanSpec, chunk_delta: int | None = None, chunk_input: int | None = None) -> "Layout":
        """Blocks of about :data:`TARGET_BLOCK_TRIALS` trials: whole input rows, then several rows."""
        if chunk_input is None:
            chunk_input = min(spec.input_num, max(1, TARGET_BLOCK_TRIALS // spec.trials))
        if chunk_delta is None:
            chunk_delta = min(spec.delta_num, max(1, TARGET_BLOCK_TRIALS // (spec.trials * chunk_input)))
        for name, value in (("chunk_delta", chunk_delta), ("chunk_input", chunk_input)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise StoreError(f"{name} must be an integer >= 1; got {value!r}")
        return cls(spec, min(int(chunk_delta), spec.delta_num), min(int(chunk_input), spec.input_num))

    def blocks(self) -> list[Block]:
        spec = self.spec
        out = []
        for sweep_index in np.ndindex(*spec.grid_shape[:-2]):
            for d0 in range(0, spec.delta_num, self.chunk_delta):
                for j0 in range(0, spec.input_num, self.chunk_input):
                    out.append(
                        Block(
                            index=len(out),
                            sweep_index=tuple(int(i) for i in sweep_index),
                            delta_start=d0,
                            delta_stop=min(d0 + self.chunk_delta, spec.delta_num),
                            input_start=j0,
                            input_stop=min(j0 + self.chunk_input, spec.input_num),
                        )
                    )
        return out

    def region(self, block: Block) -> dict[str, slice]:
        """The block's cells as an xarray region (``{dim: slice}``)."""
        region = {dim: slice(i, i + 1) for dim, i in zip(self.spec.sweep, block.sweep_index)}
        region["delta"] = slice(block.delta_start, block.delta_stop)
        region["input_norm"] = slice(block.input_start, block.input_stop)
        return region


def _record_names(spec: ScanSpec) -> list[str]:
    names = list(SCALAR_RECORDS)
    if spec.records == "full":
        names += [*NEURON_RECORDS, *MODE_RECORDS]
    return names


def _record_dims(name: str, spec: ScanSpec) -> tuple[str, ...]:
    extra = ("neuron",) if name in NEURON_RECORDS else ("mode",) if name in MODE_RECORDS else ()
    return (*spec.grid_dims, "trial", *extra)


def _record_dtype(name: str) -> np.dtype:
    if name in NEURON_RECORDS:
        return np.dtype("float32")
    if name in MODE_RECORDS:
        return np.dtype("complex64")
    return np.dtype(SCALAR_RECORDS[name])


def _fill(dtype: np.dtype):
    return -1 if dtype.kind == "i" else np.nan


def _analytic_critical_delta(spec: ScanSpec) -> xr.DataArray:
    """``Delta_c(|z|)`` for every sweep combination (NaN where no closed form applies)."""
    dims = (*spec.sweep, "input_norm")
    shape = (*spec.grid_shape[:-2], spec.input_num)
    values = np.full(shape, np.nan)
    for index in np.ndindex(*shape[:-1]):
        p = spec.cell_parameters(index)
        if p["model"] in RATE_MODELS:
            continue  # an ORGaNICs boundary
        if spec.ensemble != "goe_symmetric" or (p["mu"] != 0 and spec.input_type not in MEAN_FORMS):
            continue  # the closed forms are derived for goe_symmetric; with mu != 0 for these inputs only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            values[index] = np.asarray(
                critical_delta(
                    spec.input_norms, sigma=p["sigma"], b=p["b1"], b0=p["b0"], mu=p["mu"], input_type=spec.input_type
                )
            )
    return xr.DataArray(values, dims=dims, attrs={"description": _DESCRIPTIONS["critical_delta"]})


def template(layout: Layout) -> xr.Dataset:
    """The empty dataset (lazy fill values, block-chunked) that :func:`open_store` writes as metadata."""
    from .. import __version__

    spec = layout.spec
    coords: dict[str, np.ndarray] = {
        name: np.asarray(values, dtype=object if name == "model" else float) for name, values in spec.sweep.items()
    }
    coords.update(delta=spec.deltas, input_norm=spec.input_norms, trial=np.arange(spec.trials))
    if spec.records == "full":
        coords.update(neuron=np.arange(spec.n), mode=np.arange(2 * spec.n))
    sizes = {**{k: len(v) for k, v in coords.items()}}
    chunk_of = {dim: 1 for dim in spec.sweep}
    chunk_of.update(delta=layout.chunk_delta, input_norm=layout.chunk_input, trial=spec.trials)
    chunk_of.update(neuron=spec.n, mode=2 * spec.n)

    data_vars = {}
    for name in _record_names(spec):
        dims = _record_dims(name, spec)
        dtype = _record_dtype(name)
        array = da.full(
            tuple(sizes[d] for d in dims), _fill(dtype), dtype=dtype, chunks=tuple(chunk_of[d] for d in dims)
        )
        attrs = {"description": _DESCRIPTIONS.get(name, name.replace("_", " "))}
        if name in _UNITS:
            attrs["units"] = _UNITS[name]
        data_vars[name] = xr.Variable(dims, array, attrs)
    done_dims = spec.grid_dims
    data_vars["done"] = xr.Variable(
        done_dims,
        da.zeros(tuple(sizes[d] for d in done_dims), dtype=bool, chunks=tuple(chunk_of[d] for d in done_dims)),
        {"description": _DESCRIPTIONS["done"]},
    )
    ds = xr.Dataset(data_vars, coords=coords)
    ds["critical_delta"] = _analytic_critical_delta(spec)
    ds["delta"].attrs.update(long_name="recurrent strength Delta", units="1")
    ds["input_norm"].attrs.update(long_name="input norm |z|")
    ds.attrs.update(
        {
            SPEC_ATTRIBUTE: json.dumps(spec.to_dict(), sort_keys=True),
            "organics_version": __version__,
            "n": spec.n,
            "tau": max(spec.tau_y, spec.tau_a),
            "input_type": spec.input_type,
            "ensemble": spec.ensemble,
            "initial": spec.initial,
            "chunk_delta": layout.chunk_delta,
            "chunk_input": layout.chunk_input,
        }
    )
    return ds


def _encoding(ds: xr.Dataset) -> dict:
    encoding = {}
    for name, var in ds.data_vars.items():
        if var.chunks is None:
            continue
        # Zarr's own fill value (not CF's _FillValue): unwritten chunks read as NaN / -1 / False
        # and integers keep their dtype.
        fill = False if var.dtype.kind == "b" else _fill(var.dtype)
        encoding[name] = {"chunks": tuple(c[0] for c in var.chunks), "fill_value": fill}
    return encoding


def _read_spec(path: Path) -> ScanSpec | None:
    """The spec of the scan stored at ``path``; ``None`` if ``path`` is not a scan store."""
    try:
        attrs = xr.open_zarr(path, consolidated=False).attrs
    except Exception:  # not a Zarr store at all
        return None
    text = attrs.get(SPEC_ATTRIBUTE)
    if text is None:
        return None
    try:
        return ScanSpec.from_dict(json.loads(text))
    except (ValueError, TypeError):
        return None


class ScanStore:
    """An open scan store: which blocks are done, and writing finished blocks."""

    def __init__(self, path: Path, layout: Layout):
        self.path = path
        self.layout = layout
        self.spec = layout.spec

    def done_mask(self) -> np.ndarray:
        """``done`` as a NumPy array over the grid."""
        return np.asarray(xr.open_zarr(self.path, consolidated=False)["done"].values, dtype=bool)

    def pending(self) -> list[Block]:
        """Blocks with at least one cell not marked done (to be computed, or recomputed)."""
        done = self.done_mask()
        pending = []
        for block in self.layout.blocks():
            cells = done[(*block.sweep_index, slice(block.delta_start, block.delta_stop),
                          slice(block.input_start, block.input_stop))]  # fmt: skip
            if not cells.all():
                pending.append(block)
        return pending

    def write(self, block: Block, records: dict[str, np.ndarray]) -> None:
        """Write one block's records as an aligned region, then mark its cells done."""
        spec = self.spec
        region = self.layout.region(block)
        lead = (1,) * len(spec.sweep)
        data = {}
        for name in _record_names(spec):
            values = np.asarray(records[name]).astype(_record_dtype(name))
            data[name] = (_record_dims(name, spec), values.reshape(lead + values.shape))
        xr.Dataset(data).to_zarr(self.path, region=region, consolidated=False)
        done = np.ones(lead + block.shape, dtype=bool)
        xr.Dataset({"done": (spec.grid_dims, done)}).to_zarr(self.path, region=region, consolidated=False)


def open_store(
    path: str | Path,
    spec: ScanSpec,
    *,
    chunk_delta: int | None = None,
    chunk_input: int | None = None,
    overwrite: bool = False,
) -> ScanStore:
    """Create the store for ``spec`` at ``path``, or reopen it to resume (see the module docstring).

    When resuming, the block layout stored with the scan is used (``chunk_*`` are ignored).
    """
    path = Path(path)
    if path.exists():
        stored = _read_spec(path)
        if stored is None:
            raise StoreError(
                f"{str(path)!r} exists and is not an organics scan store; choose another path "
                "(it is never overwritten, even with --overwrite)"
            )
        if stored == spec:
            existing = xr.open_zarr(path, consolidated=False)
            layout = Layout(spec, int(existing.attrs["chunk_delta"]), int(existing.attrs["chunk_input"]))
            missing = sorted(set(template(layout).data_vars) - set(existing.data_vars))
            if not missing:
                return ScanStore(path, layout)
            if not overwrite:
                raise StoreError(
                    f"{str(path)!r} was written by organics {existing.attrs.get('organics_version', '?')}, whose "
                    f"records lack {', '.join(missing)}; pass --overwrite to recompute it with this version"
                )
        elif not overwrite:
            changed = sorted(k for k, v in spec.to_dict().items() if stored.to_dict().get(k) != v)
            raise StoreError(
                f"{str(path)!r} holds a scan of another configuration (differs in: {', '.join(changed)}); "
                "rerun with the same configuration to resume, or pass --overwrite to replace it"
            )
        shutil.rmtree(path)
    layout = Layout.default(spec, chunk_delta, chunk_input)
    ds = template(layout)
    ds.to_zarr(path, mode="w", compute=False, encoding=_encoding(ds), consolidated=False)
    return ScanStore(path, layout)


def open_scan(path: str | Path) -> xr.Dataset:
    """Read a scan as an xarray Dataset (lazy); records of cells not yet computed read as missing."""
    path = Path(path)
    if _read_spec(path) is None:
        raise StoreError(f"{str(path)!r} is not an organics scan store")
    return xr.open_zarr(path, consolidated=False)


def scalar_records(ds: xr.Dataset) -> xr.Dataset:
    """The dataset without its per-neuron and per-mode records, loaded into memory (for reports, plots)."""
    wide = [name for name, var in ds.data_vars.items() if {"neuron", "mode"} & set(var.dims)]
    return ds.drop_vars(wide).drop_dims([d for d in ("neuron", "mode") if d in ds.dims]).load()
