"""Review flags: which recognised words a creator should check, and which must not be burned at all.

Whisper base gets about half the words of real Arabic speech wrong, and now and
then writes text nobody said.  Each word gets one review decision, combined
from every signal recognition leaves (:class:`~captioner.cues.Segment`,
:class:`~captioner.cues.WordSignals`) and a word lexicon:

- a score, p(wrong), from a logistic model over the word's probability and
  duration, its segment's mean log-probability and compression ratio, its
  length, and how frequent it is in the language (wordfreq; Whisper's Arabic
  errors are often non-words or rare forms, which its own probability misses);
- rules for inventions: no speech under the word (Silero VAD), a segment
  Whisper itself thought silent, a repetition loop, a near-zero duration, a
  sampling fallback, a compression ratio that betrays a loop, and phrases
  Whisper is known to invent (a data file: credits, "thanks for watching",
  blessings).

A word with no speech under it is *dropped*: not burned, reported.  Anything
else that looks wrong or invented is kept but marked ``review`` with the
reasons in ``why``.  The model's weights, threshold, rules and reason names
are data (``review_model.json``, written by ``bench/flags.py``), and so is the
phrase list (``hallucinations.toml``); both are read at run time, checked, and
nothing in them is ever imported or evaluated.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from .. import extras
from ..cues import Segment, Transcript, Word, WordSignals
from ..errors import CaptionerError
from ..text.arabic import HARAKAT, TATWEEL
from ..styles.presets import tomllib  # the one guarded import of tomllib (tomli on Python 3.10)
from ..text.scoring import normalise_for_scoring

REVIEW_MODEL = Path(__file__).with_name("review_model.json")
HALLUCINATIONS = Path(__file__).with_name("hallucinations.toml")
MODEL_SCHEMA = "captioner-review-model/1"

# The reasons a flagged word can carry, in the order they are listed.
REASONS = ("outside-speech", "no-speech", "hallucination", "repeated", "too-short", "fallback",
           "low-probability", "rare-word", "short-word", "unsure-segment", "hotword")

# --- text keys ---------------------------------------------------------------------------------------------------

_EDGE_PUNCT_RE = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


def bare(word: str) -> str:
    """The word without the punctuation around it, harakat and tatweel removed (its spelling kept)."""
    text = _EDGE_PUNCT_RE.sub("", unicodedata.normalize("NFC", word))
    return "".join(ch for ch in text if ch not in HARAKAT and ch != TATWEEL)


def letters(word: str) -> int:
    """Letters and digits in the word (no harakat, no punctuation)."""
    return sum(1 for ch in bare(word) if ch.isalnum())


# --- hotwords: names the user asked Whisper to prefer ----------------------------------------------------------

# Letters an Arabic word may carry before a name (and, then, for, with, to, as, the): "والمبادرة" holds "مبادرة".
_PROCLITICS = frozenset("وفبلكال")
_HOTWORD_SPLIT_RE = re.compile(r"[\s,،;؛]+")


def hotword_keys(hotwords: str | None) -> frozenset[str]:
    """The words of a ``--hotwords`` list as :func:`hotword_match` compares them (case and harakat ignored)."""
    if not hotwords:
        return frozenset()
    keys = {k for k in (bare(t).casefold() for t in _HOTWORD_SPLIT_RE.split(hotwords)) if len(k) >= 2}
    # "الإشارة" is also said "إشارة" (after a number, in a construct): its stem without the article.
    return frozenset(keys | {k[2:] for k in keys if k.startswith("ال") and len(k) >= 5})


def hotword_match(word: str, keys: frozenset[str]) -> bool:
    """Whether ``word`` is one of the hotwords, alone or after Arabic proclitics (``و``, ``ب``, ``ال``...)."""
    key = bare(word).casefold()
    if key in keys:
        return True
    return any(key.endswith(k) and len(key) - len(k) <= 3 and set(key[: len(key) - len(k)]) <= _PROCLITICS
               for k in keys)


# --- the lexicon (wordfreq, loaded lazily once per process) --------------------------------------------------------


@lru_cache(maxsize=None)
def lexicon_available(language: str, wordlist: str) -> bool:
    """Whether wordfreq is installed and has a ``wordlist`` list for ``language``."""
    wordfreq = extras.wordfreq()
    return wordfreq is not None and language in wordfreq.available_languages(wordlist)


@lru_cache(maxsize=1 << 16)
def zipf(word: str, language: str, wordlist: str) -> float:
    """wordfreq's Zipf frequency of ``word`` (0 when absent).  The first call loads the list (about 1 s)."""
    if not word:
        return 0.0
    return float(extras.wordfreq().zipf_frequency(word, language, wordlist=wordlist))


# --- features ----------------------------------------------------------------------------------------------------

# Every feature a model file may name, and what it is.  The code computes them; the data file only weighs them.
FEATURES = {
    "log_probability": "ln(max(word probability, 1e-6))",
    "log_duration": "ln(max(end - start, 0.02)) in seconds",
    "avg_logprob": "the word's segment's mean token log-probability",
    "compression_ratio": "the word's segment's gzip compression ratio",
    "no_speech_prob": "the word's segment's no-speech probability",
    "temperature": "the word's segment's decoding temperature (0 unless Whisper fell back to sampling)",
    "letters": "letters and digits in the word, punctuation and harakat excluded",
    "zipf_written": "wordfreq zipf_frequency of the word without edge punctuation, harakat and tatweel (0 if absent)",
    "zipf_norm": "wordfreq zipf_frequency of the word after the scoring normaliser (alef forms, ta marbuta, ...)",
    "unknown": "1 when both Zipf frequencies are 0, else 0",
}
LEXICON_FEATURES = frozenset({"zipf_written", "zipf_norm", "unknown"})
_SEGMENT_FEATURES = ("avg_logprob", "compression_ratio", "no_speech_prob", "temperature")


def word_features(transcript: Transcript, lexicon: tuple[str, str] | None = None) -> list[dict[str, float]]:
    """Every word's features (:data:`FEATURES`) and the raw values the rules read.

    ``lexicon`` is (language, wordlist) for the Zipf features, or None (they are
    then NaN).  A signal the transcript does not have (a transcript read back from
    a file) is NaN: the model counts it as average and the rules that need it stay quiet.
    """
    words = transcript.words
    known = len(transcript.signals) == len(words)
    signals = transcript.signals if known else (WordSignals(),) * len(words)
    rows = []
    for word, signal in zip(words, signals):
        segment: Segment | None = None
        if 0 <= signal.segment < len(transcript.segments):
            segment = transcript.segments[signal.segment]
        duration = max(0.0, word.end - word.start)
        row = {
            "probability": word.probability,
            "duration": duration,
            "speech": signal.speech if known else math.nan,
            "loop_cut": float(signal.loop_cut),
            "log_probability": math.log(max(word.probability, 1e-6)),
            "log_duration": math.log(max(duration, 0.02)),
            "letters": float(letters(word.text)),
        }
        for name in _SEGMENT_FEATURES:
            row[name] = float(getattr(segment, name)) if segment is not None else math.nan
        if lexicon:
            language, wordlist = lexicon
            written = zipf(bare(word.text), language, wordlist)
            key = normalise_for_scoring(word.text)
            normalised = zipf(key, language, wordlist) if key and " " not in key else written
            row.update(zipf_written=written, zipf_norm=normalised, unknown=float(max(written, normalised) == 0.0))
        else:
            row.update(zipf_written=math.nan, zipf_norm=math.nan, unknown=math.nan)
        rows.append(row)
    return rows


# --- the model ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogisticModel:
    """p(wrong) = sigmoid(intercept + Σ coefᵢ · clip((xᵢ − meanᵢ) / scaleᵢ, ±clip)), flagged at ``threshold``."""

    name: str
    languages: tuple[str, ...]  # "*": any language
    lexicon: bool
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    clip: float = 4.0

    def contributions(self, row: dict[str, float]) -> list[float]:
        """Each feature's share of the log-odds (an unknown value counts as the mean: 0)."""
        out = []
        for name, mean, scale, coef in zip(self.features, self.mean, self.scale, self.coef):
            value = row.get(name, math.nan)
            z = 0.0 if math.isnan(value) else min(self.clip, max(-self.clip, (value - mean) / scale))
            out.append(coef * z)
        return out

    def score(self, row: dict[str, float]) -> float:
        z = self.intercept + sum(self.contributions(row))
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


@dataclass(frozen=True)
class Rules:
    """The rule thresholds (from the data file)."""

    too_short_s: float  # a word shorter than this is a timing artefact or an invention
    outside_speech: float  # no VAD frame under the word reaches this: nobody speaks there (dropped)
    compression_ratio: float  # Whisper's own loop criterion, for a segment that survived it anyway
    no_speech_prob: float  # the segment's no-speech probability above this: review ("no-speech")
    no_speech_logprob: float  # ... and with a mean log-probability below this: "hallucination"
    fallback_temperature: float  # decoded at this temperature or above: "fallback"
    reason_min_logodds: float  # a model feature group is named as a reason when it adds this much


@dataclass(frozen=True)
class Phrase:
    """A line Whisper is known to invent (the data file's ``[[phrase]]``)."""

    text: str
    key: str
    language: str = ""
    kind: str = ""


@dataclass(frozen=True)
class ReviewModel:
    """Models by name, the rules, the reason each model feature is named by, and the phrase list."""

    models: tuple[LogisticModel, ...]
    rules: Rules
    reason_of_feature: dict[str, str]
    phrases: tuple[Phrase, ...]
    wordlist: str = "large"
    held_out: tuple[str, ...] = ()  # the shared-set clips the model was not tuned on
    info: str = ""

    @classmethod
    def load(cls, path: str | Path = REVIEW_MODEL, phrases: str | Path = HALLUCINATIONS) -> "ReviewModel":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = _model_from_data(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CaptionerError(f"{path}: not a usable review model ({exc})") from None
        return replace(model, phrases=load_phrases(phrases))

    @staticmethod
    @lru_cache(maxsize=1)
    def default() -> "ReviewModel":
        """The model shipped with captioner (read once per process)."""
        return ReviewModel.load()

    def choose(self, language: str) -> tuple[LogisticModel, tuple[str, str] | None]:
        """The model for ``language`` and the lexicon it needs: the language's own with wordfreq, the
        language's own without it when wordfreq (or its list) is missing, else the generic one."""
        own = [m for m in self.models if language and language in m.languages]
        wanted = any(m.lexicon for m in own) and lexicon_available(language, self.wordlist)
        lexicon = (language, self.wordlist) if wanted else None
        ranked = [m for m in own if lexicon or not m.lexicon]
        ranked.sort(key=lambda m: not m.lexicon)
        if ranked:
            return ranked[0], lexicon if ranked[0].lexicon else None
        return next(m for m in self.models if "*" in m.languages), None


def _numbers(values, n: int, name: str) -> tuple[float, ...]:
    if not isinstance(values, list) or len(values) != n:
        raise ValueError(f"{name}: expected {n} numbers")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name}: {v!r} is not a finite number")
        out.append(float(v))
    return tuple(out)


def _number(value, name: str, low: float = -math.inf, high: float = math.inf) -> float:
    (v,) = _numbers([value], 1, name)
    if not low <= v <= high:
        raise ValueError(f"{name}: {v} is out of range")
    return v


def _model_from_data(data) -> ReviewModel:
    """Build the model from the parsed data file, checking every field (numbers and strings only)."""
    if not isinstance(data, dict) or data.get("schema") != MODEL_SCHEMA:
        raise ValueError(f"schema is not {MODEL_SCHEMA!r}")
    models = []
    for name, m in data["models"].items():
        features = m["features"]
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise ValueError(f"model {name!r}: features must be a list of names")
        unknown = [f for f in features if f not in FEATURES]
        if unknown:
            raise ValueError(f"model {name!r}: unknown feature {unknown[0]!r} (known: {', '.join(FEATURES)})")
        lexicon = m["lexicon"]
        if not isinstance(lexicon, bool) or (not lexicon and LEXICON_FEATURES & set(features)):
            raise ValueError(f"model {name!r}: 'lexicon' must be true when it uses the lexicon features")
        languages = m["languages"]
        if not isinstance(languages, list) or not all(isinstance(x, str) and x for x in languages):
            raise ValueError(f"model {name!r}: languages must be a list of codes")
        n = len(features)
        scale = _numbers(m["scale"], n, f"{name}.scale")
        if any(s <= 0 for s in scale):
            raise ValueError(f"model {name!r}: scales must be positive")
        models.append(LogisticModel(
            name=str(name), languages=tuple(languages), lexicon=lexicon, features=tuple(features),
            mean=_numbers(m["mean"], n, f"{name}.mean"), scale=scale, coef=_numbers(m["coef"], n, f"{name}.coef"),
            intercept=_number(m["intercept"], f"{name}.intercept"),
            threshold=_number(m["threshold"], f"{name}.threshold", 0.0, 1.0),
            clip=_number(m.get("clip", 4.0), f"{name}.clip", 0.0),
        ))
    if not any("*" in m.languages for m in models):
        raise ValueError("no model for any language ('languages': ['*'])")
    r = data["rules"]
    rules = Rules(**{f: _number(r[f], f"rules.{f}") for f in Rules.__dataclass_fields__})
    reasons = data["reason_of_feature"]
    if not isinstance(reasons, dict) or not all(k in FEATURES and v in REASONS for k, v in reasons.items()):
        raise ValueError("reason_of_feature must map known features to known reasons")
    used = {f for m in models for f in m.features}
    if used - set(reasons):
        raise ValueError(f"no reason named for feature {sorted(used - set(reasons))[0]!r}")
    wordlist = data.get("wordlist", "large")
    held_out = data.get("split", {}).get("held_out", [])
    if not isinstance(wordlist, str) or not isinstance(held_out, list) or not all(isinstance(c, str) for c in held_out):
        raise ValueError("wordlist and split.held_out must be text")
    return ReviewModel(tuple(models), rules, dict(reasons), (), wordlist, tuple(held_out), str(data.get("about", "")))


# --- hallucination phrases ---------------------------------------------------------------------------------------


def phrase_key(text: str) -> str:
    """Matching key: NFKC (ﷺ → صلى الله عليه وسلم), the scoring normaliser, no spaces."""
    return normalise_for_scoring(unicodedata.normalize("NFKC", text)).replace(" ", "")


def load_phrases(path: str | Path = HALLUCINATIONS) -> tuple[Phrase, ...]:
    """The ``[[phrase]]`` entries of a phrase list (TOML: text, language, kind, evidence, source, note)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            entries = tomllib.load(fh).get("phrase", [])
        if not isinstance(entries, list):
            raise ValueError("'phrase' must be an array of tables")
        phrases = []
        for entry in entries:
            text = entry.get("text") if isinstance(entry, dict) else None
            if not isinstance(text, str):
                raise ValueError(f"a phrase without text: {entry!r}")
            if phrase_key(text):
                phrases.append(Phrase(text, phrase_key(text), str(entry.get("language", "")), str(entry.get("kind", ""))))
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise CaptionerError(f"{path}: not a usable phrase list ({exc})") from None
    return tuple(phrases)


def phrase_hits(words: Sequence[str], phrases: Sequence[Phrase]) -> list[list[str]]:
    """For each word, the listed phrases it is part of.

    The words' keys are joined without spaces, so a phrase matches whether
    Whisper split it into words (Arabic) or into characters (Chinese), and a
    match must start at a word's first character and end at a word's last:
    «موسيقى» does not match inside «الموسيقى».
    """
    text, owner, starts, ends = "", [], set(), set()
    for k, w in enumerate(words):
        key = phrase_key(w)
        if not key:
            continue
        starts.add(len(text))
        text += key
        owner += [k] * len(key)
        ends.add(len(text))
    hits: list[list[str]] = [[] for _ in words]
    for phrase in phrases:
        i = text.find(phrase.key)
        while i >= 0:
            j = i + len(phrase.key)
            if i in starts and j in ends:
                for k in sorted(set(owner[i:j])):
                    if phrase.text not in hits[k]:
                        hits[k].append(phrase.text)
            i = text.find(phrase.key, i + 1)
    return hits


# --- the decision ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One word's review decision: flag it (``review``), or take it out (``drop``), and why."""

    review: bool
    drop: bool
    why: tuple[str, ...]
    score: float  # the model's p(wrong)


def decide(
    transcript: Transcript, model: ReviewModel | None = None, *, below: float = 0.0,
    features: list[dict[str, float]] | None = None, hotwords: str | None = None,
) -> list[Decision]:
    """Every word's decision (``below``: also flag any word whose probability is under it).

    ``hotwords``: the ``--hotwords`` the transcript was recognised with.  Every word
    that is one of them is flagged ("hotword"): Whisper writes a hotword where it was
    not said (measured: a campaign term said in none of 30 clips was written in 4 of
    them, with probabilities from 0.01 to 0.81, as high as right ones), so only a
    person can tell.
    """
    keys = hotword_keys(hotwords)
    model = model or ReviewModel.default()
    scorer, lexicon = model.choose(transcript.language)
    rows = features if features is not None else word_features(transcript, lexicon)
    hits = phrase_hits([w.text for w in transcript.words], model.phrases)
    rules = model.rules
    out = []
    for word, row, phrase in zip(transcript.words, rows, hits):
        why: list[str] = []
        # Nobody speaks under the word: the only signal that decides on its own (measured: it never fired on a
        # right word).  Whisper's no-speech probability is per decoding window, and a window can hold real words
        # beside invented ones (dropping on it removed 21 real words), so that one only asks for review.
        drop = row["speech"] < rules.outside_speech  # False when unknown (NaN)
        if drop:
            why.append("outside-speech")
        no_speech = row["no_speech_prob"] > rules.no_speech_prob
        if no_speech:
            why.append("no-speech")
        if phrase or row["compression_ratio"] > rules.compression_ratio or (
                no_speech and row["avg_logprob"] < rules.no_speech_logprob):
            why.append("hallucination")
        # A repetition loop was collapsed into the word (Whisper wrote it 4+ times in a row).  A word said twice is
        # not flagged for that alone: "المنازعات العربية العربية" is right.
        if row["loop_cut"]:
            why.append("repeated")
        if row["duration"] < rules.too_short_s:
            why.append("too-short")
        if row["temperature"] >= rules.fallback_temperature:
            why.append("fallback")
        score = scorer.score(row)
        if score >= scorer.threshold:
            groups: dict[str, float] = {}
            for name, c in zip(scorer.features, scorer.contributions(row)):
                reason = model.reason_of_feature[name]
                groups[reason] = groups.get(reason, 0.0) + c
            named = [g for g, v in sorted(groups.items(), key=lambda kv: -kv[1]) if v >= rules.reason_min_logodds]
            why += [g for g in named or [max(groups, key=groups.get)] if g not in why]
        if word.probability < below and "low-probability" not in why:
            why.append("low-probability")
        if keys and hotword_match(word.text, keys):
            why.append("hotword")
        out.append(Decision(bool(why), drop, tuple(why), round(score, 4)))
    return out


def review_transcript(transcript: Transcript, model: ReviewModel | None = None, *, below: float = 0.0,
                      hotwords: str | None = None) -> Transcript:
    """The transcript with every word's review flag set, and words with no speech under them moved to ``dropped``
    (``hotwords``: those it was recognised with, see :func:`decide`)."""
    decisions = decide(transcript, model, below=below, hotwords=hotwords)
    signals = transcript.signals if len(transcript.signals) == len(transcript.words) else None
    kept: list[Word] = []
    kept_signals: list[WordSignals] = []
    dropped = list(transcript.dropped)
    for k, (word, decision) in enumerate(zip(transcript.words, decisions)):
        flagged = replace(word, review=decision.review, why=decision.why)
        if decision.drop:
            dropped.append(flagged)
            continue
        kept.append(flagged)
        if signals:
            kept_signals.append(signals[k])
    return replace(transcript, words=tuple(kept), signals=tuple(kept_signals), dropped=tuple(dropped))


# A clip needs review when fewer than this share of its words were recognised with probability >= 0.5.
MIN_CONFIDENT_SHARE = 0.8
CONFIDENT_PROBABILITY = 0.5


def confident_share(transcript: Transcript) -> float:
    """The share of the words Whisper gave a probability of at least 0.5 (1 when there are none)."""
    words = transcript.words
    return sum(w.probability >= CONFIDENT_PROBABILITY for w in words) / len(words) if words else 1.0


def needs_review(transcript: Transcript) -> bool:
    """A clip to check before publishing: a word flagged or not burned, or too few words Whisper was sure of."""
    return bool(transcript.flagged or transcript.dropped or confident_share(transcript) < MIN_CONFIDENT_SHARE)
