"""The normaliser recognition is scored with (WER/CER), for Arabic (rtl-and-peers W5)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .arabic import HARAKAT, TATWEEL
from .bidi import strip_bidi_controls

_SCORE_MAP = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_PUNCT_RE = re.compile(r"[^\w\s]|_", re.UNICODE)
_WS_RE = re.compile(r"\s+")


def normalise_for_scoring(text: str) -> str:
    """Arabic ASR normaliser: strip harakat and tatweel, unify alef forms, ى→ي, ة→ه, drop punctuation."""
    text = strip_bidi_controls(text)
    text = "".join(ch for ch in text if ch not in HARAKAT and ch != TATWEEL)
    text = text.translate(_SCORE_MAP)
    text = _PUNCT_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip().lower()


def word_errors(words: Sequence[str], reference: str) -> list[bool | None]:
    """For each recognised word: True when it is wrong against ``reference``, False when right, None when unscored.

    Both sides go through :func:`normalise_for_scoring` and are aligned token by
    token (Levenshtein); a recognised word is wrong when any of its tokens is
    substituted or inserted.  A word that normalises to nothing (punctuation) is
    not scored.  This is the labelling the review flags are tuned and measured with.
    """
    hyp: list[str] = []
    owner: list[int] = []
    for k, w in enumerate(words):
        for token in normalise_for_scoring(w).split():
            hyp.append(token)
            owner.append(k)
    ref = normalise_for_scoring(reference).split()
    labels: list[bool | None] = [False if normalise_for_scoring(w) else None for w in words]
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    i, j = n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            if ref[i - 1] != hyp[j - 1]:
                labels[owner[j - 1]] = True  # substituted
            i, j = i - 1, j - 1
        elif j and d[i][j] == d[i][j - 1] + 1:
            labels[owner[j - 1]] = True  # inserted
            j -= 1
        else:
            i -= 1  # deleted: a reference word nobody recognised, no recognised word to blame
    return labels
