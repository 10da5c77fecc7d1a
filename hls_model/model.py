"""The QKeras beat network: a (frames, 3) window -> 16 -> 8 -> 1 beat probability.

Layers (names matter: hls4ml names its ports and the npz keys after them)::

    window (Input frames x 3) -> flatten -> dense_1 (QDense 16) -> relu_1 (quantized_relu)
        -> dense_2 (QDense 8) -> relu_2 (quantized_relu) -> dense_3 (QDense 1) -> beat_probability (sigmoid)

Weights and biases are ``quantized_bits(8, 1, alpha=1)`` (8 bits, values in [-2, 2) in steps of
1/64); hidden activations ``quantized_relu(8, 3)`` (values in [0, 8) in steps of 1/32). hls4ml
1.3.0 rejects ``QActivation('relu')`` and ``QActivation('sigmoid')``, so the ReLUs are quantized
QActivations and the output is a plain Keras sigmoid (a lookup table in hardware).

Example::

    from hls_model.model import build_model
    model = build_model(ModelConfig())
    model.predict(windows)  # (n, 1) beat probabilities
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from qkeras import QActivation, QDense, quantized_bits, quantized_relu
from qkeras.utils import _add_supported_quantized_objects

from hls_model.config import ModelConfig

INPUT_NAME = "window"
OUTPUT_NAME = "beat_probability"


def build_model(config: ModelConfig) -> tf.keras.Model:
    """A fresh, untrained network (call ``tf.keras.utils.set_random_seed`` first for reproducibility).

    Example: ``build_model(ModelConfig()).count_params()`` -> 1321 (a 24 x 3 window).
    """
    weights = quantized_bits(config.weight_bits, config.weight_integer_bits, alpha=1)
    relu = quantized_relu(config.activation_bits, config.activation_integer_bits)
    inputs = tf.keras.Input(shape=(config.window.frames, config.window.features), name=INPUT_NAME)
    x = tf.keras.layers.Flatten(name="flatten")(inputs)
    for index, units in enumerate((*config.hidden_units, 1), start=1):
        x = QDense(units, kernel_quantizer=weights, bias_quantizer=weights, name=f"dense_{index}")(x)
        if index <= len(config.hidden_units):
            x = QActivation(relu, name=f"relu_{index}")(x)
    outputs = tf.keras.layers.Activation("sigmoid", name=OUTPUT_NAME)(x)
    return tf.keras.Model(inputs, outputs, name="beat_net")


def custom_objects() -> dict:
    """The QKeras classes ``tf.keras.models.load_model`` needs to read a saved model."""
    objects: dict = {}
    _add_supported_quantized_objects(objects)
    return objects


def save_model(model: tf.keras.Model, path: str | Path) -> None:
    """Save as Keras H5: unlike the ``.keras`` zip (which records the save date), the same model gives the same bytes.

    Example: ``save_model(model, "model.h5")``.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\\(\\)`.*")
        model.save(path, save_format="h5")


def load_model(path: str | Path) -> tf.keras.Model:
    """A model saved with ``save_model``.

    Example: ``load_model("build/hls_model/train/model.h5")``.
    """
    return tf.keras.models.load_model(path, custom_objects=custom_objects(), compile=False)


def predict(model: tf.keras.Model, windows: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """Beat probabilities (n,) float32 for ``windows`` (n, frames, 3), without Keras' per-call overhead.

    Example: ``predict(model, features.windows(stats.apply(frames), config.model.window))``.
    """
    if len(windows) == 0:
        return np.zeros(0, dtype=np.float32)
    batches = [model(windows[i : i + batch_size], training=False) for i in range(0, len(windows), batch_size)]
    return np.concatenate([np.asarray(b).ravel() for b in batches]).astype(np.float32)


def quantized_parameters(model: tf.keras.Model) -> dict[str, np.ndarray]:
    """The values the network really computes with: each QDense's kernel and bias after quantization.

    Keys ``dense_<k>/kernel`` (inputs x units) and ``dense_<k>/bias`` (units), float32.

    Example: ``quantized_parameters(model)["dense_1/kernel"].shape`` -> ``(72, 16)``.
    """
    parameters = {}
    for layer in model.layers:
        if isinstance(layer, QDense):
            kernel = layer.kernel_quantizer_internal(layer.kernel)
            bias = layer.bias_quantizer_internal(layer.bias)
            parameters[f"{layer.name}/kernel"] = np.asarray(kernel, dtype=np.float32)
            parameters[f"{layer.name}/bias"] = np.asarray(bias, dtype=np.float32)
    return parameters
