"""Cutting timed words into captions that follow the caption standards.

The whole word stream is segmented at once by dynamic programming: every
candidate cue (a run of consecutive words) is scored, and the cheapest chain of
cues wins.  A score is a pair ``(violations, cost)`` compared lexicographically,
so a segmentation that breaks no rule always beats one that breaks any, and
among legal ones the soft preferences decide: break at punctuation and pauses,
never inside a preposition + noun, number + counted noun, noun + adjective,
particle + verb pair, keep two-line cues bottom-heavy, no orphan on line 2.

Rules come from the preset (``caption-standards.md`` §1-§4): at most
``max_lines`` lines, each no wider than the caption band in rendered pixels
and no longer than ``max_chars``; reading speed at most ``max_cps``; duration
between ``min_duration`` and ``max_duration``; gaps of ``chain_gap`` or less
closed to ``min_gap_frames``.  Two things can force a rule to break, and
nothing else does: a single word wider than a line, and speech so fast that
no split keeps every cue legal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from ..cues import Cue, Word
from ..styles.presets import Preset
from ..text.arabic import CLAUSE_END, SENTENCE_END, reading_length

Width = Callable[[str], float]

# Words after which a break separates a pair that must stay together (§4).
_PREPOSITIONS_AR = {
    "في", "من", "إلى", "الى", "على", "عن", "مع", "حتى", "عند", "منذ", "بين", "حول", "نحو",
    "خلال", "قبل", "بعد", "دون", "لدى", "ضد", "عبر", "فوق", "تحت", "أمام", "خلف", "لأن", "كي", "لكي",
}
_PARTICLES_AR = {"لم", "لن", "لا", "قد", "أن", "إن", "ان", "ما", "لقد", "سوف", "هل", "كان", "ليس", "إذا", "اذا", "لو"}
_CONJUNCTIONS_AR = {"و", "ف", "ثم", "أو", "او", "أم", "بل", "لكن", "ولكن"}
_VOCATIVE_EXCEPTION_AR = {"يا", "إلا", "الا", "غير", "سوى", "أيها", "أيتها"}
_ARABIC_NUMBER_WORDS = {
    "ثلاثة", "ثلاث", "أربعة", "أربع", "خمسة", "خمس", "ستة", "ست", "سبعة", "سبع", "ثمانية", "ثماني",
    "تسعة", "تسع", "عشرة", "عشر", "عشرون", "عشرين", "مئة", "مائة", "ألف", "آلاف", "مليون", "ملايين",
}
_GLUE_EN = {
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "with", "by", "from", "and", "or", "but",
    "not", "no", "my", "your", "his", "her", "our", "their", "its", "this", "that", "very", "is", "are",
}
_GLUE = _PREPOSITIONS_AR | _PARTICLES_AR | _CONJUNCTIONS_AR | _VOCATIVE_EXCEPTION_AR | _GLUE_EN
_STRIP = "\"'«»()[]{}"
# A kept break (one the creator typed) outweighs every soft preference, never a rule.
KEEP_BONUS = 10.0


def _bare(text: str) -> str:
    return text.strip(_STRIP).rstrip("".join(SENTENCE_END | CLAUSE_END)).lower()


def _is_number(text: str) -> bool:
    bare = _bare(text)
    return any(ch.isdigit() for ch in bare) or bare in _ARABIC_NUMBER_WORDS


def break_cost(before: Word, after: Word | None) -> float:
    """How bad it is to end a line or cue after ``before`` (0 = ideal)."""
    if after is None:
        return 0.0
    last = before.text.rstrip(_STRIP)[-1:]
    pause = after.start - before.end
    if last in SENTENCE_END:
        return 0.0
    cost = 0.3 if last in CLAUSE_END else 1.0
    if pause >= 1.0:
        cost = min(cost, 0.1)
    elif pause >= 0.4:
        cost = min(cost, 0.4)
    if last in CLAUSE_END or pause >= 0.4:
        return cost
    # A re-flowed cue's units can carry a mark glued to their word ("- هل", "موسيقى ♪"): judge the words.
    last_word = before.text.rsplit(" ", 1)[-1]
    first_word = next((p for p in after.text.split(" ") if any(ch.isalnum() for ch in p)), after.text)
    bare, nxt = _bare(last_word), _bare(first_word)
    if bare in _GLUE or _is_number(last_word):
        cost += 4.0  # preposition/particle/conjunction + what it governs, number + counted noun
    elif nxt.startswith(("ال", "لل")) and not nxt.startswith(("الذي", "التي", "الذين")):
        cost += 1.5  # noun + adjective, idafa: the next word is (usually) bound to this one
    elif len(nxt) >= 4 and nxt[0] in "وف":
        cost -= 0.4  # a new clause opening with a prefixed conjunction
    return max(cost, 0.0)


@dataclass(frozen=True)
class Rules:
    """A preset's limits resolved for one frame rate and one rendered line width."""

    max_lines: int
    max_width: float
    max_chars: int
    max_cps: float
    min_duration: float
    max_duration: float
    chain_gap: float
    min_gap: float
    max_linger: float

    @classmethod
    def from_preset(cls, preset: Preset, max_width: float, fps: float = 30.0, cps: float | None = None) -> "Rules":
        return cls(
            max_lines=preset.max_lines,
            max_width=max_width,
            max_chars=preset.max_chars,
            max_cps=cps or preset.max_cps,
            min_duration=preset.min_duration,
            max_duration=preset.max_duration,
            chain_gap=preset.chain_gap,
            min_gap=preset.min_gap_frames / fps,
            max_linger=preset.max_linger,
        )


@dataclass(frozen=True)
class LineLayout:
    """Words put on lines: the lines, how many of their words break a line rule, and the soft cost."""

    lines: tuple[str, ...]
    violations: int
    cost: float
    kept: int = 0  # how many of the breaks asked to be kept it keeps


class Segmenter:
    """Segments a word stream into cues under one set of :class:`Rules`."""

    def __init__(self, rules: Rules, width: Width) -> None:
        self.rules = rules
        self._width = width

    # -- lines ---------------------------------------------------------------------

    def line_fits(self, line: str) -> bool:
        return reading_length(line) <= self.rules.max_chars and self._width(line) <= self.rules.max_width + 0.5

    def layout(self, words: Sequence[Word], keep: Collection[int] = ()) -> LineLayout:
        """Best way to put these words on at most ``max_lines`` lines.

        ``keep``: line breaks (word indices a line starts at) to keep where the
        lines around them fit, such as the breaks a creator typed.
        """
        best: LineLayout | None = None
        n = len(words)
        for count in range(1, min(self.rules.max_lines, n) + 1):
            for cuts in itertools.combinations(range(1, n), count - 1):
                bounds = (0, *cuts, n)
                lines = tuple(" ".join(w.text for w in words[a:b]) for a, b in zip(bounds, bounds[1:]))
                # An overflowing line counts once per word on it, so a word too wide
                # for any line ends up alone on its line (the documented exception).
                violations = sum(b - a for a, b, line in zip(bounds, bounds[1:], lines) if not self.line_fits(line))
                cost = sum(break_cost(words[c - 1], words[c]) - (KEEP_BONUS if c in keep else 0.0) for c in cuts)
                widths = [self._width(line) for line in lines]
                for upper, lower in zip(widths, widths[1:]):
                    if upper > lower:  # bottom-heavy "pyramid" preferred
                        cost += 0.8 * (upper - lower) / self.rules.max_width
                if count > 1 and bounds[-1] - bounds[-2] == 1:
                    cost += 0.6  # orphan word on the last line
                candidate = LineLayout(lines, violations, cost + 0.01 * count, sum(c in keep for c in cuts))
                if best is None or (candidate.violations, candidate.cost) < (best.violations, best.cost):
                    best = candidate
            if best is not None and best.violations == 0 and count == 1 and not keep:
                break  # one line if it fits (Netflix)
        assert best is not None
        return best

    # -- timing --------------------------------------------------------------------

    def timing(self, words: Sequence[Word], next_start: float | None, media_end: float | None) -> tuple[float, float]:
        """In- and out-time of a cue: speech-timed, lengthened for reading, chained to the next cue."""
        r = self.rules
        start = words[0].start
        speech_end = max(w.end for w in words)
        limit = math.inf if next_start is None else next_start - r.min_gap
        if media_end is not None:
            limit = min(limit, media_end)
        needed = start + max(r.min_duration, reading_length(" ".join(w.text for w in words)) / r.max_cps)
        end = max(speech_end, min(needed, speech_end + r.max_linger))
        end = min(end, start + max(r.max_duration, speech_end - start), limit)
        if next_start is not None and next_start - end <= r.chain_gap and limit - start <= r.max_duration:
            end = limit
        if end <= start:  # words stacked on one instant: keep a visible cue, violations say why
            end = start + 1e-3
        return start, end

    def violations(self, words: Sequence[Word], start: float, end: float, layout: LineLayout) -> int:
        r = self.rules
        duration = end - start
        text = " ".join(w.text for w in words)
        count = layout.violations
        count += duration + 1e-6 < r.min_duration
        count += duration - 1e-6 > r.max_duration
        count += reading_length(text) / max(duration, 1e-3) > r.max_cps + 1e-6
        return count

    # -- segmentation ----------------------------------------------------------------

    def _candidate(self, words: Sequence[Word], i: int, j: int, media_end: float | None):
        cue_words = words[i : j + 1]
        nxt = words[j + 1] if j + 1 < len(words) else None
        layout = self.layout(cue_words)
        start, end = self.timing(cue_words, nxt.start if nxt else None, media_end)
        v = self.violations(cue_words, start, end, layout)
        if nxt is not None and self.rules.min_gap + 0.01 < nxt.start - end <= self.rules.chain_gap:
            v += 1  # a short gap that could not be chained (flicker between cues)
        internal_pause = sum(max(0.0, b.start - a.end - 0.7) for a, b in zip(cue_words, cue_words[1:]))
        # One sentence per caption where possible: a sentence that ends inside a cue costs.
        internal_ends = sum(w.text.rstrip(_STRIP)[-1:] in SENTENCE_END for w in cue_words[:-1])
        cost = 1.0 + layout.cost + break_cost(words[j], nxt) * 1.2 + 0.8 * internal_pause + 0.7 * internal_ends
        return v, cost, Cue(start, end, layout.lines, tuple(cue_words))

    def segment(self, words: Sequence[Word], media_end: float | None = None) -> list[Cue]:
        words = [w for w in words if w.text.strip()]
        n = len(words)
        if n == 0:
            return []
        r = self.rules
        char_cap = r.max_lines * r.max_chars
        # best[k]: cheapest (violations, cost, previous index, cue) covering words[:k]
        best: list[tuple[int, float, int, Cue | None]] = [(0, 0.0, -1, None)] + [(1 << 30, math.inf, -1, None)] * n
        for i in range(n):
            if best[i][0] == 1 << 30:
                continue
            chars = overflow = 0
            for j in range(i, n):
                length = reading_length(words[j].text)
                chars += length + (j > i)
                overflow = max(overflow, length - r.max_chars)  # an overlong word gets a line of its own
                if j > i and (chars - overflow > char_cap or words[j].end - words[i].start > r.max_duration):
                    break
                v, cost, cue = self._candidate(words, i, j, media_end)
                total = (best[i][0] + v, best[i][1] + cost)
                if total < best[j + 1][:2]:
                    best[j + 1] = (*total, i, cue)
        cues: list[Cue] = []
        k = n
        while k > 0:
            _, _, prev, cue = best[k]
            assert cue is not None
            cues.append(cue)
            k = prev
        return self._separate(cues[::-1])

    def _separate(self, cues: list[Cue]) -> list[Cue]:
        """Guarantee the 2-frame gap even where words were stamped on one instant.

        Timing already ends every cue two frames before the next word; only a
        cue whose own words start that close to the next cue is left touching
        it, and its successor is moved later by the gap (the violation stays
        visible to lint as a too-short cue).
        """
        out: list[Cue] = []
        for cue in cues:
            if out and cue.start < out[-1].end + self.rules.min_gap:
                start = out[-1].end + self.rules.min_gap
                cue = Cue(start, max(cue.end, start + 1e-3), cue.lines, cue.words)
            out.append(cue)
        return out
