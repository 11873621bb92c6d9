"""The review page's own words, in Arabic and English: data files (``i18n/ar.json``, ``i18n/en.json``), not code."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from ..errors import InputError

LANGUAGES = ("ar", "en")
RTL_LANGUAGES = {"ar"}
_FOLDER = Path(__file__).with_name("i18n")


def default_ui(environ: dict | None = None) -> str:
    """``ar`` where the locale is Arabic (LC_ALL, LC_MESSAGES, LANG, as gettext looks), else ``en``."""
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "ar" if value.lower().startswith("ar") else "en"
    return "en"


@functools.lru_cache(maxsize=None)
def strings(ui: str) -> dict[str, str]:
    """Every string of the page in language ``ui`` (the English one where a translation lacks a key)."""
    if ui not in LANGUAGES:
        raise InputError(f"--ui must be one of {', '.join(LANGUAGES)}, not {ui!r}")
    english = json.loads((_FOLDER / "en.json").read_text(encoding="utf-8"))
    chosen = json.loads((_FOLDER / f"{ui}.json").read_text(encoding="utf-8"))
    return {**english, **{k: v for k, v in chosen.items() if isinstance(v, str)}}


def direction(ui: str) -> str:
    return "rtl" if ui in RTL_LANGUAGES else "ltr"
