"""The typed objects that flow through the pipeline: words in, cues out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing (seconds) and Whisper's probability.

    ``review`` is the review decision (:mod:`captioner.captions.flags`): the word is
    probably wrong or invented, so a creator should check it before publishing;
    ``why`` names the reasons (``low-probability``, ``rare-word``,
    ``hallucination``, ``outside-speech``, ``too-short``, ``repeated``, ...).
    """

    text: str
    start: float
    end: float
    probability: float = 1.0
    review: bool = False
    why: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = {"text": self.text, "start": round(self.start, 3), "end": round(self.end, 3),
                "probability": round(self.probability, 3), "review": self.review}
        if self.review:
            data["why"] = list(self.why)
        return data


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
class Segment:
    """What the recogniser says about one decoded segment: the signals its words' review flags use.

    Whisper computes these per decoding window (faster-whisper gives every segment
    cut from one window the same values): the mean token log-probability, the
    probability that the window holds no speech, the gzip compression ratio of its
    text (a loop compresses well) and the temperature it was decoded at (above 0
    when the first decoding failed Whisper's checks and it fell back to sampling).
    """

    start: float
    end: float
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0
    temperature: float = 0.0


@dataclass(frozen=True)
class WordSignals:
    """Per-word evidence that is not part of the word itself, parallel to :attr:`Transcript.words`.

    ``segment`` indexes :attr:`Transcript.segments`; ``loop_cut`` counts the words
    of a repetition loop collapsed after this word; ``speech`` is the highest Silero
    VAD speech probability of any 32 ms frame under the word (below 0.5: nobody
    speaks there).
    """

    segment: int = -1
    loop_cut: int = 0
    speech: float = 1.0


@dataclass(frozen=True)
class Transcript:
    """What recognition produced for one file."""

    language: str
    language_probability: float
    duration: float
    words: tuple[Word, ...]
    # The recogniser's per-segment signals and, per word, its segment and VAD evidence (empty when unknown).
    segments: tuple[Segment, ...] = ()
    signals: tuple[WordSignals, ...] = ()
    # Words taken out by the review because no speech is under them: reported, never burned.
    dropped: tuple[Word, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def low_confidence(self, threshold: float) -> list[Word]:
        return [w for w in self.words if w.probability < threshold]

    @property
    def flagged(self) -> list[Word]:
        """The words marked for review (see :mod:`captioner.captions.flags`)."""
        return [w for w in self.words if w.review]
