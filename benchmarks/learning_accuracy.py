"""Test accuracy of ORGaNICs-RNN-64 against LSTM-128 and GRU-128 on a sequence task, over several seeds.

Every run is one call of :func:`organics.nn.train.train` (Adam, weight decay 1e-5 as in Table 6 of the
NeurIPS paper, model selection on validation accuracy: the reported test accuracy is the one of the best
validation epoch). No gradient clipping, except the row ``lstm-128-clip`` (global norm 1.0), added because
LSTMs are usually trained with clipping while the paper trains ORGaNICs without it (Section 6.2).
Each run writes its own ``train`` output directory ``<out>/<task>/<row>/seed<s>``; rerunning the same
command resumes unfinished runs and re-reads finished ones. The table gives mean +- sample standard
deviation over seeds of the test accuracy, the best epoch, the median seconds per epoch (epochs 2 onwards,
so without compilation) and the gap ORGaNICs - LSTM; everything is written to ``<out>/<task>/results.json``.

    python benchmarks/learning_accuracy.py                                  # MNIST-1D, seeds 0,1,2, 10 epochs
    python benchmarks/learning_accuracy.py --task smnist-196 --limit 5000 --epochs 5
    python benchmarks/learning_accuracy.py --rows organics-rnn-64 --seeds 0 --epochs 3   # one row, quick

``--dtype float32`` (default) switches JAX's 64-bit mode off before any model is built (faster on a CPU; the
parameters, states and gradients are then float32); ``--dtype float64`` keeps the package's default.
Seeds of one row run in one process, so the jitted training step is compiled once per row.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax

import organics  # noqa: F401  (enables float64; --dtype float32 switches it off again below)
from organics.nn.train import LR_SCHEDULES

#: (row label, model, hidden units, clip_norm) -- the rows of the table.
ROWS: tuple[tuple[str, str, int, float | None], ...] = (
    ("organics-rnn-64", "organics-rnn", 64, None),
    ("lstm-128", "lstm", 128, None),
    ("gru-128", "gru", 128, None),
    ("lstm-128-clip", "lstm", 128, 1.0),
)
TASKS = ("mnist1d", "smnist-196", "psmnist-196")
WEIGHT_DECAY = 1e-5  # Table 6


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--seeds must be comma-separated integers >= 0; got {text!r}") from error
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"--seeds must be comma-separated integers >= 0; got {text!r}")
    return seeds


def run_row(row: tuple, args: argparse.Namespace, out_dir: Path) -> dict:
    """Train (or resume, or re-read) one row for every seed; per-seed results and their summary."""
    from organics.nn.train import TrainConfig, train_seeds

    label, model, hidden, clip_norm = row
    config = TrainConfig(
        model=model, task=args.task, hidden=hidden, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, lr_schedule=args.lr_schedule, clip_norm=clip_norm,
        weight_decay=WEIGHT_DECAY, limit=args.limit,
    )  # fmt: skip
    summary = train_seeds(config, args.seeds, out_dir / label, label=label)
    return {"label": label, "model": model, "hidden": hidden, "clip_norm": clip_norm, **summary}


def print_table(results: dict) -> None:
    rows = results["rows"]
    print(f"\n{results['task']} ({results['epochs']} epochs, limit {results['limit']}, seeds {results['seeds']}, "
          f"lr {results['learning_rate']} ({results['lr_schedule']}), batch {results['batch_size']}, "
          f"{results['dtype']})")  # fmt: skip
    print(f"{'model':<18}{'test accuracy':>20}{'best epoch':>14}{'s/epoch':>10}{'params':>9}")
    for row in rows.values():
        acc, best, sec = row["test_accuracy"], row["best_epoch"], row["seconds_per_epoch"]
        print(f"{row['label']:<18}{acc['mean']:>12.4f} +- {acc['sd']:.4f}{best['mean']:>8.1f} +- {best['sd']:<3.1f}"
              f"{sec['mean']:>10.1f}{row['runs'][0]['n_params']:>9}")  # fmt: skip
    if "gap_organics_minus_lstm" in results:
        gap = results["gap_organics_minus_lstm"]
        print(f"gap ORGaNICs - LSTM (per seed, paired): {gap['mean']:+.4f} +- {gap['sd']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=TASKS, default="mnist1d")
    parser.add_argument("--seeds", type=_seeds, default=[0, 1, 2], help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--limit", type=int, default=None, help="examples per split (reduced run)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant",
                        help="cosine: decay the learning rate to 0 over the run")  # fmt: skip
    parser.add_argument("--rows", nargs="+", choices=[r[0] for r in ROWS], default=[r[0] for r in ROWS])
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/learning_accuracy"))
    args = parser.parse_args()
    for name in ("epochs", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be an integer >= 1; got {value}")
    if not args.learning_rate > 0:
        parser.error(f"--learning-rate must be > 0; got {args.learning_rate}")
    jax.config.update("jax_enable_x64", args.dtype == "float64")

    out_dir = args.out / args.task
    results_path = out_dir / "results.json"
    settings = {"task": args.task, "epochs": args.epochs, "limit": args.limit, "seeds": args.seeds,
                "batch_size": args.batch_size, "learning_rate": args.learning_rate, "lr_schedule": args.lr_schedule,
                "dtype": args.dtype, "weight_decay": WEIGHT_DECAY}  # fmt: skip

    def stored() -> dict:
        """The table on disk (rows written by other invocations too), or a fresh one for another protocol."""
        results = json.loads(results_path.read_text()) if results_path.exists() else {}
        return results if all(results.get(k) == v for k, v in settings.items()) else {**settings, "rows": {}}

    for row in ROWS:
        if row[0] in args.rows:
            print(f"{row[0]}:", flush=True)
            summary = run_row(row, args, out_dir)
            results = stored()  # re-read just before writing: another process may have added rows meanwhile
            results["rows"][row[0]] = summary
            out_dir.mkdir(parents=True, exist_ok=True)
            results_path.write_text(json.dumps(results, indent=2) + "\n")
    results = stored()
    rows = results["rows"]
    if "organics-rnn-64" in rows and "lstm-128" in rows:
        lstm = {r["seed"]: r["test_accuracy"] for r in rows["lstm-128"]["runs"]}
        gaps = [r["test_accuracy"] - lstm[r["seed"]] for r in rows["organics-rnn-64"]["runs"] if r["seed"] in lstm]
        if gaps:
            from organics.nn.train import mean_and_sd

            results["gap_organics_minus_lstm"] = mean_and_sd(gaps)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"results: {results_path}")


if __name__ == "__main__":
    main()
