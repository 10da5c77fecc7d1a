"""Audio augmentation: what recording, mixing and distribution do to music, drawn per song.

In order, each step with its own probability: an equaliser (low-pass, high-pass, a peaking band or a
shelf, boosted or cut), a compressor (an RMS envelope follower), a room (convolution with an
exponentially decaying noise impulse response), noise (white, pink or brown at a drawn
signal-to-noise ratio), a lossy codec round trip (MP3 or Ogg Vorbis, in memory, at a drawn sample
rate and compression level: what lies above that rate's Nyquist frequency is gone), and always a
gain (the peak at a drawn level). The audio keeps its length and its timing (the codecs' delays are
compensated by libsndfile).

Example::

    rng = np.random.default_rng(7)
    audio, parts = augment(audio, 22050, rng, AugmentConfig())
    ", ".join(parts)   # e.g. 'high-pass 180 Hz, reverb 1.3 s, pink noise at 17 dB SNR, mp3 ...'
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile
from scipy import fft, signal

from rhythm_service import spectrum

CODECS = {"mp3": ("MP3", "MPEG_LAYER_III"), "ogg": ("OGG", "VORBIS")}  # name -> soundfile format, subtype
NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # name -> exponent of the power spectrum's 1/f
EQ_KINDS = ("low-pass", "high-pass", "peak", "low shelf", "high shelf")


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the augmentations (ranges are drawn uniformly, frequencies log-uniformly)."""

    eq_probability: float = 0.5
    lowpass_hz: tuple[float, float] = (1500.0, 8000.0)
    highpass_hz: tuple[float, float] = (40.0, 500.0)
    peak_hz: tuple[float, float] = (100.0, 5000.0)
    eq_gain_db: tuple[float, float] = (-12.0, 12.0)  # of a peak or a shelf
    compression_probability: float = 0.3
    compression_depth_db: tuple[float, float] = (6.0, 24.0)  # threshold below the loudest RMS level
    compression_ratio: tuple[float, float] = (2.0, 8.0)
    reverb_probability: float = 0.4
    reverb_seconds: tuple[float, float] = (0.2, 2.5)  # RT60 of the room
    reverb_level: tuple[float, float] = (0.1, 0.8)  # RMS of the reverberation relative to the dry signal
    noise_probability: float = 0.5
    snr_db: tuple[float, float] = (5.0, 40.0)
    codec_probability: float = 0.4
    codec_sample_rates: tuple[int, ...] = (8000, 11025, 16000, 22050, 32000, 44100, 48000)
    codec_compression: tuple[float, float] = (0.0, 0.95)  # libsndfile's compression level (1 is the smallest file)
    gain_db: tuple[float, float] = (-30.0, 0.0)  # peak level (dBFS) of the result


def _log_uniform(rng: np.random.Generator, low_high: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(low_high[0]), np.log(low_high[1]))))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)) + 1e-12)


def equalise(audio: np.ndarray, sr: int, kind: str, hz: float, gain_db: float = 0.0) -> np.ndarray:
    """``audio`` through one filter: ``"low-pass"``/``"high-pass"`` at ``hz``, or a band boosted or cut by ``gain_db``.

    Args:
        kind: one of ``EQ_KINDS``; ``"peak"`` is an octave-wide band around ``hz``, the shelves start at ``hz``.
        hz: cut-off or centre frequency (kept below Nyquist).

    Example: ``equalise(audio, 22050, "peak", 800.0, +6.0)``.
    """
    hz = min(hz, 0.45 * sr)
    if kind in ("low-pass", "high-pass"):
        return signal.sosfilt(signal.butter(4, hz, kind.replace("-", ""), fs=sr, output="sos"), audio)
    band = {"peak": (1, (hz / np.sqrt(2), min(hz * np.sqrt(2), 0.49 * sr)), "bandpass"),
            "low shelf": (1, hz, "lowpass"), "high shelf": (1, hz, "highpass")}[kind]
    filtered = signal.sosfilt(signal.butter(*band, fs=sr, output="sos"), audio)
    return audio + (10 ** (gain_db / 20) - 1.0) * filtered  # the band at 10^(gain/20), the rest unchanged


def compress(audio: np.ndarray, sr: int, depth_db: float, ratio: float, window_seconds: float = 0.05) -> np.ndarray:
    """``audio`` with levels above (loudest RMS level - ``depth_db``) reduced by ``ratio``.

    The level is an RMS envelope over ``window_seconds`` (a one-pole follower of the power).

    Example: ``compress(audio, 22050, 12.0, 4.0)``.
    """
    smoothing = np.exp(-1.0 / (window_seconds * sr))
    power = signal.lfilter([1.0 - smoothing], [1.0, -smoothing], audio**2)
    level_db = 10 * np.log10(power + 1e-12)
    over_db = np.maximum(level_db - (level_db.max() - depth_db), 0.0)
    return audio * 10 ** (-over_db * (1.0 - 1.0 / ratio) / 20)


def reverberate(audio: np.ndarray, sr: int, rt60_seconds: float, level: float, rng: np.random.Generator) -> np.ndarray:
    """``audio`` plus its convolution with a noise impulse response decaying by 60 dB in ``rt60_seconds``.

    Args:
        level: RMS of the reverberation relative to ``audio``.

    Example: ``reverberate(audio, 22050, 1.2, 0.4, rng)``.
    """
    t = np.arange(int(rt60_seconds * sr)) / sr
    response = rng.standard_normal(len(t)) * np.exp(-np.log(1000.0) * t / rt60_seconds)
    wet = signal.oaconvolve(audio, response)[: len(audio)]
    return audio + wet * (level * _rms(audio) / _rms(wet))


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of unit-RMS ``"white"``, ``"pink"`` or ``"brown"`` noise.

    Example: ``coloured_noise(22050, "pink", rng)``.
    """
    fast_n = fft.next_fast_len(n, real=True)  # the FFT of a length with large prime factors is slow
    spectrum = fft.rfft(rng.standard_normal(fast_n))
    frequencies = np.arange(len(spectrum), dtype=np.float64)
    frequencies[0] = 1.0
    noise = fft.irfft(spectrum * frequencies ** (-NOISE_COLOURS[colour] / 2), fast_n)[:n]
    return noise / _rms(noise)


def codec_round_trip(audio: np.ndarray, sr: int, codec: str, codec_sr: int, compression: float) -> np.ndarray:
    """``audio`` resampled to ``codec_sr``, encoded as ``codec`` (``"mp3"`` or ``"ogg"``), decoded and resampled back.

    Args:
        compression: libsndfile's compression level, 0 (best) to 1 (smallest); MP3 needs it below 1.

    Example: ``codec_round_trip(audio, 22050, "mp3", 16000, 0.5)`` (nothing is left above 8 kHz).
    """
    file_format, subtype = CODECS[codec]
    encoded = io.BytesIO()
    soundfile.write(encoded, spectrum.resample(audio, sr, codec_sr), codec_sr,
                    format=file_format, subtype=subtype, compression_level=compression)
    encoded.seek(0)
    decoded = spectrum.resample(soundfile.read(encoded, dtype="float32")[0], codec_sr, sr)
    return spectrum.fix_length(decoded, len(audio))


def augment(
    audio: np.ndarray, sr: int, rng: np.random.Generator, config: AugmentConfig
) -> tuple[np.ndarray, list[str]]:
    """``audio`` (mono) through the augmentations drawn from ``rng``, and a short description of each one applied.

    The result is float32, as long as ``audio``, with its peak at a level drawn from ``config.gain_db``.

    Example: ``augment(song.audio, 22050, np.random.default_rng(3), AugmentConfig())`` ->
    ``(audio, ['low shelf -5 dB at 210 Hz', 'compressed 3.1:1'])``.
    """
    x = np.asarray(audio, dtype=np.float64)
    parts: list[str] = []
    if rng.random() < config.eq_probability:
        kind = str(rng.choice(EQ_KINDS))
        ranges = {"low-pass": config.lowpass_hz, "high-pass": config.highpass_hz}
        hz = _log_uniform(rng, ranges.get(kind, config.peak_hz))
        gain_db = rng.uniform(*config.eq_gain_db)
        x = equalise(x, sr, kind, hz, gain_db)
        parts.append(f"{kind} {hz:.0f} Hz" if kind.endswith("pass") else f"{kind} {gain_db:+.0f} dB at {hz:.0f} Hz")
    if rng.random() < config.compression_probability:
        ratio = rng.uniform(*config.compression_ratio)
        x = compress(x, sr, rng.uniform(*config.compression_depth_db), ratio)
        parts.append(f"compressed {ratio:.1f}:1")
    if rng.random() < config.reverb_probability:
        rt60 = rng.uniform(*config.reverb_seconds)
        x = reverberate(x, sr, rt60, rng.uniform(*config.reverb_level), rng)
        parts.append(f"reverb {rt60:.1f} s")
    if rng.random() < config.noise_probability:
        colour, snr_db = str(rng.choice(list(NOISE_COLOURS))), rng.uniform(*config.snr_db)
        x = x + coloured_noise(len(x), colour, rng) * _rms(x) * 10 ** (-snr_db / 20)
        parts.append(f"{colour} noise at {snr_db:.0f} dB SNR")
    if rng.random() < config.codec_probability:
        codec, codec_sr = str(rng.choice(list(CODECS))), int(rng.choice(config.codec_sample_rates))
        compression = rng.uniform(*config.codec_compression)
        x = codec_round_trip(x.astype(np.float32), sr, codec, codec_sr, compression)
        parts.append(f"{codec} round trip at {codec_sr / 1000:g} kHz, compression {compression:.1f}")
    peak = max(float(np.max(np.abs(x))), 1e-9)
    return (x * (10 ** (rng.uniform(*config.gain_db) / 20) / peak)).astype(np.float32), parts
