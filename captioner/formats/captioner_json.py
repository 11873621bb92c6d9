"""captioner's JSON: the cues, and every recognised word with its timing and probability."""

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
                "cues": doc["cues"],
            }
        return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"

    def parse(self, text: str, path: Path) -> tuple[list[RawCue], list[Word]]:
        try:
            doc = json.loads(text)
            raw = [(float(c["start"]), float(c["end"]), list(c["lines"])) for c in doc["cues"]]
            words = [
                Word(str(w["text"]), float(w["start"]), float(w["end"]), float(w.get("probability", 1.0)))
                for w in doc.get("words", ())
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a captioner JSON file ({exc})") from None
        return raw, words
