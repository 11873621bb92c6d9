"""The typed objects that flow through the pipeline: words in, cues out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing (seconds) and Whisper's probability."""

    text: str
    start: float
    end: float
    probability: float = 1.0

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Cue:
    """One caption on screen: its time span and its lines, top to bottom, in logical order."""

    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...] = field(default=(), compare=False)

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "lines": list(self.lines)}


@dataclass(frozen=True)
class Transcript:
    """What recognition produced for one file."""

    language: str
    language_probability: float
    duration: float
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def low_confidence(self, threshold: float) -> list[Word]:
        return [w for w in self.words if w.probability < threshold]
