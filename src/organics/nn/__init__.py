"""ORGaNICs as trainable layers: a fixed-point layer and an RNN cell, LSTM/GRU baselines, data and training."""
