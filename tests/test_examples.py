"""The central-claim figure: one matrix with spectral radius above 1, three circuits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_same_matrix_three_models_shows_the_claim(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "same_matrix_three_models.py"), "--out", str(tmp_path), "--quick"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "linear network: DIVERGING" in result.stdout
    assert "ORGaNICs: STABLE_FIXED_POINT" in result.stdout
    assert "rate network (tanh): DIVERGING" not in result.stdout  # saturation keeps it bounded
    for suffix in ("png", "pdf"):
        assert (tmp_path / f"same_matrix_three_models.{suffix}").stat().st_size > 1000


def test_ring_responses_match_the_normalization_equation(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "ring_responses.py"), "--out", str(tmp_path), "--quick"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    deviation = float(result.stdout.rsplit("max |y - normalization| = ", 1)[1].split()[0])
    assert deviation < 1e-6  # the circuit's fixed point is the normalization equation (W_r = I)
    for suffix in ("png", "pdf"):
        assert (tmp_path / f"ring_responses.{suffix}").stat().st_size > 1000


def test_every_example_script_runs_in_the_test_suite():
    """CI runs every gallery script (with --quick): each one is named in some test file."""
    tests = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    missing = [p.name for p in sorted(EXAMPLES.glob("*.py")) if p.stem not in tests]
    assert not missing, f"example scripts not run by any test: {missing}"
