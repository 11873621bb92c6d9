"""Text hygiene: punctuation, counting, sidecar directional marks."""

from __future__ import annotations

import pytest

from captioner.text.bidi import is_rtl, sidecar_line, strip_bidi_controls
from captioner.text.scoring import normalise_for_scoring
from captioner.text.arabic import normalise_line, reading_length


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("هل انضممت إلى التحدي ?", "هل انضممت إلى التحدي؟"),
        ("مرحبا , كيف حالك", "مرحبا، كيف حالك"),
        ("أولا ; ثانيا", "أولا؛ ثانيا"),
        ("انتظر ...", "انتظر…"),
        ("شكراً لكم", "شكرًا لكم"),
        ("!مرحبا بكم", "مرحبا بكم!"),
        ("؟كيف حالك", "كيف حالك؟"),
        ("?هل وصل الجميع", "هل وصل الجميع؟"),  # moved to the end, then made Arabic like one typed there
        ("- هل ستأتي؟", "- هل ستأتي؟"),
        ("\u200fمرحبا\u200f", "مرحبا"),
        ("لدينا 1,000 متطوع", "لدينا 1,000 متطوع"),
        ("Hello , world ?", "Hello , world ?"),  # Latin text is left alone
        ("كلمة\u200cكلمة", "كلمة\u200cكلمة"),  # ZWNJ is orthographic, kept
    ],
)
def test_normalise_line(raw, expected):
    assert normalise_line(raw) == expected
    assert normalise_line(expected) == expected  # normalising twice changes nothing (the review page relies on it)


def test_reading_length_ignores_harakat_and_controls():
    assert reading_length("شُكْرًا") == reading_length("شكرا") == 4
    assert reading_length("\u200fنعم!\u200f") == 4


def test_strip_bidi_keeps_zwnj():
    assert strip_bidi_controls("\u202bأ\u200cب\u202c\u2067") == "أ\u200cب"


def test_is_rtl_first_strong():
    assert is_rtl("2026 عام")
    assert not is_rtl("TikTok عربي")


def _visual(text: str, base: str) -> str:
    from bidi import get_display

    return get_display(text, base_dir=base)


@pytest.mark.parametrize(
    "line",
    [
        "هل انضممت إلى التحدي؟ شارك الآن!",
        "شارك في التحدي مع TikTok اليوم!",
        "لدينا 30 متطوعًا.",
        "- هل ستأتي؟",
        "♪ موسيقى هادئة ♪",
    ],
)
def test_sidecar_marks_make_ltr_players_show_rtl_layout(line):
    """A player that lays SRT out left-to-right must show what a right-to-left paragraph shows."""
    marked = sidecar_line(line)
    assert strip_bidi_controls(marked) == line  # logical order and text untouched
    assert marked == "\u202b" + line + "\u202c"  # one right-to-left embedding, no other mark
    assert strip_bidi_controls(_visual(marked, "L")) == strip_bidi_controls(_visual(line, "R"))


def test_sidecar_marks_only_lines_that_need_them_and_leaves_ltr_lines_alone():
    assert sidecar_line("هل انضممت إلى التحدي؟") == "هل انضممت إلى التحدي؟"
    assert sidecar_line("Hello world!") == "Hello world!"


def test_scoring_normaliser():
    assert normalise_for_scoring("إِلى المدرسةِ، يا أحمد!") == normalise_for_scoring("الى المدرسه يا احمد")
    assert normalise_for_scoring("مستشفى") == "مستشفي"
