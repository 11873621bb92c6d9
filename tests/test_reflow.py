"""Issue 11: every cue that reaches a renderer fits the caption band, and says what changed.

Re-flowing (``captioner.captions.reflow``) on hand-made cues: lines re-broken
with the measured line breaker, a creator's break kept where it can be, cues cut
over their own time, speaker turns one per line, overlaps stacked or trimmed,
zero-length cues shown, a word wider than the band drawn smaller, ``--keep-lines``
refusing, and ``lint --fix``.  A property test throws arbitrary hand-made files
at it.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from captioner.captions.reflow import MIN_SCALE, reflow, tidy
from captioner.captions.timing import cue_words
from captioner.cues import Cue, Word
from captioner.errors import InputError
from captioner.formats import load_cues
from captioner.pipeline import caption_rules
from captioner.render.inset import caption_room
from captioner.render.layout import layout_cue
from conftest import run_cli

LONG = "هذه جملة طويلة جدا تعرض على الشاشة في التحدي الكبير"  # 52 characters, about 1100 px
SPEAKER_A = "- هل ستأتي إلى الحفلة الكبيرة التي ستقام في المدينة غدا؟"
SPEAKER_B = "- نعم سآتي مع جميع أصدقائي من المدرسة!"


@pytest.fixture(scope="module")
def fit(tiktok_style):
    rules = caption_rules(tiktok_style, 30.0)
    width = tiktok_style.measurer().width
    room = caption_room(tiktok_style)

    def run(cues, **kw):
        return reflow(cues, rules, width, room=room, **kw)

    run.rules, run.width, run.room, run.style = rules, width, room, tiktok_style
    return run


def words_of(cues):
    return [w for c in cues for _, w in cue_words(c)]


def test_a_cue_that_fits_is_kept_as_typed(fit):
    cue = Cue(1.0, 3.0, ("سطر أول قصير", "وسطر ثان"))
    out = fit([cue])
    assert out.cues == [cue] and out.changes == []


def test_a_long_line_is_re_broken_into_lines_that_fit(fit):
    out = fit([Cue(1.0, 4.0, (LONG,))])
    assert len(out.cues) == 1 and len(out.cues[0].lines) == 2
    assert all(fit.width(line) <= fit.rules.max_width for line in out.cues[0].lines)
    assert words_of(out.cues) == LONG.split()
    assert out.changes == ["#1 00:00:01,000 re-broken into 2 lines"]


def test_a_creators_break_is_kept_where_the_lines_around_it_fit(fit):
    # Three short lines, two allowed: one of the creator's two breaks stays a line break.
    out = fit([Cue(1.0, 3.0, ("نعم", "لا", "ربما"))])
    assert out.cues[0].lines in (("نعم", "لا ربما"), ("نعم لا", "ربما"))


def test_too_many_words_are_cut_over_the_cues_own_time(fit):
    text = LONG + " " + LONG + " وهذا ما نريده للجميع"
    out = fit([Cue(10.0, 17.0, (text,))])
    parts = out.cues
    assert len(parts) >= 2
    assert parts[0].start == 10.0 and parts[-1].end == 17.0
    for a, b in zip(parts, parts[1:]):
        assert abs((b.start - a.end) - fit.rules.min_gap) < 1e-6  # tiled, two frames apart
    assert all(len(p.lines) <= 2 and all(fit.width(l) <= fit.rules.max_width for l in p.lines) for p in parts)
    assert words_of(parts) == text.split()
    assert out.changes == [f"#1 00:00:10,000 split into {len(parts)} cues"]
    assert out.split


def test_word_timestamps_time_the_cut(fit):
    text = LONG + " " + LONG
    words = tuple(Word(w, 10.0 + 0.25 * i, 10.2 + 0.25 * i) for i, w in enumerate(text.split()))
    out = fit([Cue(10.0, 16.0, (text,), words)])
    second = out.cues[1]
    first_word = cue_words(second)[0][1]
    spoken = next(w for w in words if w.text == first_word and w.start >= 10.0 + 0.25 * len(cue_words(out.cues[0])) - 1e-6)
    assert abs(second.start - spoken.start) < 1e-6
    assert [w.text for w in second.words] == [w for _, w in cue_words(second)]


def test_speaker_lines_stay_one_speaker_per_line(fit):
    out = fit([Cue(3.6, 7.5, (SPEAKER_A, SPEAKER_B))])
    assert len(out.cues) >= 2 and out.cues[0].start == 3.6 and out.cues[-1].end == 7.5
    for cue in out.cues:
        assert all(fit.width(line) <= fit.rules.max_width for line in cue.lines)
        # A dash only ever opens a line: no line holds two speakers.
        assert all(" - " not in line for line in cue.lines)
    lines = [line for cue in out.cues for line in cue.lines]
    assert sum(line.startswith("- ") for line in lines) == 2
    assert words_of(out.cues) == (SPEAKER_A + " " + SPEAKER_B).split()


def test_two_short_speaker_lines_are_kept(fit):
    cue = Cue(1.0, 3.0, ("- هل ستأتي؟", "- نعم!"))
    assert fit([cue]).cues == [cue]


def test_keep_lines_keeps_lines_and_refuses_one_that_does_not_fit(fit):
    ok = Cue(1.0, 3.0, ("سطر", "ثان", "ثالث"))  # three lines: kept as typed, they fit the band's height
    assert fit([ok], keep_lines=True).cues == [ok]
    with pytest.raises(InputError, match=r"^#2 00:00:05,000 line 1 is \d+ px wide"):
        fit([ok, Cue(5.0, 8.0, (LONG,))], keep_lines=True)


def test_overlaps_all_stay_visible(fit):
    a = Cue(1.0, 5.0, ("التعليق الأول",))
    b = Cue(3.0, 7.0, ("التعليق الثاني",))  # runs into a: a is trimmed
    c = Cue(8.0, 12.0, ("التعليق الثالث",))
    d = Cue(9.0, 10.0, ("[تصفيق]",))  # inside c: stacked
    out = fit([a, b, c, d])
    shown = {line for cue in out.cues for line in cue.lines}
    assert shown == {"التعليق الأول", "التعليق الثاني", "التعليق الثالث", "[تصفيق]"}
    for x, y in zip(out.cues, out.cues[1:]):
        assert y.start >= x.end - 1e-9, "no two cues on screen at once: overlapping ones are one stacked cue"
    assert out.cues[0].end == pytest.approx(3.0 - fit.rules.min_gap)
    stacked = [cue for cue in out.cues if len(cue.lines) == 2]
    assert stacked == [Cue(9.0, 10.0, ("التعليق الثالث", "[تصفيق]"))]
    assert out.changes[0] == "#1 00:00:01,000 overlapped #2: trimmed to end at 00:00:02,933"
    assert "#3 00:00:08,000 overlaps #4: stacked with it from 00:00:09,000 to 00:00:10,000" in out.changes


def test_cues_starting_together_are_stacked_and_never_lost(fit):
    out = fit([Cue(1.0, 3.0, ("أول",)), Cue(1.0, 3.0, ("ثان",))])
    assert [c.lines for c in out.cues] == [("أول", "ثان")]
    # More lines than the band holds at once: the newest shows, and one that never would is an error.
    many = [Cue(1.0, 3.0, ("سطر أول", "سطر ثان")) for _ in range(fit.room)]
    with pytest.raises(InputError, match="never visible"):
        fit(many)


def test_a_cue_with_no_duration_is_shown(fit):
    out = fit([Cue(2.0, 2.0, ("صفر",)), Cue(5.0, 6.0, ("بعده",))])
    assert out.cues[0].duration == pytest.approx(fit.rules.min_duration)
    assert out.changes == ["#1 00:00:02,000 had no duration: shown for 0.83 s"]


def test_a_word_wider_than_the_band_is_drawn_smaller(fit, tiktok_style):
    url = "https://example.com/a/very/long/path"
    out = fit([Cue(1.0, 3.0, (f"انظر {url}",))])
    cue = out.cues[0]
    assert url in cue.lines
    scale = fit.rules.max_width / fit.width(url)
    assert out.changes == [f"#1 00:00:01,000 re-broken into 2 lines; drawn at {scale:.0%} size: «{url}» alone is "
                           "wider than the caption band"]
    boxes = layout_cue(cue, tiktok_style)
    g = tiktok_style.geometry
    for lb in boxes:
        assert lb.scale == pytest.approx(scale)
        assert g.left <= lb.box[0] and lb.box[2] <= g.right
    with pytest.raises(InputError, match="more than twice the caption band"):
        fit([Cue(1.0, 3.0, ("x" * 200,))])
    assert MIN_SCALE == 0.5


ARABIC_WORDS = ["في", "من", "التحدي", "الكبير", "شارك", "الآن!", "مع", "أصدقائك", "اليوم،", "هل", "انضممت؟",
                "نريد", "أن", "يصل", "صوتنا", "إلى", "الجميع.", "TikTok", "2026", "والمستقبلية", "-", "♪"]


@st.composite
def hand_made_files(draw):
    cues = []
    for _ in range(draw(st.integers(1, 5))):
        start = draw(st.floats(0, 30, allow_nan=False))
        duration = draw(st.sampled_from([0.0, 0.4, 1.0, 2.5, 6.0, 9.0]))
        lines = tuple(
            " ".join(draw(st.lists(st.sampled_from(ARABIC_WORDS), min_size=1, max_size=12)))
            for _ in range(draw(st.integers(1, 4)))
        )
        lines = tuple(line for line in lines if any(ch.isalnum() for ch in line)) or ("نص",)
        cues.append(Cue(round(start, 3), round(start + duration, 3), lines))
    return cues


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hand_made_files())
def test_any_hand_made_file_comes_out_drawable(fit, cues):
    try:
        out = fit(cues)
    except InputError as exc:
        assert "never visible" in str(exc)  # overlapping stacks taller than the band: said, not drawn
        return
    for cue in out.cues:
        assert cue.end > cue.start
        assert len(cue.lines) <= fit.room
        for line in cue.lines:
            # A line wider than the band is a single word (drawn smaller), never words that could be broken.
            assert fit.width(line) <= fit.rules.max_width + 0.5 or len([w for w in line.split(" ") if any(
                ch.isalnum() for ch in w)]) == 1, line
    for a, b in zip(out.cues, out.cues[1:]):
        assert b.start >= a.end - 1e-9  # one cue on screen at a time (overlaps are stacked into one)
    # Nothing is lost: every word of every input cue is on screen at some time.
    shown = " ".join(" ".join(c.lines) for c in out.cues).split()
    for cue in cues:
        for word in " ".join(cue.lines).split():
            assert word in shown


def test_lint_fix_writes_a_file_lint_accepts(tmp_path):
    srt = tmp_path / "edited.srt"
    srt.write_text(
        f"1\n00:00:01,000 --> 00:00:05,000\n{LONG}\n\n"
        "2\n00:00:05,300 --> 00:00:05,600\nقصير\n\n"
        "3\n00:00:05,700 --> 00:00:08,000\nثم نكمل الحديث عن التحدي\n",
        encoding="utf-8",
    )
    before = run_cli("lint", str(srt))
    assert before.returncode == 1
    fixed = tmp_path / "fixed.srt"
    result = run_cli("lint", str(srt), "--fix", "-o", str(fixed))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "#1 00:00:01,000 re-broken into 2 lines" in result.stderr
    assert "merged with #3" in result.stderr
    assert run_cli("lint", str(fixed)).returncode == 0
    assert " ".join(" ".join(c.lines) for c in load_cues(fixed)).split() == (LONG + " قصير ثم نكمل الحديث عن التحدي").split()
    # The input is never the output.
    again = run_cli("lint", str(srt), "--fix", "-o", str(srt))
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
    assert run_cli("lint", str(srt), "--fix").returncode == 2


def test_tidy_closes_short_gaps(fit):
    rules = fit.rules
    out = tidy([Cue(1.0, 2.5, ("أول",)), Cue(2.8, 4.0, ("ثان",))], rules, fit.width, room=fit.room)
    assert out.cues[0].end == pytest.approx(2.8 - rules.min_gap)
