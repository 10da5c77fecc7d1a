"""Training: seeds, normalisation fitted on the training songs, Adam + binary cross-entropy, early stopping.

Example::

    from hls_model.train import train
    result = train(train_songs, validation_songs, config)
    result.model.save("model.keras"); result.stats.save("normalisation.json")
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from rich.progress import Progress

from hls_model.config import PipelineConfig
from hls_model.dataset import SongFeatures, windows_and_labels
from hls_model.model import build_model
from rhythm_service.features import Normalisation


@dataclass
class TrainingResult:
    """The trained model, the statistics its inputs are normalised with, and how training went."""

    model: tf.keras.Model
    stats: Normalisation
    history: dict[str, list[float]]
    best_epoch: int  # 1-based epoch whose weights were kept
    seconds: float


class EpochProgress(tf.keras.callbacks.Callback):
    """A rich progress bar advanced at each epoch, showing the losses."""

    def __init__(self, progress: Progress, epochs: int) -> None:
        super().__init__()
        self.progress = progress
        self.task = progress.add_task("train", total=epochs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Advance the bar and show the epoch's losses."""
        logs = logs or {}
        losses = f"loss {logs.get('loss', float('nan')):.4f} val_loss {logs.get('val_loss', float('nan')):.4f}"
        self.progress.update(self.task, advance=1, description=f"train ({losses})")

    def on_train_end(self, logs: dict | None = None) -> None:
        """Fill the bar when early stopping ends training before the last epoch."""
        self.progress.update(self.task, completed=self.progress.tasks[self.task].total)


def set_seeds(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and ask TensorFlow for deterministic kernels.

    Example: ``set_seeds(7)`` before ``build_model``.
    """
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train(
    train_songs: Sequence[SongFeatures],
    validation_songs: Sequence[SongFeatures],
    config: PipelineConfig,
    callbacks: Sequence[tf.keras.callbacks.Callback] = (),
) -> TrainingResult:
    """Fit the network on the training songs, stopping when the validation loss stops improving.

    ``callbacks`` are added to Keras' (e.g. a progress bar).

    Example: ``train(train, validation, PipelineConfig.ci()).model``.
    """
    started = time.monotonic()
    settings = config.train
    set_seeds(settings.seed)
    stats = Normalisation.fit(np.concatenate([song.features for song in train_songs]))
    tolerance = config.dataset.label_tolerance_seconds
    x, y = windows_and_labels(train_songs, stats, config.model.window, tolerance)
    validation = windows_and_labels(validation_songs, stats, config.model.window, tolerance)
    model = build_model(config.model)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(settings.learning_rate),
        loss="binary_crossentropy",
        metrics=[tf.keras.metrics.BinaryAccuracy(name="accuracy"), tf.keras.metrics.AUC(name="auc")],
    )
    stopper = tf.keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=settings.patience, restore_best_weights=True, verbose=0
    )
    history = model.fit(
        x,
        y,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        validation_data=validation,
        class_weight={0: 1.0, 1: settings.positive_weight},
        shuffle=True,
        callbacks=[stopper, *callbacks],
        verbose=0,
    )
    losses = history.history["val_loss"]
    return TrainingResult(
        model=model,
        stats=stats,
        history={k: [float(v) for v in values] for k, values in history.history.items()},
        best_epoch=int(np.argmin(losses)) + 1,
        seconds=time.monotonic() - started,
    )
