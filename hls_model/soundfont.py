"""MIDI files -> audio with the ``fluidsynth`` command line and a General MIDI SoundFont.

The SoundFont is ``/usr/share/sounds/sf2/FluidR3_GM.sf2`` (Debian's ``fluid-soundfont-gm``) unless
the environment variable ``FPGAOPS_SOUNDFONT`` names another. FluidSynth's own reverb and chorus
are off: the render is dry and deterministic (the same MIDI file always gives the same samples),
and ``hls_model.augment`` adds the room. FluidSynth starts each note at the next block of 64
samples (up to 3 ms late at 22,050 Hz, 8 ms at 8 kHz).

Example::

    from hls_model import soundfont
    stereo = soundfont.render(midi_file, 44100)   # (samples, 2) float32
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile

SOUNDFONT_ENV = "FPGAOPS_SOUNDFONT"
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
APT_PACKAGES = "fluidsynth fluid-soundfont-gm"
RENDER_TIMEOUT_SECONDS = 120.0


class RenderError(RuntimeError):
    """FluidSynth or the SoundFont is missing, or FluidSynth failed."""


def soundfont_path() -> Path:
    """The SoundFont to render with (``$FPGAOPS_SOUNDFONT`` or Debian's FluidR3 GM).

    Raises ``RenderError`` naming the Debian packages when the file is missing.

    Example: ``soundfont_path()`` -> ``PosixPath('/usr/share/sounds/sf2/FluidR3_GM.sf2')``.
    """
    path = Path(os.environ.get(SOUNDFONT_ENV) or DEFAULT_SOUNDFONT)
    if not path.is_file():
        raise RenderError(
            f"SoundFont {path} not found: install it with `apt-get install {APT_PACKAGES}` "
            f"or set {SOUNDFONT_ENV} to a General MIDI .sf2 file"
        )
    return path


def fluidsynth_executable() -> str:
    """The path of the ``fluidsynth`` program; raises ``RenderError`` naming the Debian packages when missing.

    Example: ``fluidsynth_executable()`` -> ``'/usr/bin/fluidsynth'``.
    """
    found = shutil.which("fluidsynth")
    if found is None:
        raise RenderError(f"fluidsynth not found on PATH: install it with `apt-get install {APT_PACKAGES}`")
    return found


def render(midi: mido.MidiFile, sample_rate: int, gain: float = 0.5) -> np.ndarray:
    """``midi`` rendered dry at ``sample_rate``: (samples, 2) float32 stereo, as long as FluidSynth plays it.

    Args:
        midi: the song (program changes, pan and volume controllers are honoured).
        sample_rate: 8000 to 96000 Hz.
        gain: FluidSynth's master gain (the output is float, so loud mixes do not clip).

    Example: ``render(mido.MidiFile("song.mid"), 22050).shape`` -> ``(n, 2)``.
    """
    command = [fluidsynth_executable(), "-ni", "-q", "-g", str(gain), "-r", str(sample_rate), "-O", "float",
               "-o", "synth.reverb.active=0", "-o", "synth.chorus.active=0",
               "-o", "synth.dynamic-sample-loading=1"]  # loads only the samples the song plays: faster start
    with tempfile.TemporaryDirectory(prefix="fpgaops-render-") as folder:
        song, out = Path(folder) / "song.mid", Path(folder) / "song.wav"
        midi.save(song)
        try:
            result = subprocess.run([*command, "-F", str(out), str(soundfont_path()), str(song)],
                                    capture_output=True, text=True, timeout=RENDER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise RenderError(f"fluidsynth took more than {RENDER_TIMEOUT_SECONDS:.0f} s to render {song}") from None
        if result.returncode != 0 or not out.is_file():
            raise RenderError(f"fluidsynth failed (exit {result.returncode}): {result.stderr.strip()}")
        audio, _ = soundfile.read(out, dtype="float32", always_2d=True)
    return audio
