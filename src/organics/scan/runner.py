"""Run a scan end to end: open (or resume) the store, evaluate the pending blocks, write them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import xarray as xr

from .engine import Block, run_block
from .executors import LocalExecutor
from .spec import ScanSpec
from .store import ScanStore, open_scan, open_store


def run_scan(
    spec: ScanSpec,
    path: str | Path,
    *,
    executor=None,
    overwrite: bool = False,
    chunk_delta: int | None = None,
    chunk_input: int | None = None,
    on_start: Callable[[ScanStore, list[Block]], None] | None = None,
    on_block: Callable[[Block], None] | None = None,
) -> xr.Dataset:
    """Compute every block of ``spec`` not yet in the store at ``path`` and return the dataset.

    ``executor`` defaults to :class:`~organics.scan.executors.LocalExecutor`. ``on_start`` is
    called with the store and the pending blocks before any compute, ``on_block`` after each
    block is written (progress reporting). Rerunning after an interruption resumes; a store of
    another spec is refused unless ``overwrite`` (see :func:`~organics.scan.store.open_store`).
    """
    store = open_store(path, spec, chunk_delta=chunk_delta, chunk_input=chunk_input, overwrite=overwrite)
    pending = store.pending()
    if on_start is not None:
        on_start(store, pending)
    executor = LocalExecutor() if executor is None else executor
    for block, records in executor.map(partial(run_block, spec), pending):
        store.write(block, records)
        if on_block is not None:
            on_block(block)
    return open_scan(path)
