"""The trained network as a framework-free ``weights.npz`` and its numpy forward pass (the CPU backend's).

``weights.npz`` holds, for ``k`` = 1, 2, 3: ``dense_<k>/kernel`` (inputs x units, float32) and
``dense_<k>/bias`` (units), already quantized (the exact values QKeras computes with), plus
``relu/bits`` and ``relu/integer_bits`` (the hidden activations' quantizer). The forward pass is::

    h = x.reshape(n, -1)                                  # element k = window[k // 3, k % 3]
    h = relu_q(h @ dense_1/kernel + dense_1/bias)          # 16
    h = relu_q(h @ dense_2/kernel + dense_2/bias)          # 8
    p = sigmoid(h @ dense_3/kernel + dense_3/bias)         # 1: the beat probability

with ``relu_q(v) = clip(round_half_even(v * 2**f) / 2**f, 0, 2**i - 2**-f)``, ``f = bits - i``
(QKeras' ``quantized_relu(bits, i)``). It needs numpy only.

Example::

    from hls_model.numpy_model import load_weights, forward
    probabilities = forward(load_weights("artifact/model/weights.npz"), windows)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_LAYERS = 3


def save_weights(path: str | Path, parameters: dict[str, np.ndarray], relu_bits: int, relu_integer_bits: int) -> None:
    """Write ``parameters`` (from ``model.quantized_parameters``) and the activation format to ``path``.

    The file is byte-for-byte the same for the same values (no timestamps inside).

    Example: ``save_weights("weights.npz", quantized_parameters(model), 8, 3)``.
    """
    arrays = {name: np.asarray(value, dtype=np.float32) for name, value in sorted(parameters.items())}
    arrays["relu/bits"] = np.asarray(relu_bits, dtype=np.int32)
    arrays["relu/integer_bits"] = np.asarray(relu_integer_bits, dtype=np.int32)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a ``weights.npz``.

    Example: ``load_weights("weights.npz")["dense_1/kernel"].shape`` -> ``(72, 16)``.
    """
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def quantized_relu(values: np.ndarray, bits: int, integer_bits: int) -> np.ndarray:
    """QKeras' ``quantized_relu(bits, integer_bits)``: round half to even on the grid, clip to [0, max].

    Example: ``quantized_relu(np.array([-1.0, 0.02, 9.0]), 8, 3)`` -> ``[0.0, 0.03125, 7.96875]``.
    """
    step = 2.0 ** (integer_bits - bits)
    return np.clip(np.round(values / step) * step, 0.0, 2.0**integer_bits - step)


def forward(weights: dict[str, np.ndarray], windows: np.ndarray) -> np.ndarray:
    """Beat probabilities (n,) float32 of ``windows`` (n, frames, 3), normalised as for the model.

    Example: ``forward(load_weights("weights.npz"), np.zeros((1, 24, 3), "f4"))``.
    """
    bits, integer_bits = int(weights["relu/bits"]), int(weights["relu/integer_bits"])
    h = np.asarray(windows, dtype=np.float32).reshape(len(windows), -1)
    for k in range(1, N_LAYERS + 1):
        h = h @ weights[f"dense_{k}/kernel"] + weights[f"dense_{k}/bias"]
        if k < N_LAYERS:
            h = quantized_relu(h, bits, integer_bits)
    return (1.0 / (1.0 + np.exp(-h[:, 0]))).astype(np.float32)
