"""ORGaNICs as trainable layers: a fixed-point layer and an RNN cell, LSTM/GRU baselines, data and training."""

from .baselines import MLPClassifier, RecurrentClassifier
from .layers import FixedPointSolution, ORGaNICsCell, ORGaNICsFixedPoint, ORGaNICsRNN
from .models import MODELS, SEQUENCE_MODELS, build_classifier, stability_diagnostics

__all__ = [
    "MODELS",
    "SEQUENCE_MODELS",
    "FixedPointSolution",
    "MLPClassifier",
    "ORGaNICsCell",
    "ORGaNICsFixedPoint",
    "ORGaNICsRNN",
    "RecurrentClassifier",
    "build_classifier",
    "stability_diagnostics",
]
