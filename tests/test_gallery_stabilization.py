"""The Stabilization-paper gallery and NeurIPS Fig. 4: every script runs with --quick, in process.

Each script is imported from its path and its ``main(["--out", tmp, "--quick"])`` called (JAX is
imported once, and the scans share compiled code). Checks: the PNG and PDF files exist and are not
empty, and one printed number per script against an independent expectation.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import organics as org

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, out: Path, capsys) -> tuple[list[Path], str]:
    spec = importlib.util.spec_from_file_location(f"gallery_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.main(["--out", str(out), "--quick"])
    return [Path(p) for p in written], capsys.readouterr().out


def assert_figures(written: list[Path], stems: list[str]) -> None:
    for stem in stems:
        for suffix in ("png", "pdf"):
            path = next(p for p in written if p.name == f"{stem}.{suffix}")
            assert path.stat().st_size > 1000, path


def test_fig4_algorithm1_converges_fast(tmp_path, capsys):
    written, out = run_example("fig4_algorithm1_convergence", tmp_path, capsys)
    assert_figures(written, ["fig4_algorithm1_convergence"])
    errors = {int(k): float(e) for k, e in re.findall(r"iteration\s+(\d+): mean error ([^,]+),", out)}
    # Appendix G: a few iterations reach the simulated fixed point; the start (k = 0) is far off.
    assert errors[0] > 1e-2
    assert errors[5] < 1e-8
    assert "8/8 converged" in out


def test_neuron_phase_portraits_outcomes(tmp_path, capsys):
    written, out = run_example("neuron_phase_portraits", tmp_path, capsys)
    assert_figures(written, ["neuron_phase_portraits"])
    # 100 tau and 2 chunks are enough to tell the small-Delta circuit from the diverging one
    assert re.search(r"^stable \(.*\): STABLE_FIXED_POINT, lambda\* tau = -", out, re.M)
    assert re.search(r"^unstable \(.*\): DIVERGING", out, re.M)


def test_stabilization_phase_diagrams(tmp_path, capsys):
    written, out = run_example("stabilization_phase_diagrams", tmp_path, capsys)
    stems = [
        f"stabilization_phase_diagrams_{i}_{f}"
        for i in ("delocalized", "localized")
        for f in ("phase_map", "gap_map", "normalization_maps")
    ]
    assert_figures(written, stems)
    # the printed analytic Delta_c is the closed form sqrt(2) s / (1 - s)
    rows = re.findall(r"^\s+0\.0100\s+\S+\s+(\S+)$", out, re.M)
    assert len(rows) == 2
    s = np.hypot(0.1, 0.01)
    assert float(rows[0]) == pytest.approx(np.sqrt(2) * s / (1 - s), rel=1e-3)


def test_stabilization_gap(tmp_path, capsys):
    written, out = run_example("stabilization_gap", tmp_path, capsys)
    assert_figures(written, ["stabilization_gap"])
    analytic = [float(a) for a in re.findall(r"^\s+\S+\s+\S+\s+(\S+)\s+\S+$", out, re.M)]
    assert analytic == pytest.approx(np.asarray(org.critical_delta(np.array([0.01, 0.5]))), rel=1e-3)


def test_eigenvalue_histograms(tmp_path, capsys):
    written, out = run_example("eigenvalue_histograms", tmp_path, capsys)
    assert_figures(written, ["eigenvalue_histograms"])
    # below Delta_c, every circuit is stable with a leading eigenvalue near the W_r = I value -s
    rows = re.findall(r"^\s+(\d+)\s+0\.050\s+(\d+)\s+(\S+)", out, re.M)
    assert rows
    s = float(org.normalization_scale(0.01))
    for _, count, mean in rows:
        assert int(count) == 2
        assert -2 * s < float(mean) < -0.2 * s


def test_normalization_curve(tmp_path, capsys):
    written, out = run_example("normalization_curve", tmp_path, capsys)
    assert_figures(written, ["normalization_curve"])
    # at |z| = 1 and small Delta the fixed point is normalized: sum y*^2 ~ |z|^2 / (sigma^2 + |z|^2)
    row = re.search(r"^\s+0\.050\s+1\.0000\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    measured, first_order, normalization = map(float, row.groups())
    assert normalization == pytest.approx(1 / 1.01, rel=1e-3)
    assert measured == pytest.approx(normalization, rel=0.05)
    assert first_order == pytest.approx(measured, rel=0.05)
