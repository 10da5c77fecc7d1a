"""Every knob of the pipeline, with its default, in one dataclass per step (and ``CI`` for the tests).

``PipelineConfig()`` is the full configuration behind the README's numbers; ``PipelineConfig.ci()``
is a small one that trains and checks the whole pipeline in a couple of minutes on 2 cores.
Each step's knobs feed the hash that decides whether the step must run again.

Example::

    from hls_model.config import PipelineConfig
    config = PipelineConfig.ci()
    config = dataclasses.replace(config, convert=dataclasses.replace(config.convert, platform="f1"))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hls_model.arrangement import ArrangementConfig
from hls_model.platform_parts import DEFAULT_PLATFORM, PARTS
from rhythm_service.beat_tracking import TEMPO_RANGE_BPM
from rhythm_service.features import REFERENCE_FRAME, WINDOW_FRAMES, WindowShape


@dataclass(frozen=True)
class SynthConfig:
    """The generated songs (``synth_audio``): tempo range, length, what each song may contain."""

    tempo_bpm: tuple[float, float] = (60.0, 200.0)
    music_seconds: tuple[float, float] = (20.0, 30.0)  # length of the music (beats annotated)
    edge_silence_seconds: tuple[float, float] = (0.0, 1.5)  # silence before and after (no beats)
    drift_probability: float = 0.3  # the tempo glides linearly by up to +-max_drift over the song
    max_drift: float = 0.08
    stop_probability: float = 0.15  # one bar of full silence inside the song (beats still annotated)
    syncopation_probability: float = 0.5  # per bar: extra off-beat kicks/snares
    fill_every_bars: tuple[int, ...] = (4, 8)  # a drum fill closes every 4th or 8th bar
    tonal_probability: float = 0.8  # each tonal layer (bass, chords, lead) is present with this probability
    snr_db: tuple[float, float] = (0.0, 30.0)  # noise level (signal-to-noise ratio), drawn per song
    clean_probability: float = 0.2  # songs without added noise
    gain_db: tuple[float, float] = (-20.0, 0.0)  # overall level


@dataclass(frozen=True)
class DatasetConfig:
    """How many songs of each split, their seeds, and the labels."""

    train_songs: int = 400
    validation_songs: int = 60
    test_songs: int = 100
    seed: int = 20240611  # split k, song i has seed (seed, k, i)
    label_tolerance_seconds: float = 0.035  # a window is a beat window when a beat is this close to its reference frame
    example_recordings: int = 2  # test songs also written as FLAC + .beats (to try `evaluate --recording`)
    arranged_fraction: float = 0.75  # share of songs rendered from arrangements through the SoundFont (the rest: synth)
    synth: SynthConfig = field(default_factory=SynthConfig)
    arrangement: ArrangementConfig = field(default_factory=ArrangementConfig)

    def generator(self, index: int) -> str:
        """Which generator makes song ``index`` of a split: ``"arranged"`` for ``arranged_fraction`` of them, spread
        evenly, else ``"synth"``.

        Example: ``DatasetConfig(arranged_fraction=0.5).generator(1)`` -> ``'arranged'``.
        """
        arranged = int((index + 1) * self.arranged_fraction) > int(index * self.arranged_fraction)
        return "arranged" if arranged else "synth"


@dataclass(frozen=True)
class ModelConfig:
    """The QKeras network: a window of frames x 3 features -> 16 -> 8 -> 1, quantized weights and activations."""

    window_frames: int = WINDOW_FRAMES  # frames in one input window
    reference_frame: int = REFERENCE_FRAME  # the frame the output refers to (the rest: context and look-ahead)
    hidden_units: tuple[int, ...] = (16, 8)
    weight_bits: int = 8
    weight_integer_bits: int = 1  # quantized_bits(8, 1): weights in [-2, 2) in steps of 1/64
    activation_bits: int = 8
    activation_integer_bits: int = 3  # quantized_relu(8, 3): [0, 8) in steps of 1/32

    @property
    def window(self) -> WindowShape:
        """The input window's shape."""
        return WindowShape(self.window_frames, self.reference_frame)


@dataclass(frozen=True)
class TrainConfig:
    """Training: Adam, binary cross-entropy, early stopping on the validation loss."""

    seed: int = 7
    epochs: int = 40
    batch_size: int = 512
    learning_rate: float = 0.003
    patience: int = 5
    positive_weight: float = 2.0  # class weight of beat windows


@dataclass(frozen=True)
class EvaluateConfig:
    """Beat tracking on the model's probability curve and the scores."""

    method: str = "dbn"  # "dbn": the tempo/phase Bayesian network; "dp": librosa's dynamic programming (baseline)
    threshold: float = 0.5  # frame decision (frame accuracy, emulation agreement); the trackers use none
    tempo_range_bpm: tuple[float, float] = TEMPO_RANGE_BPM  # the tempi the tracker considers
    f_measure_window_seconds: float = 0.07  # mir_eval's tolerance
    tempo_tolerance: float = 0.04  # a tempo within 4 % counts as right
    target_f_measure: float = 0.90


@dataclass(frozen=True)
class ConvertConfig:
    """hls4ml conversion: platform (part, backend), precision, reuse factor, project name."""

    platform: str = DEFAULT_PLATFORM  # "f2" (default) or "f1"
    precision: str = "ap_fixed<16,6>"
    reuse_factor: int = 1
    strategy: str = "Latency"
    clock_period_ns: float = 4.0  # clk_main_a0 of the shell: 250 MHz
    project_name: str = "beat_detector"  # the HLS top function and IP name
    testbench_windows: int = 200  # test windows written into the project for the C simulation
    min_agreement: float = 0.995

    @property
    def part(self) -> str:
        """The FPGA part of ``platform``."""
        return PARTS[self.platform].part

    @property
    def backend(self) -> str:
        """hls4ml backend: Vitis (vitis-run, F2) or Vivado (vivado_hls, F1)."""
        return PARTS[self.platform].hls_backend


@dataclass(frozen=True)
class HardwareConfig:
    """The Custom Logic wrapper and the commands the dev host runs to build it."""

    cl_name: str = "cl_beat"
    xilinx_root: str = "/opt/Xilinx"


@dataclass(frozen=True)
class PipelineConfig:
    """All the steps' knobs."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    convert: ConvertConfig = field(default_factory=ConvertConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)

    @classmethod
    def ci(cls) -> PipelineConfig:
        """A small configuration for CI: few, shorter songs and few epochs (about a minute of training)."""
        return cls(
            dataset=DatasetConfig(
                train_songs=48,
                validation_songs=8,
                test_songs=16,
                example_recordings=1,
                synth=SynthConfig(music_seconds=(12.0, 16.0)),
                arrangement=ArrangementConfig(music_seconds=(12.0, 16.0)),
            ),
            train=TrainConfig(epochs=12, patience=3),
            convert=ConvertConfig(testbench_windows=50),
        )

    def section(self, name: str) -> dict[str, Any]:
        """One step's knobs as plain data (for hashing and the manifest).

        Example: ``PipelineConfig().section("convert")["precision"]`` -> ``'ap_fixed<16,6>'``.
        """
        return dataclasses.asdict(getattr(self, name))
