"""Recognition post-processing: repetition loops, punctuation, word cleaning."""

from __future__ import annotations

from captioner.cues import Word
from captioner.recognize import clean_words, drop_repetition_loops
from captioner.text import APPEND_PUNCTUATION


def words(text: str) -> list[Word]:
    return [Word(t, i * 0.5, i * 0.5 + 0.4) for i, t in enumerate(text.split())]


def texts(ws: list[Word]) -> str:
    return " ".join(w.text for w in ws)


def test_a_word_spammed_fifty_times_is_cut_to_one():
    stream = words("قال " + "شكرا " * 50 + "للجميع")
    assert texts(drop_repetition_loops(stream)) == "قال شكرا للجميع"


def test_a_looping_phrase_is_cut_to_one():
    stream = words("بداية " + "في البيت الكبير، " * 8 + "نهاية")
    assert texts(drop_repetition_loops(stream)) == "بداية في البيت الكبير، نهاية"


def test_natural_repetition_is_kept():
    for text in ("لا لا لا أريد", "نعم نعم", "شكرا شكرا شكرا جزيلا"):
        assert texts(drop_repetition_loops(words(text))) == text


def test_arabic_marks_attach_to_words():
    assert {"،", "؛", "؟"} <= set(APPEND_PUNCTUATION)


def test_clean_words_normalises_and_drops_empty():
    cleaned = clean_words([Word(" مرحبا ,", 0, 0.5), Word("  ", 0.5, 0.6), Word("كيف?", 0.6, 1.0, 0.3)])
    assert [(w.text, w.probability) for w in cleaned] == [("مرحبا،", 1.0), ("كيف؟", 0.3)]
