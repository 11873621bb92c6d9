"""Exceptions with the exit code the CLI maps them to.

Every failure a user can cause (a missing file, a file that is not a video, an
output that already exists) is an :class:`InputError` and exits with 2; anything
else the pipeline cannot do is a :class:`CaptionerError` and exits with 1.
"""

from __future__ import annotations


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
