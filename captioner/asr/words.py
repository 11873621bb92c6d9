"""What every backend's words go through: text normalised, empty words dropped, repetition loops cut."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from ..cues import Word
from ..text.arabic import normalise_line

# Longest n-gram and the most consecutive repeats kept before a run counts as a
# Whisper repetition loop (rtl-and-peers W3: "spamming a word like 50 times").
_LOOP_MAX_NGRAM = 6
_LOOP_MAX_REPEATS = 3


def clean_words(words: Iterable[Word]) -> list[Word]:
    """Normalise word text, drop empty words and collapse repetition loops."""
    return [w for _, w, _ in clean_indexed(list(words))]


def clean_indexed(words: Sequence[Word]) -> list[tuple[int, Word, int]]:
    """:func:`clean_words`, keeping track: (index in ``words``, cleaned word, loop words collapsed after it).

    The recogniser uses the index to keep each word's segment signals, and the
    count to flag the word a loop was collapsed into as ``repeated``.
    """
    cleaned: list[tuple[int, Word]] = []
    for i, w in enumerate(words):
        text = normalise_line(w.text)
        if text:
            cleaned.append((i, replace(w, text=text, end=max(w.end, w.start))))
    kept, cut = loop_kept([w.text for _, w in cleaned])
    return [(cleaned[k][0], cleaned[k][1], cut.get(k, 0)) for k in kept]


def drop_repetition_loops(words: list[Word]) -> list[Word]:
    """Cut any n-gram (n ≤ 6) repeated more than three times in a row down to one occurrence.

    Real speech repeats a word or phrase two or three times ("لا لا لا"); Whisper's
    decoding loops repeat it dozens of times, usually over silence or music.
    """
    kept, _ = loop_kept([w.text for w in words])
    return [words[i] for i in kept]


def loop_kept(texts: Sequence[str]) -> tuple[list[int], dict[int, int]]:
    """The indexes :func:`drop_repetition_loops` keeps, and for the last kept word of each collapsed loop,
    how many words were dropped after it."""
    keys = [t.strip(".,!?؟،؛…") for t in texts]
    kept: list[int] = []
    cut: dict[int, int] = {}
    i = 0
    while i < len(keys):
        looped = False
        for n in range(1, _LOOP_MAX_NGRAM + 1):
            gram = keys[i : i + n]
            if len(gram) < n:
                break
            repeats = 1
            while keys[i + repeats * n : i + (repeats + 1) * n] == gram:
                repeats += 1
            if repeats > _LOOP_MAX_REPEATS:
                kept.extend(range(i, i + n))
                cut[i + n - 1] = (repeats - 1) * n
                i += repeats * n
                looped = True
                break
        if not looped:
            kept.append(i)
            i += 1
    return kept, cut
