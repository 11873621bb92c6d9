"""Making every cue fit the caption band before it is drawn: one mechanism for every burn.

A cue typed by hand (SRT, VTT, ASS or JSON) can have lines wider than the band,
more lines than the preset allows, no duration, or overlap another cue.
:func:`reflow` turns any list of cues into cues a renderer can draw whole, and
says what it changed, one line per changed cue (``#5 00:00:10,500 re-broken
into 2 lines``):

- a cue whose lines all fit is kept as typed;
- otherwise its words are put on lines again by the same measured line
  breaker that ``caption`` uses (:meth:`Segmenter.layout`), keeping every break
  the creator typed where the lines around it fit;
- a cue whose words need more lines than the preset allows is cut over its own
  time span into several cues (words timed by the cue's word timestamps, else
  by reading length), at the cheapest breaks;
- speaker lines (``- …``) stay one speaker per line: a turn too long for one
  line wraps onto the next, and turns that no longer fit together go to cues of
  their own;
- a word wider than the band by itself is drawn smaller (the layout scales the
  cue, :func:`captioner.render.layout.layout_cue`), down to half size; a wider
  one is refused;
- a cue with no duration is shown for the preset's minimum duration;
- overlapping cues all stay visible: the earlier one is trimmed to end two
  frames before the later one starts when it keeps at least the minimum
  duration; otherwise (one inside another, or both starting together) they are
  shown stacked, the earlier above, for as long as they overlap.

``keep_lines=True`` keeps every line exactly as typed and raises
:class:`~captioner.errors.InputError` naming the first cue with a line that does
not fit.  :func:`tidy` is what ``captioner lint --fix`` adds on top: short gaps
closed to two frames, too-short cues merged with a neighbour or lengthened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ..cues import Cue, Word
from ..errors import InputError
from ..text.arabic import reading_length
from .lint import format_time
from .segment import KEEP_BONUS, LineLayout, Rules, Segmenter, break_cost
from .timing import cue_words, word_starts

Width = Callable[[str], float]

# The smallest size a cue is drawn at to fit a word wider than the band (the layout scales the whole cue).
MIN_SCALE = 0.5
_TOLERANCE = 0.5  # px: a line this much wider than the band still fits (lint uses the same)


@dataclass(frozen=True)
class Reflowed:
    """What :func:`reflow` (or :func:`tidy`) made: the cues to draw, and one line per changed cue."""

    cues: list[Cue]
    changes: list[str]
    split: bool = False  # some cue was cut into several over its time (its parts are timed by its words)


@dataclass(frozen=True)
class _Token:
    """A unit the line breaker places: one word, or a mark glued to its word ("- هل", "♪ موسيقى")."""

    text: str
    start: float
    end: float
    first: int  # index of its first word in the cue's words
    count: int  # how many words it covers

    @property
    def word(self) -> Word:
        return Word(self.text, self.start, self.end)


def _is_mark(word: str) -> bool:
    return not any(ch.isalnum() for ch in word)


def _cue_tokens(cue: Cue) -> tuple[list[_Token], set[int], set[int], list[Word] | None]:
    """The cue's tokens, the token indices its lines start at, those of its speaker turns,
    and its words when it carries real word timings (one per word)."""
    texts = cue_words(cue)
    starts = word_starts(cue)
    ends = starts[1:] + [cue.end]
    real = list(cue.words) if cue.words and len(cue.words) == len(texts) else None
    tokens: list[_Token] = []
    line_starts: set[int] = set()
    turns: set[int] = set()
    k = 0
    while k < len(texts):
        line, word = texts[k]
        at_line_start = k == 0 or texts[k - 1][0] != line
        j = k + 1
        if _is_mark(word) and at_line_start:
            # A leading mark (a speaker dash, ♪, «) goes with the word after it.
            while j < len(texts) and texts[j][0] == line and _is_mark(texts[j - 1][1]):
                j += 1
        # Trailing marks (a closing ♪, a "!" typed after a space) go with the word before them.
        while j < len(texts) and texts[j][0] == line and _is_mark(texts[j][1]) and not (
            j + 1 < len(texts) and texts[j + 1][0] == line and texts[j][1] == "-"
        ):
            j += 1
        if at_line_start:
            line_starts.add(len(tokens))
            if word == "-":
                turns.add(len(tokens))
        text = " ".join(w for _, w in texts[k:j])
        tokens.append(_Token(text, starts[k], ends[j - 1], k, j - k))
        k = j
    return tokens, line_starts, turns, real


class _Fitter:
    def __init__(self, rules: Rules, width: Width) -> None:
        self.rules = rules
        self.width = width
        self.seg = Segmenter(rules, width)

    def fits(self, line: str) -> bool:
        return self.seg.line_fits(line)

    def layout(self, tokens: Sequence[_Token], keep: set[int], offset: int) -> LineLayout | None:
        """The best lines for these tokens, or None when they need more lines than the preset allows
        (a token wider than a line by itself is unavoidable: it goes on a line of its own)."""
        local = {i - offset for i in keep if offset < i < offset + len(tokens)}
        layout = self.seg.layout([t.word for t in tokens], keep=local)
        unavoidable = sum(not self.fits(t.text) for t in tokens)
        return layout if layout.violations <= unavoidable else None

    def partition(self, tokens: Sequence[_Token], keep: set[int], offset: int, end: float) -> list[tuple[int, int, LineLayout]]:
        """Tokens cut into the cheapest run of cues that each fit (dynamic programming, as the segmenter)."""
        r = self.rules
        n = len(tokens)
        cap = r.max_lines * (r.max_chars + 1)
        room_px = r.max_lines * (r.max_width + _TOLERANCE) + (r.max_lines - 1) * self.width(" ")
        best: list[tuple[float, int, LineLayout | None]] = [(0.0, -1, None)] + [(math.inf, -1, None)] * n
        for i in range(n):
            if best[i][0] == math.inf:
                continue
            chars = overflow = 0
            wide = False
            for j in range(i + 1, n + 1):
                length = reading_length(tokens[j - 1].text)
                chars += length + (j - 1 > i)
                overflow = max(overflow, length - r.max_chars)
                wide = wide or not self.fits(tokens[j - 1].text)
                if j - i > 1 and chars - overflow > cap:
                    break
                if not wide and j - i > 1 and self.width(" ".join(t.text for t in tokens[i:j])) > room_px:
                    break  # more ink than max_lines full lines hold: longer runs fit even less
                layout = self.layout(tokens[i:j], keep, offset + i)
                if layout is None:
                    continue
                at = tokens[j].start if j < n else end
                duration = at - tokens[i].start
                # Compared by their real soft cost: the bonus for kept breaks only picks each cue's layout.
                cost = best[i][0] + 1.0 + layout.cost + layout.kept * KEEP_BONUS
                if j < n:
                    cost += 1.2 * break_cost(tokens[j - 1].word, tokens[j].word) - 0.5 * ((offset + j) in keep)
                if duration < r.min_duration:
                    cost += 2.0 * (r.min_duration - duration) / r.min_duration
                if cost < best[j][0]:
                    best[j] = (cost, i, layout)
        parts = []
        j = n
        while j > 0:
            _, i, layout = best[j]
            assert layout is not None  # a single token always fits (alone on its line)
            parts.append((i, j, layout))
            j = i
        return parts[::-1]


def _timed(cue: Cue, pieces: list[tuple[int, int, tuple[str, ...]]], tokens: list[_Token],
           real: list[Word] | None, rules: Rules) -> list[Cue]:
    """Cues for consecutive pieces of one cue's tokens, tiling its time span with 2-frame gaps."""
    # Every part stays on screen at least four frames, even where the cue is too short for its
    # parts (its end then moves later, and the re-flow says so).
    shortest = 2 * rules.min_gap
    end = max(cue.end, cue.start + len(pieces) * (shortest + rules.min_gap) - rules.min_gap)
    bounds = [cue.start]
    for k, (i, _, _) in enumerate(pieces[1:], 1):
        low = bounds[-1] + shortest + rules.min_gap
        high = end - (len(pieces) - k) * (shortest + rules.min_gap) + rules.min_gap
        bounds.append(min(max(tokens[i].start, low), high))
    bounds.append(end)
    out = []
    for k, (i, j, lines) in enumerate(pieces):
        start, nxt = bounds[k], bounds[k + 1]
        end = nxt if k == len(pieces) - 1 else (nxt - rules.min_gap if nxt - rules.min_gap > start else nxt)
        words: tuple[Word, ...] = ()
        if real is not None:
            first, last = tokens[i].first, tokens[j - 1].first + tokens[j - 1].count
            words = tuple(real[first:last])
        out.append(Cue(start, max(end, start), lines, words))
    return out


@dataclass
class _Item:
    """A cue on its way through, with the number of the cue it came from."""

    src: int
    cue: Cue
    piece: bool = False  # a piece of overlapping cues shown stacked (or one of them alone)


def reflow(
    cues: Sequence[Cue],
    rules: Rules,
    width: Width,
    *,
    keep_lines: bool = False,
    room: int | None = None,
) -> Reflowed:
    """Every cue made to fit the band ``rules.max_width`` wide; see the module's docstring.

    ``width`` measures a line in pixels (the style's measurer); ``room`` is how
    many lines fit above the band's bottom (stacked overlapping cues may use
    them; default ``rules.max_lines``).  Cues are numbered from 1 in time order
    in the change lines and errors, as ``lint`` numbers them.
    """
    run = _Run(cues, rules, width, room)
    run.fit(keep_lines)
    return run.result()


class _Run:
    """One re-flow: the cues in time order, the items made from them, and the notes per cue."""

    def __init__(self, cues: Sequence[Cue], rules: Rules, width: Width, room: int | None) -> None:
        self.rules, self.width = rules, width
        self.room = max(room or rules.max_lines, 1)
        self.ordered = sorted(cues, key=lambda c: (c.start, c.end))
        self.fitter = _Fitter(rules, width)
        self.notes: dict[int, list[str]] = {}
        self.items = [_Item(i, cue) for i, cue in enumerate(self.ordered)]
        self.split = False

    def note(self, src: int, text: str) -> None:
        texts = self.notes.setdefault(src, [])
        if text not in texts:
            texts.append(text)

    def where(self, src: int) -> str:
        return f"#{src + 1} {format_time(self.ordered[src].start)}"

    def fit(self, keep_lines: bool) -> None:
        rules, width = self.rules, self.width
        _fix_durations(self.items, rules, self.note)
        _trim_overlaps(self.items, rules, self.note)
        fitted: list[_Item] = []
        for item in self.items:
            if keep_lines:
                _check_kept(item, self.where(item.src), rules, width, self.room)
                fitted.append(item)
                continue
            parts = _fit_cue(item.cue, self.fitter)
            if len(parts) > 1:
                self.split = True
                self.note(item.src, f"split into {len(parts)} cues")
                if parts[-1].end > item.cue.end + 1e-9:
                    self.note(item.src, f"lengthened to {parts[-1].end - item.cue.start:.2f} s to show each part")
            elif parts[0].lines != item.cue.lines:
                count = len(parts[0].lines)
                self.note(item.src, f"re-broken into {count} line{'s' * (count > 1)}")
            fitted += [_Item(item.src, part) for part in parts]
        for item in fitted:
            widest = max(width(line) for line in item.cue.lines)
            if widest > rules.max_width + _TOLERANCE:
                scale = rules.max_width / widest
                word = max((w for line in item.cue.lines for w in line.split(" ")), key=width)
                shown = word if len(word) <= 48 else word[:47] + "…"
                if scale < MIN_SCALE:
                    raise InputError(
                        f"{self.where(item.src)} cannot be drawn: «{shown}» is {width(word):.0f} px wide, more than "
                        f"twice the caption band ({rules.max_width:.0f} px); shorten it or break it with spaces"
                    )
                self.note(item.src, f"drawn at {scale:.0%} size: «{shown}» alone is wider than the caption band")
        self.items = _stack_overlaps(fitted, self.where, self.room, self.note)

    def result(self) -> Reflowed:
        changes = [f"{self.where(src)} {'; '.join(texts)}" for src, texts in sorted(self.notes.items())]
        return Reflowed([item.cue for item in self.items], changes, self.split)


def fit_lines(cues: Sequence[Cue], rules: Rules, width: Width) -> list[Cue]:
    """The cues :func:`reflow` makes, without its change lines."""
    return reflow(cues, rules, width).cues


# -- one cue ---------------------------------------------------------------------------------


def _fit_cue(cue: Cue, fitter: _Fitter) -> list[Cue]:
    rules = fitter.rules
    if len(cue.lines) <= rules.max_lines and all(fitter.fits(line) for line in cue.lines):
        return [cue]
    tokens, line_starts, turns, real = _cue_tokens(cue)
    if not tokens:
        return [cue]
    if not turns - {0}:
        # No speaker change inside the cue: one block of words.
        layout = fitter.layout(tokens, line_starts, 0)
        if layout is not None:
            return [replace(cue, lines=layout.lines)]
        parts = fitter.partition(tokens, line_starts, 0, cue.end)
        return _timed(cue, [(i, j, lay.lines) for i, j, lay in parts], tokens, real, rules)
    # Speaker turns: each laid out on its own lines, then packed into cues of at most max_lines.
    bounds = sorted({0} | turns) + [len(tokens)]
    blocks: list[tuple[int, int, tuple[str, ...]]] = []
    for a, b in zip(bounds, bounds[1:]):
        turn = tokens[a:b]
        layout = fitter.layout(turn, line_starts, a)
        if layout is not None:
            blocks.append((a, b, layout.lines))
        else:
            end = tokens[b].start if b < len(tokens) else cue.end
            blocks += [(a + i, a + j, lay.lines) for i, j, lay in fitter.partition(turn, line_starts, a, end)]
    pieces: list[tuple[int, int, tuple[str, ...]]] = []
    for a, b, lines in blocks:
        if pieces and len(pieces[-1][2]) + len(lines) <= rules.max_lines:
            pieces[-1] = (pieces[-1][0], b, pieces[-1][2] + lines)
        else:
            pieces.append((a, b, lines))
    if len(pieces) == 1:
        return [replace(cue, lines=pieces[0][2])]
    return _timed(cue, pieces, tokens, real, rules)


def _check_kept(item: _Item, where: str, rules: Rules, width: Width, room: int) -> None:
    for n, line in enumerate(item.cue.lines, 1):
        px = width(line)
        if px > rules.max_width + _TOLERANCE:
            raise InputError(
                f"{where} line {n} is {px:.0f} px wide, wider than the caption band ({rules.max_width:.0f} px): "
                "break it by hand, or burn without --keep-lines to re-flow it"
            )
    if len(item.cue.lines) > room:
        raise InputError(f"{where} has {len(item.cue.lines)} lines; {room} fit in the caption band: "
                         "join some by hand, or burn without --keep-lines")


# -- timing ----------------------------------------------------------------------------------


def _fix_durations(items: list[_Item], rules: Rules, note) -> None:
    """A cue typed with no duration (or a negative one) is shown for the minimum duration."""
    for k, item in enumerate(items):
        cue = item.cue
        if cue.end > cue.start:
            continue
        end = cue.start + rules.min_duration
        later = [other.cue.start for other in items[k + 1 :] if other.cue.start > cue.start + 2 * rules.min_gap]
        if later and later[0] - rules.min_gap < end:
            end = max(later[0] - rules.min_gap, cue.start + rules.min_gap)
        item.cue = replace(cue, end=end)
        note(item.src, f"had no duration: shown for {end - cue.start:.2f} s")


def _trim_overlaps(items: list[_Item], rules: Rules, note) -> None:
    """An earlier cue that runs into a later one ends two frames before it, if it stays long enough.

    The later cue is the first to start inside it and end after it; cues wholly inside it (or
    starting with it) are left to be stacked.
    """
    for k, item in enumerate(items):
        cue = item.cue
        later = [other for other in items[k + 1 :]
                 if cue.start < other.cue.start < cue.end and other.cue.end >= cue.end]
        if not later:
            continue
        nxt = min(later, key=lambda other: other.cue.start)
        end = nxt.cue.start - rules.min_gap
        if end - cue.start < min(rules.min_duration, cue.duration):
            continue
        item.cue = replace(cue, end=end)
        note(item.src, f"overlapped #{nxt.src + 1}: trimmed to end at {format_time(end)}")


def _stack_overlaps(items: list[_Item], where: Callable[[int], str], room: int, note) -> list[_Item]:
    """Cues that still overlap are shown together for as long as they do: stacked, the earlier above.

    When their lines do not all fit (``room``), the most recent cues are shown
    and the older ones give way; a cue that would never be seen is an error.
    """
    items = sorted(items, key=lambda it: (it.cue.start, it.src))
    out: list[_Item] = []
    k = 0
    while k < len(items):
        # A cluster: cues joined by overlaps.
        cluster, reach = [items[k]], items[k].cue.end
        k += 1
        while k < len(items) and items[k].cue.start < reach - 1e-6:
            cluster.append(items[k])
            reach = max(reach, items[k].cue.end)
            k += 1
        if len(cluster) == 1:
            out.append(cluster[0])
            continue
        out += _stack_cluster(cluster, where, room, note)
    return out


def _stack_cluster(cluster: list[_Item], where: Callable[[int], str], room: int, note) -> list[_Item]:
    times = sorted({t for it in cluster for t in (it.cue.start, it.cue.end)})
    pieces: list[tuple[float, float, tuple[int, ...]]] = []
    seen: set[int] = set()
    partners: dict[int, set[int]] = {}
    stacked: dict[int, list[float]] = {}
    hidden: dict[int, list[float]] = {}
    for a, b in zip(times, times[1:]):
        active = [k for k, it in enumerate(cluster) if it.cue.start <= a + 1e-9 and it.cue.end >= b - 1e-9]
        if not active:
            continue
        chosen: list[int] = []
        lines = 0
        for k in reversed(active):  # newest first: the latest cue is always shown
            if lines + len(cluster[k].cue.lines) <= room or not chosen:
                chosen.append(k)
                lines += len(cluster[k].cue.lines)
        chosen.sort()
        seen.update(chosen)
        srcs = {cluster[k].src for k in active}
        for k in active:
            others = srcs - {cluster[k].src}
            if others:
                partners.setdefault(cluster[k].src, set()).update(others)
                span = stacked if k in chosen else hidden
                span.setdefault(cluster[k].src, []).extend((a, b))
        if pieces and pieces[-1][2] == tuple(chosen) and abs(pieces[-1][1] - a) < 1e-9:
            pieces[-1] = (pieces[-1][0], b, pieces[-1][2])
        else:
            pieces.append((a, b, tuple(chosen)))
    never = [cluster[k] for k in range(len(cluster)) if k not in seen]
    if never:
        item = never[0]
        others = ", ".join(f"#{s + 1}" for s in sorted(partners.get(item.src, ())))
        raise InputError(
            f"{where(item.src)} is never visible: it overlaps {others}, and "
            f"together they need more than the {room} lines that fit in the caption band; change their times"
        )
    for src, others in partners.items():
        names = ", ".join(f"#{s + 1}" for s in sorted(others))
        parts = []
        if src in stacked:
            parts.append(f"stacked with it from {format_time(min(stacked[src]))} to {format_time(max(stacked[src]))}")
        if src in hidden:
            parts.append(f"hidden under it from {format_time(min(hidden[src]))} to {format_time(max(hidden[src]))} "
                         "(no room to stack)")
        note(src, f"overlaps {names}: " + ", ".join(parts))
    out = []
    for a, b, chosen in pieces:
        members = [cluster[k] for k in chosen]
        if len(members) == 1:
            out.append(_Item(members[0].src, replace(members[0].cue, start=a, end=b), piece=True))
            continue
        lines = tuple(line for m in members for line in m.cue.lines)
        real = all(m.cue.words and len(m.cue.words) == len(cue_words(m.cue)) for m in members)
        words = tuple(w for m in members for w in m.cue.words) if real else ()
        out.append(_Item(members[0].src, Cue(a, b, lines, words), piece=True))
    return out


# -- lint --fix ------------------------------------------------------------------------------


def tidy(cues: Sequence[Cue], rules: Rules, width: Width, *, room: int | None = None) -> Reflowed:
    """:func:`reflow`, then the timing rules ``captioner lint --fix`` applies: a cue shorter than the
    minimum duration merges with a neighbour when the two fit as one cue (else it is lengthened
    into the gap after it), and gaps up to ``rules.chain_gap`` are closed to two frames."""
    run = _Run(cues, rules, width, room)
    run.fit(keep_lines=False)
    items = run.items
    k = 0
    while k < len(items):
        cue = items[k].cue
        if cue.duration >= rules.min_duration - 1e-6 or items[k].piece:
            k += 1  # long enough, or part of overlapping cues shown stacked: their times are the overlap's
            continue
        merged = None
        for other in (k + 1, k - 1):
            if 0 <= other < len(items) and not items[other].piece and items[other].src != items[k].src:
                a, b = sorted((k, other))
                candidate = _merge(items[a].cue, items[b].cue, run.fitter)
                if candidate is not None and candidate.duration <= rules.max_duration + 1e-6 and (
                    items[b].cue.start - items[a].cue.end <= rules.chain_gap
                ):
                    merged = (a, b, candidate)
                    break
        if merged is not None:
            a, b, candidate = merged
            run.note(items[k].src, f"shown {cue.duration:.2f} s (min {rules.min_duration:.2f} s): merged with "
                     f"#{items[b if k == a else a].src + 1}")
            items[a : b + 1] = [_Item(items[a].src, candidate)]
            k = a
            continue
        limit = items[k + 1].cue.start - rules.min_gap if k + 1 < len(items) else math.inf
        end = min(cue.start + rules.min_duration, limit)
        if end > cue.end + 1e-6:
            run.note(items[k].src, f"lengthened to {end - cue.start:.2f} s")
            items[k] = _Item(items[k].src, replace(cue, end=end))
        k += 1
    for k in range(len(items) - 1):
        cue, nxt = items[k].cue, items[k + 1].cue
        gap = nxt.start - cue.end
        if -1e-6 <= gap < rules.min_gap - 1e-6 or rules.min_gap + 1e-3 < gap <= rules.chain_gap:
            end = nxt.start - rules.min_gap
            if end > cue.start + rules.min_gap:
                items[k] = _Item(items[k].src, replace(cue, end=end))
                run.note(items[k].src, f"gap to the next cue closed to {rules.min_gap:.3f} s (2 frames)")
    run.items = items
    return run.result()


def _merge(first: Cue, second: Cue, fitter: _Fitter) -> Cue | None:
    joined = Cue(first.start, second.end, first.lines + second.lines,
                 first.words + second.words if first.words and second.words else ())
    tokens, line_starts, turns, _ = _cue_tokens(joined)
    if turns - {0}:
        return None  # a speaker change: two cues on purpose
    layout = fitter.layout(tokens, set(), 0)
    if layout is None or layout.violations:
        return None
    return replace(joined, lines=layout.lines)
