"""Table 1 (static MNIST): the ORGaNICs fixed-point classifier against an MLP of matched size.

    python benchmarks/static_mnist.py --out results/static_mnist [--epochs 5 --seeds 0 1 2 --models fp80 mlp]

Every model is trained by :func:`organics.nn.train.train` on the 40-d autoencoder embedding of MNIST
(``load_task("static-mnist", embedding=True)``, Appendix I.1; the embedding is computed once and
cached) with the settings of Table 6: Adam, learning rate 1e-3, weight decay 1e-5, batch 256, model
selection on the 3,000 validation images (``--lr-schedule cosine`` decays the learning rate to 0 over
the run instead of keeping it constant; ``--input-noise S`` adds Gaussian noise of standard deviation
``S`` to the standardized training codes). Models (``--models``):

* ``fp80`` -- one static ORGaNICs layer (Eq. 133) of ``N1 = 80`` neurons and a linear readout;
* ``fp50`` -- the same with ``N1 = 50``;
* ``fp120-60`` -- the two-layer model of Table 5 (``N1 = 120``, ``N2 = 60``);
* ``mlp`` -- one ReLU hidden layer whose width makes its parameter count closest to ``fp80``'s;
* ``mlp-fp120-60`` -- the same, matched to ``fp120-60``.

For every model and seed the script prints and stores the test accuracy at the best validation
epoch, the best epoch and the mean wall time per epoch (training steps, validation and diagnostics;
this machine, float64); then the mean and sample standard deviation over seeds. Runs already in
``--out`` are resumed (see :func:`organics.nn.train.train`). JSON summary: ``<out>/summary.json``.
``benchmarks/fixed_point_speed.py`` times the pieces of an ``fp80`` epoch (training step, forward pass,
diagnostics) against the MLP's step, e.g. on a finished run of this script (``--run <out>/fp80/seed0``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


import organics  # noqa: F401  (float64)
from organics.nn.models import matched_mlp_width
from organics.nn.train import LR_SCHEDULES, TrainConfig, train_seeds

INPUT_SIZE, N_CLASSES = 40, 10
#: Widths of the ORGaNICs layers of each fixed-point model.
ORGANICS_WIDTHS = {"fp80": [80], "fp50": [50], "fp120-60": [120, 60]}
#: The fixed-point model each MLP is matched to in parameter count.
MLP_MATCHES = {"mlp": "fp80", "mlp-fp120-60": "fp120-60"}


def _organics(model: str) -> tuple[int, dict]:
    """``hidden`` and ``options`` of the fixed-point model ``model``."""
    widths = ORGANICS_WIDTHS[model]
    return widths[0], ({"widths": widths} if len(widths) > 1 else {})


def config(model: str, epochs: int, limit: int | None, data_dir: str | None, lr_schedule: str = "constant",
           input_noise: float = 0.0) -> TrainConfig:  # fmt: skip
    """The training configuration of ``model`` (its seed is set per run by ``train_seeds``)."""
    if model in ORGANICS_WIDTHS:
        name, (hidden, options) = "organics-fp", _organics(model)
    else:
        name, options = "mlp", {}
        matched_hidden, matched_options = _organics(MLP_MATCHES[model])
        hidden = matched_mlp_width("organics-fp", input_size=INPUT_SIZE, n_classes=N_CLASSES, hidden=matched_hidden,
                                   **matched_options)  # fmt: skip
    return TrainConfig(model=name, task="static-mnist", hidden=hidden, epochs=epochs, batch_size=256,
                       learning_rate=1e-3, lr_schedule=lr_schedule, weight_decay=1e-5, input_noise=input_noise,
                       data_dir=data_dir, limit=limit, embedding=True, options=options)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory of the runs and summary.json")
    parser.add_argument("--models", nargs="+", default=["fp80", "mlp"], choices=[*ORGANICS_WIDTHS, *MLP_MATCHES])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="examples per split (quick runs)")
    parser.add_argument("--data-dir", default=None, help="directory of the MNIST IDX files")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant")
    parser.add_argument("--input-noise", type=float, default=0.0, help="noise sd on the training codes (>= 0)")
    args = parser.parse_args()
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1; got {args.epochs}")
    summary = {}
    for model in args.models:
        cfg = config(model, args.epochs, args.limit, args.data_dir, args.lr_schedule, args.input_noise)
        summary[model] = {"hidden": cfg.hidden, **train_seeds(cfg, args.seeds, args.out / model, label=model)}
        accuracy = summary[model]["test_accuracy"]
        print(f"{model}: test accuracy {100 * accuracy['mean']:.2f} +- {100 * accuracy['sd']:.2f} % over "
              f"{len(args.seeds)} seed(s)", flush=True)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
