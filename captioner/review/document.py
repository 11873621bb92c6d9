"""The review page's document: cues and their words as the page sees them, and edits coming back.

The page edits cue text, times, splits and merges; it never sends word
timings.  On save the words are derived here again: each cue keeps the
recognised words spoken in its time span whose text the creator left as it
was (timing, probability and review flags intact), and the words typed
instead are new.  Everything the page sends is checked field by field:
a bad value is an :class:`~captioner.errors.InputError`, answered with 400.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ..cues import Cue, Word
from ..errors import InputError
from ..text.arabic import HARAKAT, normalise_line, reading_length
from ..text.bidi import strip_bidi_controls

# In a JSON sidecar written before words carried their review flag, a word below this probability is flagged.
LEGACY_REVIEW_BELOW = 0.5
# Limits on what the page may send: far above any real clip, low enough that a bad request costs nothing.
MAX_CUES = 20_000
MAX_LINES = 8
MAX_LINE_CHARS = 400
# A word counts as spoken in a cue from this long before the cue starts (as load_cues assigns them).
_LEAD = 0.05


def word_flags(word: Word) -> tuple[str, ...]:
    """Why a word needs a human look (its review flag's reasons); empty when it does not."""
    return (word.why or ("review",)) if word.review else ()


def legacy_flags(word: Word) -> Word:
    """A word of a sidecar from before review flags: flagged when its probability is low, as captioner did then."""
    return replace(word, review=True, why=("low-probability",)) if word.probability < LEGACY_REVIEW_BELOW else word


def accepted(word: Word) -> Word:
    """A flagged word a person marked as right: no longer flagged."""
    return replace(word, review=False, why=())


def word_key(text: str) -> str:
    """What makes two tokens the same word: letters and digits only (punctuation, harakat, case aside)."""
    text = unicodedata.normalize("NFKC", strip_bidi_controls(text)).casefold()
    return "".join(ch for ch in text if ch not in HARAKAT and (ch.isalnum()))


def tokens(lines: Iterable[str]) -> list[str]:
    return [t for line in lines for t in line.split(" ") if t]


@dataclass(frozen=True)
class CueEdit:
    """One cue as the page sends it back: times, lines (already normalised) and the flagged words it accepted."""

    start: float
    end: float
    lines: tuple[str, ...]
    accepted: frozenset[int] = frozenset()  # ids of words the creator marked as right


def assign_words(spans: Sequence[tuple[float, float]], words: Sequence[Word]) -> tuple[list[list[int]], list[int]]:
    """Which words are spoken in which span: each word to the first span that holds its start.

    Returns, per span, the indices of its words, and the indices of words in no span.
    """
    per_span: list[list[int]] = [[] for _ in spans]
    loose: list[int] = []
    order = sorted(range(len(spans)), key=lambda k: spans[k])
    for i, word in enumerate(words):
        for k in order:
            start, end = spans[k]
            if start - _LEAD <= word.start < end:
                per_span[k].append(i)
                break
        else:
            loose.append(i)
    return per_span, loose


def _timed_between(texts: Sequence[str], start: float, end: float) -> list[Word]:
    """New words (typed by a person) spread over ``start``..``end`` by reading length."""
    if not texts:
        return []
    end = max(end, start)
    weights = [reading_length(t) + 1 for t in texts]
    total, at, out = sum(weights), 0, []
    for text, weight in zip(texts, weights):
        a = start + (end - start) * at / total
        at += weight
        out.append(Word(text, round(a, 3), round(start + (end - start) * at / total, 3), 1.0))
    return out


def match_words(cue_tokens: Sequence[str], candidates: Sequence[Word]) -> list[int | None]:
    """For each token, the index in ``candidates`` of the recognised word it still is, or None (typed anew)."""
    a = [word_key(t) for t in cue_tokens]
    b = [word_key(w.text) for w in candidates]
    matched: list[int | None] = [None] * len(a)
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            if a[block.a + k]:
                matched[block.a + k] = block.b + k
    return matched


def rebuild_words(edit: CueEdit, candidates: Sequence[Word]) -> tuple[list[Word], list[int], list[int]]:
    """The words of an edited cue, the positions (in its token order) of those typed anew, and the
    indices of the candidates it kept.

    Kept words keep their timing and probability (and take the token's text
    where only its punctuation changed); typed words are timed between their
    kept neighbours by reading length until they are aligned to the audio.
    """
    toks = tokens(edit.lines)
    matched = match_words(toks, candidates)
    out: list[Word | None] = [None] * len(toks)
    for i, j in enumerate(matched):
        if j is not None:
            word = candidates[j]
            out[i] = word if word.text == toks[i] else replace(word, text=toks[i])
    typed = [i for i, w in enumerate(out) if w is None]
    i = 0
    while i < len(toks):
        if out[i] is not None:
            i += 1
            continue
        j = i
        while j < len(toks) and out[j] is None:
            j += 1
        before = out[i - 1].end if i > 0 else edit.start
        after = out[j].start if j < len(toks) else edit.end
        for k, word in enumerate(_timed_between(toks[i:j], min(max(before, edit.start), edit.end),
                                                max(min(after, edit.end), edit.start))):
            out[i + k] = word
        i = j
    return [w for w in out if w is not None], typed, [j for j in matched if j is not None]


# --- what the page sends -------------------------------------------------------------------------------------


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{what} must be a number")
    return float(value)


def parse_revision(payload) -> int:
    if not isinstance(payload, dict):
        raise InputError("the request must be a JSON object")
    revision = payload.get("revision")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise InputError("revision must be a whole number")
    return revision


def parse_lines(value, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_LINES:
        raise InputError(f"{what}: lines must be a list of at most {MAX_LINES} strings")
    lines = []
    for line in value:
        if not isinstance(line, str) or len(line) > MAX_LINE_CHARS:
            raise InputError(f"{what}: each line must be a string of at most {MAX_LINE_CHARS} characters")
        # A line break typed inside a line is a new line; burn's normalisation for each.
        lines += [normalise_line(part) for part in re.split(r"[\r\n\u2028\u2029]+", line)]
    return tuple(line for line in lines if line)


def parse_cue(value, index: int, duration: float, *, word_count: int = 0) -> CueEdit:
    what = f"cue {index + 1}"
    if not isinstance(value, dict):
        raise InputError(f"{what} must be an object")
    start, end = _number(value.get("start"), f"{what}: start"), _number(value.get("end"), f"{what}: end")
    limit = duration + 1.0
    if not (0 <= start < end <= limit):
        raise InputError(f"{what}: times must satisfy 0 <= start < end <= {limit:.3f}")
    accepted = value.get("accepted", [])
    if not isinstance(accepted, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < word_count for i in accepted
    ):
        raise InputError(f"{what}: accepted must list word ids")
    return CueEdit(start, end, parse_lines(value.get("lines"), what), frozenset(accepted))


def parse_cues(payload, duration: float, *, word_count: int = 0) -> list[CueEdit]:
    """The cues of a save or check request, in the page's order (a cue left without text has no lines)."""
    if not isinstance(payload, dict):
        raise InputError("the request must be a JSON object")
    cues = payload.get("cues")
    if not isinstance(cues, list) or len(cues) > MAX_CUES:
        raise InputError(f"cues must be a list of at most {MAX_CUES} cues")
    return [parse_cue(c, i, duration, word_count=word_count) for i, c in enumerate(cues)]


def as_cue(edit: CueEdit, words: Sequence[Word] = ()) -> Cue:
    return Cue(edit.start, edit.end, edit.lines, tuple(words))
