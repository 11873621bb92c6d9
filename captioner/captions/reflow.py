"""Re-flowing cues made elsewhere (a hand-edited file) so that every line fits the caption band."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..cues import Cue, Word
from .segment import Rules, Segmenter
from .timing import word_starts

Width = Callable[[str], float]


def fit_lines(cues: Sequence[Cue], rules: Rules, width: Width) -> list[Cue]:
    """Re-cut cues whose lines do not fit ``rules.max_width`` (a band narrowed for the interpreter).

    A cue is re-broken within its lines when it can be; when its words need more
    lines than the preset allows, it is cut into several cues over its own time
    span (words timed by the cue's word timestamps, else by reading length).
    Cues with speaker dashes keep their lines: one speaker per line.
    """
    segmenter = Segmenter(rules, width)
    fitted: list[Cue] = []
    for cue in cues:
        speakers = sum(line.startswith("- ") for line in cue.lines) > 1
        if speakers or all(width(line) <= rules.max_width + 0.5 for line in cue.lines):
            fitted.append(cue)
            continue
        texts = [w for w in cue.text.split(" ") if w]
        starts = word_starts(cue)
        ends = starts[1:] + [cue.end]
        words = [Word(t, a, b) for t, a, b in zip(texts, starts, ends)]
        layout = segmenter.layout(words)
        if layout.violations == 0:
            fitted.append(replace(cue, lines=layout.lines, words=tuple(words)))
            continue
        parts = segmenter.segment(words, media_end=cue.end)
        for k, part in enumerate(parts):
            end = cue.end if k == len(parts) - 1 else min(part.end, parts[k + 1].start)
            fitted.append(replace(part, start=max(part.start, cue.start), end=end))
    return fitted
