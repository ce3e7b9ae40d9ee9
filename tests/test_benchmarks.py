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


def test_static_mnist_benchmark_matches_each_mlp_to_its_fixed_point_model():
    import jax

    from organics.nn.models import build_classifier, parameter_count

    bench = _load("static_mnist")
    two_layers = bench.config("fp120-60", 1, None, None)
    assert (two_layers.model, two_layers.hidden, two_layers.options) == ("organics-fp", 120, {"widths": [120, 60]})
    for mlp, fixed_point in bench.MLP_MATCHES.items():
        counts = []
        for cfg in (bench.config(fixed_point, 1, None, None), bench.config(mlp, 1, None, None)):
            model = build_classifier(cfg.model, input_size=bench.INPUT_SIZE, n_classes=bench.N_CLASSES,
                                     hidden=cfg.hidden, key=jax.random.key(0), **cfg.options)  # fmt: skip
            counts.append(parameter_count(model))
        # one hidden unit of the MLP is input_size + 1 + n_classes parameters: matched to within half of it
        assert abs(counts[1] - counts[0]) <= (bench.INPUT_SIZE + 1 + bench.N_CLASSES) / 2
