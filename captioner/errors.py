"""Exceptions with the exit code the CLI maps them to.

Every failure a user can cause (a missing file, a file that is not a video, an
output that already exists) is an :class:`InputError` and exits with 2; anything
else the pipeline cannot do is a :class:`CaptionerError` and exits with 1.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_MESSAGE = 600


class CaptionerError(Exception):
    """A failure of the pipeline: one line of text, exit code 1."""

    exit_code = 1


class InputError(CaptionerError):
    """Bad input or bad usage: one line of text, exit code 2."""

    exit_code = 2


class MissingExtraError(CaptionerError):
    """An optional part of captioner is not installed: one line naming the pip extra, exit code 1."""

    def __init__(self, what: str, extra: str, missing: str) -> None:
        super().__init__(f"{what} needs the {extra} extra: pip install 'captioner[{extra}]' (cannot import {missing})")
        self.extra = extra


def first_line(text: object) -> str:
    """A dependency's message summarised: its first non-empty line, "(…)" when more followed."""
    lines = [line.strip() for line in str(text).replace("\r", "\n").split("\n") if line.strip()]
    if not lines:
        return ""
    return lines[0] + (" (…)" if len(lines) > 1 else "")


def readable(text: str) -> str:
    """Text as it can be written anywhere: bytes of a file name that are not UTF-8 (Linux allows them; Python
    holds them as lone surrogates) shown as ``\\xff``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def one_line(message: object) -> str:
    """A message as one printable line: control characters shown as escapes, so a file name holding a
    newline or a terminal escape sequence can neither start a second line nor move the cursor."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], readable(str(message)).replace("\t", " "))
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return text
