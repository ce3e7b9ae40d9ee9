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
