"""captioner's JSON: the cues, and every recognised word with its timing, probability and review flag.

Each word carries ``"review": true|false`` and, when true, ``"why"``: the
reasons it should be checked (:mod:`captioner.captions.flags`).  Words taken out
because no speech is under them are listed under ``"dropped"`` (never burned).
Reading the file back keeps the flags.
"""

from __future__ import annotations

import json
import math
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
        """Every value is checked for its kind: a file edited by hand (or by anyone) is input, not trusted."""
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{path}: not a captioner JSON file ({exc})") from None
        except RecursionError:
            raise InputError(f"{path}: not a captioner JSON file (nested too deeply)") from None
        try:
            if not isinstance(doc, dict):
                raise _Bad("the file must hold a JSON object")
            cues = _list(doc, "cues", "the file")
            raw = []
            for k, c in enumerate(cues, start=1):
                where = f"cue {k}"
                if not isinstance(c, dict):
                    raise _Bad(f"{where} must be an object")
                lines = _list(c, "lines", where)
                if not all(isinstance(line, str) for line in lines):
                    raise _Bad(f"{where}: 'lines' must be a list of strings")
                raw.append((_number(c, "start", where), _number(c, "end", where), list(lines)))
            words = [_word(w, k) for k, w in enumerate(_list(doc, "words", "the file") if "words" in doc else [],
                                                         start=1)]
        except _Bad as exc:
            raise InputError(f"{path}: not a captioner JSON file ({exc})") from None
        return raw, words


class _Bad(Exception):
    """A captioner JSON file with a value of the wrong kind."""


def _word(data, k: int) -> Word:
    """A word of the file, with its review flag (a flag that is not true/false, or reasons that are not text, is refused)."""
    where = f"word {k}"
    if not isinstance(data, dict):
        raise _Bad(f"{where} must be an object")
    if not isinstance(data.get("text"), str):
        raise _Bad(f"{where}: 'text' must be a string")
    probability = _number(data, "probability", where) if "probability" in data else 1.0
    if not 0.0 <= probability <= 1.0:
        raise _Bad(f"{where}: 'probability' must be from 0 to 1")
    review = data.get("review", False)
    why = data.get("why", [])
    if not isinstance(review, bool) or not isinstance(why, list) or not all(isinstance(r, str) for r in why):
        raise _Bad(f"{where} ({data['text']!r}): 'review' must be true or false and 'why' a list of reasons")
    return Word(data["text"], _number(data, "start", where), _number(data, "end", where), probability,
                review=review, why=tuple(why) if review else ())


def _list(obj: dict, key: str, where: str) -> list:
    value = obj.get(key)
    if not isinstance(value, list):
        raise _Bad(f"{where}: {key!r} must be a list" if key in obj else f"{where} has no {key!r}")
    return value


def _number(obj: dict, key: str, where: str) -> float:
    """A finite number (not a bool, a string, NaN or a number too large for a float)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{where}: {key!r} must be a number" if key in obj else f"{where} has no {key!r}")
    try:
        number = float(value)
    except OverflowError:
        raise _Bad(f"{where}: {key!r} is too large") from None
    if not math.isfinite(number):
        raise _Bad(f"{where}: {key!r} must be a finite number, not {value!r}")
    return number
