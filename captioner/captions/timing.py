"""When each word of a cue is spoken, in reading order.

Word timestamps when the cue carries one per word (captioner's own cues, or
its JSON); otherwise the cue's time shared out by reading length, which is
all a hand-edited SRT allows.  The word highlight and re-flowing a cue into
several both need it.
"""

from __future__ import annotations

from ..cues import Cue
from ..text.arabic import reading_length


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
