"""``organics bifurcation``: Hopf points of the Dayan-Abbott E-I pair against the trace/determinant condition."""

from __future__ import annotations

import re

import numpy as np
import pytest
from typer.testing import CliRunner

import organics.cli.bifurcation  # noqa: F401  (registers the command)
from organics.cli import app
from organics.models.rate import DAYAN_ABBOTT_EI

runner = CliRunner()
P = DAYAN_ABBOTT_EI


def _jacobian(tau_e: float, tau_i: float, m_ee: float) -> np.ndarray:
    """Closed-form Jacobian with both units active (lecture notes)."""
    return np.array([[(m_ee - 1) / tau_e, P["M_EI"] / tau_e], [P["M_IE"] / tau_i, (P["M_II"] - 1) / tau_i]])


def _crossing_row(output: str) -> tuple[float, float]:
    match = re.search(r"│\s*([0-9.]+)\s*│\s*Hopf\s*│[^│]*│\s*([0-9.]+)\s*│", output)
    assert match, output
    return float(match.group(1)), float(match.group(2))


def test_tau_i_sweep_finds_the_hopf_point_and_writes_the_figure(tmp_path):
    result = runner.invoke(
        app, ["bifurcation", "--out", str(tmp_path), "--min", "30", "--max", "50", "--num", "6", "--duration", "2"]
    )
    assert result.exit_code == 0, result.output
    tau_i, frequency = _crossing_row(result.output)
    # trace J = 0  <=>  tau_I = tau_E (1 - M_II)/(M_EE - 1); then omega = sqrt(det J)
    tau_star = P["tau_E"] * (1 - P["M_II"]) / (P["M_EE"] - 1)
    assert tau_i * 1e-3 == pytest.approx(tau_star, rel=1e-10)
    J = _jacobian(P["tau_E"], tau_star, P["M_EE"])
    assert np.trace(J) == pytest.approx(0.0, abs=1e-10)
    assert frequency == pytest.approx(np.sqrt(np.linalg.det(J)) / (2 * np.pi), rel=1e-9)
    # beyond the Hopf point the rectified network oscillates with an amplitude of tens of Hz
    peak = float(re.search(r"amplitude of v_E: ([0-9.e+-]+) Hz", result.output).group(1))
    assert 20.0 < peak < 100.0
    for suffix in ("png", "pdf"):
        assert (tmp_path / f"bifurcation_tau_I.{suffix}").stat().st_size > 1000
    again = runner.invoke(app, ["bifurcation", "--out", str(tmp_path), "--no-simulate"])
    assert again.exit_code == 2 and "exists" in again.output


def test_m_ee_sweep_matches_the_trace_condition(tmp_path):
    result = runner.invoke(
        app, ["bifurcation", "--out", str(tmp_path), "--parameter", "M_EE", "--no-simulate", "--formats", "png"]
    )
    assert result.exit_code == 0, result.output
    m_ee, frequency = _crossing_row(result.output)
    tau_i = 0.030  # the preset's tau_I when another parameter is swept
    m_star = 1 + P["tau_E"] * (1 - P["M_II"]) / tau_i
    assert m_ee == pytest.approx(m_star, rel=1e-10)
    assert frequency == pytest.approx(
        np.sqrt(np.linalg.det(_jacobian(P["tau_E"], tau_i, m_star))) / (2 * np.pi), rel=1e-9
    )
    assert (tmp_path / "bifurcation_M_EE.png").exists() and not (tmp_path / "bifurcation_M_EE.pdf").exists()


def test_organics_circuit_stays_stable(tmp_path):
    result = runner.invoke(
        app, ["bifurcation", "--out", str(tmp_path), "--parameter", "organics_w_r", "--num", "5", "--no-simulate"]
    )
    assert result.exit_code == 0, result.output
    assert "no crossing" in result.output and "negative (stable)" in result.output


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--parameter", "tau_X"], "--parameter must be one of tau_I"),
        (["--min", "50", "--max", "30"], "--min must be < --max"),
        (["--min", "0", "--max", "30"], "--min must be > 0"),
        (["--num", "2"], "--num must be >= 3"),
        (["--formats", "png,gif"], "--formats must list"),
        (["--duration", "-1"], "--duration must be > 0"),
    ],
)
def test_bad_input_gives_one_clear_error(tmp_path, arguments, message):
    result = runner.invoke(app, ["bifurcation", "--out", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert not list(tmp_path.iterdir())
