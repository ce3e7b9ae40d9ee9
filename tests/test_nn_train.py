"""The training loop of organics.nn.train: learning, resume after an interruption, refusals, non-finite losses, CLI."""

from __future__ import annotations

import csv
import dataclasses
import importlib
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import organics.cli.train  # noqa: F401  (registers 'organics train')
from organics.cli import app
from organics.nn.data import load_task
from organics.nn.train import TrainConfig, TrainError, load_trained_model, mean_and_sd, train, train_seeds
from organics.plot.training import plot_training, training_figure

training = importlib.import_module("organics.nn.train")  # the module, even if a package re-exports train()
CONFIG = TrainConfig(model="mlp", task="digits", hidden=24, epochs=3, batch_size=64, learning_rate=1e-2, seed=1)


def interrupt_after_epoch_1(epoch, step, steps, row):
    """A progress callback that kills a run once epoch 1 is stored."""
    if row is not None and epoch == 1:
        raise KeyboardInterrupt


def strip_times(history):
    return [{k: v for k, v in row.items() if k != "time_s"} for row in history]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    return out, train(CONFIG, out)


def test_config_validation_and_json_round_trip():
    config = dataclasses.replace(CONFIG, clip_norm=1.5, weight_decay=1e-5, lr_schedule="cosine", input_noise=0.1,
                                 data_dir="/data", limit=9, model="organics-fp",
                                 options={"depth": 2, "readout": "potential"})  # fmt: skip
    assert TrainConfig.from_json(config.to_json()) == config
    bad = {"model": "rnn", "task": "cifar", "hidden": 0, "epochs": 0, "batch_size": 0, "learning_rate": 0.0,
           "optimizer": "lbfgs", "lr_schedule": "step", "clip_norm": -1.0, "weight_decay": -1e-3, "input_noise": -0.1,
           "seed": -1, "limit": 0, "options": {"gate": "sqrt"}, "embedding": True}  # fmt: skip
    for name, value in bad.items():
        with pytest.raises(ValueError, match="options" if name == "options" else name):
            dataclasses.replace(CONFIG, **{name: value})
    with pytest.raises(ValueError, match="unknown TrainConfig fields colour"):
        TrainConfig.from_dict({**CONFIG.to_dict(), "colour": "red"})
    assert CONFIG.differences(dataclasses.replace(CONFIG, hidden=8, data_dir="/elsewhere")) == ["hidden"]


def test_tiny_run_learns_and_selects_on_validation(finished):
    out, result = finished
    assert result.status == "completed" and result.epochs_completed == 3 and result.stopped_at is None
    assert result.test_accuracy > 0.5  # chance is 0.1
    history = result.history
    assert [row["epoch"] for row in history] == [0, 1, 2, 3] and history[0]["train_loss"] is None
    val = [row["val_accuracy"] for row in history]
    assert result.best_epoch == int(np.argmax(val)) and result.val_accuracy == max(val)
    assert history[-1]["train_loss"] < history[1]["train_loss"]
    assert all(row["diag_all_finite"] == 1.0 and row["diag_max_abs_h"] > 0 for row in history)
    # the saved model is the best one: its test accuracy, recomputed independently, matches the result
    model = load_trained_model(out)
    task = load_task("digits", seed=CONFIG.seed).as_static()
    logits = jax.vmap(model)(jnp.asarray(task.x_test, dtype=jnp.float64))
    assert np.mean(np.argmax(logits, axis=1) == task.y_test) == result.test_accuracy
    # files
    saved = json.loads((out / "result.json").read_text())
    assert saved["test_accuracy"] == result.test_accuracy and saved["config"] == CONFIG.to_dict()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["history"] == list(history)
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and rows[0]["train_loss"] == "" and float(rows[2]["val_loss"]) == history[2]["val_loss"]
    assert TrainConfig.from_json((out / "config.json").read_text()) == CONFIG


def test_interrupted_run_resumes_to_identical_numbers(finished, tmp_path):
    out_ref, reference = finished

    with pytest.raises(KeyboardInterrupt):
        train(CONFIG, tmp_path, progress=interrupt_after_epoch_1)
    assert len(json.loads((tmp_path / "metrics.json").read_text())["history"]) == 2  # epochs 0 and 1 stored
    assert not (tmp_path / "result.json").exists()
    seen = []
    resumed = train(CONFIG, tmp_path, progress=lambda epoch, step, steps, row: seen.append(epoch))
    assert min(seen) == 2  # nothing before epoch 2 was recomputed
    assert strip_times(resumed.history) == strip_times(reference.history)
    assert (resumed.best_epoch, resumed.test_accuracy, resumed.test_loss) == (
        reference.best_epoch,
        reference.test_accuracy,
        reference.test_loss,
    )
    assert (tmp_path / "model.eqx").read_bytes() == (out_ref / "model.eqx").read_bytes()
    # a finished run is not retrained by a rerun of the same command
    again = train(CONFIG, tmp_path, progress=lambda *args: pytest.fail("a finished run was retrained"))
    assert again.test_accuracy == reference.test_accuracy


def test_cosine_schedule_and_input_noise_resume_where_they_stopped(tmp_path):
    """SGD on the loss theta (gradient 1) moves theta by exactly the learning rate of each step."""
    config = dataclasses.replace(CONFIG, optimizer="sgd", lr_schedule="cosine", epochs=2)
    optimizer = training.make_optimizer(config, steps_per_epoch=3)
    theta, rates = jnp.zeros(()), []
    state = optimizer.init(theta)
    for _ in range(7):
        updates, state = optimizer.update(jnp.ones(()), state, theta)
        rates.append(-float(updates))
    k = np.arange(7)
    expected = 0.5 * config.learning_rate * (1 + np.cos(np.pi * np.minimum(k, 6) / 6))
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-15)
    assert rates[0] == config.learning_rate and rates[6] == 0.0
    with pytest.raises(ValueError, match="steps_per_epoch"):
        training.make_optimizer(config)
    # an interrupted run continues the schedule and the noise draws: same numbers as an uninterrupted one
    config = dataclasses.replace(config, input_noise=0.5)
    reference = train(config, tmp_path / "whole")

    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "resumed", progress=interrupt_after_epoch_1)
    resumed = train(config, tmp_path / "resumed")
    assert strip_times(resumed.history) == strip_times(reference.history)
    for name, value in (("lr_schedule", "constant"), ("input_noise", 0.0)):
        other = train(dataclasses.replace(config, **{name: value}), tmp_path / name)
        assert strip_times(other.history)[0] == strip_times(reference.history)[0]  # same initial model...
        assert other.history[1]["train_loss"] != reference.history[1]["train_loss"]  # ...trained otherwise


def test_other_configuration_refused_unless_overwrite(finished, tmp_path):
    train(dataclasses.replace(CONFIG, epochs=1, limit=50), tmp_path)
    other = dataclasses.replace(CONFIG, epochs=1, limit=60, seed=2)
    expected = r"differing fields: seed \(stored 1, requested 2\), limit \(stored 50, requested 60\)"
    with pytest.raises(TrainError, match=expected):
        train(other, tmp_path)
    result = train(other, tmp_path, overwrite=True)
    assert result.config == other and len(result.history) == 2
    assert TrainConfig.from_json((tmp_path / "config.json").read_text()) == other


def test_non_finite_loss_stops_and_is_reported(monkeypatch, tmp_path):
    def poisoned(name, **kwargs):
        task = load_task(name, **kwargs)
        x_train = task.x_train.copy()
        x_train[:, 5] = np.nan  # every training example: the first step's loss is NaN
        return dataclasses.replace(task, x_train=x_train)

    monkeypatch.setattr(training, "load_task", poisoned)
    config = dataclasses.replace(CONFIG, limit=100)
    result = train(config, tmp_path)
    assert result.status == "non-finite" and result.stopped_at["epoch"] == 1 and result.stopped_at["step"] == 1
    assert result.epochs_completed == 0 and result.best_epoch == 0
    leaves = jax.tree.leaves(eqx.filter(load_trained_model(tmp_path), eqx.is_inexact_array))
    assert all(np.all(np.isfinite(leaf)) for leaf in leaves)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "non-finite" and metrics["stopped_at"]["step"] == 1
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "non-finite"


def test_training_figure(finished, tmp_path):
    out, _ = finished
    fig = training_figure(out)
    gids = {line.get_gid() for ax in fig.axes for line in ax.lines}
    assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "diag_max_abs_h", "best_epoch"} <= gids
    assert all(ax.get_xlabel() == "epoch" and ax.get_ylabel() for ax in fig.axes if ax.get_visible())
    paths = plot_training(json.loads((out / "metrics.json").read_text()), tmp_path, formats=("png",))
    assert [p.name for p in paths] == ["training.png"] and paths[0].stat().st_size > 0


def test_cli_train_end_to_end(tmp_path):
    runner = CliRunner()
    args = ["train", "--model", "lstm", "--task", "digits", "--hidden", "8", "--epochs", "1", "--limit", "40",
            "--batch-size", "20", "--learning-rate", "0.01", "--out", str(tmp_path), "--formats", "png"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "test accuracy (best epoch)" in result.output and "max_abs_h" in result.output
    assert (tmp_path / "training.png").exists() and (tmp_path / "result.json").exists()
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["config"]["model"] == "lstm" and saved["epochs_completed"] == 1
    refused = runner.invoke(app, [*args[:-4], "--seed", "2", *args[-4:]])
    assert refused.exit_code == 2 and "differing fields: seed (stored 0, requested 2)" in " ".join(
        refused.output.split()
    )
    bad = runner.invoke(app, ["train", "--model", "rnn", "--task", "digits", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--model must be one of" in bad.output
    bad_option = runner.invoke(app, [*args[:-4], "--option", "depth=2", "--overwrite", *args[-4:]])
    assert bad_option.exit_code == 2 and "not accepted by model 'lstm'" in " ".join(bad_option.output.split())


def test_missing_mnist_files_fail_before_anything_is_written(tmp_path):
    from organics.nn.data import DataError

    config = dataclasses.replace(CONFIG, task="smnist", data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="--data-dir"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run" / "config.json").exists()


def test_train_seeds_runs_each_seed_once_and_summarizes(tmp_path, monkeypatch):
    config = dataclasses.replace(CONFIG, epochs=1, limit=200)
    lines = []
    summary = train_seeds(config, [3, 4], tmp_path, label="mlp-24", log=lines.append)
    assert [run["seed"] for run in summary["runs"]] == [3, 4] and len(lines) == 2 and "mlp-24 seed 3" in lines[0]
    for run in summary["runs"]:
        stored = json.loads((tmp_path / f"seed{run['seed']}" / "result.json").read_text())
        assert stored["test_accuracy"] == run["test_accuracy"] and stored["config"]["seed"] == run["seed"]
    accuracies = [run["test_accuracy"] for run in summary["runs"]]
    assert summary["test_accuracy"] == mean_and_sd(accuracies) and summary["non_finite"] == 0
    assert mean_and_sd([0.5]) == {"mean": 0.5, "sd": 0.0}
    # a second call re-reads the finished runs instead of training again
    monkeypatch.setattr(training, "_train_step", None)
    again = train_seeds(config, [3, 4], tmp_path, log=None)
    assert [run["test_accuracy"] for run in again["runs"]] == accuracies
    with pytest.raises(ValueError, match="seeds must name at least one seed"):
        train_seeds(config, [], tmp_path)
