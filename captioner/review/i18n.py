"""The review page's own words, in Arabic and English: data files (``i18n/ar.json``, ``i18n/en.json``), not code."""

from __future__ import annotations

import functools
import json
import os
import re
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


# ``captioner lint``'s messages, recognised so the page can say them in its own language (a message that matches
# none of these is shown as lint wrote it).
_LINT_MESSAGES = [
    ("lines", "lint.lines", r"(?P<n>\d+) lines \(max (?P<max>\d+)\)"),
    ("line-length", "lint.line-length", r"line (?P<line>\d+) has (?P<n>\d+) characters \(max (?P<max>\d+)\)"),
    ("line-width", "lint.line-width", r"line (?P<line>\d+) is (?P<px>\d+) px wide \(max (?P<max>\d+) px\)"),
    ("duration", "lint.duration-min", r"shown (?P<s>[\d.]+) s \(min (?P<limit>[\d.]+) s\)"),
    ("duration", "lint.duration-max", r"shown (?P<s>[\d.]+) s \(max (?P<limit>[\d.]+) s\)"),
    ("reading-speed", "lint.reading-speed", r"(?P<cps>[\d.]+) characters per second \(max (?P<max>[\d.]+)\)"),
    ("overlap", "lint.overlap", r"overlaps the next cue by (?P<s>[\d.]+) s"),
    ("gap", "lint.gap-min", r"gap of (?P<s>[\d.]+) s to the next cue \(min (?P<min>[\d.]+) s, 2 frames\)"),
    ("gap", "lint.gap-close", r"gap of (?P<s>[\d.]+) s to the next cue: close it to (?P<min>[\d.]+) s \(2 frames\)"),
]


def lint_message(rule: str, message: str, ui: str) -> str:
    """A lint message in language ``ui`` (English as lint wrote it, where there is no translation)."""
    table = strings(ui)
    for name, key, pattern in _LINT_MESSAGES:
        match = re.fullmatch(pattern, message) if name == rule and key in table else None
        if match:
            return table[key].format(**match.groupdict())
    return message
