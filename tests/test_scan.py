"""Tests of organics.scan: spec validation, seeded blocks, the resumable store and the executors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
import zarr

import organics  # noqa: F401  (float64)
from organics.connectivity import input_drive, recurrent_matrix
from organics.fixed_points import first_order_fixed_point
from organics.models import ORGaNICs
from organics.scan.engine import MAX_GROUP, Block, group_width, run_block, trial_keys
from organics.scan.executors import DaskExecutor, dask_client
from organics.scan.presets import PRESETS
from organics.scan.runner import run_scan
from organics.scan.spec import MODELS, RATE_MODELS, ScanSpec, SpecError, dump_config, load_config
from organics.scan.store import StoreError, open_scan, open_store
from organics.simulate import DEFAULT_BOUND, DIVERGING, STABLE_FIXED_POINT, auto_group_size
from organics.theory import critical_delta

#: A small scan that still shows stable, critically slowed and diverging cells.
SMALL = ScanSpec(
    n=6,
    delta_min=0.02,
    delta_max=5.0,
    delta_num=4,
    input_min=0.01,
    input_max=0.5,
    input_num=3,
    trials=3,
    max_chunks=4,
)


def assert_same(a: xr.Dataset, b: xr.Dataset) -> None:
    """Bit-identical records (NaN == NaN) and the same coordinates."""
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        assert a[name].dims == b[name].dims, name
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> xr.Dataset:
    """SMALL computed in-process with one block per Delta row."""
    path = tmp_path_factory.mktemp("scan") / "reference.zarr"
    return run_scan(SMALL, path, chunk_delta=1, chunk_input=3).load()


# ----------------------------------------------------------------------------------------- spec
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"delta_min": 2.0, "delta_max": 1.0}, "delta_min must be <= delta_max"),
        ({"input_min": 0.0}, "input_min must be > 0 for input_scale = 'log'"),
        ({"delta_min": -1.0, "delta_scale": "linear"}, "delta_min must be >= 0"),
        ({"ensemble": "gue"}, "ensemble must be one of"),
        ({"model": "fancy"}, "model must be one of"),
        ({"input_type": "uniform"}, "input_type must be one of"),
        ({"initial": "anywhere"}, "initial must be one of"),
        ({"n": 0}, "n must be an integer >= 1"),
        ({"trials": 0}, "trials must be an integer >= 1"),
        ({"sigma": [0.1, 0.1]}, "sigma lists a value twice"),
        ({"sigma": -0.1}, "sigma must be > 0"),
        ({"delta_num": 1}, "delta_num = 1 needs delta_min == delta_max"),
        ({"sparsity": 200.0}, "sparsity must be in (0, n = 100]"),
        ({"ensemble": "dale", "mu": -0.5}, "mu must be 0 for ensemble 'dale'"),
    ],
)
def test_spec_rejects_bad_input_naming_the_field(changes, message):
    with pytest.raises(SpecError) as error:
        ScanSpec(**changes)
    assert message in str(error.value)


def test_spec_round_trips_through_toml_and_dict(tmp_path):
    spec = SMALL.replace(mu=[0.0, -0.5], model=["main", "rectified"], sparsity=3.0, ensemble="goe")
    assert spec.sweep == {"model": ("main", "rectified"), "mu": (0.0, -0.5)}
    assert spec.grid_dims == ("model", "mu", "delta", "input_norm")
    assert spec.n_trials == 2 * 2 * 4 * 3 * 3
    path = tmp_path / "scan.toml"
    path.write_text(dump_config(spec))
    assert load_config(path) == spec
    assert ScanSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    path.write_text("[scan]\nn = 7\ntrials = 2\n")
    assert load_config(path) == ScanSpec(n=7, trials=2)
    path.write_text("n = 7\ndeltas = 3\n")
    with pytest.raises(SpecError, match="unknown scan field"):
        load_config(path)


def test_group_width_narrows_with_the_circuit_size():
    """Powers of two from MAX_GROUP (small circuits) down to 2, never above the cache-sized group."""
    widths = {}
    for n in (1, 10, 20, 50, 100, 400, 1000):
        circuits = jax.vmap(lambda s: ORGaNICs(z=s * jnp.ones(n)))(jnp.array([0.5, 1.0]))
        widths[n] = group_width(circuits, 2, n)
        assert 2 <= widths[n] <= min(MAX_GROUP, auto_group_size(circuits, 2))
        assert widths[n] & (widths[n] - 1) == 0
    assert widths == {1: 16, 10: 8, 20: 8, 50: 4, 100: 4, 400: 2, 1000: 2}


def test_presets_are_the_papers_grids():
    for name in ("stabilization-delocalized", "stabilization-localized"):
        spec = PRESETS[name]
        assert (spec.n, spec.sigma, spec.b0, spec.b1, spec.tau_y, spec.tau_a) == (100, 0.1, 1.0, 1.0, 2e-3, 2e-3)
        assert (spec.initial, spec.ensemble, spec.trials, spec.n_trials) == (
            "first_order",
            "goe_symmetric",
            100,
            4_000_000,
        )
        np.testing.assert_allclose(spec.deltas[[0, -1]], [0.01, 10.0])
        np.testing.assert_allclose(spec.input_norms[[0, -1]], [0.01, 1.0])
    assert PRESETS["stabilization-localized"].input_type == "localized"


# ----------------------------------------------------------------------------------------- engine
def test_results_do_not_depend_on_the_block_layout(reference, tmp_path):
    """Blocks of one cell, two cells or a whole row give bit-identical records."""
    other = run_scan(SMALL, tmp_path / "cells.zarr", chunk_delta=3, chunk_input=1).load()
    assert_same(reference, other)
    direct = run_block(SMALL, Block(0, (), 1, 3, 1, 3))
    for name in ("outcome", "leading_real_tau", "fixed_point_y", "eigenvalues"):
        np.testing.assert_array_equal(direct[name], reference[name].values[1:3, 1:3], err_msg=name)


def test_scan_records_follow_the_theory(reference):
    ds = reference
    assert bool(ds["done"].all())
    outcome = ds["outcome"].values
    # Smallest Delta: every trial is a stable fixed point close to the normalization point,
    # and the normalization error is the first-order prediction to within O(Delta^2).
    small = ds.isel(delta=0)
    assert np.all(small["outcome"].values == STABLE_FIXED_POINT)
    error, first_order = small["normalization_error"].values, small["first_order_error"].values
    assert np.all(np.abs(error - first_order) <= 4 * first_order**2), (error, first_order)  # second order
    assert np.all(small["leading_real_tau"].values < 0)
    # Largest Delta (spectral radius ~ 1 + sqrt(2) 5): the weakest input mostly diverges.
    assert np.sum(outcome[-1, 0] == DIVERGING) >= 2 and not np.any(outcome[-1, 0] == STABLE_FIXED_POINT)
    # Spectral radius of goe_symmetric W_r = I + M grows like 1 + sqrt(2) Delta (finite-N spread).
    radius = ds["spectral_radius"].mean(("input_norm", "trial")).values
    assert np.all(np.diff(radius) > 0) and radius[0] < 1.1
    # Per-trial records exist only for their outcome.
    fixed = outcome == STABLE_FIXED_POINT
    assert np.all(np.isfinite(ds["leading_real_tau"].values[fixed]))
    assert np.all(np.isnan(ds["leading_real_tau"].values[~fixed]))
    assert np.all(np.isnan(ds["fixed_point_y"].values[~fixed]))
    assert np.all(np.isnan(ds["divergence_time"].values[outcome != DIVERGING]))
    assert np.all(ds["divergence_time"].values[outcome == DIVERGING] > 0)
    # The leading eigenvalue is the stored spectrum's largest real part.
    eigs = ds["eigenvalues"].values[fixed]
    np.testing.assert_allclose(
        eigs.real.max(axis=-1) * ds.attrs["tau"], ds["leading_real_tau"].values[fixed], rtol=1e-5
    )
    # The relaxation time is -1 / Re lambda*.
    np.testing.assert_allclose(
        ds["relaxation_time"].values[fixed], -ds.attrs["tau"] / ds["leading_real_tau"].values[fixed], rtol=1e-12
    )
    # The analytic boundary is stored per input.
    np.testing.assert_allclose(ds["critical_delta"].values, critical_delta(ds["input_norm"].values), rtol=1e-12)
    assert json.loads(ds.attrs["organics_scan"]) == SMALL.to_dict()


def test_sweep_dimensions_reuse_the_same_draws(tmp_path):
    """A list of models is a dimension; every model sees the same matrices (common random numbers)."""
    spec = SMALL.replace(
        model=["main", "rectified"],
        delta_min=0.01,
        delta_max=0.03,
        delta_num=2,
        input_num=1,
        input_max=0.1,
        input_min=0.1,
    )
    ds = run_scan(spec, tmp_path / "models.zarr").load()
    assert ds["outcome"].dims == ("model", "delta", "input_norm", "trial")
    assert list(ds["model"].values) == ["main", "rectified"]
    np.testing.assert_array_equal(ds["spectral_radius"].sel(model="main"), ds["spectral_radius"].sel(model="rectified"))
    # Positive drive and weak recurrence: y* > 0, where the rectified model is the main model.
    assert np.all(ds["outcome"].values == STABLE_FIXED_POINT)
    assert np.all(ds["fixed_point_y"].values > 0)
    np.testing.assert_allclose(
        ds["fixed_point_y"].sel(model="main"), ds["fixed_point_y"].sel(model="rectified"), rtol=1e-5, atol=1e-7
    )


# ----------------------------------------------------------------------------------------- store
def test_store_resumes_refuses_other_configs_and_never_touches_other_data(reference, tmp_path):
    path = tmp_path / "partial.zarr"
    store = open_store(path, SMALL, chunk_delta=1, chunk_input=3)
    blocks = store.pending()
    assert len(blocks) == 4
    for block in blocks[:2]:
        store.write(block, run_block(SMALL, block))
    partial = open_scan(path).load()
    assert partial["done"].values.tolist() == [[True] * 3, [True] * 3, [False] * 3, [False] * 3]
    assert np.all(partial["outcome"].values[2:] == -1) and np.all(np.isnan(partial["leading_real_tau"].values[2:]))
    # Reopening with other chunk sizes keeps the stored layout and only the missing blocks.
    resumed = open_store(path, SMALL, chunk_delta=4, chunk_input=1)
    assert [b.index for b in resumed.pending()] == [2, 3]
    done = run_scan(SMALL, path)
    assert_same(reference, done.load())

    other = SMALL.replace(trials=2)
    with pytest.raises(StoreError, match=r"another configuration \(differs in: trials\)"):
        run_scan(other, path)
    assert_same(reference, open_scan(path).load())
    replaced = run_scan(other, path, overwrite=True)
    assert replaced.sizes["trial"] == 2

    # a store of the same configuration written by a version with fewer records is refused, then replaced
    older = tmp_path / "older.zarr"
    open_store(older, SMALL)
    zarr.open_group(str(older), mode="r+").__delitem__("spectral_abscissa")
    with pytest.raises(StoreError, match="records lack spectral_abscissa; pass --overwrite"):
        run_scan(SMALL, older)
    open_store(older, SMALL, overwrite=True)
    assert "spectral_abscissa" in open_scan(older).data_vars

    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(StoreError, match="is not an organics scan store"):
            run_scan(SMALL, foreign, overwrite=overwrite)
    assert (foreign / "keep.txt").read_text() == "precious"
    with pytest.raises(StoreError, match="is not an organics scan store"):
        open_scan(foreign)


# ----------------------------------------------------------------------------------------- executors
def test_dask_local_cluster_with_two_worker_processes_gives_the_same_dataset(reference, tmp_path):
    with dask_client(cluster="local", workers=2) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
        assert len(set(client.run(os.getpid).values()) | {os.getpid()}) == 3  # two other processes
        ds = run_scan(SMALL, tmp_path / "dask.zarr", executor=DaskExecutor(client), chunk_delta=2, chunk_input=1)
    assert_same(reference, ds.load())


def test_jobqueue_cluster_writes_a_slurm_job_script():
    pytest.importorskip("dask_jobqueue")
    from dask_jobqueue import SLURMCluster

    with SLURMCluster(cores=4, processes=4, memory="16GB", walltime="02:00:00", queue="cpu") as cluster:
        script = cluster.job_script()
    assert "#SBATCH -p cpu" in script and "--nworkers 4" in script and "--nthreads 1" in script


def test_killed_scan_resumes_to_the_uninterrupted_result(reference, tmp_path):
    """SIGKILL a running `organics scan` after its first block, rerun the same command, compare."""
    config = tmp_path / "small.toml"
    config.write_text(dump_config(SMALL))
    out = tmp_path / "killed.zarr"
    command = [sys.executable, "-m", "organics.cli", "scan", "--config", str(config), "--out", str(out),
               "--chunk-delta", "1", "--chunk-input", "1"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        done = 0
        while time.monotonic() < deadline and process.poll() is None:
            try:
                done = int(xr.open_zarr(out, consolidated=False)["done"].sum())
            except Exception:  # the store is being created
                done = 0
            if done >= 1:
                break
            time.sleep(0.2)
        assert process.poll() is None, f"the scan finished before it could be killed: {process.stderr.read()!r}"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    partial = xr.open_zarr(out, consolidated=False)
    assert 1 <= int(partial["done"].sum()) < SMALL.n_cells
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stdout
    assert_same(reference, open_scan(out).load())


def test_example_config_and_job_script_are_valid():
    root = Path(__file__).resolve().parents[1]
    spec = load_config(root / "examples" / "scan_localized_mu.toml")
    assert spec.sweep == {"mu": (0.0, -0.5, 1.0)} and spec.input_type == "localized"
    script = root / "examples" / "scan_slurm.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert "organics scan --preset stabilization-delocalized" in script.read_text()


def test_store_template_carries_the_analytic_boundary_for_every_mu():
    from organics.scan.store import Layout, template

    spec = SMALL.replace(mu=[0.0, -0.5], input_type="localized", records="summary")
    ds = template(Layout.default(spec))
    assert "fixed_point_y" not in ds and "neuron" not in ds.dims
    for mu in (0.0, -0.5):
        expected = critical_delta(spec.input_norms, mu=mu, input_type="localized")
        np.testing.assert_allclose(ds["critical_delta"].sel(mu=mu).values, expected, rtol=1e-12)
    assert int(ds["outcome"].min()) == -1 and not bool(ds["done"].any())


# ----------------------------------------------------------------------------------------- rate models
#: ORGaNICs and two rate models on the same draws. Three Delta x one |z| x three trials = 9 trials
#: per model, the block size of SMALL, so the ORGaNICs functions compiled for SMALL are reused.
THREE_MODELS = SMALL.replace(
    model=["main", "linear", "rate_tanh"], delta_min=0.2, delta_max=0.8, delta_num=3, input_min=1.0, input_max=1.0,
    input_num=1,
)  # fmt: skip


@pytest.fixture(scope="module")
def three_models(tmp_path_factory) -> tuple[Path, xr.Dataset]:
    path = tmp_path_factory.mktemp("scan") / "three_models.zarr"
    return path, run_scan(THREE_MODELS, path).load()


def trial_draws(spec: ScanSpec, i: int, j: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``W_r``, ``z`` and the main circuit's first-order start of trial (i, j, k), drawn independently of
    the engine from its documented keys (split into matrix, input and start keys)."""
    key = trial_keys(spec.seed, np.array([i]), np.array([j]), np.array([k]))[0]
    return tuple(np.asarray(a) for a in _draws(key, spec.deltas[i], spec.input_norms[j], spec))


@partial(jax.jit, static_argnums=3)
def _draws(key, delta, input_norm, spec: ScanSpec):
    k_matrix, _, _ = jax.random.split(key, 3)
    W_r = recurrent_matrix(k_matrix, spec.n, ensemble=spec.ensemble, delta=delta, mu=0.0)
    z = input_drive(spec.n, spec.input_type, input_norm)
    circuit = ORGaNICs(z=z, W_r=W_r, sigma=spec.sigma, b=spec.b1, b0=spec.b0, tau_y=spec.tau_y, tau_a=spec.tau_a)
    return W_r, z, first_order_fixed_point(circuit).state


def linear_exit_time(W_r: np.ndarray, h: np.ndarray, v0: np.ndarray, tau: float, t_max: float) -> float:
    """First time max_i |v_i(t)| exceeds DEFAULT_BOUND for tau dv/dt = -v + h + W_r v (symmetric W_r).

    Eigenmode solution (lecture notes on linear recurrent networks): with W_r = Q diag(lambda) Q^T,
    c_i(t) = h.e_i / (1 - lambda_i) (1 - exp(-t (1 - lambda_i)/tau)) + c_i(0) exp(-t (1 - lambda_i)/tau).
    """
    lam, Q = np.linalg.eigh(W_r)
    steady, start = Q.T @ h / (1 - lam), Q.T @ v0

    def size(t: float) -> float:
        decay = np.exp(-t * (1 - lam) / tau)
        return np.max(np.abs(Q @ (steady * (1 - decay) + start * decay)))

    ts = np.linspace(0.0, t_max, 20001)
    decay = np.exp(-np.outer(ts, 1 - lam) / tau)
    sizes = np.max(np.abs((steady * (1 - decay) + start * decay) @ Q.T), axis=1)
    first = int(np.argmax(sizes > DEFAULT_BOUND))
    assert first > 0 and sizes[first] > DEFAULT_BOUND
    lo, hi = ts[first - 1], ts[first]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if size(mid) > DEFAULT_BOUND else (mid, hi)
    return hi


def test_spec_accepts_every_model_and_names_them_all_when_refusing():
    assert MODELS == ("main", "rectified", "rectified_recurrence", *RATE_MODELS)
    assert RATE_MODELS == ("linear", "rate_relu", "rate_relu_power", "rate_sigmoid", "rate_tanh")
    assert ScanSpec(model=list(MODELS)).sweep == {"model": MODELS}
    for bad in ("rate-tanh", "tanh", ["main", "relu"]):
        with pytest.raises(SpecError) as error:
            ScanSpec(model=bad)
        message = str(error.value)
        assert message.startswith("model must be one of")
        assert all(repr(name) in message for name in MODELS)
    spec = load_config(Path(__file__).resolve().parents[1] / "examples" / "scan_three_models.toml")
    assert spec.sweep == {"model": ("main", "linear", "rate_tanh")}


def test_a_model_sweep_with_rate_models_is_one_dataset_with_the_same_variables(reference, three_models):
    _, ds = three_models
    assert set(ds.data_vars) == set(reference.data_vars)
    for name in reference.data_vars:
        assert ds[name].dims == ("model", *reference[name].dims), name
        assert ds[name].dtype == reference[name].dtype, name
    assert (ds.sizes["neuron"], ds.sizes["mode"]) == (reference.sizes["neuron"], reference.sizes["mode"])
    assert bool(ds["done"].all())
    n = THREE_MODELS.n
    for model in ("linear", "rate_tanh"):
        rate = ds.sel(model=model)
        # ORGaNICs-only records are NaN; a rate model has n states and n eigenvalues.
        for name in ("normalization_error", "first_order_error", "normalization_y", "first_order_a", "fixed_point_a"):
            assert rate[name].isnull().all(), name
        assert rate["eigenvalues"].isel(mode=slice(n, None)).isnull().all()
        assert rate["critical_delta"].isnull().all()
    assert ds["critical_delta"].sel(model="main").notnull().all()
    # Common random numbers: every model saw the same matrices.
    for name in ("spectral_radius", "spectral_abscissa"):
        values = ds[name].values
        np.testing.assert_array_equal(values, np.broadcast_to(values[:1], values.shape))


def test_linear_network_diverges_exactly_as_its_eigenmodes_say_and_organics_settles(three_models):
    _, ds = three_models
    spec, tau = THREE_MODELS, THREE_MODELS.tau_y
    linear, main = ds.sel(model="linear"), ds.sel(model="main")
    for i, j, k in np.ndindex(spec.delta_num, spec.input_num, spec.trials):
        W_r, z, start = trial_draws(spec, i, j, k)
        abscissa = np.linalg.eigvalsh(W_r).max()
        assert linear["spectral_abscissa"].values[i, j, k] == pytest.approx(abscissa, rel=1e-12)
        assert linear["spectral_radius"].values[i, j, k] == pytest.approx(np.abs(np.linalg.eigvalsh(W_r)).max())
        # tau dv/dt = -v + z + W_r v is stable iff max eig(W_r) < 1: here W_r = I + M has eigenvalues above 1.
        assert abscissa > 1 and linear["outcome"].values[i, j, k] == DIVERGING
        # It leaves the bound when the eigenmode solution does, to within one step (<= tau) of the solver.
        t_div = float(linear["divergence_time"].values[i, j, k])
        t_exit = linear_exit_time(W_r, spec.b1 * z, start[: spec.n], tau, t_div + 2 * tau)
        assert t_exit - 1e-6 * tau <= t_div <= t_exit + tau, (t_exit, t_div)
    # The same matrices, spectral radius well above 1 at Delta = 0.8: ORGaNICs settles.
    strongest = main.isel(delta=-1)
    assert np.all(strongest["spectral_radius"].values > 1.4)
    assert np.all(strongest["outcome"].values == STABLE_FIXED_POINT)


def test_tanh_rate_network_stays_bounded_and_settles_on_its_fixed_point(three_models):
    _, ds = three_models
    spec = THREE_MODELS
    tanh = ds.sel(model="rate_tanh")
    outcome = tanh["outcome"].values
    assert not np.any(outcome == DIVERGING)  # |F| <= 1 bounds every rate
    assert np.sum(outcome == STABLE_FIXED_POINT) >= 6
    for i, j, k in zip(*np.nonzero(outcome == STABLE_FIXED_POINT)):
        W_r, z, _ = trial_draws(spec, i, j, k)
        v = tanh["fixed_point_y"].values[i, j, k].astype(float)
        assert np.max(np.abs(v)) < 1
        np.testing.assert_allclose(v, np.tanh(spec.b1 * z + W_r @ v), atol=2e-6)  # v* = F(h + W_r v*)
        eigs = tanh["eigenvalues"].values[i, j, k, : spec.n]
        jacobian = (-np.eye(spec.n) + (1 - v[:, None] ** 2) * W_r) / spec.tau_y  # F' = 1 - tanh^2 = 1 - v*^2
        expected = np.linalg.eigvals(jacobian)
        assert eigs.real.max() == pytest.approx(expected.real.max(), rel=1e-4)
        assert tanh["leading_real_tau"].values[i, j, k] == pytest.approx(expected.real.max() * spec.tau_y, rel=1e-4)
        assert tanh["y_sum"].values[i, j, k] == pytest.approx(v.sum(), rel=1e-5)


def test_summary_and_plot_of_a_mixed_dataset(three_models, tmp_path):
    import io

    from rich.console import Console
    from typer.testing import CliRunner

    from organics.cli import app
    from organics.scan.report import print_summary

    path, ds = three_models
    text = io.StringIO()
    print_summary(Console(file=text, width=200), ds)
    output = text.getvalue()
    for model in THREE_MODELS.model:
        assert f"Outcomes per recurrent strength (model={model})" in output
    assert output.count("Critical recurrent strength") == 1  # the ORGaNICs theory table: main only
    result = CliRunner().invoke(app, ["plot", str(path), "--out", str(tmp_path / "figures"), "--formats", "png"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "figures").iterdir())
    figures = ("phase_map", "gap_map", "outcome_percentages", "frequency_map", "quality_factor_map")
    expected = [f"{f}_model={m}.png" for m in THREE_MODELS.model for f in figures]
    expected.append("normalization_maps_model=main.png")  # normalization is an ORGaNICs notion
    assert written == sorted(expected)
