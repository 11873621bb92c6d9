"""Caption segmentation against the caption rules, for chosen and for arbitrary word streams."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captioner.cues import Cue, Word
from captioner.captions.lint import lint
from captioner.styles.presets import get_preset
from captioner.captions.segment import Rules, Segmenter
from captioner.styles.style import CaptionStyle
from captioner.text.arabic import reading_length

STYLE = CaptionStyle.for_frame(get_preset("tiktok"), 1080, 1920)
MEASURE = STYLE.measurer()
RULES = Rules.from_preset(STYLE.preset, STYLE.max_line_width, fps=30)
SEGMENTER = Segmenter(RULES, MEASURE.width)

VOCAB = (
    "في من إلى على مع لم لا قد يا إلا و ثلاثة أيام البيت الرجل السيارة الحمراء كتاب الطالب "
    "التحدي شارك الآن! هل انضممت إلى التحدي؟ مرحبا، بكم. والمياه فالمدرسة الجميلة المستشفيات "
    "TikTok 2026 30 استخداماتهم، الاجتماعية. اليوم"
).split()
LONG_WORD = "استخداماتهم" * 8  # wider than any line: the documented exception


def words_from(text: str, *, start: float = 0.5, per_char: float = 0.07, gap: float = 0.08) -> list[Word]:
    out, t = [], start
    for token in text.split():
        d = max(0.15, per_char * len(token))
        out.append(Word(token, t, t + d))
        t += d + gap
    return out


def broken_pairs(cues: list[Cue]) -> list[tuple[str, str]]:
    """(last word before a break, first word after it) for every line and cue break."""
    pairs = []
    flat = [line.split() for cue in cues for line in cue.lines]
    for a, b in zip(flat, flat[1:]):
        pairs.append((a[-1], b[0]))
    return pairs


def test_a_sentence_is_split_at_punctuation_not_inside_pairs():
    text = ("عند حدوث جريان الماء، تتجمع المياه على شكل مستجمعات والتي تنجرف إلى الأنهار. "
            "هل انضممت إلى التحدي؟ شارك الآن مع أصدقائك في البيت لمدة ثلاثة أيام!")
    cues = SEGMENTER.segment(words_from(text))
    assert lint(cues, RULES, MEASURE.width) == []
    assert " ".join(c.text for c in cues) == text
    for before, after in broken_pairs(cues):
        assert before not in {"في", "على", "إلى", "مع", "لمدة", "ثلاثة"}, (before, after, cues)
    # Sentence ends close a cue where timing allows.
    assert any(c.lines[-1].endswith("الأنهار.") for c in cues)


def test_two_line_cues_are_bottom_heavy():
    text = "شارك الآن مع أصدقائك في التحدي الكبير لدعم الأشخاص ذوي الإعاقة السمعية في كل مكان"
    cues = SEGMENTER.segment(words_from(text, per_char=0.05))
    two_line = [c for c in cues if len(c.lines) == 2]
    assert two_line
    for cue in two_line:
        top, bottom = (MEASURE.width(line) for line in cue.lines)
        assert top <= bottom * 1.25, cue.lines
        assert len(cue.lines[1].split()) > 1  # no orphan


def test_timing_chains_short_gaps_and_keeps_long_ones():
    words = [Word("مرحبا", 0.0, 1.0), Word("بكم.", 1.3, 2.2), Word("شكرا", 5.0, 6.0)]
    cues = SEGMENTER.segment([words[0]] + [Word("جميعا.", 1.0, 1.5)] + words[1:])
    for a, b in zip(cues, cues[1:]):
        gap = b.start - a.end
        assert gap == pytest.approx(RULES.min_gap, abs=1e-6) or gap > RULES.chain_gap
    assert cues[-1].start == 5.0


def test_reading_speed_lengthens_short_cues_within_the_sync_window():
    cue = SEGMENTER.segment([Word("استخدامات المياه المنزلية.", 0.0, 0.4)])[0]
    assert cue.duration >= RULES.min_duration
    assert reading_length(cue.text) / cue.duration <= RULES.max_cps
    assert cue.end <= 0.4 + RULES.max_linger + 1e-9


def test_children_preset_reads_slower():
    kids = CaptionStyle.for_frame(get_preset("children"), 1080, 1920)
    rules = Rules.from_preset(kids.preset, kids.max_line_width)
    assert rules.max_cps == 17
    text = "هل انضممت إلى التحدي؟ شارك الآن مع أصدقائك في البيت لمدة ثلاثة أيام"
    cues = Segmenter(rules, MEASURE.width).segment(words_from(text, per_char=0.06))
    assert lint(cues, rules, MEASURE.width) == []


def test_single_overlong_word_is_the_only_line_violation():
    words = words_from(f"مرحبا {LONG_WORD} بكم", per_char=0.05)
    cues = SEGMENTER.segment(words)
    problems = lint(cues, RULES, MEASURE.width)
    assert problems and all(p.rule in ("line-width", "line-length") for p in problems)
    offending = [line for c in cues for line in c.lines if MEASURE.width(line) > RULES.max_width]
    assert offending == [LONG_WORD]


# --- property-based: arbitrary word streams --------------------------------------------


@st.composite
def word_streams(draw, max_words=40, comfortable=False):
    n = draw(st.integers(1, max_words))
    t = draw(st.floats(0, 2))
    words = []
    for _ in range(n):
        text = draw(st.sampled_from(VOCAB))
        if comfortable:
            # Speech a legal split always exists for: enough time to read each word and its space.
            d = draw(st.floats((reading_length(text) + 1) / (0.8 * RULES.max_cps), 2.0))
        else:
            d = draw(st.floats(0.0, 2.5))
        gap = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.6), st.floats(0.6, 3.0)))
        words.append(Word(text, round(t, 3), round(t + d, 3)))
        t += d + gap
    return words


def assert_structure(words: list[Word], cues: list[Cue]) -> None:
    assert [w for c in cues for w in c.words] == words  # every word once, in order
    for cue in cues:
        assert 1 <= len(cue.lines) <= RULES.max_lines
        assert " ".join(cue.lines) == " ".join(w.text for w in cue.words)
        assert cue.start >= cue.words[0].start and cue.end > cue.start
        for line in cue.lines:
            if not SEGMENTER.line_fits(line):
                assert len(line.split()) == 1  # only a single word may overflow a line
    for a, b in zip(cues, cues[1:]):
        assert b.start - a.end >= RULES.min_gap - 1e-6  # never overlapping, never flickering


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word_streams(comfortable=True))
def test_comfortable_speech_breaks_no_rule(words):
    cues = SEGMENTER.segment(words)
    assert_structure(words, cues)
    assert lint(cues, RULES, MEASURE.width) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word_streams(max_words=60))
def test_arbitrary_speech_keeps_structure(words):
    assert_structure(words, SEGMENTER.segment(words))


def _all_segmentations(n: int):
    for k in range(n):
        for cuts in itertools.combinations(range(1, n), k):
            bounds = (0, *cuts, n)
            yield list(zip(bounds, bounds[1:]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word_streams(max_words=7))
def test_rules_break_only_when_no_split_is_legal(words):
    """Fast speech is the one excuse: if any split of the words is legal, the chosen one is."""
    cues = SEGMENTER.segment(words)
    if not lint(cues, RULES, MEASURE.width):
        return
    for spans in _all_segmentations(len(words)):
        candidate = []
        for i, j in spans:
            nxt = words[j].start if j < len(words) else None
            start, end = SEGMENTER.timing(words[i:j], nxt, None)
            candidate.append(Cue(start, end, SEGMENTER.layout(words[i:j]).lines))
        assert lint(candidate, RULES, MEASURE.width), f"legal split {spans} exists but {cues} was chosen"
