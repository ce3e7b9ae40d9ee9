"""The classic rate-model examples run in-process with --quick, write their figures and print checked numbers."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str, tmp_path: Path, capsys) -> tuple[list[Path], str]:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.main(["--out", str(tmp_path), "--quick"])
    output = capsys.readouterr().out
    assert sorted(p.name for p in written) == [f"{name}.pdf", f"{name}.png"]
    for path in written:
        assert path.parent == tmp_path and path.stat().st_size > 1000
    return written, output


def _number(pattern: str, output: str) -> float:
    match = re.search(pattern, output)
    assert match, output
    return float(match.group(1))


def test_ei_bifurcation(tmp_path, capsys):
    _, output = _run("ei_bifurcation", tmp_path, capsys)
    # trace J = 0.25/tau_E - 1/tau_I = 0 at tau_I = 4 tau_E; omega^2 = det J = 0.75/(tau_E tau_I)
    assert _number(r"tau_I = ([0-9.]+) ms", output) == pytest.approx(40.0, rel=1e-9)
    assert _number(r"Hopf frequency: ([0-9.]+) Hz", output) == pytest.approx(
        np.sqrt(0.75 / (0.010 * 0.040)) / (2 * np.pi), rel=1e-9
    )


def test_linear_amplification(tmp_path, capsys):
    _, output = _run("linear_amplification", tmp_path, capsys)
    assert _number(r"1/\(1 - lambda_1\): ([0-9.]+)", output) == pytest.approx(10.0, rel=1e-9)
    assert _number(r"over input projection: ([0-9.]+)", output) == pytest.approx(10.0, rel=1e-9)


def test_nonnormal_amplification(tmp_path, capsys):
    _, output = _run("nonnormal_amplification", tmp_path, capsys)
    for ensemble in ("random row sums", "zero row sums"):
        pattern = rf"\({ensemble}\): Lyapunov ([0-9.]+), SDE ([0-9.]+) \+- ([0-9.]+)"
        theory, estimate, error = (float(g) for g in re.search(pattern, output).groups())
        assert theory > 1.0  # non-normal amplification is >= 1, and > 1 for these non-normal matrices
        assert abs(estimate - theory) < 5 * error + 0.01 * theory
