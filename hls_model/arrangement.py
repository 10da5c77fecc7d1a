"""Seeded multi-instrument songs written as MIDI, rendered through a General MIDI SoundFont, with exact beats.

A song draws a tempo (50-200 BPM), a style played at that tempo in one of its meters, a key (major
or minor), a chord progression, and the parts of the style on General MIDI instruments (drums on
channel 10):

==========  ==================  ==================================================================
style       meters              parts
==========  ==================  ==================================================================
rock        4/4, 2/4, 6/8       drums, bass, guitar/piano/organ chords, sometimes a lead melody
waltz       3/4                 oom-pah-pah bass and chords, a melody, sometimes light drums
swing       4/4                 swung eighths: ride cymbal, walking bass, comping, a horn melody
ragtime     2/4, 4/4            piano alone: oom-pah left hand, syncopated right hand
strings     4/4, 3/4, 2/4, 6/8  sustained legato chords, cello or pizzicato bass, a legato melody
electronic  4/4                 four on the floor, synth bass, pad, arpeggio or lead
folk        4/4, 3/4, 2/4, 6/8  strummed acoustic guitar, a melody, sometimes bass and light drums
==========  ==================  ==================================================================

On top of that: gradual (accelerando, ritardando) and sudden tempo changes, a pickup before the first
downbeat, a break of a bar or two where most instruments stop, human timing jitter and velocity
variation on every note, stereo panning, and silence before and after the music.

The annotated beat is the quarter note (the dotted quarter in 6/8), from the first downbeat to the
final chord, through breaks (as a listener taps on). The MIDI file (``mido``) carries the tempo
changes as ``set_tempo`` events and a ``marker`` on every annotated beat, and the beat times are
computed from the same tempo map: they are the file's own. FluidSynth renders the file in stereo at
a drawn sample rate (``hls_model.soundfont``), it is mixed down to mono 22,050 Hz as the service does
(``rhythm_service.features.to_mono``), and ``hls_model.augment`` adds equalisation, compression,
a room, noise, a codec and a gain.

One sound, one beat: two styles that sound the same must not be annotated at different levels, or
no model can learn either. Each style's tempo ranges keep them apart:

- ragtime's oom-pah (bass, chord, bass, chord) is annotated on the bass alone in 2/4 (70-120 BPM:
  the oom-pah runs at 140-240 a minute) and on every note in 4/4 only when it is slow (a stride at
  70-110), not as a 4/4 at 140-200, whose oom-pah would be the 2/4's annotated an octave higher;
- a waltz's oom-pah-pah (80-200 BPM) is annotated on every quarter; 6/8's bass and two chords
  (dotted quarter, three eighths a beat) start at 67 BPM, where its eighths (from 201 a minute)
  are faster than the fastest waltz, so a slow 6/8 never sounds like a waltz annotated at the bar.

The same seed always gives the same song: ``numpy.random.SeedSequence(seed).spawn(2)`` gives two
streams, the first draws the music (``arrange``), the second the rendering and augmentation, so
changing the augmentation keeps the music.

Example::

    from hls_model.arrangement import ArrangementConfig, generate_arranged_song
    song = generate_arranged_song((20240611, 0, 3))
    song.description   # e.g. 'waltz 3/4 in D minor, 142.0 BPM, rit -10%, no drums, rendered at 16 kHz, reverb 1.2 s'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import mido
import numpy as np

from hls_model import soundfont
from hls_model.augment import AugmentConfig, augment
from rhythm_service.features import SAMPLE_RATE, to_mono
from rhythm_service.spectrum import fix_length

if TYPE_CHECKING:  # hls_model.config imports this module, and synth_audio imports hls_model.config
    from hls_model.synth_audio import Song

PPQ = 960  # MIDI ticks per quarter note
DRUM_CHANNEL = 9  # General MIDI channel 10
RING_OUT_SECONDS = 0.5  # after the last note-off, before the drawn silence at the end
DRUM_KEYS = {"kick": 36, "side_stick": 37, "snare": 38, "clap": 39, "hat": 42, "pedal_hat": 44, "open_hat": 46,
             "low_tom": 45, "mid_tom": 47, "high_tom": 50, "crash": 49, "ride": 51, "tambourine": 54}
VELOCITY = {"X": 1.0, "x": 0.75, "o": 0.4, "D": 0.9, "U": 0.65}  # rhythm marks (D/U: strum down/up)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
PROGRESSIONS = {  # scale degree of each bar's chord (0 the tonic), repeated over the song
    "pop": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4), (0, 3, 0, 4), (0, 0, 3, 4)),
    "jazz": ((1, 4, 0, 0), (0, 5, 1, 4), (2, 5, 1, 4)),
}


@dataclass(frozen=True)
class Meter:
    """A time signature and its annotated beat."""

    numerator: int
    denominator: int
    beats_per_bar: int
    quarters_per_beat: float  # 1 (a quarter note), 1.5 in 6/8 (a dotted quarter)

    @property
    def name(self) -> str:
        """The time signature, e.g. ``"6/8"``."""
        return f"{self.numerator}/{self.denominator}"

    @property
    def compound(self) -> bool:
        """True when a beat divides into three eighths (6/8)."""
        return self.quarters_per_beat == 1.5

    @property
    def ticks_per_beat(self) -> int:
        """MIDI ticks of one annotated beat."""
        return round(PPQ * self.quarters_per_beat)


METERS = {"2/4": Meter(2, 4, 2, 1.0), "3/4": Meter(3, 4, 3, 1.0), "4/4": Meter(4, 4, 4, 1.0),
          "6/8": Meter(6, 8, 2, 1.5)}

# Rhythms: one string per bar with the same number of steps in each beat (eighths: 2 a beat, 3 in 6/8;
# sixteenths: 4); X accent, x normal, o soft, . rest, D/U a strum down/up. Swing delays off-beat eighths.
DRUM_PATTERNS: dict[str, dict[str, tuple[dict[str, str], ...]]] = {
    "rock": {
        "4/4": ({"kick": "X...X.x.", "snare": "..X...X.", "hat": "xxxxxxxx"},
                {"kick": "X.....x.X.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
                {"kick": "X..xX...", "snare": "..X...X.", "ride": "xxxxxxxx"}),
        "2/4": ({"kick": "X...", "snare": "..X.", "hat": "xxxx"},
                {"kick": "X.x.", "snare": "..X.", "open_hat": "x.x."}),
        "6/8": ({"kick": "X.....", "snare": "...X..", "hat": "xxxxxx"},
                {"kick": "X..x..", "snare": "...X..", "ride": "x.xx.x"}),
    },
    "waltz": {"3/4": ({"kick": "X.....", "hat": "..x.x."},
                      {"kick": "X.....", "side_stick": "..x.x.", "pedal_hat": "..o.o."})},
    "swing": {"4/4": ({"ride": "x.Xxx.Xx", "pedal_hat": "..X...X.", "kick": "o.o.o.o."},
                      {"ride": "x.Xxx.Xx", "pedal_hat": "..X...X.", "side_stick": "......x."})},
    "electronic": {"4/4": ({"kick": "X...X...X...X...", "clap": "....X.......X...", "open_hat": "..x...x...x...x.",
                            "hat": "xoxoxoxoxoxoxoxo"},
                           {"kick": "X...X...X...X...", "snare": "....X.......X...", "hat": "..x...x...x...x."})},
    "folk": {
        "4/4": ({"kick": "X...X...", "tambourine": "..x...x."},
                {"kick": "X.....x.", "snare": "..x...x.", "hat": "x.x.x.x."}),
        "3/4": ({"kick": "X.....", "tambourine": "..x.x."},),
        "2/4": ({"kick": "X...", "snare": "..x."},),
        "6/8": ({"kick": "X..x..", "tambourine": "x.xx.x"}, {"low_tom": "X.xX.x"}),
    },
}
BASS_RHYTHMS = {"2/4": ("X...", "X.x.", "X..x"), "3/4": ("X.....", "X...x."),
                "4/4": ("X...X...", "X..xX...", "XxXxXxXx"), "6/8": ("X.....", "X..x..", "X.xX.x")}
COMP_RHYTHMS = {"2/4": ("X.X.", "X..x"), "3/4": ("X.X.X.", "X..x.."),
                "4/4": ("X.X.X.X.", "XxXxXxXx", "X..X..X.", "X...X..."), "6/8": ("X..X..", "XxxXxx")}
OOM_PAH = {"2/4": ("X.X.", ".x.x"), "3/4": ("X.....", "..x.x."), "4/4": ("X...X...", "..x...x."),  # (bass, chords)
           "6/8": ("X..X..", ".xx.xx")}
STRUMS = {"2/4": ("D.DU", "D.D."), "3/4": ("D.DUDU", "D.D.D."), "4/4": ("D.DU.UDU", "D.D.DUDU", "D...D.DU"),
          "6/8": ("D.UD.U", "D..D..", "DUDDUD")}
SWING_COMPING = ("x..x....", "...x..x.", "x....x..", ".x...x..", "x.x.x.x.")
ELECTRONIC_BASS = ("..X...X...X...X.", "X.x.X.x.X.x.X.x.", "X..X..X...X..X..")
MELODY_CELLS = {  # (start, length) of the notes in one cell, in cells (a cell is 1 beat, 2 in a 4/4 rag)
    "straight": (((0.0, 1.0),), ((0.0, 0.5), (0.5, 0.5)), ((0.0, 0.75), (0.75, 0.25)), ((0.5, 0.5),),
                 ((0.0, 0.25), (0.25, 0.5), (0.75, 0.25)), ((0.5, 1.0),), ((0.0, 2.0),)),
    "swung": (((0.0, 1.0),), ((0.0, 0.5), (0.5, 0.5)), ((0.5, 0.5),), ((0.5, 1.0),), ((0.0, 1.5),)),
    "compound": (((0.0, 1.0),), ((0.0, 2 / 3), (2 / 3, 1 / 3)), ((0.0, 1 / 3), (1 / 3, 1 / 3), (2 / 3, 1 / 3)),
                 ((1 / 3, 2 / 3),), ((0.0, 2.0),)),
    "ragtime": (((0.0, 0.25), (0.25, 0.5), (0.75, 0.25)), ((0.0, 0.25), (0.25, 0.25), (0.5, 0.25), (0.75, 0.25)),
                ((0.0, 0.5), (0.5, 0.5)), ((0.25, 0.5), (0.75, 0.25)), ((0.0, 0.75), (0.75, 0.25))),
}


@dataclass(frozen=True)
class Note:
    """One note of a part, in beats from the first downbeat (negative in a pickup)."""

    beat: float
    length: float  # beats
    pitch: int  # MIDI key (on channel 10: the drum)
    velocity: float  # 0-1, before the per-note variation


@dataclass
class Part:
    """One instrument's notes: ``role`` is drums, bass, chords or melody; ``octave`` its register."""

    role: str
    program: int  # General MIDI program, 0-based (unused for drums)
    octave: int = 3
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class Music:
    """What the parts are written against: meter, length, key and harmony."""

    meter: Meter
    n_bars: int
    root: int  # pitch class of the tonic
    scale: tuple[int, ...]
    chords: tuple[int, ...]  # scale degree of each bar's chord
    seconds_per_beat: float  # at the first tempo

    def pitch(self, degree: int, octave: int) -> int:
        """The MIDI key of scale ``degree`` (any integer) above the tonic in ``octave`` (4: from middle C)."""
        return 12 * (octave + 1) + self.root + self.scale[degree % 7] + 12 * (degree // 7)

    def chord(self, degree: int, octave: int, tones: int = 3) -> list[int]:
        """The chord on ``degree``: a triad, or a seventh chord with ``tones=4``."""
        return [self.pitch(degree + 2 * k, octave) for k in range(tones)]

    def bar_start(self, bar: int) -> float:
        """The beat of the downbeat of ``bar`` (0-based)."""
        return float(bar * self.meter.beats_per_bar)


@dataclass(frozen=True)
class Style:
    """A style: the tempi of each of its meters, how often it has drums, and its parts."""

    tempi: dict[str, tuple[float, float]]  # meter -> (lowest, highest) BPM of the annotated beat
    drums_probability: float
    progressions: str  # key of PROGRESSIONS
    swing: tuple[float, float]  # where an off-beat eighth falls in its beat (0.5: straight)
    parts: Callable[[Music, np.random.Generator, bool], list[Part]]  # (music, rng, with drums) -> parts


@dataclass(frozen=True)
class ArrangementConfig:
    """The arranged songs: tempi, length, styles, meters, what happens in a song and the augmentation."""

    tempo_bpm: tuple[float, float] = (50.0, 200.0)  # of the annotated beat; tempo changes stay inside
    music_seconds: tuple[float, float] = (20.0, 30.0)  # length of the music (beats annotated)
    edge_silence_seconds: tuple[float, float] = (0.0, 1.5)  # before the first note and after the last
    styles: tuple[str, ...] = ("rock", "waltz", "swing", "ragtime", "strings", "electronic", "folk")
    meters: tuple[str, ...] = ("2/4", "3/4", "4/4", "6/8")
    minor_probability: float = 0.35
    gradual_change_probability: float = 0.25  # an accelerando or a ritardando over a few bars
    gradual_change: tuple[float, float] = (0.05, 0.25)  # by this fraction of the tempo
    sudden_change_probability: float = 0.15  # the tempo jumps at a bar line
    sudden_change: tuple[float, float] = (0.1, 0.4)
    timing_jitter_ms: tuple[float, float] = (2.0, 20.0)  # standard deviation of each note's timing (drawn per song)
    velocity_jitter: float = 8.0  # standard deviation of each note's MIDI velocity
    pickup_probability: float = 0.3  # an anacrusis before the first downbeat
    break_probability: float = 0.2  # a bar or two where most instruments stop
    sample_rates: tuple[int, ...] = (8000, 11025, 16000, 22050, 32000, 44100, 48000)  # FluidSynth renders at one
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass(frozen=True)
class Arrangement:
    """A song as MIDI: the file, its annotated beats (seconds), its length (seconds) and a description."""

    midi: mido.MidiFile
    beats: np.ndarray
    seconds: float
    description: str


def _hits(rhythm: str, meter: Meter) -> list[tuple[float, str]]:
    """(beat within the bar, mark) of each hit of a one-bar ``rhythm``."""
    steps_per_beat = len(rhythm) / meter.beats_per_bar
    return [(step / steps_per_beat, mark) for step, mark in enumerate(rhythm) if mark != "."]


def _play_rhythm(music: Music, rhythm: str, pitches: Callable[[int, int], Sequence[int]], legato: float = 0.9,
                 spread: float = 0.0) -> list[Note]:
    """Notes on the hits of ``rhythm`` in every bar: ``pitches(bar, hit)`` sound until the next hit x ``legato``.

    Args:
        spread: beats between successive pitches of a hit (a strum: an up-strum ``U`` plays the top four,
            high to low).
    """
    hits = _hits(rhythm, music.meter)
    ends = [position for position, _ in hits[1:]] + [float(music.meter.beats_per_bar)]
    notes = []
    for bar in range(music.n_bars):
        for hit, ((position, mark), end) in enumerate(zip(hits, ends, strict=True)):
            chord = list(pitches(bar, hit))
            if mark == "U":
                chord = chord[::-1][:4]
            start = music.bar_start(bar) + position
            notes += [Note(start + k * spread, (end - position) * legato, pitch, VELOCITY[mark])
                      for k, pitch in enumerate(chord)]
    return notes


def _whole_bars(meter: Meter) -> str:
    return "X" + "." * (meter.beats_per_bar - 1)


def _on_beats(meter: Meter) -> str:
    return "X" + "x" * (meter.beats_per_bar - 1)


def _drums(music: Music, rng: np.random.Generator, patterns: Sequence[dict[str, str]]) -> Part:
    """A drum part: one of ``patterns``, ghost snares, a fill closing every 4th or 8th bar, crashes after."""
    pattern = patterns[int(rng.integers(len(patterns)))]
    fill_every = int(rng.choice((4, 8)))
    beats_per_bar = music.meter.beats_per_bar
    fill_steps, off_beat = (3, 2 / 3) if music.meter.compound else (4, 0.5)
    notes = []
    for bar in range(music.n_bars):
        start = music.bar_start(bar)
        fill = (bar + 1) % fill_every == 0
        for name, rhythm in pattern.items():
            notes += [Note(start + position, 1.0, DRUM_KEYS[name], VELOCITY[mark])
                      for position, mark in _hits(rhythm, music.meter) if not (fill and position >= beats_per_bar - 1)]
        if rng.random() < 0.3:
            ghost = start + int(rng.integers(beats_per_bar)) + off_beat
            notes.append(Note(ghost, 0.5, DRUM_KEYS["snare"], VELOCITY["o"]))
        if fill:
            drums = rng.choice(["snare", "high_tom", "mid_tom", "low_tom"], fill_steps)
            notes += [Note(start + beats_per_bar - 1 + step / fill_steps, 0.5, DRUM_KEYS[str(name)],
                           rng.uniform(0.6, 1.0)) for step, name in enumerate(drums)]
        if bar % fill_every == 0:
            notes.append(Note(start, 2.0, DRUM_KEYS["crash"], VELOCITY["x"]))
    return Part("drums", 0, notes=notes)


def _root_bass(music: Music, rng: np.random.Generator, program: int, rhythm: str, legato: float = 0.9) -> Part:
    """A bass on ``rhythm``: the chord's root, sometimes its fifth or octave on the later hits."""
    def pitches(bar: int, hit: int) -> list[int]:
        step = 0 if hit == 0 or rng.random() < 0.6 else int(rng.choice((4, 7)))
        return [music.pitch(music.chords[bar] + step, 2)]

    return Part("bass", program, 2, _play_rhythm(music, rhythm, pitches, legato))


def _alternating_bass(music: Music, program: int, rhythm: str, octaves: int = 1) -> Part:
    """An oom-pah bass: root and fifth alternate on the hits of ``rhythm`` (doubled an octave up with ``octaves=2``)."""
    hits_per_bar = len(_hits(rhythm, music.meter))

    def pitches(bar: int, hit: int) -> list[int]:
        low = music.pitch(music.chords[bar] + (4 if (bar * hits_per_bar + hit) % 2 else 0), 2)
        return [low + 12 * k for k in range(octaves)]

    return Part("bass", program, 2, _play_rhythm(music, rhythm, pitches))


def _walking_bass(music: Music, rng: np.random.Generator, program: int) -> Part:
    """A walking bass: a note a beat, the root first, chord tones, then a half step into the next root."""
    notes = []
    beats_per_bar = music.meter.beats_per_bar
    for bar in range(music.n_bars):
        root = music.pitch(music.chords[bar], 2)
        next_root = music.pitch(music.chords[(bar + 1) % music.n_bars], 2)
        tones = [*music.chord(music.chords[bar], 2, 4)[1:], root + 12]
        line = [root, *rng.choice(tones, beats_per_bar - 2), next_root + int(rng.choice((-1, 1)))]
        notes += [Note(music.bar_start(bar) + beat, 0.9, int(pitch), VELOCITY["x"]) for beat, pitch in enumerate(line)]
    return Part("bass", program, 2, notes)


def _chords(music: Music, program: int, rhythm: str, octave: int = 4, tones: int = 3, legato: float = 0.8) -> Part:
    """Block chords on the hits of ``rhythm`` (``legato`` > 1: held into the next chord)."""
    return Part("chords", program, octave,
                _play_rhythm(music, rhythm, lambda bar, _: music.chord(music.chords[bar], octave, tones), legato))


def _strummed(music: Music, rng: np.random.Generator, program: int) -> Part:
    """A strummed guitar: six strings of an open voicing, down low to high, up high to low, 8-20 ms apart."""
    spread = rng.uniform(0.008, 0.02) / music.seconds_per_beat

    def voicing(bar: int, _: int) -> list[int]:
        return [music.pitch(music.chords[bar] + step, 3) for step in (0, 4, 7, 9, 11, 14)]

    rhythm = str(rng.choice(STRUMS[music.meter.name]))
    return Part("chords", program, 3, _play_rhythm(music, rhythm, voicing, 1.0, spread))


def _arpeggio(music: Music, rng: np.random.Generator, program: int) -> Part:
    """A sixteenth-note arpeggio over each bar's chord, up, down or up and down."""
    order = [(0, 1, 2, 3), (3, 2, 1, 0), (0, 1, 2, 3, 2, 1)][int(rng.integers(3))]
    notes = []
    for bar in range(music.n_bars):
        tones = [*music.chord(music.chords[bar], 4), music.pitch(music.chords[bar], 5)]
        notes += [Note(music.bar_start(bar) + step / 4, 0.2, tones[order[step % len(order)]],
                       VELOCITY["x" if step % 4 else "X"]) for step in range(4 * music.meter.beats_per_bar)]
    return Part("melody", program, 4, notes)


def _melody(music: Music, rng: np.random.Generator, program: int, cells: str, cell_beats: int = 1,
            legato: float = 0.9, octave: int = 4) -> Part:
    """A melody: a two-bar rhythm of ``cells`` (with rests) repeated with variations, stepping through the scale.

    Notes on a cell's start lean to the chord's tones; each note lasts until the next one x ``legato``.
    """
    vocabulary = MELODY_CELLS[cells]
    cells_per_bar = music.meter.beats_per_bar // cell_beats

    def bar_rhythm() -> list[tuple[float, float]]:
        rhythm = []
        for cell in range(cells_per_bar):
            if rng.random() < 0.15:
                continue  # a rest
            rhythm += [((cell + start) * cell_beats, length * cell_beats)
                       for start, length in vocabulary[int(rng.integers(len(vocabulary)))]]
        return rhythm

    motif = [bar_rhythm(), bar_rhythm()]
    degree = 7
    starts, pitches = [], []
    for bar in range(music.n_bars):
        rhythm = bar_rhythm() if rng.random() < 0.25 else motif[bar % 2]
        chord_tones = [music.chords[bar] + 2 * k + 7 * octave_shift for k in range(3) for octave_shift in (-1, 0, 1, 2)]
        for position, _ in rhythm:
            if position % cell_beats == 0 and rng.random() < 0.6:
                degree = min(chord_tones, key=lambda tone: abs(tone - degree))
            else:
                degree += int(rng.choice((-2, -1, 0, 1, 2), p=(0.15, 0.3, 0.1, 0.3, 0.15)))
            degree = int(np.clip(degree, 0, 13))
            starts.append(music.bar_start(bar) + position)
            pitches.append(music.pitch(degree, octave))
    ends = [*starts[1:], starts[-1] + 1.0] if starts else []
    notes = [Note(start, (end - start) * legato, pitch, VELOCITY["X" if start % 1 == 0 else "x"])
             for start, end, pitch in zip(starts, ends, pitches, strict=True)]
    return Part("melody", program, octave, notes)


def _melody_cells(music: Music) -> str:
    return "compound" if music.meter.compound else "straight"


def _pick(rng: np.random.Generator, programs: Sequence[int]) -> int:
    return int(rng.choice(programs))


def _rock(music: Music, rng: np.random.Generator, drums: bool) -> list[Part]:
    meter = music.meter.name
    guitar = _pick(rng, (29, 30, 27, 0, 16))  # overdriven, distortion, clean guitar, piano, organ
    parts = [_root_bass(music, rng, _pick(rng, (33, 34)), str(rng.choice(BASS_RHYTHMS[meter]))),
             _chords(music, guitar, str(rng.choice(COMP_RHYTHMS[meter])), 3 if guitar in (29, 30) else 4)]
    if rng.random() < 0.6:
        parts.append(_melody(music, rng, _pick(rng, (80, 81, 65, 56, 29)), _melody_cells(music)))
    return parts + ([_drums(music, rng, DRUM_PATTERNS["rock"][meter])] if drums else [])


def _waltz(music: Music, rng: np.random.Generator, drums: bool) -> list[Part]:
    bass, chords = OOM_PAH["3/4"]
    parts = [_alternating_bass(music, _pick(rng, (32, 58, 43)), bass),  # acoustic bass, tuba, contrabass
             _chords(music, _pick(rng, (0, 21, 48, 46)), chords),  # piano, accordion, strings, harp
             _melody(music, rng, _pick(rng, (40, 73, 21, 71)), "straight")]  # violin, flute, accordion, clarinet
    return parts + ([_drums(music, rng, DRUM_PATTERNS["waltz"]["3/4"])] if drums else [])


def _swing(music: Music, rng: np.random.Generator, drums: bool) -> list[Part]:
    comping = _pick(rng, (0, 4, 26))  # piano, electric piano, jazz guitar
    parts = [_walking_bass(music, rng, 32),
             _chords(music, comping, str(rng.choice(SWING_COMPING)), 3, tones=4, legato=0.6),
             _melody(music, rng, _pick(rng, (65, 66, 56, 57, 71, 11)), "swung")]  # saxes, trumpet, trombone, ...
    return parts + ([_drums(music, rng, DRUM_PATTERNS["swing"]["4/4"])] if drums else [])


def _ragtime(music: Music, rng: np.random.Generator, drums: bool) -> list[Part]:
    piano = _pick(rng, (0, 1, 3))  # acoustic, bright, honky-tonk
    bass, chords = OOM_PAH[music.meter.name]
    right_hand = _melody(music, rng, piano, "ragtime", cell_beats=music.meter.beats_per_bar // 2, legato=0.8)
    right_hand.notes += [replace(note, pitch=note.pitch - 12) for note in right_hand.notes if rng.random() < 0.4]
    return [_alternating_bass(music, piano, bass, octaves=2), _chords(music, piano, chords, 3, legato=0.6), right_hand]


def _strings(music: Music, rng: np.random.Generator, drums: bool) -> list[Part]:
    parts = [_chords(music, _pick(rng, (48, 49)), _whole_bars(music.meter), 3, legato=1.02),
             _melody(music, rng, _pick(rng, (40, 41, 73, 68, 71)), _melody_cells(music), legato=1.05)]
    if rng.random() < 0.5:  # a sustained cello or contrabass line, with pizzicato chords on the beats
        parts.append(_alternating_bass(music, _pick(rng, (42, 43)), _whole_bars(music.meter)))
        parts.append(_chords(music, 45, _on_beats(music.meter), 3, legato=0.4))
    else:  # a pizzicato bass on the beats
        parts.append(_alternating_bass(music, 45, _on_beats(music.meter)))
    return parts


def _electronic(music: Music, rng: np.random.Generator, drums: bool) -> list[Part]:
    parts = [_root_bass(music, rng, _pick(rng, (38, 39, 87)), str(rng.choice(ELECTRONIC_BASS)), legato=0.7),
             _chords(music, _pick(rng, (88, 89, 90, 91, 95)), _whole_bars(music.meter), legato=1.0)]  # pads
    lead = _pick(rng, (80, 81, 84))  # square, saw, charang
    parts.append(_arpeggio(music, rng, lead) if rng.random() < 0.5 else _melody(music, rng, lead, "straight"))
    return parts + ([_drums(music, rng, DRUM_PATTERNS["electronic"]["4/4"])] if drums else [])


def _folk(music: Music, rng: np.random.Generator, drums: bool) -> list[Part]:
    meter = music.meter.name
    parts = [_strummed(music, rng, _pick(rng, (24, 25))),  # nylon, steel guitar
             _melody(music, rng, _pick(rng, (73, 110, 22, 21, 74, 40, 71)), _melody_cells(music))]  # flute, fiddle, ...
    if rng.random() < 0.5:
        parts.append(_alternating_bass(music, 32, OOM_PAH[meter][0]))
    return parts + ([_drums(music, rng, DRUM_PATTERNS["folk"][meter])] if drums else [])


STYLES: dict[str, Style] = {  # tempi: see "One sound, one beat" in the module's docstring
    "rock": Style({"4/4": (65, 180), "2/4": (150, 200), "6/8": (67, 90)}, 0.9, "pop", (0.5, 0.5), _rock),
    "waltz": Style({"3/4": (80, 200)}, 0.4, "pop", (0.5, 0.5), _waltz),
    "swing": Style({"4/4": (70, 200)}, 0.95, "jazz", (0.6, 0.68), _swing),
    "ragtime": Style({"2/4": (70, 120), "4/4": (70, 110)}, 0.0, "pop", (0.5, 0.5), _ragtime),
    "strings": Style({"4/4": (50, 130), "3/4": (60, 150), "2/4": (70, 140), "6/8": (67, 90)}, 0.0, "pop", (0.5, 0.5),
                     _strings),
    "electronic": Style({"4/4": (100, 150)}, 1.0, "pop", (0.5, 0.5), _electronic),
    "folk": Style({"4/4": (70, 160), "3/4": (80, 180), "2/4": (100, 180), "6/8": (67, 130)}, 0.5, "pop", (0.5, 0.5),
                  _folk),
}


def style_and_meter(tempo_bpm: float, config: ArrangementConfig, rng: np.random.Generator) -> tuple[str, str, float]:
    """A (style, meter) of ``config`` played at ``tempo_bpm``, and the tempo (moved into its range when none is).

    Example: ``style_and_meter(55.0, ArrangementConfig(), rng)`` -> e.g. ``('strings', '6/8', 55.0)``.
    """
    allowed = [(style, meter) for style in config.styles for meter in STYLES[style].tempi if meter in config.meters]
    if not allowed:
        raise ValueError(f"no style of {config.styles} is played in the meters {config.meters}")
    fitting = [(s, m) for s, m in allowed if STYLES[s].tempi[m][0] <= tempo_bpm <= STYLES[s].tempi[m][1]]
    if fitting:
        style, meter = fitting[int(rng.integers(len(fitting)))]
        return style, meter, tempo_bpm
    style, meter = min(allowed, key=lambda sm: min(abs(tempo_bpm - t) for t in STYLES[sm[0]].tempi[sm[1]]))
    low, high = STYLES[style].tempi[meter]
    return style, meter, float(np.clip(np.clip(tempo_bpm, low, high), *config.tempo_bpm))


def _pickup(music: Music, parts: list[Part], rng: np.random.Generator) -> None:
    """An anacrusis of one to four eighths into the first downbeat, by the melody, else the drums, else the bass."""
    steps_per_beat = 3 if music.meter.compound else 2
    n = int(rng.integers(1, min(4, music.meter.beats_per_bar * steps_per_beat - 1) + 1))
    player = next(part for role in ("melody", "drums", "bass") for part in parts if part.role == role)
    for k in range(n):
        pitch = DRUM_KEYS["snare"] if player.role == "drums" else music.pitch(k - n, player.octave)
        player.notes.append(Note((k - n) / steps_per_beat, 0.9 / steps_per_beat, pitch, 0.6 + 0.3 * k / n))


def _break(music: Music, parts: list[Part], rng: np.random.Generator) -> str:
    """Stop all parts but maybe one for a bar or two inside the song; its description."""
    bars = int(rng.integers(1, 3))
    first = int(rng.integers(2, music.n_bars - bars - 1))
    start, end = music.bar_start(first), music.bar_start(first + bars)
    pitched = [part for part in parts if part.role != "drums"]
    kept = pitched[int(rng.integers(len(pitched)))] if rng.random() < 0.6 else None
    for part in parts:
        if part is not kept:
            part.notes = [replace(note, length=min(note.length, start - note.beat)) if note.beat < start else note
                          for note in part.notes if not start <= note.beat < end]
    return f"break in bar{'s' if bars > 1 else ''} {first + 1}{f'-{first + bars}' if bars > 1 else ''}"


def _ending(music: Music, parts: list[Part]) -> None:
    """The final chord on the downbeat after the last bar: the tonic held for a bar (a crash on the drums)."""
    end, length = music.bar_start(music.n_bars), float(music.meter.beats_per_bar)
    for part in parts:
        pitches = {"drums": [DRUM_KEYS["kick"], DRUM_KEYS["crash"]],
                   "chords": music.chord(0, part.octave)}.get(part.role, [music.pitch(0, part.octave)])
        part.notes += [Note(end, length, pitch, 0.9) for pitch in pitches]


def _tempi(tempo: float, music: Music, config: ArrangementConfig, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """BPM of each beat from the first downbeat to the end of the final chord, and a description of the changes."""
    per_bar = music.meter.beats_per_bar
    n_beats = (music.n_bars + 1) * per_bar
    beat = np.arange(n_beats)
    factor = np.ones(n_beats)
    text = ""
    if music.n_bars >= 4 and rng.random() < config.gradual_change_probability:
        change = rng.uniform(*config.gradual_change) * rng.choice((-1, 1))
        first = int(rng.integers(0, music.n_bars - 2)) * per_bar
        last = int(rng.integers(first // per_bar + 2, music.n_bars + 1)) * per_bar
        factor *= 1 + change * np.clip((beat - first) / (last - first), 0.0, 1.0)
        text += f", {'accel' if change > 0 else 'rit'} {change:+.0%}"
    if music.n_bars >= 4 and rng.random() < config.sudden_change_probability:
        change = rng.uniform(*config.sudden_change) * rng.choice((-1, 1))
        bar = int(rng.integers(2, music.n_bars - 1))
        factor *= np.where(beat >= bar * per_bar, 1 + change, 1.0)
        text += f", jump {change:+.0%} at bar {bar + 1}"
    return np.clip(tempo * factor, *config.tempo_bpm), text


class TempoMap:
    """Seconds of MIDI ticks under tempo changes, as a MIDI player counts them.

    Example: ``TempoMap([0, 960], [500000, 250000]).seconds(np.array([1920]))`` -> ``[0.75]``.
    """

    def __init__(self, ticks: Sequence[int], tempi_us: Sequence[int]) -> None:
        self.ticks = np.asarray(ticks, dtype=np.int64)
        self.tempi_us = np.asarray(tempi_us, dtype=np.float64)
        self.starts = np.concatenate([[0.0], np.cumsum(np.diff(self.ticks) * self.tempi_us[:-1] / (1e6 * PPQ))])

    def _segment(self, ticks: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.ticks, ticks, side="right") - 1

    def seconds(self, ticks: np.ndarray) -> np.ndarray:
        """The time in seconds of each of ``ticks``."""
        segment = self._segment(ticks)
        return self.starts[segment] + (ticks - self.ticks[segment]) * self.tempi_us[segment] / (1e6 * PPQ)

    def ticks_per_second(self, ticks: np.ndarray) -> np.ndarray:
        """The tempo at each of ``ticks`` in ticks per second."""
        return 1e6 * PPQ / self.tempi_us[self._segment(ticks)]


def _track(events: list[tuple[int, int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    """A track of (tick, order at the same tick, message) events, with delta times."""
    track, now = mido.MidiTrack(), 0
    for tick, _, message in sorted(events, key=lambda event: event[:2]):
        track.append(message.copy(time=tick - now))
        now = tick
    return track


def _part_track(part: Part, channel: int, starts: np.ndarray, ends: np.ndarray, velocities: np.ndarray,
                pan: int, volume: int) -> mido.MidiTrack:
    """One part's track: program, volume and pan, then its notes (a note cut where the same key sounds again)."""
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = [
        (0, 0, mido.MetaMessage("track_name", name=part.role)),
        (0, 0, mido.Message("program_change", channel=channel, program=part.program)),
        (0, 0, mido.Message("control_change", channel=channel, control=7, value=volume)),
        (0, 0, mido.Message("control_change", channel=channel, control=10, value=pan)),
    ]
    pitches = np.array([note.pitch for note in part.notes])
    order = np.lexsort((starts, pitches))
    for i, j in zip(order, [*order[1:], -1], strict=True):
        end = min(ends[i], starts[j]) if j >= 0 and pitches[j] == pitches[i] else ends[i]
        if end > starts[i]:
            events.append((int(starts[i]), 2, mido.Message("note_on", channel=channel, note=int(pitches[i]),
                                                           velocity=int(velocities[i]))))
            events.append((int(end), 1, mido.Message("note_off", channel=channel, note=int(pitches[i]))))
    return _track(events)


def _midi(music: Music, parts: list[Part], tempi: np.ndarray, swing: float, lead_in: float, tail: float,
          config: ArrangementConfig, rng: np.random.Generator) -> tuple[mido.MidiFile, np.ndarray, float]:
    """The MIDI file of ``parts`` played at ``tempi`` (BPM of each beat), its beat times and its length (seconds).

    Notes are swung (an off-beat eighth moves to ``swing`` of its beat), then moved by the per-note
    timing jitter and given velocities varying around theirs.
    """
    beat_ticks = music.meter.ticks_per_beat
    tempi_us = np.round(60e6 / (tempi * music.meter.quarters_per_beat)).astype(int)
    first_beat = min([0.0] + [note.beat for part in parts for note in part.notes])
    origin = round(lead_in * 1e6 * PPQ / tempi_us[0]) + round(-first_beat * beat_ticks)
    changes = [0] + [k for k in range(1, len(tempi_us)) if tempi_us[k] != tempi_us[k - 1]]
    tempo_map = TempoMap([0] + [origin + k * beat_ticks for k in changes[1:]], tempi_us[changes])
    jitter_seconds = np.exp(rng.uniform(*np.log(config.timing_jitter_ms))) / 1000

    def ticks(beats: np.ndarray) -> np.ndarray:
        swung = np.where(np.isclose(beats % 1, 0.5), np.floor(beats) + swing, beats)
        return origin + np.round(swung * beat_ticks).astype(np.int64)

    midi = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    channels = [channel for channel in range(16) if channel != DRUM_CHANNEL]
    end_tick = 0
    for index, part in enumerate(parts):
        starts = ticks(np.array([note.beat for note in part.notes]))
        lengths = np.round(np.array([note.length for note in part.notes]) * beat_ticks).astype(np.int64)
        shift = np.round(rng.normal(0.0, jitter_seconds, len(starts)) * tempo_map.ticks_per_second(starts))
        starts = np.maximum(starts + shift.astype(np.int64), 0)
        velocities = np.clip(np.round(np.array([note.velocity for note in part.notes]) * 110
                                      + rng.normal(0.0, config.velocity_jitter, len(starts))), 1, 127)
        drums = part.role == "drums"
        pan = 64 if drums or part.role == "bass" else int(rng.integers(20, 109))
        midi.tracks.append(_part_track(part, DRUM_CHANNEL if drums else channels[index], starts, starts + lengths,
                                       velocities, pan, int(rng.integers(85, 121))))
        end_tick = max(end_tick, int((starts + lengths).max()))
    end_tick += round((RING_OUT_SECONDS + tail) * tempo_map.ticks_per_second(np.array([end_tick]))[0])
    beat_ticks_all = origin + beat_ticks * np.arange(music.n_bars * music.meter.beats_per_bar + 1)
    conductor = [(0, 0, mido.MetaMessage("time_signature", numerator=music.meter.numerator,
                                         denominator=music.meter.denominator))]
    conductor += [(int(tick), 0, mido.MetaMessage("set_tempo", tempo=int(us)))
                  for tick, us in zip(tempo_map.ticks, tempo_map.tempi_us, strict=True)]
    conductor += [(int(tick), 1, mido.MetaMessage("marker", text=f"beat {k + 1}"))
                  for k, tick in enumerate(beat_ticks_all)]
    conductor.append((end_tick, 2, mido.MetaMessage("end_of_track")))
    midi.tracks.insert(0, _track(conductor))
    return midi, tempo_map.seconds(beat_ticks_all), float(tempo_map.seconds(np.array([end_tick]))[0])


def _streams(seed: int | Sequence[int]) -> tuple[np.random.Generator, np.random.Generator]:
    """The music's and the audio's random generators of ``seed``."""
    music, audio = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(music), np.random.default_rng(audio)


def arrange(seed: int | Sequence[int], config: ArrangementConfig | None = None) -> Arrangement:
    """The MIDI song of ``seed`` and its annotated beats (what ``generate_arranged_song`` renders).

    Example: ``arrange(3).midi.save("song.mid")``; ``arrange(3).beats`` -> beat times in seconds.
    """
    config = config or ArrangementConfig()
    rng = _streams(seed)[0]
    style_name, meter_name, tempo = style_and_meter(rng.uniform(*config.tempo_bpm), config, rng)
    style, meter = STYLES[style_name], METERS[meter_name]
    progression = PROGRESSIONS[style.progressions][int(rng.integers(len(PROGRESSIONS[style.progressions])))]
    n_bars = max(2, round(rng.uniform(*config.music_seconds) * tempo / 60 / meter.beats_per_bar))
    mode = "minor" if rng.random() < config.minor_probability else "major"
    music = Music(meter, n_bars, int(rng.integers(12)), SCALES[mode],
                  tuple(progression[bar % len(progression)] for bar in range(n_bars)), 60 / tempo)
    drums = bool(rng.random() < style.drums_probability)
    parts = style.parts(music, rng, drums)
    described = [f"{style_name} {meter_name} in {NOTE_NAMES[music.root]} {mode}"]
    tempi, changes = _tempi(tempo, music, config, rng)
    described.append(f"{tempo:.1f} BPM{changes}")
    if rng.random() < config.pickup_probability:
        _pickup(music, parts, rng)
        described.append("pickup")
    if n_bars >= 6 and rng.random() < config.break_probability:
        described.append(_break(music, parts, rng))
    _ending(music, parts)
    if not drums:
        described.append("no drums")
    lead_in, tail = rng.uniform(*config.edge_silence_seconds, size=2)
    swing = rng.uniform(*style.swing)
    midi, beats, seconds = _midi(music, parts, tempi, swing, lead_in, tail, config, rng)
    return Arrangement(midi, beats, seconds, ", ".join(described))


def generate_arranged_song(seed: int | Sequence[int], config: ArrangementConfig | None = None) -> Song:
    """The arranged song of ``seed``, rendered with FluidSynth and augmented: mono float32 at 22,050 Hz and its beats.

    Args:
        seed: an int or a tuple such as ``hls_model.synth_audio.song_seed(base, split, index)``.
        config: the knobs (``ArrangementConfig()`` when None).

    Raises ``hls_model.soundfont.RenderError`` when FluidSynth or the SoundFont is missing.

    Example: ``generate_arranged_song((20240611, 0, 3)).description``.
    """
    from hls_model.synth_audio import Song  # here: synth_audio imports hls_model.config, which imports this module

    config = config or ArrangementConfig()
    arrangement = arrange(seed, config)
    rng = _streams(seed)[1]
    rate = int(rng.choice(config.sample_rates))
    stereo = fix_length(soundfont.render(arrangement.midi, rate), round(arrangement.seconds * rate))
    mono = fix_length(to_mono(stereo, rate), round(arrangement.seconds * SAMPLE_RATE))
    audio, augmented = augment(mono / max(float(np.max(np.abs(mono))), 1e-9), SAMPLE_RATE, rng, config.augment)
    return Song(
        audio=audio,
        beats=arrangement.beats,
        tempo_bpm=float(60.0 / np.median(np.diff(arrangement.beats))),
        description=", ".join([arrangement.description, f"rendered at {rate / 1000:g} kHz", *augmented]),
    )
