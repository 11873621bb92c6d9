"""captioner's JSON: the cues, and every recognised word with its timing, probability and review flag.

Each word carries ``"review": true|false`` and, when true, ``"why"``: the
reasons it should be checked (:mod:`captioner.asr.review`).  Words taken out
because no speech is under them are listed under ``"dropped"`` (never burned).
Reading the file back keeps the flags.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..cues import Cue, Transcript, Word
from ..errors import InputError
from ..styles.style import CaptionStyle
from .base import RawCue, SubtitleFormat, register_format

JSON_SCHEMA = "captioner/1"


@register_format
class CaptionerJSON(SubtitleFormat):
    name = "json"
    extensions = (".json",)

    def dumps(self, cues: Sequence[Cue], *, style: CaptionStyle | None = None,
              transcript: Transcript | None = None) -> str:
        doc = {"schema": JSON_SCHEMA, "cues": [c.to_dict() for c in cues]}
        if transcript is not None:
            doc = {
                "schema": JSON_SCHEMA,
                "language": transcript.language,
                "language_probability": round(transcript.language_probability, 3),
                "duration": round(transcript.duration, 3),
                "words": [w.to_dict() for w in transcript.words],
                "dropped": [w.to_dict() for w in transcript.dropped],
                "cues": doc["cues"],
            }
        return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"

    def parse(self, text: str, path: Path) -> tuple[list[RawCue], list[Word]]:
        try:
            doc = json.loads(text)
            raw = [(float(c["start"]), float(c["end"]), list(c["lines"])) for c in doc["cues"]]
            words = [_word(w) for w in doc.get("words", ())]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a captioner JSON file ({exc})") from None
        return raw, words


def _word(data: dict) -> Word:
    """A word of the file, with its review flag (a flag that is not true/false, or reasons that are not text, is refused)."""
    review = data.get("review", False)
    why = data.get("why", [])
    if not isinstance(review, bool) or not isinstance(why, list) or not all(isinstance(r, str) for r in why):
        raise ValueError(f"word {data.get('text')!r}: 'review' must be true or false and 'why' a list of reasons")
    return Word(str(data["text"]), float(data["start"]), float(data["end"]), float(data.get("probability", 1.0)),
                review=review, why=tuple(why) if review else ())
