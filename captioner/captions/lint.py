"""Checking cues against the caption rules, independently of how they were made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..cues import Cue
from ..text.arabic import reading_length
from .segment import Rules, Width

# SRT keeps milliseconds, ASS centiseconds: tolerate the rounding (each end of a cue rounds by up to 5 ms in ASS).
_EPS = 0.011


@dataclass(frozen=True)
class Violation:
    index: int  # 1-based cue number, as in an SRT file
    start: float
    rule: str
    message: str

    def __str__(self) -> str:
        return f"#{self.index} {format_time(self.start)} {self.rule}: {self.message}"


def format_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def lint(cues: Sequence[Cue], rules: Rules, width: Width) -> list[Violation]:
    found: list[Violation] = []

    def add(i: int, rule: str, message: str) -> None:
        found.append(Violation(i + 1, cues[i].start, rule, message))

    for i, cue in enumerate(cues):
        if len(cue.lines) > rules.max_lines:
            add(i, "lines", f"{len(cue.lines)} lines (max {rules.max_lines})")
        for n, line in enumerate(cue.lines, 1):
            chars, px = reading_length(line), width(line)
            if chars > rules.max_chars:
                add(i, "line-length", f"line {n} has {chars} characters (max {rules.max_chars})")
            if px > rules.max_width + 0.5:
                add(i, "line-width", f"line {n} is {px:.0f} px wide (max {rules.max_width:.0f} px)")
        duration = cue.duration
        if duration < rules.min_duration - _EPS:
            add(i, "duration", f"shown {duration:.2f} s (min {rules.min_duration:.2f} s)")
        if duration > rules.max_duration + _EPS:
            add(i, "duration", f"shown {duration:.2f} s (max {rules.max_duration:.2f} s)")
        cps = reading_length(cue.text) / duration if duration > 0 else float("inf")
        if cps > rules.max_cps + 0.05:
            add(i, "reading-speed", f"{cps:.1f} characters per second (max {rules.max_cps:g})")
        if i + 1 < len(cues):
            gap = cues[i + 1].start - cue.end
            if gap < -_EPS:
                add(i, "overlap", f"overlaps the next cue by {-gap:.3f} s")
            elif gap < rules.min_gap - _EPS:
                add(i, "gap", f"gap of {gap:.3f} s to the next cue (min {rules.min_gap:.3f} s, 2 frames)")
            # The segmenter chains gaps up to chain_gap: a gap that rounding put at the limit is not flagged.
            elif rules.min_gap + 0.01 < gap <= rules.chain_gap - _EPS:
                add(i, "gap", f"gap of {gap:.3f} s to the next cue: close it to {rules.min_gap:.3f} s (2 frames)")
    return found
