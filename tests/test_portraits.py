"""Phase portraits, neuron portraits, trajectory datasets, the example scripts and the CLI commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import organics  # noqa: E402,F401
from organics import ORGaNICs  # noqa: E402
from organics.cli import app  # noqa: E402
from organics.models.rate import dayan_abbott_ei  # noqa: E402
from organics.plot import neuron_portrait, phase_portrait, time_courses  # noqa: E402
from organics.simulate import simulate  # noqa: E402
from organics.trajectories import open_dataset, save_dataset, trajectory_dataset  # noqa: E402
from organics.two_dimensional import two_d_fixed_points  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


@pytest.mark.parametrize("variant,z", [("main", 1.0), ("rectified", -1.0), ("main", -1.0)])
def test_phase_portrait_marks_every_fixed_point_and_both_nullclines(variant, z):
    params = dict(w_r=2.0, w=1.0, b=0.5, z=z, b0=0.5, sigma=0.1, variant=variant)
    expected = two_d_fixed_points(**params)
    model = ORGaNICs(z=[z], W_r=[[2.0]], W=[[1.0]], b=0.5, b0=0.5, sigma=0.1, variant=variant)
    fig = phase_portrait(model, grid=12, nullcline_grid=80, n_trajectories=2, t1=0.02)
    ax = fig.axes[0]
    markers = [line for line in ax.lines if line.get_gid() == "fixed_point"]
    assert len(markers) == len(expected) == 3
    for line, fp in zip(markers, expected):
        np.testing.assert_allclose([line.get_xdata()[0], line.get_ydata()[0]], [fp.y, fp.a])
        assert line.get_color() == ("red" if fp.stable else "black")
        assert line.get_marker() == "*"
    assert _gid(ax, "nullcline_0") and _gid(ax, "nullcline_1")
    assert len([line for line in ax.lines if line.get_gid() == "trajectory"]) == 2
    assert "y" in ax.get_xlabel() and "a" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "stable fixed point" in labels and "unstable fixed point" in labels
    plt.close(fig)


@pytest.mark.parametrize("tau_i,stable", [(0.030, True), (0.050, False)])
def test_phase_portrait_of_the_ei_pair_finds_its_fixed_point_by_root_finding(tau_i, stable):
    fig = phase_portrait(dayan_abbott_ei(tau_i=tau_i), xlim=(0, 60), ylim=(0, 40), grid=12,
                         nullcline_grid=80, n_trajectories=1, t1=0.2)
    ax = fig.axes[0]
    markers = [line for line in ax.lines if line.get_gid() == "fixed_point"]
    assert len(markers) == 1
    np.testing.assert_allclose([markers[0].get_xdata()[0], markers[0].get_ydata()[0]], [80 / 3, 50 / 3], rtol=1e-8)
    assert markers[0].get_color() == ("red" if stable else "black")
    assert ax.get_xlabel() == "$v_E$ (Hz)"
    plt.close(fig)


def test_phase_portrait_rejects_nd_models_and_generic_models_without_window():
    with pytest.raises(ValueError, match="two-dimensional"):
        phase_portrait(ORGaNICs(z=np.full(3, 0.1)))
    with pytest.raises(ValueError, match="xlim and ylim"):
        phase_portrait(dayan_abbott_ei())


@pytest.fixture(scope="module")
def small_run():
    rng = np.random.default_rng(0)
    n = 5
    model = ORGaNICs(z=np.full(n, 0.05), W_r=np.eye(n) + 0.1 * rng.standard_normal((n, n)))
    traj = simulate(model, np.zeros(2 * n), 0.05, n_save=60)
    return model, traj


def test_neuron_portrait_and_time_courses(small_run):
    model, traj = small_run
    fig = neuron_portrait(model, traj, k=3)
    assert len([ln for ln in fig.axes[0].lines if ln.get_gid() == "trajectory"]) == 3
    plt.close(fig)
    fig = neuron_portrait(model, traj, neurons=[0, 4])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["neuron 0", "neuron 4"]
    plt.close(fig)
    with pytest.raises(ValueError, match="neuron indices"):
        neuron_portrait(model, traj, neurons=[7])
    fig = time_courses(traj, model, k=2)
    assert len(fig.axes) == 2 and fig.axes[1].get_xlabel() == "time (ms)"
    norm_line = [ln for ln in fig.axes[1].lines if ln.get_gid() == "norm"][0]
    y, _ = model.split_state(np.asarray(traj.states))
    np.testing.assert_allclose(norm_line.get_ydata(), np.linalg.norm(y, axis=1))
    plt.close(fig)


@pytest.mark.parametrize("suffix", ["zarr", "nc"])
def test_trajectory_dataset_round_trip(small_run, tmp_path, suffix):
    model, traj = small_run
    ds = trajectory_dataset(model, traj, attrs={"seed": 3})
    assert ds.y.dims == ("time", "neuron") and ds.sizes == {"time": 60, "neuron": 5}
    assert ds.time.attrs["units"] == "s" and ds.attrs["organics_version"] == organics.__version__
    path = save_dataset(ds, tmp_path / f"run.{suffix}")
    back = open_dataset(path)
    np.testing.assert_array_equal(back.time.values, np.asarray(traj.ts))
    y, a = model.split_state(np.asarray(traj.states))
    np.testing.assert_array_equal(back.y.values, y)
    np.testing.assert_array_equal(back.a.values, a)
    np.testing.assert_array_equal(back.neuron.values, np.arange(5))
    assert back.attrs["seed"] == 3 and back.attrs["model"] == "ORGaNICs"
    with pytest.raises(FileExistsError):
        save_dataset(ds, path)
    save_dataset(ds, path, overwrite=True)
    with pytest.raises(ValueError, match=".zarr"):
        save_dataset(ds, tmp_path / "run.txt")


def test_rate_model_dataset_has_rates():
    model = dayan_abbott_ei()
    traj = simulate(model, np.array([10.0, 5.0]), 0.1, n_save=20)
    ds = trajectory_dataset(model, traj)
    assert ds.v.attrs["units"] == "Hz" and ds.sizes["neuron"] == 2
    np.testing.assert_array_equal(ds.v.values, np.asarray(traj.states))


def test_example_scripts_run_quick(tmp_path):
    procs = [
        subprocess.Popen([sys.executable, str(ROOT / "examples" / script), "--out", str(tmp_path), "--quick"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for script in ("fig1_fig2_phase_portraits.py", "fig3_time_constants.py")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    for stem in ("fig1_phase_portraits_positive_input", "fig2_phase_portraits_negative_input", "fig3_time_constants"):
        for ext in ("png", "pdf"):
            assert (tmp_path / f"{stem}.{ext}").stat().st_size > 1000


def test_cli_simulate_writes_dataset_and_figures(tmp_path):
    out = tmp_path / "run"
    args = ["simulate", "--n", "8", "--duration-ms", "20", "--n-save", "50", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "outcome:" in result.output
    for name in ("time_courses.png", "time_courses.pdf", "portrait.png"):
        assert (out / name).stat().st_size > 1000
    ds = xr.open_zarr(out / "trajectory.zarr", consolidated=False).load()
    assert ds.y.dims == ("time", "neuron") and ds.sizes == {"time": 50, "neuron": 8}
    assert ds.time.values[-1] == pytest.approx(0.02)
    assert ds.attrs["outcome"] in ("stable_fixed_point", "limit_cycle", "diverging", "unresolved")
    # the stored values are the trajectory of the same circuit from the same start
    import jax

    from organics.connectivity import input_drive, recurrent_matrix
    from organics.fixed_points import first_order_fixed_point

    key = jax.random.key(0)
    model = ORGaNICs(z=input_drive(8, "delocalized", 0.1), W_r=recurrent_matrix(jax.random.fold_in(key, 0), 8,
                     ensemble="goe_symmetric", delta=0.1))
    traj = simulate(model, first_order_fixed_point(model).state, 0.02, n_save=50)
    y, a = model.split_state(np.asarray(traj.states))
    np.testing.assert_allclose(ds.y.values, y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ds.a.values, a, rtol=1e-12, atol=1e-14)
    # existing output is refused before any compute
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_cli_portrait_writes_figures(tmp_path):
    result = runner.invoke(app, ["portrait", "--model", "organics-rectified", "--z", "-1", "--trajectories", "1",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "portrait.png").stat().st_size > 1000 and (tmp_path / "portrait.pdf").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["simulate", "--n", "0"], "--n must be >= 1"),
        (["simulate", "--duration-ms", "-5"], "--duration-ms must be > 0"),
        (["simulate", "--ensemble", "nope"], "--ensemble must be one of"),
        (["simulate", "--init", "nope"], "--init must be one of"),
        (["simulate", "--format", "csv"], "--format must be one of"),
        (["portrait", "--model", "nope"], "--model must be one of"),
        (["portrait", "--tau-i-ms", "-1"], "--tau-i-ms must be > 0"),
        (["portrait", "--xlim", "1,0"], "--xlim must be"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, args, message):
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert message in result.output
