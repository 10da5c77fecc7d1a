"""Arranged songs: exact beats (read back from the MIDI file), styles and meters, rendering, augmentation."""

from __future__ import annotations

import dataclasses
import re

import mido
import numpy as np
import pytest

from hls_model import soundfont
from hls_model.arrangement import METERS, STYLES, ArrangementConfig, arrange, generate_arranged_song
from hls_model.augment import AugmentConfig, augment, codec_round_trip
from rhythm_service.features import SAMPLE_RATE

SHORT = ArrangementConfig(music_seconds=(4.0, 6.0))
NO_AUGMENTATION = AugmentConfig(eq_probability=0.0, compression_probability=0.0, reverb_probability=0.0,
                                noise_probability=0.0, codec_probability=0.0, gain_db=(0.0, 0.0))
STEADY = dataclasses.replace(SHORT, gradual_change_probability=0.0, sudden_change_probability=0.0)


def midi_markers(path) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Times (seconds, as mido plays the file) and ticks of the beat markers, and the note-on times."""
    times, now, notes = [], 0.0, []
    for message in mido.MidiFile(path):
        now += message.time
        if message.type == "marker":
            times.append(now)
        elif message.type == "note_on":
            notes.append(now)
    conductor = mido.MidiFile(path).tracks[0]
    ticks = np.cumsum([message.time for message in conductor])[[m.type == "marker" for m in conductor]]
    return np.array(times), ticks, notes


def high_band_share(audio: np.ndarray, above_hz: float) -> float:
    """The share of ``audio``'s energy above ``above_hz``."""
    power = np.abs(np.fft.rfft(audio)) ** 2
    frequencies = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    return float(power[frequencies > above_hz].sum() / power.sum())


def test_same_seed_gives_the_same_song():
    first, again, other = (generate_arranged_song(seed, SHORT) for seed in ((5, 1, 2), (5, 1, 2), (5, 1, 3)))
    assert np.array_equal(first.audio, again.audio) and np.array_equal(first.beats, again.beats)
    assert first.description == again.description
    assert first.description != other.description
    assert np.array_equal(first.beats, arrange((5, 1, 2), SHORT).beats)  # the song's beats are its MIDI file's
    assert len(first.audio) == round(arrange((5, 1, 2), SHORT).seconds * SAMPLE_RATE)


@pytest.mark.parametrize("seed", range(8))
def test_beats_are_the_midi_files_own(tmp_path, seed):
    config = dataclasses.replace(ArrangementConfig(music_seconds=(8.0, 12.0)), gradual_change_probability=1.0,
                                 sudden_change_probability=1.0, pickup_probability=1.0)
    arrangement = arrange(seed, config)
    arrangement.midi.save(tmp_path / "song.mid")
    marker_times, _, note_times = midi_markers(tmp_path / "song.mid")
    np.testing.assert_allclose(marker_times, arrangement.beats, rtol=0, atol=1e-9)
    assert min(note_times) < arrangement.beats[0]  # the pickup comes before the first annotated beat
    assert mido.MidiFile(tmp_path / "song.mid").length == pytest.approx(arrangement.seconds, abs=1e-9)


def test_every_style_and_meter_appears_at_tempi_over_the_range():
    descriptions = [arrange(seed, SHORT).description for seed in range(200)]
    assert {d.split()[0] for d in descriptions} == set(STYLES)
    assert {d.split()[1] for d in descriptions} == set(METERS)
    tempi = [float(re.search(r"([\d.]+) BPM", d).group(1)) for d in descriptions]
    assert min(tempi) < 60 and max(tempi) > 190


def _note_rates(style: str, meter: str, pattern_steps_per_beat: int) -> tuple[float, float]:
    """Lowest and highest rate (a minute) of the notes of a ``pattern_steps_per_beat``-step pattern across songs."""
    config = dataclasses.replace(STEADY, styles=(style,), meters=(meter,))
    tempi = [60 / np.median(np.diff(arrange(seed, config).beats)) for seed in range(30)]
    return min(tempi) * pattern_steps_per_beat, max(tempi) * pattern_steps_per_beat


def test_the_same_oom_pah_is_never_annotated_at_two_levels():
    # A 4/4 rag's bass-chord alternation is annotated on every note, a 2/4 rag's on the bass alone:
    # the 4/4's notes must come slower than the 2/4's ever do.
    assert _note_rates("ragtime", "4/4", 1)[1] < _note_rates("ragtime", "2/4", 2)[0]
    # A waltz annotates every quarter of bass-chord-chord; 6/8 annotates one beat per bass and two chords.
    for style in ("rock", "strings", "folk"):
        assert _note_rates(style, "6/8", 3)[0] > _note_rates("waltz", "3/4", 1)[1], style


@pytest.mark.parametrize("meter", sorted(METERS))
def test_a_meter_puts_its_beats_on_its_beat_note(tmp_path, meter):
    arrangement = arrange(1, dataclasses.replace(STEADY, meters=(meter,)))
    arrangement.midi.save(tmp_path / "song.mid")
    signature = next(m for m in arrangement.midi.tracks[0] if m.type == "time_signature")
    _, ticks, _ = midi_markers(tmp_path / "song.mid")
    assert f"{signature.numerator}/{signature.denominator}" == meter and f" {meter} " in arrangement.description
    assert set(np.diff(ticks)) == {METERS[meter].ticks_per_beat}  # the dotted quarter in 6/8
    assert (len(ticks) - 1) % METERS[meter].beats_per_bar == 0  # whole bars, then the final chord's downbeat


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_style_renders_sane_audio(style):
    config = dataclasses.replace(SHORT, styles=(style,))
    song = generate_arranged_song(11, config)
    assert song.audio.dtype == np.float32 and song.audio.ndim == 1 and np.isfinite(song.audio).all()
    assert np.max(np.abs(song.audio)) > 0.03 * 0.9  # the peak is drawn in -30..0 dBFS
    assert song.description.startswith(style)
    assert np.all(np.diff(song.beats) > 0) and song.beats[0] > 0 and song.beats[-1] < len(song.audio) / SAMPLE_RATE
    assert config.tempo_bpm[0] <= song.tempo_bpm <= config.tempo_bpm[1]
    assert song.audio[: int(song.beats[0] * SAMPLE_RATE) // 2].std() < song.audio.std()  # quieter before the music


def test_a_sudden_tempo_change_shows_in_the_beat_intervals():
    config = dataclasses.replace(ArrangementConfig(music_seconds=(12.0, 16.0)), sudden_change_probability=1.0,
                                 gradual_change_probability=0.0, sudden_change=(0.2, 0.3))
    for seed in range(10):
        arrangement = arrange(seed, config)
        tempo, change, bar = re.search(r"([\d.]+) BPM, jump ([+-]\d+)% at bar (\d+)", arrangement.description).groups()
        intervals = np.diff(arrangement.beats)
        jump = np.flatnonzero(np.abs(np.diff(intervals)) > 1e-6)
        beats_per_bar = METERS[arrangement.description.split()[1]].beats_per_bar
        assert list(jump + 1) == [(int(bar) - 1) * beats_per_bar]
        expected = np.clip(float(tempo) * (1 + int(change) / 100), *config.tempo_bpm) / float(tempo)
        assert intervals[jump[0]] / intervals[jump[0] + 1] == pytest.approx(expected, rel=0.01)


def test_a_break_stops_all_parts_but_one_while_the_beats_go_on(tmp_path):
    config = dataclasses.replace(ArrangementConfig(music_seconds=(12.0, 16.0)), break_probability=1.0,
                                 gradual_change_probability=0.0, sudden_change_probability=0.0)
    arrangement = next(a for a in (arrange(seed, config) for seed in range(20)) if "break in bars" in a.description)
    first, last = map(int, re.search(r"break in bars (\d+)-(\d+)", arrangement.description).groups())
    beats_per_bar = METERS[arrangement.description.split()[1]].beats_per_bar
    start, end = arrangement.beats[(first - 1) * beats_per_bar], arrangement.beats[last * beats_per_bar]
    arrangement.midi.save(tmp_path / "song.mid")
    now, channels = 0.0, set()
    for message in mido.MidiFile(tmp_path / "song.mid"):
        now += message.time
        if message.type == "note_on" and start + 0.1 < now < end - 0.1:
            channels.add(message.channel)
    assert len(channels) <= 1
    assert np.ptp(np.diff(arrangement.beats)) < 1e-9


def test_augmentation_keeps_length_and_finiteness():
    rng = np.random.default_rng(0)
    audio = (np.sin(2 * np.pi * 440 * np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE) * rng.uniform(0, 1)).astype(np.float32)
    every = AugmentConfig(eq_probability=1.0, compression_probability=1.0, reverb_probability=1.0,
                          noise_probability=1.0, codec_probability=1.0)
    for seed in range(4):
        out, parts = augment(audio, SAMPLE_RATE, np.random.default_rng(seed), every)
        assert out.shape == audio.shape and out.dtype == np.float32 and np.isfinite(out).all()
        assert len(parts) == 5 and 10 ** (-30 / 20) - 1e-6 <= np.max(np.abs(out)) <= 1.0 + 1e-6


@pytest.mark.parametrize("codec", ["mp3", "ogg"])
def test_a_codec_at_a_low_sample_rate_removes_the_high_frequencies(codec):
    noise = np.random.default_rng(1).standard_normal(2 * SAMPLE_RATE).astype(np.float32) * 0.1
    assert high_band_share(noise, 4200) > 0.5
    assert high_band_share(codec_round_trip(noise, SAMPLE_RATE, codec, 8000, 0.0), 4200) < 1e-3


def test_rendering_at_a_low_sample_rate_removes_the_high_frequencies():
    def rendered_at(rate: int) -> np.ndarray:
        config = dataclasses.replace(SHORT, styles=("electronic",), sample_rates=(rate,), augment=NO_AUGMENTATION)
        return generate_arranged_song(3, config).audio

    assert high_band_share(rendered_at(22050), 4200) > 1e-3
    assert high_band_share(rendered_at(8000), 4200) < 1e-8


def test_a_missing_soundfont_or_fluidsynth_names_the_debian_packages(tmp_path, monkeypatch):
    monkeypatch.setenv(soundfont.SOUNDFONT_ENV, str(tmp_path / "missing.sf2"))
    with pytest.raises(soundfont.RenderError, match=r"missing\.sf2.*apt-get install fluidsynth fluid-soundfont-gm"):
        generate_arranged_song(0, SHORT)
    monkeypatch.delenv(soundfont.SOUNDFONT_ENV)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(soundfont.RenderError, match=r"fluidsynth not found.*apt-get install fluidsynth fluid-sound"):
        generate_arranged_song(0, SHORT)
