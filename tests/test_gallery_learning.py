"""The learning gallery scripts (NeurIPS Figs. 5-7, Tables 1-2) run with --quick and print checked numbers."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import organics  # noqa: F401  (float64)
from organics.nn.models import build_classifier, fixed_point_leading_eigenvalues, stability_diagnostics
from organics.plot.training import diagnostic_panels, plot_diagnostic, training_figure

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str, out: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(out), "--quick"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    for suffix in ("png", "pdf"):
        assert (out / f"{name}.{suffix}").stat().st_size > 1000
    return result.stdout


def _numbers(pattern: str, output: str) -> list[float]:
    found = [float(v) for v in re.findall(pattern, output)]
    assert found, output
    return found


@eqx.filter_jit
def _finite_difference_jacobians(layer, x, h=1e-6):
    """Central differences of Eq. 133's right-hand side at the layer's fixed point (one Jacobian per input)."""

    def one(xk):
        solution = layer.solve(xk)
        state = jnp.concatenate([solution.y, solution.a])
        rates = jax.vmap(lambda s: layer.vector_field(xk, s))
        steps = h * jnp.eye(state.size)
        jacobian = (rates(state + steps) - rates(state - steps)).T / (2 * h)  # column j: dF/ds_j
        return jacobian, jnp.maximum(solution.y, 0.0) ** 2  # and the rates [y*]+^2 passed to the next layer

    return jax.vmap(one)(x)


def test_fixed_point_leading_eigenvalues_match_finite_differences():
    """Per-layer leading eigenvalues against a central-difference Jacobian of Eq. 133 at the fixed point."""
    model = build_classifier("organics-fp", input_size=5, n_classes=3, hidden=4, key=jax.random.key(3), depth=2)
    x = jax.random.uniform(jax.random.key(4), (6, 5))
    leading, converged = fixed_point_leading_eigenvalues(model, x)
    assert leading.shape == converged.shape == (2, 6) and converged.all()
    inputs = x
    for i, layer in enumerate(model.layers):
        jacobians, inputs = _finite_difference_jacobians(layer, inputs)
        expected = np.max(np.linalg.eigvals(np.asarray(jacobians)).real, axis=-1)
        np.testing.assert_allclose(leading[i], expected, rtol=0, atol=1e-6)
    diagnostics = stability_diagnostics(model, x)
    for i in range(2):
        assert diagnostics[f"leading_eigenvalue_layer{i + 1}"] == pytest.approx(leading[i].max(), rel=1e-12)
    assert diagnostics["leading_eigenvalue"] == pytest.approx(leading.max(), rel=1e-12)
    with pytest.raises(ValueError, match="organics-fp"):
        fixed_point_leading_eigenvalues(build_classifier("mlp", input_size=5, n_classes=3, hidden=4,
                                                         key=jax.random.key(0)), x)  # fmt: skip


def test_per_layer_diagnostics_share_one_panel():
    history = [
        {"epoch": e, "train_loss": None if e == 0 else 1.0 / e, "val_loss": 1.0, "train_accuracy": None,
         "val_accuracy": 0.5, "diag_leading_eigenvalue": -0.1 * (e + 1), "diag_leading_eigenvalue_layer2": -0.1 * (e + 1),
         "diag_leading_eigenvalue_layer1": -0.3, "diag_converged_fraction": 1.0}
        for e in range(3)
    ]  # fmt: skip
    panels = diagnostic_panels(history)
    assert panels == {
        "diag_leading_eigenvalue": ["diag_leading_eigenvalue_layer1", "diag_leading_eigenvalue_layer2"],
        "diag_converged_fraction": ["diag_converged_fraction"],
    }
    figure = training_figure({"history": history, "best_epoch": 2, "status": "completed"})
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 4  # loss, accuracy, eigenvalues, convergence
    ax = figure.add_subplot()
    lines = plot_diagnostic(ax, {"history": history}, "diag_leading_eigenvalue", scale=0.5)
    assert [line.get_gid() for line in lines] == ["diag_leading_eigenvalue_layer1", "diag_leading_eigenvalue_layer2"]
    np.testing.assert_allclose(lines[1].get_ydata(), [-0.05, -0.1, -0.15])
    assert ax.lines[-1].get_gid() == "diag_leading_eigenvalue_boundary"
    with pytest.raises(ValueError, match="name must be one of the recorded diagnostics"):
        plot_diagnostic(ax, {"history": history}, "diag_max_abs_y")


def test_fig5_fig6_trained_fixed_point_layers_are_stable(tmp_path):
    output = _run("fig5_fig6_trained_fixed_point_eigenvalues", tmp_path)
    # W_r is parametrized with maximum singular value exactly 1 (the condition of Algorithm 1)
    assert _numbers(r"sigma_max\(W_r\) = ([0-9.]+)", output) == pytest.approx([1.0, 1.0], abs=1e-9)
    assert _numbers(r"converged ([0-9.]+)", output) == [1.0, 1.0]
    # every test input's fixed point is asymptotically stable in both layers (Fig. 5), also during training (Fig. 6)
    assert _numbers(r"stable \(all Re lambda < 0\) = ([0-9.]+)", output) == [1.0, 1.0]
    assert max(_numbers(r"max Re lambda over test inputs = (-?[0-9.e+-]+) 1/ms", output)) < 0
    assert max(_numbers(r"max over epochs \(diagnostic inputs\) = (-?[0-9.e+-]+) 1/ms", output)) < 0
    metrics = json.loads(next((tmp_path / "runs").glob("*/metrics.json")).read_text())
    assert {"diag_leading_eigenvalue_layer1", "diag_leading_eigenvalue_layer2"} <= set(metrics["history"][-1])


def test_fig7_trained_rnn_trajectories_are_bounded(tmp_path):
    output = _run("fig7_trained_rnn_trajectories", tmp_path)
    assert "all finite = True" in output  # over every test input and step
    (accuracy,) = _numbers(r"test accuracy ([0-9.]+)", output)
    assert 0.0 <= accuracy <= 1.0
    match = re.search(r"max \|y\| = ([0-9.e+-]+), max a = ([0-9.e+-]+), min a = (-?[0-9.e+-]+);", output)
    assert match, output
    y_max, a_max, a_min = (float(v) for v in match.groups())
    assert 0 < y_max < 100 and 0 < a_max < 100
    # a starts in (0, 1) and each Euler step mixes it with a nonnegative drive (0 < dt/tau_a < 1): a stays > 0
    assert a_min > 0


def test_fig7_refuses_a_run_of_another_model(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("fig7", EXAMPLES / "fig7_trained_rnn_trajectories.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = tmp_path / "mlp-run"
    run.mkdir()
    (run / "config.json").write_text(module.TrainConfig(model="mlp", task="digits").to_json())
    with pytest.raises(SystemExit, match="needs an 'organics-rnn' run"):
        module.main(["--out", str(tmp_path), "--run", str(run)])
    with pytest.raises(SystemExit, match="config.json not found"):
        module.main(["--out", str(tmp_path), "--run", str(tmp_path / "missing")])


def test_learning_tables_quick(tmp_path):
    output = _run("learning_tables", tmp_path)
    results = json.loads((tmp_path / "learning_tables.json").read_text())
    models = {"table1": ["organics-fp", "mlp"], "table2": ["organics-rnn", "lstm", "gru"]}
    for table, expected in models.items():
        rows = results[table]
        assert [row["model"] for row in rows] == expected
        for row in rows:
            assert [run["seed"] for run in row["runs"]] == [0]
            assert row["runs"][0]["status"] == "completed" and 0.0 <= row["test_accuracy"]["mean"] <= 1.0
            assert row["test_accuracy"]["sd"] == 0.0
            assert f"| {row['label']} | {row['n_params']:,} | {100 * row['test_accuracy']['mean']:.1f} ± 0.0 |" in output
    # the MLP's width is the one whose parameter count is closest to the ORGaNICs layer's (digits: 64 inputs)
    fp, mlp = results["table1"]
    assert abs(mlp["n_params"] - fp["n_params"]) <= (64 + 11) / 2
    assert "97.7" in output and "89.9" in output and "98.1" in output  # the paper's numbers, labelled
