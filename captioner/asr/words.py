"""What every backend's words go through: text normalised, empty words dropped, repetition loops cut."""

from __future__ import annotations

from collections.abc import Iterable

from ..cues import Word
from ..text.arabic import normalise_line

# Longest n-gram and the most consecutive repeats kept before a run counts as a
# Whisper repetition loop (rtl-and-peers W3: "spamming a word like 50 times").
_LOOP_MAX_NGRAM = 6
_LOOP_MAX_REPEATS = 3


def clean_words(words: Iterable[Word]) -> list[Word]:
    """Normalise word text, drop empty words and collapse repetition loops."""
    cleaned = []
    for w in words:
        text = normalise_line(w.text)
        if text:
            end = max(w.end, w.start)
            cleaned.append(Word(text, w.start, end, w.probability))
    return drop_repetition_loops(cleaned)


def drop_repetition_loops(words: list[Word]) -> list[Word]:
    """Cut any n-gram (n ≤ 6) repeated more than three times in a row down to one occurrence.

    Real speech repeats a word or phrase two or three times ("لا لا لا"); Whisper's
    decoding loops repeat it dozens of times, usually over silence or music.
    """
    keys = [w.text.strip(".,!?؟،؛…") for w in words]
    out: list[Word] = []
    i = 0
    while i < len(words):
        cut = False
        for n in range(1, _LOOP_MAX_NGRAM + 1):
            gram = keys[i : i + n]
            if len(gram) < n:
                break
            repeats = 1
            while keys[i + repeats * n : i + (repeats + 1) * n] == gram:
                repeats += 1
            if repeats > _LOOP_MAX_REPEATS:
                out.extend(words[i : i + n])
                i += repeats * n
                cut = True
                break
        if not cut:
            out.append(words[i])
            i += 1
    return out
