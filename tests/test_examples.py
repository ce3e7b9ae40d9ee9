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
