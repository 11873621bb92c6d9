"""When each word of a cue is spoken, in reading order.

Word timestamps when the cue carries one per word (captioner's own cues, or
its JSON); otherwise the cue's time shared out by reading length, which is
all a hand-edited SRT allows.  The word highlight and re-flowing a cue into
several both need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..cues import Cue, Word
from ..text.arabic import normalise_line, reading_length


def cue_words(cue: Cue) -> list[tuple[int, str]]:
    """The cue's words in reading order, as (line number, word)."""
    return [(k, word) for k, line in enumerate(cue.lines) for word in line.split(" ") if word]


def word_starts(cue: Cue) -> list[float]:
    """When each word of the cue (``cue_words`` order) is spoken."""
    words = cue_words(cue)
    if cue.words and len(cue.words) == len(words):
        return [min(max(w.start, cue.start), cue.end) for w in cue.words]
    lengths = [reading_length(w) + 1 for _, w in words]
    total, starts, at = sum(lengths), [], 0
    for n in lengths:
        starts.append(cue.start + (cue.end - cue.start) * at / total)
        at += n
    return starts


def _norm(texts: Sequence[str]) -> list[str]:
    return normalise_line(" ".join(texts)).split(" ") if texts else []


def has_word_times(cue: Cue) -> bool:
    """Whether the cue carries one timed word per word of its text, the same words."""
    texts = [w for _, w in cue_words(cue)]
    return bool(cue.words) and len(cue.words) == len(texts) and _norm([w.text for w in cue.words]) == _norm(texts)


def attach_words(cues: Sequence[Cue], words: Sequence[Word]) -> list[Cue]:
    """Each cue with its words' timings where ``words`` (a JSON sidecar's) say exactly its text.

    A cue whose text was edited since the words were recognised (or aligned)
    finds no match and keeps no word timings: it needs aligning again.
    """
    ordered = sorted(words, key=lambda w: w.start)
    out = []
    for cue in cues:
        if has_word_times(cue):
            out.append(cue)
            continue
        texts = _norm([w for _, w in cue_words(cue)])
        near = [w for w in ordered if cue.start - 0.1 <= w.start <= cue.end + 0.05]
        found: tuple[Word, ...] = ()
        for i in range(len(near) - len(texts) + 1):
            run = near[i : i + len(texts)]
            if _norm([w.text for w in run]) == texts:
                found = tuple(Word(t, w.start, w.end, w.probability) for t, w in zip(
                    [w for _, w in cue_words(cue)], run))
                break
        out.append(replace(cue, words=found))
    return out
