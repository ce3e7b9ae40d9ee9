r"""Trajectories as labelled xarray Datasets, stored as Zarr (``*.zarr``) or NetCDF (``*.nc``).

:func:`trajectory_dataset` turns a :class:`organics.simulate.Trajectory` of one model into an
:class:`xarray.Dataset` with dimensions ``time`` (seconds) and ``neuron``:

* ORGaNICs: ``y`` and ``a`` (dimensionless potentials), ``y_norm = ||y(t)||_2``;
* ORGaNICs with dynamic gains: also ``b`` and ``b0``;
* rate models (:class:`~organics.models.rate.RateNetwork`, ``LinearNetwork``): ``v`` (Hz) and
  ``v_norm``; also ``y_norm`` (the same values) so that every dataset has a norm of the output;
* any other model: ``x`` (the flat state, dimension ``component``).

Attributes hold the model class, variant, size, a summary of its parameters (scalars only:
NetCDF-3 cannot store nested values), the solver status, ``t_final`` and the package version,
plus whatever the caller passes in ``attrs``.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["trajectory_dataset", "save_dataset", "open_dataset", "netcdf_engine"]


def _version() -> str:
    from . import __version__

    return str(__version__)


def _scalar_summary(name: str, value: Any) -> dict[str, Any]:
    """``name`` -> value if constant across neurons, else ``name_mean``, ``name_min``, ``name_max``."""
    arr = np.asarray(value, dtype=float)
    if arr.size == 0:
        return {}
    if arr.ndim == 0 or np.all(arr == arr.flat[0]):
        return {name: float(arr.flat[0])}
    return {f"{name}_mean": float(arr.mean()), f"{name}_min": float(arr.min()), f"{name}_max": float(arr.max())}


def model_summary(model) -> dict[str, Any]:
    """Scalar attributes describing ``model`` (class, size, variant, parameters, spectral radius)."""
    from .models.organics import ORGaNICs, ORGaNICsDynamicGains

    attrs: dict[str, Any] = {"model": type(model).__name__}
    circuit = model.circuit if isinstance(model, ORGaNICsDynamicGains) else model
    if isinstance(circuit, ORGaNICs):
        attrs.update(n=int(circuit.n), variant=str(circuit.variant), p=float(circuit.p))
        for name in ("b", "b0", "sigma", "tau_y", "tau_a"):
            attrs.update(_scalar_summary(name, getattr(circuit, name)))
        W_r = np.asarray(circuit.W_r, dtype=float)
        attrs["W_r_spectral_radius"] = float(np.max(np.abs(np.linalg.eigvals(W_r))))
        attrs["W_all_ones"] = int(np.all(np.asarray(circuit.W) == 1.0))
        if not circuit.time_varying and not isinstance(model, ORGaNICsDynamicGains):
            attrs["input_norm"] = float(np.linalg.norm(np.asarray(circuit.drive())))
        attrs["custom_a_plus"] = int(circuit.a_plus is not None)
    else:
        for name in ("tau", "gain"):
            if hasattr(model, name):
                attrs.update(_scalar_summary(name, getattr(model, name)))
        if hasattr(model, "n"):
            attrs["n"] = int(model.n)
        if hasattr(model, "nonlinearity"):
            attrs["nonlinearity"] = str(model.nonlinearity)
        if hasattr(model, "M"):
            attrs["M_spectral_radius"] = float(np.max(np.abs(np.linalg.eigvals(np.asarray(model.M, dtype=float)))))
    return attrs


def trajectory_dataset(model, trajectory, attrs: dict[str, Any] | None = None):
    """The trajectory of ``model`` as an :class:`xarray.Dataset` (dims ``time`` in s, ``neuron``).

    Values are the trajectory's own save times and states (rows after an early stop are NaN,
    as in the :class:`~organics.simulate.Trajectory`). ``attrs`` are added to the dataset's
    attributes (scalars or strings).
    """
    import xarray as xr

    from .models.organics import ORGaNICs, ORGaNICsDynamicGains
    from .models.rate import _RateModel

    ts = np.asarray(trajectory.ts, dtype=float)
    states = np.asarray(trajectory.states, dtype=float)
    if states.ndim != 2 or states.shape[0] != ts.shape[0]:
        raise ValueError(
            f"trajectory must hold one run: states of shape (time, state_size) matching ts; got "
            f"{states.shape} and {ts.shape} (a batched trajectory? select one trial first)"
        )
    size = getattr(model, "state_size", states.shape[1])
    if states.shape[1] != size:
        raise ValueError(f"trajectory state size {states.shape[1]} does not match the model's state_size {size}")

    coords: dict[str, Any] = {"time": ("time", ts, {"units": "s", "long_name": "time"})}
    data: dict[str, Any] = {}
    potential = {"units": "1", "long_name": ""}
    if isinstance(model, (ORGaNICs, ORGaNICsDynamicGains)):
        parts = [np.asarray(p) for p in model.split_state(states)]
        n = parts[0].shape[1]
        coords["neuron"] = ("neuron", np.arange(n))
        names = ("y", "a", "b", "b0")
        long_names = ("principal potential", "normalization potential", "input gain b", "input gain b0")
        for name, long_name, values in zip(names, long_names, parts):
            data[name] = (("time", "neuron"), values, dict(potential, long_name=long_name))
        y = parts[0]
        data["y_norm"] = ("time", np.linalg.norm(y, axis=1), dict(potential, long_name="2-norm of y"))
    elif isinstance(model, _RateModel):
        v = states
        coords["neuron"] = ("neuron", np.arange(v.shape[1]))
        data["v"] = (("time", "neuron"), v, {"units": "Hz", "long_name": "firing rate"})
        norm = np.linalg.norm(v, axis=1)
        data["v_norm"] = ("time", norm, {"units": "Hz", "long_name": "2-norm of v"})
        data["y_norm"] = ("time", norm, {"units": "Hz", "long_name": "2-norm of the output (= v_norm)"})
    else:
        coords["component"] = ("component", np.arange(states.shape[1]))
        data["x"] = (("time", "component"), states, {"long_name": "state"})
        data["y_norm"] = ("time", np.linalg.norm(states, axis=1), {"long_name": "2-norm of the state"})

    all_attrs: dict[str, Any] = model_summary(model)
    all_attrs.update(
        solver_status=int(np.asarray(trajectory.status)),
        t_final=float(np.asarray(trajectory.t_final)),
        num_steps=int(np.asarray(trajectory.num_steps)),
        organics_version=_version(),
    )
    for key, value in (attrs or {}).items():
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        elif not isinstance(value, (str, int, float, np.integer, np.floating)):
            raise ValueError(f"attrs[{key!r}] must be a string or a number (storable in NetCDF); got {value!r}")
        all_attrs[key] = value
    return xr.Dataset(data, coords=coords, attrs=all_attrs)


def netcdf_engine() -> str:
    """The NetCDF engine to use: ``netcdf4`` or ``h5netcdf`` if installed, else ``scipy`` (NetCDF-3)."""
    for module, engine in (("netCDF4", "netcdf4"), ("h5netcdf", "h5netcdf")):
        if importlib.util.find_spec(module) is not None:
            return engine
    return "scipy"


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        return "zarr"
    if suffix in (".nc", ".nc4", ".netcdf"):
        return "netcdf"
    raise ValueError(f"dataset path must end in .zarr (Zarr) or .nc (NetCDF); got {str(path)!r}")


def save_dataset(ds, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``ds`` to ``path``: Zarr for ``*.zarr``, NetCDF for ``*.nc`` (engine from
    :func:`netcdf_engine`; NetCDF-3 via SciPy when neither netCDF4 nor h5netcdf is installed,
    with integer coordinates stored as int32). Refuses to replace an existing path
    (``FileExistsError``) unless ``overwrite=True``. Returns the path."""
    path = Path(path)
    kind = _format(path)
    if path.exists():
        if not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "zarr":
        ds.to_zarr(path, mode="w-", consolidated=False)
    else:
        engine = netcdf_engine()
        out = ds
        if engine == "scipy":  # NetCDF-3 has no 64-bit integers
            out = ds.copy()
            for name, var in list(out.variables.items()):
                if np.issubdtype(var.dtype, np.integer):
                    out[name] = var.astype(np.int32)
        out.to_netcdf(path, engine=engine)
    return path


def open_dataset(path: str | Path):
    """Open a dataset written by :func:`save_dataset` (Zarr or NetCDF, by the suffix), loaded in memory."""
    import xarray as xr

    path = Path(path)
    if _format(path) == "zarr":
        return xr.open_zarr(path, consolidated=False).load()
    with xr.open_dataset(path, engine=netcdf_engine()) as ds:
        return ds.load()
