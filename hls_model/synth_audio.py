"""Seeded generator of songs whose beat times are known exactly (nothing is downloaded).

A song is 4/4 music on a sixteenth-note grid that follows its beats: drums (kick, snare, closed
and open hi-hat, toms, crash) from a library of patterns (ballad, rock, funk, dembow, breakbeat,
four-on-the-floor, punk), each drawn at the tempi its style is played at, random syncopation
(off-beat kicks and snares), fills closing every 4th or 8th bar, tonal layers (bass, chords, an
arpeggiated lead) on a chord progression, tempo drift, silence before and after (and sometimes
a one-bar stop inside), small timing jitter, and white or pink noise at a drawn signal-to-noise
ratio. The annotated beats are the grid's quarter notes while the music plays (during a stop
they go on, as a listener's would).

The same seed always gives the same song (numpy's PCG64 generator).

Example::

    from hls_model.synth_audio import generate_song
    song = generate_song((20240611, 0, 3))
    song.audio.shape, song.beats[:4], round(song.tempo_bpm)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hls_model.config import SynthConfig
from rhythm_service.features import SAMPLE_RATE

STEPS_PER_BEAT = 4  # sixteenth notes
STEPS_PER_BAR = 16
JITTER_SECONDS = 0.004  # standard deviation of the timing of each hit around the grid

# Patterns: one character per sixteenth of a bar; X accent, x normal, o ghost note, . rest. Each is
# drawn only at the tempi its style is played at (so the annotated beat is the one a drummer plays).
PATTERNS: dict[str, dict[str, str]] = {
    "ballad": {"kick": "X.......X.......", "snare": "....X.......X...", "hat": "X...x...X...x..."},
    "rock": {"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": "X.x.X.x.X.x.X.x."},
    "funk": {"kick": "X.....x...x..x..", "snare": "....X..o.o..X..o", "hat": "XoxoXoxoXoxoXoxo"},
    "dembow": {"kick": "X...X...X...X...", "snare": "...x..x....x..x.", "hat": "X.x.X.x.X.x.X.x."},
    "breakbeat": {"kick": "X.........Xx....", "snare": "....X.......X..o", "hat": "X.x.X.x.X.x.X.x."},
    "four_on_the_floor": {"kick": "X...X...X...X...", "snare": "....X.......X...", "open_hat": "..x...x...x...x."},
    "punk": {"kick": "X.....x.X.......", "snare": "....X.......X...", "hat": "X...X...X...X..."},
}
PATTERN_TEMPI: dict[str, tuple[float, float]] = {
    "ballad": (60, 100),
    "rock": (70, 170),
    "funk": (80, 125),
    "dembow": (85, 115),
    "breakbeat": (80, 140),
    "four_on_the_floor": (100, 150),
    "punk": (150, 200),
}
VELOCITY = {"X": 1.0, "x": 0.75, "o": 0.3}
CHORD_PROGRESSIONS = ((0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4), (0, 4, 5, 3))  # scale degrees
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


@dataclass(frozen=True)
class Song:
    """A generated song: mono float32 audio at 22,050 Hz and its beat times in seconds."""

    audio: np.ndarray
    beats: np.ndarray
    tempo_bpm: float  # 60 / median inter-beat interval
    description: str  # pattern, tempo, drift, noise: for reports and file names


def patterns_for(tempo_bpm: float) -> list[str]:
    """The drum patterns played at ``tempo_bpm`` (the nearest style's when none is).

    Example: ``patterns_for(65.0)`` -> ``['ballad']``.
    """
    fitting = [name for name, (low, high) in PATTERN_TEMPI.items() if low <= tempo_bpm <= high]
    return fitting or [min(PATTERN_TEMPI, key=lambda name: min(abs(tempo_bpm - t) for t in PATTERN_TEMPI[name]))]


def song_seed(base: int, split: int, index: int) -> tuple[int, int, int]:
    """The seed of song ``index`` of split ``split`` (0 train, 1 validation, 2 test)."""
    return (base, split, index)


class _Mixer:
    """A sample buffer that sounds are added into at given times."""

    def __init__(self, seconds: float, rng: np.random.Generator) -> None:
        self.buffer = np.zeros(int(seconds * SAMPLE_RATE) + SAMPLE_RATE, dtype=np.float64)
        self.rng = rng

    def add(self, sound: np.ndarray, at_seconds: float, gain: float = 1.0, jitter: bool = True) -> None:
        """Mix ``sound`` in starting at ``at_seconds`` (plus a little human timing jitter)."""
        if jitter:
            at_seconds += self.rng.normal(0.0, JITTER_SECONDS)
        start = max(0, round(at_seconds * SAMPLE_RATE))
        end = min(len(self.buffer), start + len(sound))
        if end > start:
            self.buffer[start:end] += gain * sound[: end - start]


def _time(n: int) -> np.ndarray:
    return np.arange(n) / SAMPLE_RATE


def _drum_kit(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One song's drum sounds, with randomly drawn tunings and decays."""
    kick_t = _time(int(0.35 * SAMPLE_RATE))
    f_hi, f_lo = rng.uniform(110, 180), rng.uniform(40, 60)
    sweep = f_lo + (f_hi - f_lo) * np.exp(-kick_t / rng.uniform(0.02, 0.05))
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / SAMPLE_RATE) * np.exp(-kick_t / rng.uniform(0.08, 0.2))
    kick[:64] += rng.uniform(0.2, 0.6) * rng.standard_normal(64) * np.linspace(1, 0, 64)  # beater click

    def noise_hit(seconds: float, decay: float, highpass: bool) -> np.ndarray:
        t = _time(int(seconds * SAMPLE_RATE))
        noise = rng.standard_normal(len(t))
        if highpass:
            noise = np.diff(noise, prepend=0.0)
        return noise * np.exp(-t / decay)

    snare_t = _time(int(0.25 * SAMPLE_RATE))
    body = np.sin(2 * np.pi * rng.uniform(170, 240) * snare_t) * np.exp(-snare_t / 0.05)
    snare = 0.6 * body + 0.5 * noise_hit(0.25, rng.uniform(0.04, 0.09), highpass=False)
    tom_t = _time(int(0.3 * SAMPLE_RATE))
    toms = [np.sin(2 * np.pi * f * tom_t) * np.exp(-tom_t / 0.12) for f in rng.uniform(90, 220, size=3)]
    return {
        "kick": kick,
        "snare": snare,
        "hat": 0.25 * noise_hit(0.06, rng.uniform(0.01, 0.025), highpass=True),
        "open_hat": 0.25 * noise_hit(0.3, rng.uniform(0.08, 0.15), highpass=True),
        "crash": 0.35 * noise_hit(1.2, 0.4, highpass=True),
        **{f"tom{i}": tom for i, tom in enumerate(toms)},
    }


def _tone(freq: float, seconds: float, attack: float, decay: float, harmonics: Sequence[float]) -> np.ndarray:
    """A note: harmonics of ``freq`` with an attack ramp and an exponential decay."""
    t = _time(max(1, int(seconds * SAMPLE_RATE)))
    wave = sum(a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics))
    envelope = np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)
    release = np.minimum(1.0, (t[-1] - t) / 0.01 + 1e-9)  # no click at the note's end
    return wave * envelope * release


def _beat_grid(n_beats: int, start: float, tempo: float, drift: float) -> np.ndarray:
    """Times of ``n_beats + 1`` beats whose tempo glides linearly from ``tempo`` to ``tempo * (1 + drift)``."""
    tempi = tempo * (1.0 + drift * np.linspace(0.0, 1.0, n_beats))
    return start + np.concatenate([[0.0], np.cumsum(60.0 / tempi)])


def _steps(beats: np.ndarray) -> np.ndarray:
    """Sixteenth-note times between consecutive beats (the grid follows the drift)."""
    fractions = np.arange(STEPS_PER_BEAT) / STEPS_PER_BEAT
    return (beats[:-1, None] + np.diff(beats)[:, None] * fractions).ravel()


def _drum_bar(pattern: dict[str, str], rng: np.random.Generator, config: SynthConfig) -> dict[str, str]:
    """One bar of the pattern, with syncopation drawn for this bar."""
    bar = dict(pattern)
    if rng.random() < config.syncopation_probability:
        kick = list(bar.get("kick", "." * STEPS_PER_BAR))
        for step in rng.choice([3, 6, 7, 11, 14, 15], size=rng.integers(1, 3), replace=False):
            kick[step] = "x"
        bar["kick"] = "".join(kick)
        if rng.random() < 0.5:
            snare = list(bar.get("snare", "." * STEPS_PER_BAR))
            snare[int(rng.choice([7, 9, 15]))] = "o"
            bar["snare"] = "".join(snare)
    return bar


def _with_fill(bar: dict[str, str], rng: np.random.Generator) -> dict[str, str]:
    """``bar`` with its last beat or two replaced by a snare/tom roll."""
    keep = STEPS_PER_BAR - int(rng.choice([4, 8]))
    rest = STEPS_PER_BAR - keep
    filled = {name: hits[:keep] + "." * rest for name, hits in bar.items()}
    filled["snare"] = filled.get("snare", "." * STEPS_PER_BAR)[:keep] + "".join(rng.choice(["x", "x", "o", "X"], rest))
    filled[f"tom{rng.integers(0, 3)}"] = "." * keep + "".join(rng.choice(["x", "."], rest))
    return filled


def _play_drums(
    mixer: _Mixer, steps: np.ndarray, pattern: dict[str, str], rng: np.random.Generator, config: SynthConfig
) -> None:
    kit = _drum_kit(rng)
    fill_every = int(rng.choice(config.fill_every_bars))
    n_bars = len(steps) // STEPS_PER_BAR
    levels = {name: rng.uniform(0.6, 1.0) for name in kit}
    for bar_index in range(n_bars):
        bar = _drum_bar(pattern, rng, config)
        if (bar_index + 1) % fill_every == 0:
            bar = _with_fill(bar, rng)
        if bar_index % fill_every == 0 and bar_index > 0:
            mixer.add(kit["crash"], steps[bar_index * STEPS_PER_BAR], levels["crash"])
        for name, hits in bar.items():
            for step, hit in enumerate(hits):
                if hit in VELOCITY:
                    time = steps[bar_index * STEPS_PER_BAR + step]
                    mixer.add(kit[name], time, levels[name] * VELOCITY[hit] * rng.uniform(0.85, 1.0))


def _play_tonal(mixer: _Mixer, beats: np.ndarray, rng: np.random.Generator, config: SynthConfig) -> None:
    root = 40 + int(rng.integers(0, 12))  # MIDI note of the key's tonic (bass octave)
    progression = CHORD_PROGRESSIONS[int(rng.integers(0, len(CHORD_PROGRESSIONS)))]
    n_bars = (len(beats) - 1) // 4

    def midi(degree: int, octave: int = 0) -> float:
        note = root + MAJOR_SCALE[degree % 7] + 12 * (degree // 7 + octave)
        return 440.0 * 2 ** ((note - 69) / 12)

    present = rng.random(3) < config.tonal_probability
    for bar_index in range(n_bars):
        degree = progression[bar_index % len(progression)]
        bar_beats = beats[bar_index * 4 : bar_index * 4 + 5]
        beat_len = float(np.mean(np.diff(bar_beats)))
        if present[0]:  # bass: the root on beat 1, then on other beats or (softer) off-beats
            others = rng.choice([1.0, 2.0, 3.0, 1.5, 2.5, 3.5], 2, replace=False, p=[0.25, 0.25, 0.2, 0.1, 0.1, 0.1])
            for position in (0.0, *others):
                note = _tone(midi(degree), beat_len * 0.9, 0.005, 0.4, (1.0, 0.5, 0.25))
                mixer.add(note, bar_beats[0] + position * beat_len, 0.5 if position % 1 == 0 else 0.3)
        if present[1]:  # chords: a sustained pad (slow attack), stabs on beats 1 and 3, or syncopated stabs
            style = rng.choice(["pad", "on_beats", "syncopated"], p=[0.4, 0.4, 0.2])
            positions = {"pad": (0.0,), "on_beats": (0.0, 2.0), "syncopated": (0.0, 1.5, 2.5)}[style]
            for position in positions:
                length, attack, decay = (4.0, 0.15, 1.5) if style == "pad" else (0.8, 0.01, 0.3)
                chord = sum(
                    _tone(midi(degree + third, 1), beat_len * length, attack, decay, (1.0, 0.3, 0.15))
                    for third in (0, 2, 4)
                )
                mixer.add(chord, bar_beats[0] + position * beat_len, 0.2)
        if present[2]:  # lead: arpeggiated eighths with rests, accented on the beats
            for eighth in range(8):
                if rng.random() < 0.6:
                    note = _tone(midi(degree + int(rng.choice([0, 2, 4, 7])), 2), beat_len * 0.45, 0.005, 0.2,
                                 (1.0, 0.2))
                    mixer.add(note, bar_beats[0] + eighth * beat_len / 2, 0.12 if eighth % 2 == 0 else 0.07)


def _noise(n: int, pink: bool, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if not pink:
        return white
    spectrum = np.fft.rfft(white)
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    return np.fft.irfft(spectrum, n)


def generate_song(seed: int | Sequence[int], config: SynthConfig | None = None) -> Song:
    """The song of ``seed`` (an int or a tuple such as ``song_seed(base, split, index)``).

    Example: ``generate_song(1).beats`` -> the beat times in seconds.
    """
    config = config or SynthConfig()
    rng = np.random.default_rng(seed)
    tempo = rng.uniform(*config.tempo_bpm)
    drift = rng.uniform(-config.max_drift, config.max_drift) if rng.random() < config.drift_probability else 0.0
    lead_in, tail = rng.uniform(*config.edge_silence_seconds, size=2)
    n_bars = max(2, round(rng.uniform(*config.music_seconds) * tempo / 60.0 / 4))
    beats = _beat_grid(4 * n_bars, lead_in, tempo, drift)  # 4 * n_bars beats + the end of the last bar
    steps = _steps(beats)
    end = beats[-1]
    mixer = _Mixer(end + tail, rng)
    pattern = str(rng.choice(patterns_for(tempo)))
    _play_drums(mixer, steps, PATTERNS[pattern], rng, config)
    _play_tonal(mixer, beats, rng, config)
    audio = mixer.buffer[: int((end + tail) * SAMPLE_RATE)]
    audio[int(end * SAMPLE_RATE) + int(0.3 * SAMPLE_RATE) :] *= 0.0  # ring-out ends, then silence
    stopped = ""
    if n_bars > 4 and rng.random() < config.stop_probability:
        bar = int(rng.integers(2, n_bars - 1))
        audio[int(beats[4 * bar] * SAMPLE_RATE) : int(beats[4 * bar + 4] * SAMPLE_RATE)] = 0.0
        stopped = f", stop in bar {bar + 1}"
    audio /= max(np.max(np.abs(audio)), 1e-9)
    noise_text = "clean"
    if rng.random() >= config.clean_probability:
        snr = rng.uniform(*config.snr_db)
        pink = bool(rng.random() < 0.5)
        music = audio[int(lead_in * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        noise = _noise(len(audio), pink, rng)
        audio = audio + noise * np.sqrt(np.mean(music**2) / np.mean(noise**2)) * 10 ** (-snr / 20)
        noise_text = f"{'pink' if pink else 'white'} noise at {snr:.0f} dB SNR"
    audio *= 10 ** (rng.uniform(*config.gain_db) / 20) / max(np.max(np.abs(audio)), 1e-9)
    annotated = beats[:-1]
    return Song(
        audio=audio.astype(np.float32),
        beats=annotated,
        tempo_bpm=float(60.0 / np.median(np.diff(annotated))),
        description=f"{pattern}, {tempo:.1f} BPM{f' drifting {drift:+.0%}' if drift else ''}, {noise_text}{stopped}",
    )
