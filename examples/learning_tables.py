"""Tables 1 and 2 of Rawat, Heeger & Martiniani (NeurIPS 2024) at this machine's scale: ORGaNICs against MLP, LSTM and GRU.

Test accuracy (mean +- sample standard deviation over seeds; each run tested once, at its best
validation epoch) of the trainable ORGaNICs layers against baselines in the same framework, every run
one call of :func:`organics.nn.train.train` with the protocol of ``benchmarks/learning_accuracy.py``
and ``benchmarks/static_mnist.py`` (weight decay 1e-5 as in Table 6, no gradient clipping, model
selection on validation accuracy, float64):

* Table 1 style (static input, Section 6.1): one static ORGaNICs layer (Eq. 133, fixed point by
  Algorithm 1, ``W_r`` with maximum singular value 1) of 50 neurons and a linear readout, against a
  one-hidden-layer ReLU MLP whose parameter count is closest to it; Adam, learning rate 1e-3, batch 256.
* Table 2 style (sequential input, Section 6.2): the ORGaNICs RNN (Eq. 134) with 64 principal neurons
  against LSTM and GRU with 128 units (the rows of ``benchmarks/learning_accuracy.py``); Adam, learning
  rate 3e-3, batch 128.

Settings. Full (13 minutes of CPU time on the 2-core development machine, 19 minutes of wall-clock time
while other jobs shared it; the first call also trains the autoencoder of each split seed not yet
cached, about 5 minutes each): Table 1 on static MNIST through the 40-d autoencoder embedding of Appendix I.1 (MNIST IDX
files in ``~/.cache/organics/mnist`` or ``$ORGANICS_DATA``; nothing is downloaded; the scikit-learn
digits if they are absent, and the script says so), first 20,000 training images, 5 epochs; Table 2
on MNIST-1D (40 steps), 12 epochs; seeds 0, 1, 2.
``--quick``: the scikit-learn digits for both (static, and read pixel by pixel: 64 steps), seed 0,
2 epochs, 16 neurons (RNN, MLP scaled to match) and 32 LSTM/GRU units. The figure shows the measured
accuracies beside the paper's (hatched, grey: full MNIST, GPU): Table 1 98.1 % (ORGaNICs 50:50) and
98.2 % (80:80); Table 2 97.7 % sMNIST and 89.9 % psMNIST (ORGaNICs, 64 units), 97.3 % / 92.6 %
(LSTM, 128 units).

Full-scale commands (the paper's settings; resumable, see ``organics train --help``):

    python benchmarks/static_mnist.py --out runs/table1 --models fp50 fp80 mlp --seeds 0 1 2 --epochs 50
    python benchmarks/learning_accuracy.py --task smnist-196 --seeds 0,1,2 --epochs 30
    organics train --model organics-rnn --task smnist --hidden 64 --epochs 100 --learning-rate 0.01 \\
        --weight-decay 1e-5 --out runs/smnist-organics          # Table 2, 784 steps; --task psmnist
    organics train --model lstm --task smnist --hidden 128 --epochs 100 --weight-decay 1e-5 --out runs/smnist-lstm

    python examples/learning_tables.py --out DIR [--quick]

writes ``DIR/learning_tables.png`` and ``.pdf`` and ``DIR/learning_tables.json`` (every run and the
summaries; the runs are kept in ``DIR/runs/`` and resumed or re-read by a second call), and prints
both tables in Markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import organics  # noqa: E402,F401  (float64)
from organics.nn.data import default_data_dir, mnist_available  # noqa: E402
from organics.nn.models import matched_mlp_width  # noqa: E402
from organics.nn.train import TrainConfig, train_seeds  # noqa: E402
from organics.plot.portraits import save_figure  # noqa: E402

WEIGHT_DECAY = 1e-5  # Table 6
SEEDS, QUICK_SEEDS = (0, 1, 2), (0,)

#: The paper's numbers (full MNIST, GPU): Table 1 test accuracy (%) and Table 2 (sMNIST, psMNIST) (%).
PAPER_TABLE1 = {"ORGaNICs (50:50)": 98.1, "ORGaNICs (80:80)": 98.2, "ORGaNICs (two layers)": 98.1}
PAPER_TABLE2 = {"ORGaNICs, 64 units": (97.7, 89.9), "LSTM, 128 units": (97.3, 92.6)}


class Row(NamedTuple):
    """One table row: a label and its training configuration (``seed`` is set per run)."""

    label: str
    config: TrainConfig


def table_rows(quick: bool) -> tuple[list[Row], list[Row], str, str]:
    """Rows of the two tables and a description of the data of each."""
    static_mnist = not quick and mnist_available()
    static_task = "static-mnist" if static_mnist else "digits"
    input_size = 40 if static_mnist else 64  # the autoencoder code, or the 8x8 digits
    fp_hidden = 16 if quick else 50
    mlp_hidden = matched_mlp_width("organics-fp", input_size=input_size, n_classes=10, hidden=fp_hidden)
    static = dict(task=static_task, embedding=static_mnist, batch_size=256 if not quick else 64, learning_rate=1e-3,
                  epochs=2 if quick else 5, limit=300 if quick else 20_000, weight_decay=WEIGHT_DECAY)  # fmt: skip
    table1 = [
        Row(f"ORGaNICs fixed point, N = {fp_hidden}", TrainConfig(model="organics-fp", hidden=fp_hidden, **static)),
        Row(f"MLP, {mlp_hidden} ReLU units", TrainConfig(model="mlp", hidden=mlp_hidden, **static)),
    ]
    sequence_task = "digits" if quick else "mnist1d"
    sequence = dict(task=sequence_task, batch_size=128 if not quick else 64, learning_rate=3e-3,
                    epochs=2 if quick else 12, limit=300 if quick else None, weight_decay=WEIGHT_DECAY)  # fmt: skip
    rnn_hidden, baseline_hidden = (16, 32) if quick else (64, 128)
    table2 = [
        Row(f"ORGaNICs RNN, {rnn_hidden} units", TrainConfig(model="organics-rnn", hidden=rnn_hidden, **sequence)),
        Row(f"LSTM, {baseline_hidden} units", TrainConfig(model="lstm", hidden=baseline_hidden, **sequence)),
        Row(f"GRU, {baseline_hidden} units", TrainConfig(model="gru", hidden=baseline_hidden, **sequence)),
    ]
    static_note = (
        "static MNIST, 40-d autoencoder embedding"
        if static_mnist
        else "scikit-learn digits, static"
        + ("" if quick else f" (MNIST IDX files not found in {default_data_dir()}: built-in task instead)")
    )
    sequence_note = "scikit-learn digits, pixel by pixel (64 steps)" if quick else "MNIST-1D (40 steps)"
    return table1, table2, static_note, sequence_note


def run_row(row: Row, seeds: tuple[int, ...], runs_dir: Path) -> dict:
    """Train (or resume, or re-read) ``row`` for every seed; per-seed results and mean +- sd over seeds."""
    slug = row.label.lower().replace(",", "").replace(" = ", "").replace(" ", "-")
    summary = train_seeds(row.config, seeds, runs_dir / slug, label=row.label)
    return {"label": row.label, "model": row.config.model, "hidden": row.config.hidden, **summary}


def markdown(title: str, rows: list[dict], paper: list[str]) -> str:
    """A Markdown table of measured rows, followed by the paper's numbers as a note."""
    lines = [
        f"**{title}**",
        "",
        "| model | parameters | test accuracy (%) | best epoch | s/epoch | stopped: non-finite |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        accuracy, stopped = row["test_accuracy"], sum(r["status"] != "completed" for r in row["runs"])
        lines.append(f"| {row['label']} | {row['n_params']:,} | {100 * accuracy['mean']:.1f} ± {100 * accuracy['sd']:.1f} "
                     f"| {row['best_epoch']['mean']:.1f} | {row['seconds_per_epoch']['mean']:.1f} "
                     f"| {stopped} of {len(row['runs'])} |")  # fmt: skip
    return "\n".join(lines + ["", "Paper (full MNIST, GPU): " + "; ".join(paper), ""])


def _bars(ax, measured: list[dict], paper: dict[str, float], title: str) -> None:
    labels = [row["label"] for row in measured] + [f"paper: {k}" for k in paper]
    x = np.arange(len(labels))
    means = [100 * row["test_accuracy"]["mean"] for row in measured]
    sds = [100 * row["test_accuracy"]["sd"] for row in measured]
    n = len(measured)
    ax.bar(x[:n], means, yerr=sds, capsize=5, color=[f"C{i}" for i in range(n)], label="this machine: mean ± SD")
    ax.bar(x[n:], list(paper.values()), color="0.85", edgecolor="0.3", hatch="//",
           label="the paper's Tables 1 and 2 (full MNIST, GPU)")  # fmt: skip
    for xi, row, mean, sd in zip(x, measured, means, sds):
        stopped = sum(run["status"] != "completed" for run in row["runs"])
        note = f"\n{stopped} of {len(row['runs'])} runs stopped:\nnon-finite loss" if stopped else ""
        ax.text(xi, mean + sd + 1, f"{mean:.1f}{note}", ha="center", va="bottom", fontsize=9)
    for xi, value in zip(x[n:], paper.values()):
        ax.text(xi, value + 1, f"{value:.1f}", ha="center", va="bottom", fontsize=9)
    ax.axhline(10, color="0.5", lw=0.8, ls=":", label="chance (10 classes)")
    ax.set_xticks(x, labels, rotation=25, ha="right", fontsize=9)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 110)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)


def make_figure(results: dict):
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.5), layout="constrained", width_ratios=[4, 5])
    _bars(axes[0], results["table1"], PAPER_TABLE1, f"Table 1 style, static input: {results['static_task']}")
    paper2 = {f"{k}, {task}": v[i] for k, v in PAPER_TABLE2.items() for i, task in enumerate(("sMNIST", "psMNIST"))}
    _bars(axes[1], results["table2"], paper2, f"Table 2 style, sequential input: {results['sequence_task']}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=9)
    seeds = results["seeds"]
    fig.suptitle(
        f"Test accuracy at the best validation epoch ({'seed' if len(seeds) == 1 else 'mean ± SD over seeds'} "
        f"{', '.join(map(str, seeds))}) beside the paper's full-scale numbers",
        fontsize=11,
    )
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="digits, seed 0, 2 epochs, small models; same code path")
    args = parser.parse_args(argv)
    out = Path(args.out)
    seeds = QUICK_SEEDS if args.quick else SEEDS
    table1, table2, static_note, sequence_note = table_rows(args.quick)
    runs_dir = out / "runs" / ("quick" if args.quick else "full")
    results = {"seeds": list(seeds), "static_task": static_note, "sequence_task": sequence_note}
    for name, rows in (("table1", table1), ("table2", table2)):
        print(f"{name}:", flush=True)
        results[name] = [run_row(row, seeds, runs_dir / name) for row in rows]
    print(markdown(f"Table 1 style: {static_note}", results["table1"],
                   [f"{k} {v} %" for k, v in PAPER_TABLE1.items()]))  # fmt: skip
    print(markdown(f"Table 2 style: {sequence_note}", results["table2"],
                   [f"{k}: sMNIST {s} %, psMNIST {p} %" for k, (s, p) in PAPER_TABLE2.items()]))  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "learning_tables.json").write_text(json.dumps(results, indent=2) + "\n")
    written = save_figure(make_figure(results), out / "learning_tables", ("png", "pdf"), dpi=72 if args.quick else 150)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
