"""A song's tempo and sections (intro, verse, chorus, bridge, outro) from the client's song data.

Compatible with the original service's analysis (``/api/analyze-song``):

- ``spotify_analysis.sections`` given: one section each, classified by position and loudness
  (first: intro, last: outro, louder than -10 dB: chorus, past 60 % of the song: bridge, else
  verse), keeping ``start``, ``duration``, ``loudness`` and ``tempo``;
- ``spotify_analysis`` given without sections: a fixed default structure;
- otherwise an estimate from ``duration_ms`` (default 180 s): the usual pop form over fixed
  shares of the song, carrying ``energy`` and ``danceability``.

The tempo is ``audio_features.tempo`` (default 120 BPM). Each section type maps to the error
generator's pattern (``ERROR_TYPES``); any other section gives ``basic``.

Example::

    song = analyze({"name": "x", "audio_features": {"tempo": 128}, "duration_ms": 200000})
    song.tempo, song.beat_interval, section_at(song.structure, 42.0)   # 128.0, 0.469, "chorus"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rhythm_service.validation import InvalidInput, array, field_path, number, obj, string

ERROR_TYPES = {
    "intro": "minimal",
    "verse": "basic",
    "chorus": "business",
    "bridge": "chaotic",
    "outro": "philosophical",
}
DEFAULT_ERROR_TYPE = "basic"
DEFAULT_TEMPO = 120.0
TEMPO_RANGE_BPM = (1.0, 500.0)
DEFAULT_DURATION_MS = 180_000.0
MAX_DURATION_MS = 86_400_000.0  # a day
MAX_SECTIONS = 1000
CHORUS_LOUDNESS_DB = -10.0
BRIDGE_FROM_SHARE = 0.6
MAX_TEXT = 500

# (type, start share, duration share) of the estimated structure.
ESTIMATED_FORM = (
    ("intro", 0.00, 0.05), ("verse", 0.05, 0.15), ("chorus", 0.20, 0.10), ("verse", 0.30, 0.15),
    ("chorus", 0.45, 0.10), ("bridge", 0.60, 0.15), ("chorus", 0.75, 0.15), ("outro", 0.90, 0.10),
)
# (start, duration, type) when an analysis came without sections.
DEFAULT_FORM = ((0, 30, "verse"), (30, 20, "chorus"), (50, 30, "verse"), (80, 20, "chorus"), (100, 20, "bridge"),
                (120, 30, "chorus"))


def error_type_for(section: str) -> str:
    """The error generator's pattern for a song section.

    Example: ``error_type_for("bridge")`` -> ``"chaotic"``; ``error_type_for("solo")`` -> ``"basic"``.
    """
    return ERROR_TYPES.get(section, DEFAULT_ERROR_TYPE)


@dataclass(frozen=True)
class SongAnalysis:
    """What the service knows of a song: names, tempo (BPM) and sections (JSON-able dicts)."""

    name: str | None = None
    artist: str | None = None
    spotify_id: str | None = None
    tempo: float = DEFAULT_TEMPO
    tempo_given: bool = False  # False: the default tempo (no audio_features.tempo)
    structure: list[dict[str, Any]] = field(default_factory=list)

    @property
    def beat_interval(self) -> float:
        """Seconds between beats (60 / tempo)."""
        return 60.0 / self.tempo


def analyze(song_data: dict, prefix: str = "") -> SongAnalysis:
    """Validate ``song_data`` (the original's fields) and derive tempo and structure.

    Raises ``InvalidInput`` naming a bad field (``prefix`` is prepended to field names).
    Example: ``analyze({"audio_features": {"tempo": 90}}).tempo`` -> ``90.0``.
    """
    features = obj(song_data, "audio_features", prefix=prefix)
    features_path = field_path(prefix, "audio_features")
    tempo = number(features, "tempo", default=None, low=TEMPO_RANGE_BPM[0], high=TEMPO_RANGE_BPM[1],
                   prefix=features_path)
    energy = number(features, "energy", default=0.5, low=-1e9, high=1e9, prefix=features_path)
    danceability = number(features, "danceability", default=0.5, low=-1e9, high=1e9, prefix=features_path)
    duration_ms = number(song_data, "duration_ms", default=None, low=1.0, high=MAX_DURATION_MS, prefix=prefix)
    analysis = obj(song_data, "spotify_analysis", prefix=prefix)
    analysis_path = field_path(prefix, "spotify_analysis")
    sections = array(analysis, "sections", max_items=MAX_SECTIONS, prefix=analysis_path)
    if analysis and sections:
        structure = _from_sections(sections, f"{analysis_path}.sections")
    elif analysis:
        structure = [{"start": start, "duration": length, "type": kind} for start, length, kind in DEFAULT_FORM]
    else:
        seconds = (duration_ms if duration_ms is not None else DEFAULT_DURATION_MS) / 1000.0
        structure = [
            {"start": start * seconds, "duration": share * seconds, "type": kind, "energy": energy,
             "danceability": danceability}
            for kind, start, share in ESTIMATED_FORM
        ]
    return SongAnalysis(
        name=string(song_data, "name", default=None, max_length=MAX_TEXT, prefix=prefix),
        artist=string(song_data, "artist", default=None, max_length=MAX_TEXT, prefix=prefix),
        spotify_id=string(song_data, "spotify_id", default=None, max_length=MAX_TEXT, prefix=prefix),
        tempo=DEFAULT_TEMPO if tempo is None else tempo,
        tempo_given=tempo is not None,
        structure=structure,
    )


def _from_sections(sections: list, path: str) -> list[dict[str, Any]]:
    """The original's classification of Spotify's sections, each field checked."""
    structure = []
    for i, section in enumerate(sections):
        where = f"{path}[{i}]"
        if not isinstance(section, dict):
            raise InvalidInput(f"{where}: expected an object")
        loudness = number(section, "loudness", default=-20.0, low=-1000.0, high=1000.0, prefix=where)
        structure.append({
            "start": number(section, "start", default=0.0, low=0.0, high=MAX_DURATION_MS / 1000, prefix=where),
            "duration": number(section, "duration", default=0.0, low=0.0, high=MAX_DURATION_MS / 1000, prefix=where),
            "type": _classify(i, loudness, len(sections)),
            "loudness": loudness,
            "tempo": number(section, "tempo", default=DEFAULT_TEMPO, low=0.0, high=10_000.0, prefix=where),
        })
    return structure


def _classify(index: int, loudness: float, count: int) -> str:
    """Section type by position and loudness (the original's rules, in its order)."""
    if index == 0:
        return "intro"
    if index == count - 1:
        return "outro"
    if loudness > CHORUS_LOUDNESS_DB:
        return "chorus"
    if index > count * BRIDGE_FROM_SHARE:
        return "bridge"
    return "verse"


def section_at(structure: list[dict[str, Any]], seconds: float) -> str:
    """The type of the section playing at ``seconds``: the last section after the end, verse with none.

    Example: ``section_at([{"start": 0, "duration": 10, "type": "intro"}], 3.0)`` -> ``"intro"``.
    """
    for section in structure:
        if section["start"] <= seconds < section["start"] + section["duration"]:
            return section["type"]
    return structure[-1]["type"] if structure else "verse"
