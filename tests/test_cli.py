"""The command line and the demo report behind it."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import organics
from organics.cli import app
from organics.simulate import DIVERGING, STABLE_FIXED_POINT
from organics.sweep import delta_sweep

runner = CliRunner()


def test_version_and_help_list_every_command():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert organics.__version__ in result.output
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "fixed-points-2d"):
        assert command in result.output


def test_demo_sweep_rows_are_independent_and_show_the_three_regimes():
    """Row i depends only on (seed, i): a sub-sweep reproduces the same rows; identity
    recurrence gives the normalization point; strong recurrence diverges."""
    full = delta_sweep([0.0, 0.05, 5.0], n=20, input_norm=0.1, seed=3, max_chunks=5)
    assert full.outcome[0] == STABLE_FIXED_POINT
    assert full.normalization_error[0] < 1e-6
    assert full.leading_real_times_tau[0] == pytest.approx(-float(organics.normalization_scale(0.1)), rel=1e-6)
    assert full.spectral_radius[1] > 1.0 and full.outcome[1] == STABLE_FIXED_POINT
    assert full.outcome[2] == DIVERGING
    assert full.verdicts()[0] == "stable" and full.verdicts()[2] == "diverging"
    first_two = delta_sweep([0.0, 0.05], n=20, input_norm=0.1, seed=3, max_chunks=5)
    np.testing.assert_allclose(first_two.spectral_radius, full.spectral_radius[:2], rtol=1e-12)
    np.testing.assert_allclose(first_two.normalization_error, full.normalization_error[:2], rtol=1e-9, atol=1e-12)


def test_demo_command_prints_a_report():
    result = runner.invoke(app, ["demo", "--n", "12", "--deltas", "0,0.05", "--input-norm", "0.2"])
    assert result.exit_code == 0, result.output
    assert "stable" in result.output
    assert "Delta_c = 0.407" in result.output  # sqrt(2) s / (1 - s), s = sqrt(0.01 + 0.04)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["demo", "--n", "0"], "n must be an integer >= 1"),
        (["demo", "--deltas", "0.1,abc"], "--deltas must be a comma-separated list"),
        (["demo", "--deltas", "-1"], "deltas must be >= 0"),
        (["demo", "--input-norm", "0"], "input_norm must be > 0"),
        (["demo", "--ensemble", "nope"], "ensemble must be one of"),
        (["fixed-points-2d", "--sigma", "-1"], "sigma"),
    ],
)
def test_bad_input_gives_one_clear_error(arguments, message):
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert message in result.output


def test_fixed_points_2d_command_lists_the_three_points_of_fig1b():
    result = runner.invoke(app, ["fixed-points-2d", "--w-r", "2", "--b0", "0.5", "--sigma", "0.1", "--z", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.count("unstable") == 2
    assert "0.997779" in result.output


# ------------------------------------------------------------------------------------ scan / plot
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--delta-min", "2", "--delta-max", "1"], "delta_min must be <= delta_max"),
        (["--input-min", "0"], "input_min must be > 0 for input_scale = 'log'"),
        (["--ensemble", "gue"], "ensemble must be one of"),
        (["--model", "main,fancy"], "model must be one of"),
        (["--input-type", "uniform"], "input_type must be one of"),
        (["--n", "0"], "n must be an integer >= 1"),
        (["--mu", "0,zero"], "--mu must be a float or a comma-separated list"),
        (["--preset", "huge"], "preset must be one of"),
        (["--config", "missing.toml"], "config file 'missing.toml' does not exist"),
        (["--cluster", "k8s"], "--cluster must be one of local, slurm, pbs"),
    ],
)
def test_scan_rejects_bad_input_with_one_line_before_any_compute(tmp_path, options, message):
    out = tmp_path / "scan.zarr"
    result = runner.invoke(app, ["scan", "--out", str(out), *options])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error:")
    assert not out.exists()


def test_scan_show_config_round_trips_and_foreign_paths_are_refused(tmp_path):
    from organics.scan.presets import PRESETS
    from organics.scan.spec import load_config

    result = runner.invoke(
        app, ["scan", "--out", "x", "--preset", "critical-slowing", "--mu", "0,-0.5", "--show-config"]
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "scan.toml"
    path.write_text(result.output)
    assert load_config(path) == PRESETS["critical-slowing"].replace(mu=[0.0, -0.5])

    foreign = tmp_path / "results"
    foreign.mkdir()
    (foreign / "data.csv").write_text("1,2\n")
    for extra in ([], ["--overwrite"]):
        result = runner.invoke(app, ["scan", "--out", str(foreign), "--n", "2", *extra])
        assert result.exit_code == 2 and "is not an organics scan store" in result.output
    assert (foreign / "data.csv").read_text() == "1,2\n"
    result = runner.invoke(app, ["plot", str(foreign), "--out", str(tmp_path / "figs")])
    assert result.exit_code == 2 and "is not an organics scan store" in result.output


def test_scan_then_plot_end_to_end(tmp_path):
    out = tmp_path / "tiny.zarr"
    options = ["scan", "--out", str(out), "--n", "4", "--delta-num", "2", "--input-num", "2", "--trials", "2",
               "--max-chunks", "2", "--delta-max", "5"]  # fmt: skip
    result = runner.invoke(app, options)
    assert result.exit_code == 0, result.output
    assert "8 trials in 1 blocks" in result.output and "Outcomes per recurrent strength" in result.output
    assert "analytic Δ_c" in result.output
    again = runner.invoke(app, options)
    assert again.exit_code == 0 and "Resuming: 8 trials already stored, 0 to go." in again.output
    changed = runner.invoke(app, [*options, "--trials", "3"])
    assert changed.exit_code == 2 and "differs in: trials" in changed.output
    result = runner.invoke(app, ["plot", str(out), "--out", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    for name in ("phase_map", "gap_map", "normalization_maps", "outcome_percentages"):
        for fmt in ("png", "pdf"):
            assert (tmp_path / "figs" / f"{name}.{fmt}").stat().st_size > 1000
