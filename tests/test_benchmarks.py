"""The benchmark scripts keep up with the package API they time (they are not run in full here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scan_benchmark_builds_its_circuit_and_times_the_eigendecomposition_floor():
    floor = _load("scan").eig_floor(4, repeats=2)
    assert 0.0 <= floor < 1.0


def test_scan_benchmark_times_a_small_scan_and_its_once_per_scan_store_work(tmp_path):
    bench = _load("scan")
    spec = bench.benchmark_spec(4).replace(delta_num=2, input_num=2, trials=2, max_chunks=2)
    result = bench.run(spec, tmp_path / "small.zarr")
    assert result["ds"]["outcome"].shape == (2, 2, 2)
    assert 0.0 < result["once"] < result["cpu"]
    assert result["stages"].trials["integration"] >= spec.n_trials  # every trial integrated at least once
