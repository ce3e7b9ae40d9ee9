"""Stability phase diagrams over random connectivity (``organics scan``): spec, engine, store, executors.

* :class:`ScanSpec`, :func:`load_config`, :data:`PRESETS` — what to compute (:mod:`.spec`, :mod:`.presets`);
  :data:`MODELS` — the accepted ``model`` values, ORGaNICs variants and :data:`RATE_MODELS`;
* :func:`run_block` — one block of trials, pure; :func:`scan_model` — a trial's circuit (:mod:`.engine`);
* :func:`open_store`, :func:`open_scan` — the resumable Zarr store (:mod:`.store`);
* :class:`LocalExecutor`, :class:`DaskExecutor`, :func:`dask_client` — where blocks run (:mod:`.executors`);
* :func:`run_scan` — all of it (:mod:`.runner`); :mod:`.analysis` — phase maps and boundaries
  from a stored dataset (plots in :mod:`organics.plot.phase`).
"""

from . import analysis
from .engine import Block, run_block, scan_model
from .executors import DaskExecutor, LocalExecutor, dask_client, make_cluster
from .presets import PRESETS, preset
from .runner import run_scan
from .spec import MODELS, RATE_MODELS, ScanSpec, SpecError, dump_config, load_config
from .store import ScanStore, StoreError, open_scan, open_store, scalar_records

__all__ = [
    "MODELS",
    "PRESETS",
    "RATE_MODELS",
    "Block",
    "DaskExecutor",
    "LocalExecutor",
    "ScanSpec",
    "ScanStore",
    "SpecError",
    "StoreError",
    "analysis",
    "dask_client",
    "dump_config",
    "load_config",
    "make_cluster",
    "open_scan",
    "open_store",
    "preset",
    "run_block",
    "run_scan",
    "scalar_records",
    "scan_model",
]
